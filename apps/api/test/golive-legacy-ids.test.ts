import { randomUUID } from 'node:crypto'
import t from 'tap'
import { recordLegacyIds } from '../src/modules/golive/legacy-ids-repository.ts'
import type { App } from '../src/server.ts'
import { buildTestApp } from './helpers/app.ts'
import { addSite, liveLeadCampaign, personalTeam } from './helpers/campaigns.ts'
import { migratedDatabase } from './helpers/database.ts'
import { signInAs } from './helpers/session.ts'
import { uuidv7 } from './helpers/visitor-ids.ts'

/*
 * Go-Live's transition: snippets on customers' pages carry the old system's numbers for their
 * domain and campaigns. Until LEGACY_IDS_UNTIL the visitor routes take them, through legacy_ids
 * (written here directly: what `golive migrate` records), and count on the new campaign.
 */

const SHOP = 'https://shop.example'
const DAY_MS = 86_400_000
const until = new Date(Date.now() + DAY_MS).toISOString()

// Two workers of one deployment in the transition, and one of a deployment past its date.
const DATABASE_URL = await migratedDatabase(t)
const app = await buildTestApp(t, { DATABASE_URL, LEGACY_IDS_UNTIL: until })
// Signed in before the other workers are built: the SuperTokens SDK is one per process.
const ann = await signInAs(app, 'ann@example.com')
const worker2 = await buildTestApp(t, { DATABASE_URL, LEGACY_IDS_UNTIL: until })
const after = await buildTestApp(t, {
  DATABASE_URL,
  LEGACY_IDS_UNTIL: new Date(Date.now() - 1000).toISOString(),
})
for (const worker of [worker2, after]) {
  // Load shedding reads "no event loop sample yet" as overloaded: wait for the worker's first.
  for (let tries = 0; (await worker.inject({ method: 'GET', url: '/health' })).statusCode !== 200; tries++) {
    if (tries > 50) throw new Error('a worker never became ready')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const teamId = await personalTeam(app, ann)
const shop = await addSite(app, ann, teamId, 'shop.example')
const blog = await addSite(app, ann, teamId, 'blog.example')
const live = await liveLeadCampaign(app, ann, teamId, shop.id)
const elsewhere = await liveLeadCampaign(app, ann, teamId, blog.id)
// What the migration records: domain 17 became shop.example, campaigns 123 and 200 the live
// ones; 321 is a campaign deleted since (mapped, gone).
await recordLegacyIds(app.db, [
  { kind: 'domain', legacyId: '17', newId: shop.id },
  { kind: 'campaign', legacyId: '123', newId: live.id },
  { kind: 'campaign', legacyId: '200', newId: elsewhere.id },
  { kind: 'campaign', legacyId: '321', newId: randomUUID() },
])

function event(campaignId: unknown, overrides: Record<string, unknown> = {}) {
  return { eventId: uuidv7(), pageViewId: uuidv7(), campaignId, type: 'conversion', ...overrides }
}

function send(events: unknown[], to: App = app, origin = SHOP) {
  return to.inject({ method: 'POST', url: '/public/v1/events', headers: { origin }, payload: { events } })
}

function lead(campaignId: unknown, overrides: Record<string, unknown> = {}) {
  return { campaignId, email: 'visitor@example.com', fillMs: 5000, ...overrides }
}

function submit(payload: unknown, to: App = app, origin = SHOP) {
  return to.inject({
    method: 'POST',
    url: '/public/v1/leads',
    headers: { origin },
    payload: payload as object,
  })
}

async function conversions(campaignId: string) {
  const rows = await app.db
    .selectFrom('campaign_stats_daily')
    .select(['variant_id', 'conversions'])
    .where('campaign_id', '=', campaignId)
    .execute()
  return rows.map((row) => ({ variant: row.variant_id, conversions: Number(row.conversions) }))
}

t.test('an old snippet’s events count on the new campaign and its one variant', async (t) => {
  const before = await conversions(live.id)
  t.same(before, [], 'nothing counted yet')
  const res = await send([
    event('123'),
    event(123),
    // The old script's own variant names mean nothing now: counted on the campaign's one variant.
    event('123', { variantId: 'b' }),
  ])
  t.equal(res.statusCode, 202, res.body)
  t.same(res.json(), { accepted: 3, duplicates: 0, ignored: 0 })
  t.same(await conversions(live.id), [{ variant: 'a', conversions: 3 }])

  // The same report with the campaign's UUID is the same campaign: its stats grow together.
  const again = await send([event(live.id, { variantId: 'a' })])
  t.equal(again.statusCode, 202, again.body)
  t.same(await conversions(live.id), [{ variant: 'a', conversions: 4 }])
})

t.test('an old snippet’s lead is stored and counted on the new campaign', async (t) => {
  const res = await submit(lead('123', { email: 'Old.Snippet@Example.com' }))
  t.equal(res.statusCode, 202, res.body)
  const numeric = await submit(lead(123, { email: 'numeric@example.com', variantId: 'x' }))
  t.equal(numeric.statusCode, 202, numeric.body)
  const rows = await app.db
    .selectFrom('leads')
    .select(['email', 'variant_id', 'team_id'])
    .where('campaign_id', '=', live.id)
    .orderBy('email')
    .execute()
  t.same(
    rows
      .map((row) => ({ ...row, email: row.email.toLowerCase() }))
      .sort((x, y) => x.email.localeCompare(y.email)),
    [
      { email: 'numeric@example.com', variant_id: 'a', team_id: teamId },
      { email: 'old.snippet@example.com', variant_id: 'a', team_id: teamId },
    ],
  )
  const stats = await app.db
    .selectFrom('campaign_stats_daily')
    .select(({ fn }) => fn.sum<number>('leads').as('leads'))
    .where('campaign_id', '=', live.id)
    .executeTakeFirst()
  t.equal(Number(stats?.leads), 2, 'counted as leads in the campaign’s stats')
})

t.test('GET /public/v1/sites/<old domain id> answers the site’s document', async (t) => {
  const byHostname = await app.inject({ method: 'GET', url: '/public/v1/sites/shop.example' })
  t.equal(byHostname.statusCode, 200)
  const byOldId = await app.inject({ method: 'GET', url: '/public/v1/sites/17' })
  t.equal(byOldId.statusCode, 200, byOldId.body)
  t.equal(byOldId.body, byHostname.body, 'the same document')
  t.equal(byOldId.headers.etag, byHostname.headers.etag)
  t.equal(byOldId.headers['cache-control'], byHostname.headers['cache-control'])
  t.match(byOldId.json(), { site: shop.id, hostname: 'shop.example', campaigns: [{ id: live.id }] })
  const notModified = await app.inject({
    method: 'GET',
    url: '/public/v1/sites/17',
    headers: { 'if-none-match': String(byHostname.headers.etag) },
  })
  t.equal(notModified.statusCode, 304)

  for (const path of ['18', '017', '0', '99999999999', '2147483648', '17.', '-17', '1e1']) {
    const res = await app.inject({ method: 'GET', url: `/public/v1/sites/${path}` })
    t.equal(res.statusCode, 404, `/public/v1/sites/${path}`)
    t.match(res.json(), { code: 'NOT_FOUND' })
  }
  const past = await after.inject({ method: 'GET', url: '/public/v1/sites/17' })
  t.equal(past.statusCode, 404, 'after LEGACY_IDS_UNTIL an old id is no hostname')
})

t.test('an unknown old id is answered like an unknown UUID', async (t) => {
  const unknownUuid = await send([event(randomUUID(), { variantId: 'a' })])
  t.equal(unknownUuid.statusCode, 404)
  for (const id of ['4444', 4444, '321']) {
    const res = await send([event(id)])
    t.equal(res.statusCode, 404, `event of campaign ${id}`)
    t.equal(res.json().code, unknownUuid.json().code)
    t.match(res.json().message, /Campaign .* not found/)
    t.notMatch(res.json().message, /[0-9a-f]{8}-/, 'the new id of an old one is not told')
  }
  const leadUuid = await submit(lead(randomUUID(), { variantId: 'a' }))
  const leadOld = await submit(lead('4444'))
  t.equal(leadOld.statusCode, leadUuid.statusCode)
  t.equal(leadOld.json().code, leadUuid.json().code)

  // A campaign migrated a moment later (the delta) is found once its brief "unknown" is over:
  // here, on a worker that had not asked yet.
  const lateId = await liveLeadCampaign(app, ann, teamId, shop.id)
  await recordLegacyIds(app.db, [{ kind: 'campaign', legacyId: '4445', newId: lateId.id }])
  const late = await send([event('4445')], worker2)
  t.equal(late.statusCode, 202, late.body)
})

t.test('after LEGACY_IDS_UNTIL an old id is a malformed one, naming the field', async (t) => {
  const res = await send([event('123')], after)
  t.equal(res.statusCode, 400)
  t.match(res.json(), {
    code: 'VALIDATION_ERROR',
    details: [{ field: 'body.events.0.campaignId', message: 'must be a campaign id (a UUID)' }],
  })
  const numeric = await send([event(123)], after)
  t.equal(numeric.statusCode, 400)
  t.match(numeric.json().details, [{ field: 'body.events.0.campaignId' }])
  const leadRes = await submit(lead('123'), after)
  t.equal(leadRes.statusCode, 400)
  t.match(leadRes.json().details, [{ field: 'body.campaignId' }])
  const uuid = await send([event(live.id, { variantId: 'a' })], after)
  t.equal(uuid.statusCode, 202, 'UUIDs work as ever')
})

t.test('malformed ids are 400 naming the field, and count nothing', async (t) => {
  const before = await conversions(live.id)
  const malformed: unknown[] = [
    '12a',
    -1,
    '-1',
    0,
    '0',
    '0123',
    '1e3',
    1.5,
    2 ** 53,
    String(2 ** 53),
    '123456789012345678901234567890',
    '9999999999',
    ' 123',
    '',
    null,
    true,
    [123],
    { id: 123 },
  ]
  for (const id of malformed) {
    const res = await send([event(id)])
    t.equal(res.statusCode, 400, `event campaignId ${JSON.stringify(id)}: ${res.body}`)
    t.ok(
      (res.json().details as Array<{ field: string }>).every((d) => d.field === 'body.events.0.campaignId'),
      `names body.events.0.campaignId only: ${res.body}`,
    )
    const leadRes = await submit(lead(id))
    t.equal(leadRes.statusCode, 400, `lead campaignId ${JSON.stringify(id)}`)
    t.ok(
      (leadRes.json().details as Array<{ field: string }>).every((d) => d.field === 'body.campaignId'),
      `names body.campaignId only: ${leadRes.body}`,
    )
  }
  t.same(await conversions(live.id), before)

  const noVariant = await send([event(live.id)])
  t.equal(noVariant.statusCode, 400, 'a UUID still needs its variant')
  t.match(noVariant.json().details, [{ field: 'body.events.0.variantId', message: 'is required' }])
  const leadNoVariant = await submit(lead(live.id))
  t.equal(leadNoVariant.statusCode, 400)
  t.match(leadNoVariant.json().details, [{ field: 'body.variantId', message: 'is required' }])
})

t.test('an old id of another site’s campaign is refused exactly like its UUID', async (t) => {
  const byUuid = await send([event(elsewhere.id, { variantId: 'a' })])
  const byOldId = await send([event('200')])
  t.equal(byUuid.statusCode, 403)
  t.equal(byOldId.statusCode, byUuid.statusCode)
  t.same(byOldId.json(), byUuid.json())
  const leadByUuid = await submit(lead(elsewhere.id, { variantId: 'a' }))
  const leadByOldId = await submit(lead('200'))
  t.equal(leadByUuid.statusCode, 403)
  t.same(leadByOldId.json(), leadByUuid.json())
  // A stranger's page (no site's Origin) gets nothing either.
  const stranger = await send([event('123')], app, 'https://evil.example')
  t.equal(stranger.statusCode, 403)
  t.same(await conversions(elsewhere.id), [], 'nothing counted on the other site’s campaign')
  const leads = await app.db
    .selectFrom('leads')
    .select('id')
    .where('campaign_id', '=', elsewhere.id)
    .execute()
  t.equal(leads.length, 0)
})

t.test('two workers racing on one old eventId count it once', async (t) => {
  const before = await conversions(live.id)
  const one = event('123')
  const [a, b] = await Promise.all([send([one]), send([{ ...one, campaignId: 123 }], worker2)])
  t.equal(a?.statusCode, 202, a?.body)
  t.equal(b?.statusCode, 202, b?.body)
  const outcomes = [a?.json(), b?.json()]
  t.equal(
    outcomes.reduce((sum, o) => sum + o.accepted, 0),
    1,
    'accepted once',
  )
  t.equal(
    outcomes.reduce((sum, o) => sum + o.duplicates, 0),
    1,
    'a duplicate on the other',
  )
  const now = await conversions(live.id)
  t.equal((now[0]?.conversions ?? 0) - (before[0]?.conversions ?? 0), 1)
})
