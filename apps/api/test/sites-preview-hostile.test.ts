import { sql } from 'kysely'
import t from 'tap'
import { buildTestApp } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { dashboard } from './helpers/dashboard.ts'
import { migratedDatabase } from './helpers/database.ts'
import { signInAs } from './helpers/session.ts'

/*
 * The two routes added with the deploy work, attacked as a stranger would:
 * PATCH /v1/teams/:teamId/sites/:siteId (a site's allowSubdomains) and
 * GET /public/v1/sites/:hostname/preview/:campaignId (the test version for a preview).
 * Path variants, hostile bodies, other teams' ids, a signed-out session, two workers racing,
 * the database gone: each a 4xx or a fast 503, and nothing changed that should not be.
 */

const DATABASE_URL = await migratedDatabase(t)
const app = await buildTestApp(t, { DATABASE_URL })
const ann = await signInAs(app, 'ann@example.com')
const bob = await signInAs(app, 'bob@example.com')
const leaver = await signInAs(app, 'leaver@example.com')
const worker2 = await buildTestApp(t, { DATABASE_URL })
const teamId = await personalTeam(app, ann)
const bobTeam = await personalTeam(app, bob)
const site = await addSite(app, ann, teamId, 'shop.example')
const bobSite = await addSite(app, bob, bobTeam, 'bob.example')
const inTest = await newCampaign(app, ann, teamId, { siteId: site.id })
await campaignApi(app, ann, teamId).walk(inTest.id, inTest.version, 'test')
const bobInTest = await newCampaign(app, bob, bobTeam, { siteId: bobSite.id })
await campaignApi(app, bob, bobTeam).walk(bobInTest.id, bobInTest.version, 'test')

/** The site's settings and its audit rows: what a refused request must leave as it was. */
async function state() {
  const { rows } = await sql<{ settings: string; audits: number }>`SELECT
    (SELECT settings::text FROM sites WHERE id = ${site.id}) AS settings,
    (SELECT count(*)::int FROM audit_events WHERE action = 'site.updated') AS audits`.execute(app.db)
  return rows[0]
}

const patch = (url: string, payload: unknown, headers: Record<string, string> = ann.headers) =>
  app.inject({
    method: 'PATCH',
    url,
    headers: { ...headers, 'content-type': 'application/json' },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  })

t.test('PATCH site: path variants reach this site or nothing, never another', async (t) => {
  const before = await state()
  const base = `/v1/teams/${teamId}/sites/${site.id}`
  for (const url of [
    `${base}/`,
    `/v1/teams/${teamId}//sites/${site.id}`,
    `/v1/teams/${teamId}/sites/${site.id.toUpperCase()}`,
    `/V1/teams/${teamId}/sites/${site.id}`,
    `${base}%00`,
    `${base}/../${bobSite.id}`,
    `/v1/teams/${teamId}/sites/${bobSite.id}`,
    `/v1/teams/${bobTeam}/sites/${site.id}`,
  ]) {
    const res = await patch(url, { allowSubdomains: true })
    t.ok(res.statusCode < 500, `${url.replace(teamId, ':team')}: ${res.statusCode}, no 5xx`)
    if (res.statusCode === 200) t.equal(res.json().id, site.id, 'only ever this site')
    else t.ok([400, 404].includes(res.statusCode), `refused with ${res.statusCode}`)
  }
  // Whatever was accepted changed this site only; put it back.
  await patch(base, { allowSubdomains: false })
  t.equal(JSON.parse((await state())?.settings ?? '{}').allowSubdomains === true, false)
  t.ok(before, 'the site was there before')
  const bobs = await sql<{
    settings: string
  }>`SELECT settings::text FROM sites WHERE id = ${bobSite.id}`.execute(app.db)
  t.notMatch(bobs.rows[0]?.settings ?? '', /allowSubdomains/, 'the other team’s site was never touched')
})

t.test('PATCH site: hostile bodies get a 4xx naming the problem, and change nothing', async (t) => {
  const url = `/v1/teams/${teamId}/sites/${site.id}`
  const before = await state()
  for (const [body, status] of [
    ['null', 400],
    ['[]', 400],
    ['"true"', 400],
    ['true', 400],
    ['{}', 400],
    ['{"allowSubdomains":"yes"}', 400],
    ['{"allowSubdomains":null}', 400],
    ['{"allowSubdomains":true,"hostname":"evil.example"}', 400],
    ['{"allowSubdomains":tru', 400],
    [`{"allowSubdomains":true,"pad":"${'x'.repeat(2 * 1024 * 1024)}"}`, 413],
  ] as const) {
    const res = await patch(url, body)
    t.equal(res.statusCode, status, `${body.slice(0, 40)}: ${status}`)
    t.ok(res.json().message, 'with a message')
  }
  t.same(await state(), before)
})

t.test('PATCH site: a viewer, a stranger and a signed-out session change nothing', async (t) => {
  const url = `/v1/teams/${teamId}/sites/${site.id}`
  await sql`INSERT INTO team_members (team_id, user_id, role) VALUES (${teamId}, ${leaver.id}, 'viewer')`.execute(
    app.db,
  )
  const before = await state()
  t.equal((await patch(url, { allowSubdomains: true }, leaver.headers)).statusCode, 403, 'a viewer: 403')
  t.equal((await patch(url, { allowSubdomains: true }, bob.headers)).statusCode, 404, 'a stranger: 404')
  t.equal((await patch(url, { allowSubdomains: true }, {})).statusCode, 401, 'no session: 401')
  t.equal((await dashboard(app).signOut(leaver.token)).statusCode, 200)
  // Whichever worker the SDK tells, the sign-out answers only once no worker accepts the session
  // (the sessions epoch's lease, libs/auth).
  const onWorker2 = await worker2.inject({
    method: 'PATCH',
    url,
    headers: { ...leaver.headers, 'content-type': 'application/json' },
    payload: '{"allowSubdomains":true}',
  })
  t.equal(onWorker2.statusCode, 401, `signed out, the worker told first: 401 (${onWorker2.body})`)
  const signedOut = await patch(url, { allowSubdomains: true }, leaver.headers)
  t.equal(signedOut.statusCode, 401, `signed out, the other worker at once: 401 (${signedOut.body})`)
  t.same(await state(), before)
})

t.test('PATCH site: two workers racing leave one answer and one audit row per change', async (t) => {
  const url = `/v1/teams/${teamId}/sites/${site.id}`
  const auditsBefore = (await state())?.audits ?? 0
  for (let round = 0; round < 5; round++) {
    const answers = await Promise.all(
      [app, worker2, app, worker2].map((to, i) =>
        to.inject({
          method: 'PATCH',
          url,
          headers: { ...ann.headers, 'content-type': 'application/json' },
          payload: JSON.stringify({ allowSubdomains: i % 2 === 0 }),
        }),
      ),
    )
    t.same(
      answers.map((res) => res.statusCode),
      [200, 200, 200, 200],
      `round ${round}: every request answered`,
    )
  }
  const { rows } = await sql<{ data: { allowSubdomains: { from: boolean; to: boolean } } }>`
    SELECT data FROM audit_events WHERE action = 'site.updated' ORDER BY id`.execute(app.db)
  const changes = rows.slice(auditsBefore).map((row) => row.data.allowSubdomains)
  // Each audited change starts where the previous one ended: no change was lost or counted twice.
  for (const [i, change] of changes.entries()) {
    t.not(change.from, change.to, 'an audit row is a real change')
    if (i > 0) t.equal(change.from, changes[i - 1]?.to, 'from where the last change left it')
  }
  const settings = JSON.parse((await state())?.settings ?? '{}') as { allowSubdomains?: boolean }
  t.equal(
    settings.allowSubdomains === true,
    changes.at(-1)?.to ?? false,
    'the row says what the last audit says',
  )
})

const preview = (hostname: string, campaignId: string, to = app) =>
  to.inject({ method: 'GET', url: `/public/v1/sites/${hostname}/preview/${campaignId}` })

t.test('preview: path variants find this campaign or nothing; other sites’ ids never', async (t) => {
  for (const [hostname, id] of [
    ['shop.example', inTest.id],
    ['SHOP.Example', inTest.id],
    ['shop.example.', inTest.id],
    ['shop.example', inTest.id.toUpperCase()],
  ] as const) {
    const res = await preview(hostname, id)
    t.equal(res.statusCode, 200, `${hostname} ${id === inTest.id ? '' : '(upper case id)'}: 200`)
    t.equal(res.json().id, inTest.id)
  }
  const trailing = await app.inject({ url: `/public/v1/sites/shop.example/preview/${inTest.id}/` })
  t.ok([200, 404].includes(trailing.statusCode), `trailing slash: ${trailing.statusCode}`)
  if (trailing.statusCode === 200) t.equal(trailing.json().id, inTest.id)
  for (const [hostname, id, status] of [
    ['shop.example', bobInTest.id, 404],
    ['bob.example', inTest.id, 404],
    ['www.shop.example', inTest.id, 404],
    ['x'.repeat(300), inTest.id, 414],
    ['shop.example%00', inTest.id, 404],
    ['shop.example', 'not-a-uuid', 400],
    ['shop.example', `${inTest.id}%27%20OR%201%3D1`, 400],
    ['shop.example', '00000000-0000-0000-0000-000000000000', 404],
  ] as const) {
    const res = await preview(hostname, id)
    t.equal(res.statusCode, status, `${hostname.slice(0, 30)} ${id.slice(0, 40)}: ${status}`)
    t.notOk(res.body.includes(bobInTest.id) && hostname === 'shop.example', 'never another team’s campaign')
  }
})

t.test('the database gone: preview and PATCH answer a fast 503, never a 500', async (t) => {
  const cut = await buildTestApp(t, { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nudge' })
  for (const request of [
    () => cut.inject({ url: `/public/v1/sites/shop.example/preview/${inTest.id}` }),
    () =>
      cut.inject({
        method: 'PATCH',
        url: `/v1/teams/${teamId}/sites/${site.id}`,
        headers: { ...ann.headers, 'content-type': 'application/json' },
        payload: '{"allowSubdomains":true}',
      }),
  ]) {
    const started = performance.now()
    const res = await request()
    t.equal(res.statusCode, 503)
    t.equal(res.json().code, 'DATABASE_UNAVAILABLE')
    t.ok(performance.now() - started < 5000, 'and fast')
  }
})
