import { randomUUID } from 'node:crypto'
import { newId } from '@nudge/db'
import { sql } from 'kysely'
import t from 'tap'
import { can } from '../src/permissions.ts'
import { buildTestApp } from './helpers/app.ts'
import { migratedDatabase } from './helpers/database.ts'
import { signInAs } from './helpers/session.ts'
import { addMember, createTeam } from './helpers/teams.ts'

type App = Awaited<ReturnType<typeof buildTestApp>>
type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'

/** Rows in every team table: what "nothing was written" is checked against. */
async function rowCounts(app: App) {
  const { rows } = await sql<Record<string, number>>`SELECT
    (SELECT count(*)::int FROM teams) AS teams,
    (SELECT count(*)::int FROM team_members) AS members,
    (SELECT count(*)::int FROM team_invites) AS invites,
    (SELECT count(*)::int FROM audit_events) AS audit,
    (SELECT string_agg(team_id::text || user_id::text || role, ',' ORDER BY team_id, user_id) FROM team_members) AS roles`.execute(
    app.db,
  )
  return rows[0]
}

t.test('the first sign-in creates the user and a personal team they own, with its audit row', async (t) => {
  const app = await buildTestApp(t)
  const ann = await signInAs(app, 'ann@example.com')
  const teams = (await app.inject({ url: '/v1/teams', headers: ann.headers })).json().items
  t.equal(teams.length, 1)
  t.match(teams[0], { name: 'Personal', personal: true, role: 'owner' })
  await signInAs(app, 'ann@example.com')
  t.equal((await app.inject({ url: '/v1/teams', headers: ann.headers })).json().items.length, 1, 'only once')
  const audit = await app.inject({ url: `/v1/teams/${teams[0].id}/audit-events`, headers: ann.headers })
  t.match(audit.json().items, [{ action: 'team.created', actor: { type: 'user', id: ann.id } }])
})

t.test(
  'every /v1/teams/:teamId route: strangers get 404, roles without the action 403, nothing written',
  async (t) => {
    const app = await buildTestApp(t, { RATE_LIMIT_MAX: '100000' })
    const owner = await signInAs(app, 'owner@example.com')
    const stranger = await signInAs(app, 'stranger@example.com')
    const teamId = await createTeam(app, owner, 'Growth')
    const members: Record<string, Awaited<ReturnType<typeof signInAs>>> = {}
    for (const role of ['admin', 'editor', 'viewer']) {
      members[role] = await signInAs(app, `${role}@example.com`)
      await addMember(app, teamId, members[role].id, role)
    }
    const doc = (await app.inject({ url: '/docs/json' })).json()
    const routes = app.teamScopedRoutes
    t.ok(routes.length >= 7, `${routes.length} team-scoped routes in the table`)
    const before = await rowCounts(app)
    for (const route of routes) {
      const url = route.url.replace(':teamId', teamId).replace(/:\w+/g, () => randomUUID())
      const operation = doc.paths[route.url.replace(/:(\w+)/g, '{$1}')]?.[route.method.toLowerCase()]
      const body = operation?.requestBody?.content?.['application/json']
      const example = body?.example ?? body?.schema?.examples?.[0]
      const send = (headers: Record<string, string>) =>
        app.inject({ method: route.method as Method, url, headers, ...(example ? { payload: example } : {}) })
      const asStranger = await send(stranger.headers)
      t.equal(asStranger.statusCode, 404, `${route.method} ${route.url}: a stranger gets 404`)
      t.equal(asStranger.json().code, 'NOT_FOUND')
      for (const [role, member] of Object.entries(members)) {
        if (can(role as 'viewer', route.action)) continue
        const refused = await send(member.headers)
        t.equal(refused.statusCode, 403, `${route.method} ${route.url} (${route.action}): ${role} gets 403`)
      }
      const anonymous = await send({})
      t.equal(anonymous.statusCode, 401, `${route.method} ${route.url}: no session, 401`)
    }
    t.same(await rowCounts(app), before, 'nothing was written by any refused request')
  },
)

t.test('a team route that declares no permission stops the app at start-up', async (t) => {
  const app = await buildTestApp(t)
  t.throws(
    () => app.get('/v1/teams/:teamId/forgotten', async () => ({ leaked: true })),
    /declares no permission action/,
  )
})

t.test('roles: last owner, admin limits, transfer of ownership, each change audited', async (t) => {
  const app = await buildTestApp(t)
  const owner = await signInAs(app, 'o@example.com')
  const admin = await signInAs(app, 'a@example.com')
  const editor = await signInAs(app, 'e@example.com')
  const teamId = await createTeam(app, owner, 'Growth')
  await addMember(app, teamId, admin.id, 'admin')
  await addMember(app, teamId, editor.id, 'editor')
  const patch = (who: typeof owner, userId: string, role: string) =>
    app.inject({
      method: 'PATCH',
      url: `/v1/teams/${teamId}/members/${userId}`,
      headers: who.headers,
      payload: { role },
    })
  const remove = (who: typeof owner, userId: string) =>
    app.inject({ method: 'DELETE', url: `/v1/teams/${teamId}/members/${userId}`, headers: who.headers })
  const auditCount = async () => (await rowCounts(app))?.audit

  let audits = await auditCount()
  const demoteSelf = await patch(owner, owner.id, 'admin')
  t.equal(demoteSelf.statusCode, 409)
  t.equal(demoteSelf.json().code, 'LAST_OWNER')
  t.equal((await remove(owner, owner.id)).json().code, 'LAST_OWNER', 'the last owner cannot leave')
  t.equal(await auditCount(), audits, 'refused changes leave no audit row')

  t.equal(
    (await patch(admin, editor.id, 'owner')).json().code,
    'ROLE_NOT_ALLOWED',
    'an admin cannot make owners',
  )
  t.equal((await patch(admin, owner.id, 'viewer')).json().code, 'ROLE_NOT_ALLOWED', 'nor touch an owner')
  t.equal((await remove(admin, owner.id)).json().code, 'ROLE_NOT_ALLOWED', 'nor remove one')
  t.equal((await patch(editor, editor.id, 'admin')).statusCode, 403, 'an editor changes no roles')
  t.equal((await patch(admin, editor.id, 'admin')).statusCode, 204, 'an admin may make admins')

  audits = await auditCount()
  t.equal((await patch(owner, admin.id, 'owner')).statusCode, 204, 'ownership is transferred…')
  t.equal((await patch(owner, owner.id, 'viewer')).statusCode, 204, '…and the old owner steps down')
  t.equal((await auditCount()) ?? 0, (audits ?? 0) + 2)
  const members = (await app.inject({ url: `/v1/teams/${teamId}/members`, headers: admin.headers })).json()
    .items
  t.same(Object.fromEntries(members.map((m: { email: string; role: string }) => [m.email, m.role])), {
    'o@example.com': 'viewer',
    'a@example.com': 'owner',
    'e@example.com': 'admin',
  })
  const log = (
    await app.inject({
      url: `/v1/teams/${teamId}/audit-events?action=member.role_changed`,
      headers: admin.headers,
    })
  ).json()
  t.match(log.items[0], {
    action: 'member.role_changed',
    actor: { id: owner.id },
    target: { type: 'user', id: owner.id },
    data: { from: 'owner', to: 'viewer' },
  })

  t.equal((await remove(editor, editor.id)).statusCode, 204, 'anyone may leave')
  t.equal(
    (await app.inject({ url: `/v1/teams/${teamId}`, headers: editor.headers })).statusCode,
    404,
    'and is then a stranger',
  )
})

t.test('a demotion or removal takes effect on the very next request, on another worker too', async (t) => {
  const DATABASE_URL = await migratedDatabase(t)
  const workerA = await buildTestApp(t, { DATABASE_URL })
  const workerB = await buildTestApp(t, { DATABASE_URL })
  // The SDK sends sign-in emails through the app built last (one SDK per process): its mailbox.
  const owner = await signInAs(workerB, 'boss@example.com')
  const helper = await signInAs(workerB, 'helper@example.com')
  const teamId = await createTeam(workerA, owner, 'Growth')
  await addMember(workerA, teamId, helper.id, 'admin')
  const rename = (name: string) =>
    workerB.inject({
      method: 'PATCH',
      url: `/v1/teams/${teamId}`,
      headers: helper.headers,
      payload: { name },
    })
  t.equal((await rename('Renamed by the admin')).statusCode, 200, 'worker B has seen the admin role')
  const demoted = await workerA.inject({
    method: 'PATCH',
    url: `/v1/teams/${teamId}/members/${helper.id}`,
    headers: owner.headers,
    payload: { role: 'viewer' },
  })
  t.equal(demoted.statusCode, 204)
  t.equal((await rename('Again')).statusCode, 403, 'worker B refuses at once')
  await workerA.inject({
    method: 'DELETE',
    url: `/v1/teams/${teamId}/members/${helper.id}`,
    headers: owner.headers,
  })
  const gone = await workerB.inject({ url: `/v1/teams/${teamId}`, headers: helper.headers })
  t.equal(gone.statusCode, 404, 'a removed member is a stranger on every worker at once')
})

t.test('teams: create, list, rename, delete (owners only; not with a paid subscription)', async (t) => {
  const app = await buildTestApp(t)
  const owner = await signInAs(app, 'teams@example.com')
  const viewer = await signInAs(app, 'teams-viewer@example.com')
  const bad = await app.inject({
    method: 'POST',
    url: '/v1/teams',
    headers: owner.headers,
    payload: { name: ' ', x: 1 },
  })
  t.equal(bad.statusCode, 400)
  const teamId = await createTeam(app, owner, 'Acme')
  await addMember(app, teamId, viewer.id, 'viewer')
  const listed = (await app.inject({ url: '/v1/teams', headers: viewer.headers })).json().items
  t.match(
    listed.find((team: { id: string }) => team.id === teamId),
    { name: 'Acme', role: 'viewer' },
  )
  const renamed = await app.inject({
    method: 'PATCH',
    url: `/v1/teams/${teamId}`,
    headers: owner.headers,
    payload: { name: 'Acme Inc' },
  })
  t.match(renamed.json(), { name: 'Acme Inc', role: 'owner' })
  t.equal(
    (await app.inject({ method: 'DELETE', url: `/v1/teams/${teamId}`, headers: viewer.headers })).statusCode,
    403,
  )
  await sql`UPDATE teams SET stripe_subscription_id = 'sub_1', subscription_status = 'active' WHERE id = ${teamId}`.execute(
    app.db,
  )
  const paid = await app.inject({ method: 'DELETE', url: `/v1/teams/${teamId}`, headers: owner.headers })
  t.equal(paid.statusCode, 409)
  t.equal(paid.json().code, 'TEAM_HAS_SUBSCRIPTION')
  await sql`UPDATE teams SET subscription_status = 'canceled' WHERE id = ${teamId}`.execute(app.db)
  t.equal(
    (await app.inject({ method: 'DELETE', url: `/v1/teams/${teamId}`, headers: owner.headers })).statusCode,
    204,
  )
  t.equal((await app.inject({ url: `/v1/teams/${teamId}`, headers: owner.headers })).statusCode, 404)
  t.equal(
    (await app.inject({ url: `/v1/teams/${teamId}`, headers: viewer.headers })).statusCode,
    404,
    'for its members too',
  )
})

t.test('the audit log is append-only', async (t) => {
  const app = await buildTestApp(t)
  const owner = await signInAs(app, 'append@example.com')
  const teamId = await createTeam(app, owner, 'Growth')
  await t.rejects(
    sql`UPDATE audit_events SET action = 'x' WHERE team_id = ${teamId}`.execute(app.db),
    /append-only/,
  )
  await t.rejects(sql`DELETE FROM audit_events WHERE team_id = ${teamId}`.execute(app.db), /append-only/)
})

t.test(
  'pagination: stable across inserts between pages, no duplicates, no gaps; tampered cursors are 400',
  async (t) => {
    const app = await buildTestApp(t)
    const owner = await signInAs(app, 'pages@example.com')
    const teamId = await createTeam(app, owner, 'Growth')
    const insert = async (n: number, label: string) => {
      // Rows inserted in one statement share created_at: the id breaks the tie.
      for (let i = 0; i < n; i++) {
        await sql`INSERT INTO audit_events (id, team_id, actor_type, action, target_type, data)
        VALUES (${newId()}, ${teamId}, 'system', ${`${label}.${i}`}, 'test', '{}')`.execute(app.db)
      }
    }
    await insert(24, 'old')
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const query: string = cursor ? `?limit=10&cursor=${cursor}` : '?limit=10'
      const page = (
        await app.inject({ url: `/v1/teams/${teamId}/audit-events${query}`, headers: owner.headers })
      ).json()
      seen.push(...page.items.map((item: { action: string }) => item.action))
      cursor = page.nextCursor
      if (pages++ === 0) await insert(5, 'new') // newer rows arrive while the client pages
    } while (cursor && pages < 10)
    const expected = ['team.created', ...Array.from({ length: 24 }, (_, i) => `old.${i}`)]
    t.same(
      [...seen].sort(),
      [...expected].sort(),
      'every row that existed, exactly once; newer rows not mixed in',
    )
    t.equal(new Set(seen).size, seen.length, 'no duplicates')

    const first = (
      await app.inject({ url: `/v1/teams/${teamId}/audit-events?limit=2`, headers: owner.headers })
    ).json()
    const tampered = `${first.nextCursor.slice(0, -2)}xx`
    const res = await app.inject({
      url: `/v1/teams/${teamId}/audit-events?cursor=${tampered}`,
      headers: owner.headers,
    })
    t.equal(res.statusCode, 400)
    t.equal(res.json().code, 'INVALID_CURSOR')
    const over = await app.inject({
      url: `/v1/teams/${teamId}/audit-events?limit=1000`,
      headers: owner.headers,
    })
    t.equal(over.statusCode, 400, 'the page size is bounded')
  },
)

t.test('a member renaming themselves shows in the (cached) member list at once', async (t) => {
  const app = await buildTestApp(t)
  const owner = await signInAs(app, 'lister@example.com')
  const member = await signInAs(app, 'renamer@example.com')
  const teamId = await createTeam(app, owner, 'Growth')
  await addMember(app, teamId, member.id, 'editor')
  const names = async () =>
    (await app.inject({ url: `/v1/teams/${teamId}/members`, headers: owner.headers }))
      .json()
      .items.map((m: { name: string | null }) => m.name)
  t.same(await names(), [null, null], 'listed (and now cached)')
  await app.inject({ method: 'PATCH', url: '/v1/me', headers: member.headers, payload: { name: 'Rita' } })
  t.same(await names(), [null, 'Rita'])
})

t.test("another team's ids get 404 through a team of one's own, and change nothing", async (t) => {
  const app = await buildTestApp(t)
  const alice = await signInAs(app, 'alice@example.com')
  const bob = await signInAs(app, 'bob@example.com')
  const mallory = await signInAs(app, 'mallory-member@example.com')
  const aliceTeam = await createTeam(app, alice, 'Alice')
  const bobTeam = await createTeam(app, bob, 'Bob')
  await addMember(app, bobTeam, mallory.id, 'editor')
  const invite = await app.inject({
    method: 'POST',
    url: `/v1/teams/${bobTeam}/invites`,
    headers: bob.headers,
    payload: { email: 'guest@example.com', role: 'viewer' },
  })
  t.equal(invite.statusCode, 201)
  const before = await rowCounts(app)
  const attempts = [
    ['PATCH', `/v1/teams/${aliceTeam}/members/${mallory.id}`, { role: 'owner' }],
    ['DELETE', `/v1/teams/${aliceTeam}/members/${mallory.id}`, undefined],
    ['DELETE', `/v1/teams/${aliceTeam}/members/${bob.id}`, undefined],
    ['DELETE', `/v1/teams/${aliceTeam}/invites/${invite.json().id}`, undefined],
  ] as const
  for (const [method, url, payload] of attempts) {
    const res = await app.inject({ method, url, headers: alice.headers, ...(payload ? { payload } : {}) })
    t.equal(res.statusCode, 404, `${method} ${url.replace(aliceTeam, 'own-team')}: 404`)
  }
  t.same(await rowCounts(app), before, 'nothing changed in either team')
})

t.test('two owners demoting each other at once: the team keeps an owner', async (t) => {
  const DATABASE_URL = await migratedDatabase(t)
  const workerA = await buildTestApp(t, { DATABASE_URL })
  const workerB = await buildTestApp(t, { DATABASE_URL })
  const first = await signInAs(workerB, 'first-owner@example.com')
  const second = await signInAs(workerB, 'second-owner@example.com')
  const teamId = await createTeam(workerA, first, 'Growth')
  await addMember(workerA, teamId, second.id, 'owner')
  for (let round = 0; round < 5; round++) {
    const [a, b] = await Promise.all([
      workerA.inject({
        method: 'PATCH',
        url: `/v1/teams/${teamId}/members/${second.id}`,
        headers: first.headers,
        payload: { role: 'admin' },
      }),
      workerB.inject({
        method: 'PATCH',
        url: `/v1/teams/${teamId}/members/${first.id}`,
        headers: second.headers,
        payload: { role: 'admin' },
      }),
    ])
    const { rows } = await sql<{ owners: number }>`SELECT count(*)::int AS owners FROM team_members
      WHERE team_id = ${teamId} AND role = 'owner'`.execute(workerA.db)
    t.equal(rows[0]?.owners, 1, `round ${round}: one owner left (${a.statusCode}, ${b.statusCode})`)
    // Put both back as owners for the next round, and wait as a service does after such a change
    // (teams/memberships.ts): until no worker can still hold the demoted one's old role.
    await sql`UPDATE team_members SET role = 'owner' WHERE team_id = ${teamId}`.execute(workerA.db)
    await workerA.memberships.settled()
  }
})

t.test('the database going away: team routes answer a fast 503, never a 500', async (t) => {
  const app = await buildTestApp(t)
  const owner = await signInAs(app, 'outage@example.com')
  const teamId = await createTeam(app, owner, 'Growth')
  // Another worker of the same deployment whose database is unreachable (nothing listens on port 1).
  const cut = await buildTestApp(t, { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nudge' })
  for (const [method, url] of [
    ['GET', `/v1/teams/${teamId}/members`],
    ['PATCH', `/v1/teams/${teamId}`],
    ['GET', '/v1/teams'],
  ] as const) {
    const started = performance.now()
    const res = await cut.inject({
      method,
      url,
      headers: owner.headers,
      ...(method === 'PATCH' ? { payload: { name: 'x' } } : {}),
    })
    t.equal(res.statusCode, 503, `${method} ${url.replace(teamId, ':teamId')}: 503`)
    t.equal(res.json().code, 'DATABASE_UNAVAILABLE')
    t.ok(performance.now() - started < 5000, 'and fast')
  }
})
