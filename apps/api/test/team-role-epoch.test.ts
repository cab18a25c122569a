import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { migratedDatabase, relayTo } from './helpers/database.ts'
import { signInAs } from './helpers/session.ts'
import { addMember, createTeam } from './helpers/teams.ts'

// Workers hold the roles they read (modules/teams/memberships.ts): these tests prove no worker
// answers with a role a change took away, from the very next request after the change answers.

type App = Awaited<ReturnType<typeof buildTestApp>>
type Signed = Awaited<ReturnType<typeof signInAs>>
type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

const MANY = { AUTH_LINK_LIMIT_PER_IP: '1000', RATE_LIMIT_MAX: '100000' }

/** Two workers of one deployment: one database (and memcached when MEMCACHED_SERVERS is set). */
async function twoWorkers(t: Test) {
  const DATABASE_URL = await migratedDatabase(t)
  const a = await buildTestApp(t, { ...MANY, DATABASE_URL })
  const b = await buildTestApp(t, { ...MANY, DATABASE_URL })
  await Promise.all([a.ready(), b.ready()])
  return { a, b }
}

function call(app: App, who: Signed, method: Method, url: string, payload?: object) {
  return app.inject({ method, url, headers: who.headers, ...(payload ? { payload } : {}) })
}

/** A team of an owner and a member with `role`, each request warmed on both workers. */
async function teamWith(a: App, b: App, role: string, tag: string) {
  // The SDK sends sign-in emails through the app built last (one SDK per process): its mailbox.
  const owner = await signInAs(b, `owner-${tag}@example.com`)
  const member = await signInAs(b, `member-${tag}@example.com`)
  const teamId = await createTeam(a, owner, `Team ${tag}`)
  await addMember(a, teamId, member.id, role)
  for (const app of [a, b]) {
    for (const who of [owner, member]) {
      const res = await call(app, who, 'GET', `/v1/teams/${teamId}/members`)
      if (res.statusCode !== 200) throw new Error(`warm-up: ${res.statusCode} ${res.body}`)
    }
  }
  return { owner, member, teamId }
}

async function epoch(app: App): Promise<number> {
  const { rows } = await sql<{
    epoch: string
  }>`SELECT epoch::text FROM epochs WHERE name = 'memberships'`.execute(app.db)
  return Number(rows[0]?.epoch)
}

t.test('a demotion on worker A holds on worker B from the very next request, even mid-burst', async (t) => {
  const { a, b } = await twoWorkers(t)
  const { owner, member, teamId } = await teamWith(a, b, 'admin', 'demote')
  const audit = `/v1/teams/${teamId}/audit-events`
  t.equal((await call(b, member, 'GET', audit)).statusCode, 200, 'an admin reads the audit log on B')

  // B answers a stream of the admin's requests while A demotes them: whatever B answered before,
  // every request B starts after the demotion answered is refused.
  let demotedAt = Number.POSITIVE_INFINITY
  let stop = false
  const seen: Array<{ startedAt: number; status: number }> = []
  const burst = (async () => {
    while (!stop) {
      const startedAt = performance.now()
      seen.push({ startedAt, status: (await call(b, member, 'GET', audit)).statusCode })
    }
  })()
  const warmed = Date.now() + 5000
  while (!seen.some((r) => r.status === 200) && Date.now() < warmed) {
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  const demoted = await call(a, owner, 'PATCH', `/v1/teams/${teamId}/members/${member.id}`, {
    role: 'viewer',
  })
  demotedAt = performance.now()
  t.equal(demoted.statusCode, 204, demoted.body)
  const next = await call(b, member, 'GET', audit)
  stop = true
  await burst
  t.equal(next.statusCode, 403, 'the very next request on B is refused as a viewer')
  t.equal(next.json().code, 'FORBIDDEN')
  const after = seen.filter((r) => r.startedAt > demotedAt)
  t.same(
    after.filter((r) => r.status !== 403),
    [],
    `none of the ${after.length} requests B started after the demotion answered was let through`,
  )
  t.ok(
    seen.some((r) => r.startedAt < demotedAt && r.status === 200),
    'B served the admin during the burst before it',
  )
  t.equal(
    (await call(b, member, 'GET', `/v1/teams/${teamId}/members`)).statusCode,
    200,
    'still a viewer on B',
  )
  t.equal((await call(a, member, 'GET', audit)).statusCode, 403, 'and refused on A too')
})

t.test('removal, leaving and team deletion on A: 404 on B at once', async (t) => {
  const { a, b } = await twoWorkers(t)

  const removed = await teamWith(a, b, 'editor', 'removed')
  const before = await epoch(a)
  const res = await call(
    a,
    removed.owner,
    'DELETE',
    `/v1/teams/${removed.teamId}/members/${removed.member.id}`,
  )
  t.equal(res.statusCode, 204, res.body)
  t.ok((await epoch(a)) > before, 'removal bumps the epoch')
  const gone = await call(b, removed.member, 'GET', `/v1/teams/${removed.teamId}/members`)
  t.equal(gone.statusCode, 404, 'a removed member gets 404 on B at once')
  t.equal(gone.json().code, 'NOT_FOUND')

  const left = await teamWith(a, b, 'viewer', 'left')
  const leaving = await call(a, left.member, 'DELETE', `/v1/teams/${left.teamId}/members/${left.member.id}`)
  t.equal(leaving.statusCode, 204, leaving.body)
  t.equal(
    (await call(b, left.member, 'GET', `/v1/teams/${left.teamId}/members`)).statusCode,
    404,
    'a member who left gets 404 on B at once',
  )

  const deleted = await teamWith(a, b, 'admin', 'deleted')
  const beforeDelete = await epoch(a)
  t.equal((await call(a, deleted.owner, 'DELETE', `/v1/teams/${deleted.teamId}`)).statusCode, 204)
  t.ok((await epoch(a)) > beforeDelete, 'the cascade from a deleted team bumps the epoch')
  for (const who of [deleted.owner, deleted.member]) {
    t.equal(
      (await call(b, who, 'GET', `/v1/teams/${deleted.teamId}/members`)).statusCode,
      404,
      'every member of a deleted team gets 404 on B at once',
    )
  }
})

t.test('an ownership handed over and the old owner demoted: the old owner is refused on B', async (t) => {
  const { a, b } = await twoWorkers(t)
  const { owner, member, teamId } = await teamWith(a, b, 'admin', 'handover')
  const members = `/v1/teams/${teamId}/members`
  t.equal((await call(a, owner, 'PATCH', `${members}/${member.id}`, { role: 'owner' })).statusCode, 204)
  // The new owner, on B, demotes the old one: B held the new owner as an admin a moment ago.
  const demoted = await call(b, member, 'PATCH', `${members}/${owner.id}`, { role: 'editor' })
  t.equal(demoted.statusCode, 204, `the new owner acts as owner on B at once: ${demoted.body}`)
  const refused = await call(a, owner, 'DELETE', `/v1/teams/${teamId}`)
  t.equal(refused.statusCode, 403, 'the old owner cannot delete the team on A any more')
  t.equal((await call(a, owner, 'GET', `/v1/teams/${teamId}/audit-events`)).statusCode, 403)
})

t.test('an account deleted on A: its memberships are gone on B at once', async (t) => {
  const { a, b } = await twoWorkers(t)
  const { owner, member, teamId } = await teamWith(a, b, 'editor', 'account')
  const before = await epoch(a)
  t.equal((await call(a, member, 'DELETE', '/v1/me')).statusCode, 204)
  t.ok((await epoch(a)) > before, 'the account deletion bumps the epoch')
  const res = await call(b, member, 'GET', `/v1/teams/${teamId}/members`)
  t.equal(res.statusCode, 401, 'the deleted account is refused on B')
  const list = await call(b, owner, 'GET', `/v1/teams/${teamId}/members`)
  t.same(
    list.json().items.map((m: { userId: string }) => m.userId),
    [owner.id],
    'and the member list on B no longer shows them',
  )
})

t.test('an invite accepted on A lets the new member in on B at once; other teams stay 404', async (t) => {
  const { a, b } = await twoWorkers(t)
  const owner = await signInAs(b, 'owner@example.com')
  const invitee = await signInAs(b, 'invitee@example.com')
  const teamId = await createTeam(a, owner, 'Growth')
  const other = await createTeam(a, owner, 'Other')
  const members = `/v1/teams/${teamId}/members`
  t.equal((await call(b, invitee, 'GET', members)).statusCode, 404, 'not yet a member: 404 on B')
  const before = await epoch(a)
  const invited = await call(a, owner, 'POST', `/v1/teams/${teamId}/invites`, {
    email: 'invitee@example.com',
    role: 'editor',
  })
  t.equal(invited.statusCode, 201, invited.body)
  const mail: Array<{ text: string }> = []
  for (const app of [a, b])
    mail.push(...(await app.inject({ url: '/dev/mailbox?to=invitee%40example.com' })).json().messages)
  const token = mail.map((m) => m.text.match(/invites\/accept#([A-Za-z0-9_-]+)/)?.[1]).find(Boolean)
  t.equal((await call(a, invitee, 'POST', '/v1/invites/accept', { token })).statusCode, 200)
  t.equal(await epoch(a), before, 'a new member changes no answer a worker holds: no bump')
  t.equal((await call(b, invitee, 'GET', members)).statusCode, 200, 'the new member is in on B at once')
  const stranger = await call(b, invitee, 'GET', `/v1/teams/${other}/members`)
  t.equal(stranger.statusCode, 404, "another team's id stays 404")
  t.equal(stranger.json().code, 'NOT_FOUND')
  t.equal((await call(b, invitee, 'GET', `/v1/teams/${other.toUpperCase()}/members`)).statusCode, 404)
})

t.test('a signed-out session is refused on both workers at once', async (t) => {
  const { a, b } = await twoWorkers(t)
  const { member, teamId } = await teamWith(a, b, 'editor', 'revoked')
  t.equal((await call(a, member, 'POST', '/v1/me/sessions/revoke')).statusCode, 204)
  // Revocation is held under the sessions epoch's lease, like roles (session-revocation-workers.test.ts).
  for (const [name, app] of Object.entries({ a, b })) {
    const status = (await call(app, member, 'GET', `/v1/teams/${teamId}/members`)).statusCode
    t.equal(status, 401, `the revoked session is refused on ${name.toUpperCase()}`)
  }
})

t.test('a warm worker whose database goes away answers team routes 503, not from what it held', async (t) => {
  const DATABASE_URL = await migratedDatabase(t)
  const relay = await relayTo(t, DATABASE_URL)
  // One deployment: B shares A's cache keys, only its way to the database differs.
  const CACHE_KEY_PREFIX = new URL(DATABASE_URL).pathname.slice(1)
  const a = await buildTestApp(t, { ...MANY, DATABASE_URL })
  const b = await buildTestApp(t, { ...MANY, DATABASE_URL: relay.url, CACHE_KEY_PREFIX })
  await Promise.all([a.ready(), b.ready()])
  const { member, teamId } = await teamWith(a, b, 'editor', 'outage')
  const members = `/v1/teams/${teamId}/members`
  t.equal((await call(b, member, 'GET', members)).statusCode, 200, 'B holds the role and the list')
  relay.cut()
  await new Promise((resolve) => setTimeout(resolve, 500))
  const res = await call(b, member, 'GET', members)
  t.equal(res.statusCode, 503, '503, not a possibly stale yes')
  t.equal(res.json().code, 'DATABASE_UNAVAILABLE')
  // Not an editor's: answered from nothing B held (a 403 would be), the database's outage first.
  const audit = await call(b, member, 'GET', `/v1/teams/${teamId}/audit-events`)
  t.equal(audit.statusCode, 503, 'no answer from what B held, a refusal included')
  t.equal(
    (await call(a, member, 'GET', members)).statusCode,
    200,
    'a worker that reaches the database answers',
  )
})

t.test(
  'every kind of membership change bumps the epoch in its own transaction, inserts do not',
  async (t) => {
    const app = await buildTestApp(t, MANY)
    const owner = await signInAs(app, 'owner@example.com')
    const teamId = await createTeam(app, owner, 'Growth')
    const member = await signInAs(app, 'member@example.com')
    const start = await epoch(app)
    await addMember(app, teamId, member.id, 'editor')
    t.equal(await epoch(app), start, 'insert: no bump')
    await sql`UPDATE team_members SET role = 'viewer' WHERE user_id = ${member.id}`.execute(app.db)
    t.equal(await epoch(app), start + 1, 'role change: one bump')
    await app.db
      .transaction()
      .execute(async (trx) => {
        await sql`DELETE FROM team_members WHERE user_id = ${member.id}`.execute(trx)
        throw new Error('rolled back')
      })
      .catch(() => {})
    t.equal(await epoch(app), start + 1, 'a rolled-back removal leaves it as it was')
    await sql`DELETE FROM teams WHERE id = ${teamId}`.execute(app.db)
    t.ok((await epoch(app)) > start + 1, 'a cascade from the team row bumps it')
  },
)
