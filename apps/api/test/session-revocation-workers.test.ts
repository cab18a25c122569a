import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { migratedDatabase, relayTo } from './helpers/database.ts'
import { signInAs } from './helpers/session.ts'
import { skipWithoutSharedMemcached } from './helpers/system-programs.ts'

// Every worker holds "this session is active" (libs/auth, under the sessions epoch's lease from
// libs/cache lease.ts): these tests prove no worker accepts a revoked session from the very next
// request after the revocation answers, with memcached shared between workers or not.

type App = Awaited<ReturnType<typeof buildTestApp>>
type Signed = Awaited<ReturnType<typeof signInAs>>

const MANY = { AUTH_LINK_LIMIT_PER_IP: '1000', AUTH_LINK_LIMIT_PER_EMAIL: '1000', RATE_LIMIT_MAX: '100000' }
const ROUNDS = 20

/** Two workers of one deployment: one database, memcached as the caller says. */
async function twoWorkers(t: Test, memcached: string | undefined, urls?: { a: string; b: string }) {
  const DATABASE_URL = urls?.b ?? (await migratedDatabase(t))
  // One deployment: both share the cache keys, whatever way each reaches the database.
  const shared = {
    ...MANY,
    MEMCACHED_SERVERS: memcached,
    CACHE_KEY_PREFIX: new URL(DATABASE_URL).pathname.slice(1),
  }
  const a = await buildTestApp(t, { ...shared, DATABASE_URL: urls?.a ?? DATABASE_URL })
  const b = await buildTestApp(t, { ...shared, DATABASE_URL })
  await Promise.all([a.ready(), b.ready()])
  return { a, b }
}

const me = (app: App, who: Signed) => app.inject({ method: 'GET', url: '/v1/me', headers: who.headers })

/** Sign-out of this session (the SDK's route) or of all of them (ours). */
function revoke(app: App, who: Signed, how: 'sign-out' | 'everywhere') {
  return how === 'sign-out'
    ? app.inject({
        method: 'POST',
        url: '/auth/signout',
        headers: { ...who.headers, rid: 'session', 'st-auth-mode': 'header' },
      })
    : app.inject({ method: 'POST', url: '/v1/me/sessions/revoke', headers: who.headers })
}

async function sessionEpoch(app: App): Promise<number> {
  const { rows } = await sql<{
    epoch: string
  }>`SELECT epoch::text FROM epochs WHERE name = 'sessions'`.execute(app.db)
  return Number(rows[0]?.epoch)
}

const variants: Record<string, string | undefined> = {
  'without memcached': undefined,
  'with memcached': process.env.MEMCACHED_SERVERS ?? '',
}

for (const [variant, memcached] of Object.entries(variants)) {
  t.test(
    `${variant}: a session revoked on one worker is refused on the other from the very next request`,
    { skip: memcached === undefined ? false : skipWithoutSharedMemcached() },
    async (t) => {
      const { a, b } = await twoWorkers(t, memcached)
      const bystander = await signInAs(b, `bystander@example.com`)
      const failures: string[] = []
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate which worker revokes and how: each worker's held answer must give way.
        const [revoker, other] = round % 2 === 0 ? [b, a] : [a, b]
        const how = round % 4 < 2 ? 'sign-out' : 'everywhere'
        const who = await signInAs(b, `user-${round}@example.com`)
        for (const app of [a, b]) {
          const warm = await me(app, who)
          if (warm.statusCode !== 200) throw new Error(`warm-up: ${warm.statusCode} ${warm.body}`)
        }
        const before = await sessionEpoch(a)
        const revoked = await revoke(revoker, who, how)
        if (revoked.statusCode >= 300) throw new Error(`${how}: ${revoked.statusCode} ${revoked.body}`)
        const next = await me(other, who)
        if (next.statusCode !== 401)
          failures.push(`round ${round} (${how}): ${next.statusCode} on the other worker`)
        if ((await me(revoker, who)).statusCode !== 401)
          failures.push(`round ${round}: accepted on the revoking worker`)
        if ((await sessionEpoch(a)) <= before) failures.push(`round ${round}: the epoch did not move`)
      }
      t.same(failures, [], `every one of ${ROUNDS} revoked sessions is refused on both workers at once`)
      t.equal((await me(a, bystander)).statusCode, 200, "another person's session is untouched on A")
      t.equal((await me(b, bystander)).statusCode, 200, 'and on B')
    },
  )
}

t.test(
  'a stream of requests on A while B signs out: none started after the sign-out answered gets through',
  async (t) => {
    const { a, b } = await twoWorkers(t, process.env.MEMCACHED_SERVERS)
    const who = await signInAs(b, 'streamer@example.com')
    let stop = false
    const seen: Array<{ startedAt: number; status: number }> = []
    const burst = (async () => {
      while (!stop) {
        const startedAt = performance.now()
        seen.push({ startedAt, status: (await me(a, who)).statusCode })
      }
    })()
    const warmed = Date.now() + 5000
    while (!seen.some((r) => r.status === 200) && Date.now() < warmed) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    t.equal((await revoke(b, who, 'sign-out')).statusCode, 200)
    const answeredAt = performance.now()
    const next = await me(a, who)
    stop = true
    await burst
    t.equal(next.statusCode, 401, 'the very next request on A is refused')
    t.equal(next.json().message, 'unauthorised', 'as the frontend SDK expects a signed-out session')
    const after = seen.filter((r) => r.startedAt > answeredAt)
    t.same(
      after.filter((r) => r.status !== 401),
      [],
      `none of the ${after.length} requests A started after the sign-out answered got through`,
    )
    t.ok(
      seen.some((r) => r.startedAt < answeredAt && r.status === 200),
      'A served the session during the stream before it',
    )
  },
)

t.test('revoking no session (signed out everywhere already) leaves the epoch alone', async (t) => {
  const { a, b } = await twoWorkers(t, undefined)
  const who = await signInAs(b, 'twice@example.com')
  t.equal((await revoke(a, who, 'everywhere')).statusCode, 204)
  const epoch = await sessionEpoch(a)
  const again = await signInAs(b, 'twice@example.com')
  t.equal((await revoke(a, again, 'sign-out')).statusCode, 200)
  t.equal(await sessionEpoch(a), epoch + 1, 'one bump per revocation')
  t.equal((await revoke(a, again, 'everywhere')).statusCode, 401, 'a revoked session cannot revoke again')
  t.equal(await sessionEpoch(a), epoch + 1, 'and nothing was bumped for it')
})

t.test(
  'a worker cut off from the epoch and the invalidation channel does not keep accepting a revoked session',
  async (t) => {
    const DATABASE_URL = await migratedDatabase(t)
    const relay = await relayTo(t, DATABASE_URL)
    const { a, b } = await twoWorkers(t, process.env.MEMCACHED_SERVERS, { a: relay.url, b: DATABASE_URL })
    const who = await signInAs(b, 'cut-off@example.com')
    const other = await signInAs(b, 'still-in@example.com')
    for (const signed of [who, other])
      t.equal((await me(a, signed)).statusCode, 200, 'A holds the session as active')
    relay.cut()
    t.equal((await revoke(b, who, 'everywhere')).statusCode, 204)
    const next = await me(a, who)
    t.equal(next.statusCode, 401, 'A, unable to read the epoch, asks the core again: refused at once')
    // A session still active is answered by the core too (no stale yes, no stale no); A's user
    // lookup may be held or may need the database it lost: either way, not a 401.
    t.not((await me(a, other)).statusCode, 401, 'a session not revoked is not signed out by the cut')
  },
)

t.test(
  'a sign-out on a worker cut off from the database fails before the core revokes anything',
  async (t) => {
    const DATABASE_URL = await migratedDatabase(t)
    const relay = await relayTo(t, DATABASE_URL)
    // B (built last: the SDK reports revocations to it) reaches the database through the relay.
    const { a, b } = await twoWorkers(t, process.env.MEMCACHED_SERVERS, { a: DATABASE_URL, b: relay.url })
    const who = await signInAs(b, 'outage@example.com')
    for (const app of [a, b]) t.equal((await me(app, who)).statusCode, 200)
    relay.cut()
    const before = await sessionEpoch(a)
    const failed = await revoke(b, who, 'sign-out')
    t.equal(failed.statusCode, 503, `the sign-out says it failed: ${failed.body}`)
    t.equal(failed.json().code, 'DATABASE_UNAVAILABLE')
    t.equal(await sessionEpoch(a), before, 'nothing bumped')
    // A third worker holds nothing: it asks the core, which revoked nothing. (Built last, it also
    // takes over this process's one SDK from B, as its own SDK would in production.)
    const c = await buildTestApp(t, { ...MANY, DATABASE_URL })
    t.equal((await me(c, who)).statusCode, 200, 'nothing was revoked at the core')
    t.equal((await me(a, who)).statusCode, 200, 'so A, told nothing, is right to accept it')
    t.equal((await revoke(c, who, 'sign-out')).statusCode, 200, 'signing out where the database is up works')
    t.equal((await me(a, who)).statusCode, 401, 'and A refuses it at once')
  },
)
