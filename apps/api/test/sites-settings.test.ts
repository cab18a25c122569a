import t from 'tap'
import type { App } from '../src/server.ts'
import { buildTestApp } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { migratedDatabase } from './helpers/database.ts'
import { eventually } from './helpers/receiver.ts'
import { signInAs } from './helpers/session.ts'
import { uuidv7 } from './helpers/visitor-ids.ts'

/*
 * PATCH /v1/teams/:teamId/sites/:siteId: whether pages on the site's subdomains count as the
 * site's, for CORS and for the Origin check of events and leads, on every worker at once.
 */

// Two workers of one deployment: one database, one memcached prefix.
const DATABASE_URL = await migratedDatabase(t)
const app = await buildTestApp(t, { DATABASE_URL })
// Signed in before the second worker is built: the SuperTokens SDK is one per process, and the
// last app built is the one whose mailbox gets the link.
const ann = await signInAs(app, 'ann@example.com')
const bob = await signInAs(app, 'bob@example.com')
const worker2 = await buildTestApp(t, { DATABASE_URL })
await worker2.ready()
const teamId = await personalTeam(app, ann)
const site = await addSite(app, ann, teamId, 'shop.example')
const c = await newCampaign(app, ann, teamId, { siteId: site.id })
await campaignApi(app, ann, teamId).walk(c.id, c.version, 'test', 'live')
const variantId = c.variants[0]?.id ?? ''

const patch = (payload: unknown, who = ann) =>
  app.inject({
    method: 'PATCH',
    url: `/v1/teams/${teamId}/sites/${site.id}`,
    headers: who.headers,
    payload: payload as object,
  })

/** An event from a page on `origin`: its answer, and whether the browser may read it (CORS). */
async function sendFrom(to: App, origin: string) {
  const preflight = await to.inject({
    method: 'OPTIONS',
    url: '/public/v1/events',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    },
  })
  const res = await to.inject({
    method: 'POST',
    url: '/public/v1/events',
    headers: { origin },
    payload: {
      events: [
        {
          eventId: uuidv7(),
          pageViewId: uuidv7(),
          campaignId: c.id,
          variantId,
          type: 'impression',
          at: new Date().toISOString(),
        },
      ],
    },
  })
  return {
    status: res.statusCode,
    code: res.statusCode === 202 ? null : (res.json().code as string),
    cors: preflight.headers['access-control-allow-origin'] === origin,
  }
}

const counted = async () => {
  const row = await app.db
    .selectFrom('campaign_stats_daily')
    .select((eb) => eb.fn.sum<string>('impressions').as('n'))
    .where('campaign_id', '=', c.id)
    .executeTakeFirst()
  return Number(row?.n ?? 0)
}

t.test('a subdomain is refused until the site allows it, then accepted on every worker', async (t) => {
  const www = 'https://www.shop.example'
  const refused = { status: 403, code: 'ORIGIN_NOT_ALLOWED', cors: false }
  // Both workers have asked (and remembered) before the change.
  t.same(await sendFrom(app, www), refused, 'refused by the first worker')
  t.same(await sendFrom(worker2, www), refused, 'and by the second')
  t.same(
    await sendFrom(app, 'https://shop.example'),
    { status: 202, code: null, cors: true },
    'the site itself',
  )
  t.equal(await counted(), 1)

  const res = await patch({ allowSubdomains: true })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { id: site.id, hostname: 'shop.example', allowSubdomains: true })
  const got = await app.inject({ url: `/v1/teams/${teamId}/sites/${site.id}`, headers: ann.headers })
  t.equal(got.json().allowSubdomains, true, 'GET shows it')

  const accepted = { status: 202, code: null, cors: true }
  t.same(await sendFrom(app, www), accepted, 'accepted by the worker that made the change')
  // The other worker hears of it through the cache's invalidation bus (LISTEN/NOTIFY).
  await eventually(async () => (await sendFrom(worker2, 'https://blog.shop.example')).status === 202)
  t.same(await sendFrom(worker2, www), accepted, 'and by the other one')
  t.same(await sendFrom(app, 'https://wwwshop.example'), refused, 'a lookalike is still refused')

  const audit = await app.inject({ url: `/v1/teams/${teamId}/audit-events`, headers: ann.headers })
  t.match(
    audit.json().items.find((item: { action: string }) => item.action === 'site.updated'),
    { actor: { type: 'user', id: ann.id }, target: { type: 'site', id: site.id } },
    'audited',
  )

  // Setting what is already set changes nothing and records nothing.
  const again = await patch({ allowSubdomains: true })
  t.equal(again.statusCode, 200)
  const audit2 = await app.inject({ url: `/v1/teams/${teamId}/audit-events`, headers: ann.headers })
  t.equal(
    audit2.json().items.filter((item: { action: string }) => item.action === 'site.updated').length,
    1,
    'one audit row for one change',
  )

  // And back: refused again, on both workers.
  t.equal((await patch({ allowSubdomains: false })).statusCode, 200)
  t.same(await sendFrom(app, www), refused, 'refused once more')
  await eventually(async () => (await sendFrom(worker2, www)).status === 403)
  t.same(await sendFrom(worker2, www), refused, 'by both workers')
})

t.test('bad input names the field; other teams’ sites are not found', async (t) => {
  const cases: Array<[unknown, string]> = [
    [{}, 'body.allowSubdomains'],
    [{ allowSubdomains: 'yes' }, 'body.allowSubdomains'],
    [{ allowSubdomains: true, hostname: 'other.example' }, 'body.hostname'],
  ]
  for (const [payload, field] of cases) {
    const res = await patch(payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.ok(
      (res.json().details as Array<{ field: string }>).some((detail) => detail.field === field),
      `names ${field}`,
    )
  }
  const bobTeam = await personalTeam(app, bob)
  const theirs = await app.inject({
    method: 'PATCH',
    url: `/v1/teams/${bobTeam}/sites/${site.id}`,
    headers: bob.headers,
    payload: { allowSubdomains: true },
  })
  t.equal(theirs.statusCode, 404, 'another team’s site id is not found through one’s own team')
  const row = await app.db.selectFrom('sites').select('settings').where('id', '=', site.id).executeTakeFirst()
  t.equal(row?.settings.allowSubdomains, false, 'unchanged')
})
