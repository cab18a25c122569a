import { sql } from 'kysely'
import supertokens from 'supertokens-node'
import t from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { migratedDatabase } from './helpers/database.ts'
import { addMember, createTeam } from './helpers/teams.ts'

type App = Awaited<ReturnType<typeof buildTestApp>>
interface SignedIn {
  id: string
  token: string
  supertokensUserId: string
  headers: Record<string, string>
}

const BASE = { 'st-auth-mode': 'header', origin: 'https://app.nudge.test' }

/**
 * The real magic-link flow, reading the link from the dev mailbox (newest message first). With
 * several apps in one process, the SDK sends through the app built last: sign in through it.
 */
async function signIn(app: App, email: string): Promise<SignedIn> {
  const headers = { ...BASE, rid: 'passwordless' }
  const asked = await app.inject({ method: 'POST', url: '/auth/signinup/code', headers, payload: { email } })
  if (asked.statusCode !== 200) throw new Error(`link request failed: ${asked.body}`)
  const mailbox = await app.inject({ url: `/dev/mailbox?to=${encodeURIComponent(email)}` })
  const text = (mailbox.json().messages as Array<{ text: string }>)[0]?.text ?? ''
  const found = text.match(/https?:\/\/\S+\/auth\/verify\?\S+/)
  if (!found) throw new Error('no magic link in the dev mailbox')
  const link = new URL(found[0])
  const consumed = await app.inject({
    method: 'POST',
    url: '/auth/signinup/code/consume',
    headers,
    payload: { preAuthSessionId: link.searchParams.get('preAuthSessionId'), linkCode: link.hash.slice(1) },
  })
  const token = consumed.headers['st-access-token'] as string | undefined
  if (!token) throw new Error(`sign-in failed: ${consumed.body}`)
  const auth = { ...BASE, authorization: `Bearer ${token}` }
  const me = await app.inject({ url: '/v1/me', headers: auth })
  if (me.statusCode !== 200) throw new Error(`GET /v1/me after sign-in: ${me.statusCode} ${me.body}`)
  return { id: me.json().id, token, supertokensUserId: consumed.json().user.id, headers: auth }
}

const me = (app: App, user: SignedIn) => app.inject({ url: '/v1/me', headers: user.headers })
const patchMe = (app: App, user: SignedIn, payload: unknown) =>
  app.inject({
    method: 'PATCH',
    url: '/v1/me',
    headers: { ...user.headers, 'content-type': 'application/json' },
    payload: JSON.stringify(payload),
  })
const deleteMe = (app: App, user: SignedIn) =>
  app.inject({ method: 'DELETE', url: '/v1/me', headers: user.headers })

async function teamsOf(app: App, user: SignedIn) {
  const res = await app.inject({ url: '/v1/teams', headers: user.headers })
  return res.json().items as Array<{ id: string; name: string; personal: boolean; role: string }>
}

/** Everything an account deletion could touch: what "nothing changed" is checked against. */
async function snapshot(app: App) {
  const { rows } = await sql<Record<string, unknown>>`SELECT
    (SELECT string_agg(id::text || coalesce(name, '-'), ',' ORDER BY id) FROM users) AS users,
    (SELECT string_agg(id::text, ',' ORDER BY id) FROM teams) AS teams,
    (SELECT string_agg(team_id::text || user_id::text || role, ',' ORDER BY team_id, user_id) FROM team_members) AS members,
    (SELECT count(*)::int FROM audit_events) AS audit`.execute(app.db)
  return rows[0]
}

async function auditOf(app: App, teamId: string, action: string) {
  const { rows } = await sql<{
    actor_type: string
    actor_id: string | null
    target_type: string
    target_id: string | null
    data: Record<string, unknown>
  }>`SELECT actor_type, actor_id, target_type, target_id, data FROM audit_events
     WHERE team_id = ${teamId} AND action = ${action}`.execute(app.db)
  return rows
}

t.test(
  'PATCH /v1/me sets the name, seen at once on this worker and within a second on another',
  async (t) => {
    const DATABASE_URL = await migratedDatabase(t)
    const workerA = await buildTestApp(t, { DATABASE_URL })
    const workerB = await buildTestApp(t, { DATABASE_URL })
    const ann = await signIn(workerB, 'ann@example.com')
    /** What GET /v1/me answers on `worker` once it shows `expected`, or after a second. */
    const otherWorkerSees = async (worker: typeof workerA, expected: string | null) => {
      const until = Date.now() + 1000
      for (;;) {
        const name = (await me(worker, ann)).json().name
        if (name === expected || Date.now() > until) return name
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
    // Both workers have the profile cached before the change.
    t.equal((await me(workerA, ann)).json().name, null)
    t.equal((await me(workerB, ann)).json().name, null)

    const patched = await patchMe(workerA, ann, { name: '  Ann Lee  ' })
    t.equal(patched.statusCode, 200, patched.body)
    t.match(
      patched.json(),
      { id: ann.id, email: 'ann@example.com', name: 'Ann Lee' },
      'answers the profile, trimmed',
    )
    t.equal((await me(workerA, ann)).json().name, 'Ann Lee', 'this worker')
    // Another worker drops its copy when the invalidation reaches it (LISTEN/NOTIFY, milliseconds).
    t.equal(await otherWorkerSees(workerB, 'Ann Lee'), 'Ann Lee', 'the other worker')

    const cleared = await patchMe(workerB, ann, { name: null })
    t.equal(cleared.statusCode, 200, cleared.body)
    t.equal(cleared.json().name, null, 'null clears it')
    t.equal(await otherWorkerSees(workerA, null), null, 'cleared on the other worker too')

    t.equal(
      (await patchMe(workerA, ann, { name: 'x'.repeat(100) })).json().name,
      'x'.repeat(100),
      '100 chars fit',
    )
    const anonymous = await workerA.inject({ method: 'PATCH', url: '/v1/me', payload: { name: 'Nobody' } })
    t.equal(anonymous.statusCode, 401, 'signed in only')
  },
)

t.test('PATCH /v1/me refuses bad input with 400 and changes nothing', async (t) => {
  const app = await buildTestApp(t)
  const bob = await signIn(app, 'bob@example.com')
  await patchMe(app, bob, { name: 'Bob' })
  const cases: Array<[string, unknown]> = [
    ['name too long', { name: 'x'.repeat(101) }],
    ['empty name', { name: '' }],
    ['only spaces', { name: '   ' }],
    ['a number', { name: 42 }],
    ['an extra field', { name: 'Bob', email: 'evil@example.com' }],
    ['no name', {}],
    ['null body', null],
    ['an array', [{ name: 'Bob' }]],
  ]
  for (const [what, payload] of cases) {
    const res = await patchMe(app, bob, payload)
    t.equal(res.statusCode, 400, `${what}: ${res.body}`)
    t.match(res.json(), { statusCode: 400, code: 'VALIDATION_ERROR', message: String }, `${what}: our shape`)
  }
  t.match((await me(app, bob)).json(), { name: 'Bob', email: 'bob@example.com' }, 'unchanged')
})

t.test('the documented PATCH example is accepted as it is', async (t) => {
  const app = await buildTestApp(t)
  const doc = (await app.inject({ url: '/docs/json' })).json()
  const patch = doc.paths['/v1/me'].patch
  t.equal(patch.operationId, 'updateMe')
  t.ok(doc.paths['/v1/me'].delete.responses['409'], 'DELETE documents its 409')
  const media = patch.requestBody.content['application/json']
  const example = media.example ?? media.schema.examples?.[0]
  t.ok(example, 'an example is documented')
  const carol = await signIn(app, 'carol@example.com')
  const res = await patchMe(app, carol, example)
  t.equal(res.statusCode, 200, res.body)
})

t.test('DELETE /v1/me is refused while the user is the last owner of a team with members', async (t) => {
  const app = await buildTestApp(t)
  const owner = await signIn(app, 'last-owner@example.com')
  const member = await signIn(app, 'member@example.com')
  const teamId = await createTeam(app, owner, 'Growth')
  await addMember(app, teamId, member.id, 'admin')
  const before = await snapshot(app)

  const refused = await deleteMe(app, owner)
  t.equal(refused.statusCode, 409, refused.body)
  t.match(refused.json(), {
    code: 'LAST_OWNER',
    message: /Growth/,
    details: { teams: [{ id: teamId, name: 'Growth' }] },
  })
  t.same(await snapshot(app), before, 'nothing changed (not even the personal team)')
  t.equal((await me(app, owner)).statusCode, 200, 'still signed in')
  t.equal((await teamsOf(app, owner)).length, 2)

  // Once someone else owns the team, the account can go.
  const promoted = await app.inject({
    method: 'PATCH',
    url: `/v1/teams/${teamId}/members/${member.id}`,
    headers: owner.headers,
    payload: { role: 'owner' },
  })
  t.equal(promoted.statusCode, 204, promoted.body)
  t.equal((await deleteMe(app, owner)).statusCode, 204)
})

t.test('DELETE /v1/me deletes the teams the user was alone in', async (t) => {
  const app = await buildTestApp(t)
  const solo = await signIn(app, 'solo@example.com')
  const other = await signIn(app, 'bystander@example.com')
  const side = await createTeam(app, solo, 'Side project')
  const teamIds = (await teamsOf(app, solo)).map((team) => team.id)
  t.equal(teamIds.length, 2)
  t.ok(teamIds.includes(side))

  const res = await deleteMe(app, solo)
  t.equal(res.statusCode, 204, res.body)
  t.equal(res.body, '')
  const { rows: teams } = await sql<{ id: string }>`SELECT id FROM teams WHERE id = ANY(${teamIds})`.execute(
    app.db,
  )
  t.same(teams, [], 'both teams are gone, personal one included')
  const { rows: audit } = await sql`SELECT 1 FROM audit_events WHERE team_id = ANY(${teamIds})`.execute(
    app.db,
  )
  t.same(audit, [], 'their audit logs went with them')
  const { rows: users } = await sql<{ email: string }>`SELECT email FROM users ORDER BY email`.execute(app.db)
  t.same(users, [{ email: 'bystander@example.com' }], 'the users row is gone; nobody else is touched')
  t.equal((await teamsOf(app, other)).length, 1)
})

t.test('DELETE /v1/me leaves shared teams, which stay with a member.left audit row', async (t) => {
  const app = await buildTestApp(t)
  const leaver = await signIn(app, 'leaver@example.com')
  const boss = await signIn(app, 'boss@example.com')
  // A team with another owner, and one where the leaver is only an editor.
  const coOwned = await createTeam(app, leaver, 'Co-owned')
  await addMember(app, coOwned, boss.id, 'owner')
  const bosses = await createTeam(app, boss, "Boss's team")
  await addMember(app, bosses, leaver.id, 'editor')
  const [personal] = (await teamsOf(app, leaver)).filter((team) => team.personal)

  // The other owner's view of the membership is cached before the change.
  const membersOf = async (teamId: string) =>
    (await app.inject({ url: `/v1/teams/${teamId}/members`, headers: boss.headers })).json().items as Array<{
      userId: string
    }>
  t.equal((await membersOf(coOwned)).length, 2)
  t.equal(
    (await app.inject({ url: `/v1/teams/${coOwned}`, headers: leaver.headers })).statusCode,
    200,
    'the leaver has the membership cached',
  )

  const res = await deleteMe(app, leaver)
  t.equal(res.statusCode, 204, res.body)

  for (const [teamId, role] of [
    [coOwned, 'owner'],
    [bosses, 'editor'],
  ] as const) {
    t.same(
      (await membersOf(teamId)).map((m) => m.userId),
      [boss.id],
      `${role}: the team stays, without the leaver`,
    )
    t.match(
      await auditOf(app, teamId, 'member.left'),
      [
        {
          actor_type: 'user',
          actor_id: leaver.id,
          target_type: 'user',
          target_id: leaver.id,
          data: { reason: 'account deleted', role },
        },
      ],
      `${role}: the team's audit log says why`,
    )
  }
  const audit = await app.inject({
    url: `/v1/teams/${coOwned}/audit-events?action=member.left`,
    headers: boss.headers,
  })
  t.equal(audit.json().items.length, 1, 'and the remaining owner can read it')
  const { rows } = await sql`SELECT 1 FROM teams WHERE id = ${personal?.id}`.execute(app.db)
  t.same(rows, [], 'the personal team, where the leaver was alone, is gone')
})

t.test('after DELETE /v1/me the old token is refused everywhere; the email starts afresh', async (t) => {
  const DATABASE_URL = await migratedDatabase(t)
  const workerA = await buildTestApp(t, { DATABASE_URL })
  const workerB = await buildTestApp(t, { DATABASE_URL })
  const dora = await signIn(workerB, 'dora@example.com')
  await patchMe(workerA, dora, { name: 'Dora' })
  const [oldPersonal] = await teamsOf(workerA, dora)
  // Both workers have the session, the user id and the profile cached.
  t.equal((await me(workerA, dora)).statusCode, 200)
  t.equal((await me(workerB, dora)).statusCode, 200)

  t.equal((await deleteMe(workerA, dora)).statusCode, 204)
  t.equal((await me(workerA, dora)).statusCode, 401, 'this worker refuses the old token')
  t.equal((await me(workerB, dora)).statusCode, 401, 'the other worker refuses it at once')
  t.equal((await patchMe(workerB, dora, { name: 'Ghost' })).statusCode, 401, 'for writes too')
  t.equal((await deleteMe(workerB, dora)).statusCode, 401, 'and a second delete')
  t.equal(await supertokens.getUser(dora.supertokensUserId), undefined, 'the SuperTokens user is gone')
  const refreshed = await workerA.inject({
    method: 'POST',
    url: '/auth/session/refresh',
    headers: { ...BASE, rid: 'session', authorization: `Bearer ${dora.token}` },
  })
  t.ok(refreshed.statusCode === 401, `no refresh either: ${refreshed.statusCode}`)

  const again = await signIn(workerB, 'dora@example.com')
  t.not(again.id, dora.id, 'a brand-new user')
  t.not(again.supertokensUserId, dora.supertokensUserId, 'with a new sign-in identity')
  t.match((await me(workerA, again)).json(), { id: again.id, email: 'dora@example.com', name: null })
  const teams = await teamsOf(workerA, again)
  t.equal(teams.length, 1)
  t.match(teams[0], { name: 'Personal', personal: true, role: 'owner' })
  t.not(teams[0]?.id, oldPersonal?.id, 'a new personal team')
})

t.test('two owners deleting their accounts at once cannot leave a team without an owner', async (t) => {
  const app = await buildTestApp(t)
  const first = await signIn(app, 'first-owner@example.com')
  const second = await signIn(app, 'second-owner@example.com')
  const viewer = await signIn(app, 'viewer@example.com')
  const teamId = await createTeam(app, first, 'Shared')
  await addMember(app, teamId, second.id, 'owner')
  await addMember(app, teamId, viewer.id, 'viewer')

  const answers = (await Promise.all([deleteMe(app, first), deleteMe(app, second)])).map((r) => r.statusCode)
  t.same([...answers].sort(), [204, 409], `one goes, the other is now the last owner: ${answers.join(', ')}`)
  const { rows } = await sql<{ role: string }>`SELECT role FROM team_members WHERE team_id = ${teamId}
    ORDER BY role`.execute(app.db)
  t.same(
    rows.map((r) => r.role),
    ['owner', 'viewer'],
    'the team keeps its owner and its viewer',
  )
})

t.test(
  'POST /v1/me/sessions/revoke signs out every session of mine, on every worker, and no one else',
  async (t) => {
    const DATABASE_URL = await migratedDatabase(t)
    const workerA = await buildTestApp(t, { DATABASE_URL })
    const workerB = await buildTestApp(t, { DATABASE_URL })
    // Sign-ins go through the app built last (see signIn).
    const laptop = await signIn(workerB, 'ann@example.com')
    const phone = await signIn(workerB, 'ann@example.com')
    const bob = await signIn(workerB, 'bob@example.com')
    t.equal(phone.id, laptop.id, 'one user, two sessions')
    // Both workers have seen both sessions as active before.
    for (const worker of [workerA, workerB]) {
      t.equal((await me(worker, laptop)).statusCode, 200)
      t.equal((await me(worker, phone)).statusCode, 200)
    }

    const revoke = (worker: App, user: SignedIn) =>
      worker.inject({ method: 'POST', url: '/v1/me/sessions/revoke', headers: user.headers })
    // Revoked through workerB: with several apps in one process the SDK reports revocations to
    // the app built last, as each worker's own SDK does in production.
    const revoked = await revoke(workerB, phone)
    t.equal(revoked.statusCode, 204, revoked.body)
    t.equal(revoked.body, '')

    t.equal((await me(workerB, phone)).statusCode, 401, 'this session, this worker, at once')
    t.equal((await me(workerB, laptop)).statusCode, 401, 'the other session, this worker, at once')
    // The other worker refuses from its very next request (the sessions epoch's lease, libs/auth).
    t.equal((await me(workerA, laptop)).statusCode, 401, 'the other session, the other worker, at once')
    t.equal((await me(workerA, phone)).statusCode, 401, 'this session, the other worker, at once')

    t.equal((await me(workerA, bob)).statusCode, 200, "another user's session is untouched")
    t.equal((await me(workerB, bob)).statusCode, 200)
    t.equal((await revoke(workerA, laptop)).statusCode, 401, 'a revoked session cannot call it again')
    const anonymous = await workerA.inject({ method: 'POST', url: '/v1/me/sessions/revoke' })
    t.equal(anonymous.statusCode, 401, 'signed in only')

    // Signing in again works: it was a sign-out, not a lock-out.
    const again = await signIn(workerB, 'ann@example.com')
    t.equal((await me(workerA, again)).statusCode, 200)
  },
)
