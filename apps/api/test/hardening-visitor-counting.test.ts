import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import t from 'tap'
import { QUOTA_JOB } from '../src/modules/billing/quotas.ts'
import type { App } from '../src/server.ts'
import { buildTestApp } from './helpers/app.ts'
import {
  addSite,
  campaignApi,
  leadFormCampaign,
  liveLeadCampaign,
  personalTeam,
} from './helpers/campaigns.ts'
import { eventually } from './helpers/receiver.ts'
import { signInAs } from './helpers/session.ts'
import { startSmtpServer } from './helpers/smtp.ts'
import { uuidv7 } from './helpers/visitor-ids.ts'

// Issue 17, items 1, 3 and 4: what a stranger can make of the visitor routes' counts.
const EDGE_SECRET = 'edge-secret-for-tests-0123456789abcdef'
const ALLOWANCE = 20
const DAY_MS = 86_400_000

const app = await buildTestApp(
  t,
  { EDGE_SECRET, VISITOR_IMPRESSIONS_PER_CLIENT_PER_HOUR: String(ALLOWANCE), JOBS_POLL_SECONDS: '0.5' },
  { worker: true },
)
await app.ready()
const DATABASE_URL = app.config.DATABASE_URL

type Headers = Record<string, string>
const send = (to: App, origin: string, events: unknown[], headers: Headers = {}) =>
  to.inject({
    method: 'POST',
    url: '/public/v1/events',
    headers: { origin, ...headers },
    payload: { events },
  })
const throughEdge = (address: string): Headers => ({
  'x-edge-secret': EDGE_SECRET,
  'cf-connecting-ip': address,
})
const impression = (campaignId: string, more: Record<string, unknown> = {}) => ({
  eventId: uuidv7(),
  pageViewId: uuidv7(),
  campaignId,
  variantId: 'a',
  type: 'impression',
  at: new Date().toISOString(),
  ...more,
})
const counts = async (campaignId: string) => {
  const row = await app.db
    .selectFrom('campaign_stats_daily')
    .select([
      sql<number>`coalesce(sum(impressions), 0)::int`.as('impressions'),
      sql<number>`coalesce(sum(closes), 0)::int`.as('closes'),
      sql<number>`coalesce(sum(leads), 0)::int`.as('leads'),
    ])
    .where('campaign_id', '=', campaignId)
    .executeTakeFirstOrThrow()
  return row
}
/** Runs the quota round for a team, as the worker's job does, and waits for it. */
async function quotaRound(teamId: string) {
  const id = await app.jobs.send(QUOTA_JOB, { teamId })
  await eventually(async () => {
    const { rows } = await sql<{ state: string }>`SELECT state FROM pgboss.job WHERE id = ${id}`.execute(
      app.db,
    )
    return rows[0]?.state === 'completed'
  })
}

const ann = await signInAs(app, 'ann@example.com')
const teamId = await personalTeam(app, ann)
const site = await addSite(app, ann, teamId, 'shop.example')
const SHOP = 'https://shop.example'
const api = campaignApi(app, ann, teamId)

t.test(
  'one address flooding impressions cannot spend a free team’s quota and take its popups offline',
  async (t) => {
    const bob = await signInAs(app, 'bob@example.com')
    const bobTeam = await personalTeam(app, bob)
    const bobSite = await addSite(app, bob, bobTeam, 'flood.example')
    const live = await liveLeadCampaign(app, bob, bobTeam, bobSite.id)
    await app.db
      .updateTable('teams')
      .set({ trial_ends_at: new Date(0) })
      .where('id', '=', bobTeam)
      .execute()
    const origin = 'https://flood.example'
    const document = async () =>
      (await app.inject({ url: '/public/v1/sites/flood.example', headers: { origin } })).json()

    // 5,500 impressions, each a page view of its own, from one address: 110 % of the free plan.
    const answers = []
    for (let i = 0; i < 110; i++) {
      const res = await send(
        app,
        origin,
        Array.from({ length: 50 }, () => impression(live.id)),
      )
      answers.push(res.statusCode)
    }
    t.same([...new Set(answers)], [202], 'every request is answered (the popup script learns nothing)')
    t.equal((await counts(live.id)).impressions, ALLOWANCE, 'one address adds its hourly allowance, no more')
    // Another visitor (another address) still counts.
    t.match((await send(app, origin, [impression(live.id)], throughEdge('203.0.113.9'))).json(), {
      accepted: 1,
    })

    await quotaRound(bobTeam)
    t.equal((await document()).campaigns?.length, 1, 'the popups are still served')
    const billing = (await app.inject({ url: `/v1/teams/${bobTeam}/billing`, headers: bob.headers })).json()
    t.match(billing.usage.impressions, { used: ALLOWANCE + 1, limit: 5000, state: 'ok', suspendedAt: null })
  },
)

t.test(
  'impressions count once per campaign and page view, whatever eventIds a client makes up',
  async (t) => {
    const live = await liveLeadCampaign(app, ann, teamId, site.id)
    const pageViewId = uuidv7()
    const same = Array.from({ length: 50 }, () => impression(live.id, { pageViewId }))
    const res = await send(app, SHOP, same, throughEdge('198.51.100.1'))
    t.equal(res.statusCode, 202, res.body)
    t.same(
      res.json(),
      { accepted: 1, duplicates: 49, ignored: 0 },
      '50 eventIds, one page view: one impression',
    )

    // The same page view's impressions sent to two workers at once, with `at`s on different days.
    const other = await buildTestApp(t, { DATABASE_URL, EDGE_SECRET })
    await other.ready()
    const view = uuidv7()
    const yesterday = new Date(Date.now() - DAY_MS).toISOString()
    const racing = await Promise.all([
      send(app, SHOP, [impression(live.id, { pageViewId: view })], throughEdge('198.51.100.2')),
      send(
        other,
        SHOP,
        [impression(live.id, { pageViewId: view, at: yesterday })],
        throughEdge('198.51.100.3'),
      ),
    ])
    t.same(
      racing.map((answer) => answer.statusCode),
      [202, 202],
    )
    t.equal((await counts(live.id)).impressions, 2, 'two page views, two impressions')
    // Closes and conversions are not impressions: each eventId counts once.
    const closes = await send(app, SHOP, [impression(live.id, { pageViewId: view, type: 'close' })])
    t.match(closes.json(), { accepted: 1 })
  },
)

t.test('an eventId counts once when two workers race it with `at` on different days', async (t) => {
  const live = await liveLeadCampaign(app, ann, teamId, site.id)
  const workers = await Promise.all(
    [1, 2, 3].map(async () => {
      const worker = await buildTestApp(t, { DATABASE_URL, EVENTS_GROUP_COMMIT_MS: '20' })
      await worker.ready()
      return worker
    }),
  )
  const days = [0, 1, 2].map((back) => new Date(Date.now() - back * DAY_MS).toISOString())
  const rounds = 5
  for (let round = 0; round < rounds; round++) {
    const events = Array.from({ length: 50 }, () => ({
      eventId: uuidv7(),
      pageViewId: uuidv7(),
      campaignId: live.id,
      variantId: 'a',
      type: 'close',
    }))
    const answers = await Promise.all(
      workers.map((worker, index) =>
        send(
          worker,
          SHOP,
          events.map((event) => ({ ...event, at: days[index] })),
        ),
      ),
    )
    t.same(
      answers.map((answer) => answer.statusCode),
      [202, 202, 202],
    )
    const accepted = answers.reduce((sum, answer) => sum + answer.json().accepted, 0)
    t.equal(accepted, 50, `round ${round}: each of the 50 accepted by exactly one worker`)
  }
  t.equal((await counts(live.id)).closes, rounds * 50, 'each eventId counted once')

  // The day comes from the id: one that is not a UUIDv7, or made 8 days ago, is refused.
  for (const [what, eventId] of [
    ['a UUIDv4', randomUUID()],
    ['a UUIDv7 of 8 days ago', uuidv7(Date.now() - 8 * DAY_MS)],
    ['a UUIDv7 of an hour ahead', uuidv7(Date.now() + 3_600_000)],
  ] as const) {
    const res = await send(app, SHOP, [impression(live.id, { eventId })])
    t.equal(res.statusCode, 400, `${what}: 400`)
    t.match(res.json().details, [{ field: 'body.events.0.eventId', message: /UUIDv7/ }], `${what}: named`)
  }
})

t.test('a campaign in test is preview traffic: not counted, stored, charged or delivered', async (t) => {
  const created = await leadFormCampaign(app, ann, teamId, site.id)
  t.equal((await api.walk(created.id, created.version, 'test')).status, 'test')
  const preview = created
  const usage = async () =>
    (await app.inject({ url: `/v1/teams/${teamId}/billing`, headers: ann.headers })).json().usage.impressions
      .used
  const before = await usage()

  const events = await send(app, SHOP, [
    impression(preview.id),
    impression(preview.id, { type: 'conversion' }),
  ])
  t.equal(events.statusCode, 202, events.body)
  t.same(events.json(), { accepted: 0, duplicates: 0, ignored: 2 }, 'taken, and said not to count')
  t.same(await counts(preview.id), { impressions: 0, closes: 0, leads: 0 }, 'no stats')
  t.equal(await usage(), before, 'nothing charged against the quota')

  const lead = await app.inject({
    method: 'POST',
    url: '/public/v1/leads',
    headers: { origin: SHOP },
    payload: { campaignId: preview.id, variantId: 'a', email: 'tester@example.com', fillMs: 5000 },
  })
  t.equal(lead.statusCode, 202, lead.body)
  t.same(lead.json(), { status: 'accepted', preview: true })
  const stored = await app.db.selectFrom('leads').select('id').where('campaign_id', '=', preview.id).execute()
  t.equal(stored.length, 0, 'no lead stored, so none exported')
  const outbox = await sql<{
    n: number
  }>`SELECT count(*)::int AS n FROM lead_outbox o JOIN leads l ON l.id = o.lead_id
    WHERE l.campaign_id = ${preview.id}`.execute(app.db)
  t.equal(outbox.rows[0]?.n, 0, 'and nothing to deliver to integrations')
  t.equal((await counts(preview.id)).leads, 0)
  const bad = await app.inject({
    method: 'POST',
    url: '/public/v1/leads',
    headers: { origin: SHOP },
    payload: { campaignId: preview.id, variantId: 'a', email: 'not-an-email', fillMs: 5000 },
  })
  t.equal(bad.statusCode, 400, 'a preview lead is still checked like any other')
})

t.test(
  'a paused campaign takes leads and events for 5 minutes after the pause, then a 409 saying so',
  async (t) => {
    const campaign = await liveLeadCampaign(app, ann, teamId, site.id)
    t.equal((await api.status(campaign.id, '*', 'paused')).statusCode, 200)
    const lead = (email: string) =>
      app.inject({
        method: 'POST',
        url: '/public/v1/leads',
        headers: { origin: SHOP },
        payload: { campaignId: campaign.id, variantId: 'a', email, fillMs: 5000 },
      })
    t.equal((await lead('open-page@example.com')).statusCode, 202, 'a page opened before the pause')
    t.equal((await send(app, SHOP, [impression(campaign.id)])).statusCode, 202)

    // Six minutes later.
    await app.db
      .updateTable('campaigns')
      .set({ status_changed_at: new Date(Date.now() - 6 * 60_000) })
      .where('id', '=', campaign.id)
      .execute()
    await app.cache.del(`visitor:campaign:${campaign.id}`)
    const late = await lead('late@example.com')
    t.equal(late.statusCode, 409)
    t.match(late.json(), { code: 'CAMPAIGN_PAUSED', message: /was paused at .*5 minutes/ })
    const events = await send(app, SHOP, [impression(campaign.id)])
    t.equal(events.statusCode, 409)
    t.equal(events.json().code, 'CAMPAIGN_PAUSED')
    const leads = await app.db
      .selectFrom('leads')
      .select('email')
      .where('campaign_id', '=', campaign.id)
      .execute()
    t.same(
      leads.map((row) => row.email),
      ['open-page@example.com'],
    )
    t.equal((await counts(campaign.id)).impressions, 1)
  },
)

t.test('in production, visitor events and leads count only when they come through the edge', async (t) => {
  const campaign = await liveLeadCampaign(app, ann, teamId, site.id)
  const smtp = await startSmtpServer(t)
  const production = await buildTestApp(t, {
    DATABASE_URL,
    NODE_ENV: 'production',
    EDGE_SECRET,
    SMTP_URL: smtp.url,
    MAIL_FROM: 'nudge <no-reply@nudge.test>',
    SERVICE_JWT_SECRET: 'a-production-secret-of-at-least-32-characters',
    EDGE_URL: 'https://edge.nudge.test',
    S3_BUCKET: 'nudge-test',
    S3_ENDPOINT: 'http://127.0.0.1:9',
    S3_ACCESS_KEY_ID: 'unused',
    S3_SECRET_ACCESS_KEY: 'unused',
    SECRETS_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 9).toString('base64')}`,
    AUDIT_HASH_KEY: 'a-production-audit-hash-key-of-32-characters',
  })
  await production.ready()
  const direct = await send(production, SHOP, [impression(campaign.id)])
  t.equal(direct.statusCode, 403, 'a script that sets Origin itself')
  t.equal(direct.json().code, 'NOT_THROUGH_EDGE')
  const forged = await send(production, SHOP, [impression(campaign.id)], {
    'x-edge-secret': 'not-the-secret-but-just-as-long-0123456',
  })
  t.equal(forged.statusCode, 403, 'a made-up edge secret')
  t.equal((await counts(campaign.id)).impressions, 0, 'nothing counted')
  const edge = await send(production, SHOP, [impression(campaign.id)], throughEdge('192.0.2.44'))
  t.equal(edge.statusCode, 202, edge.body)
  t.equal((await counts(campaign.id)).impressions, 1, 'through the edge: counted')

  const lead = (headers: Headers) =>
    production.inject({
      method: 'POST',
      url: '/public/v1/leads',
      headers: { origin: SHOP, ...headers },
      payload: { campaignId: campaign.id, variantId: 'a', email: 'direct@example.com', fillMs: 5000 },
    })
  const directLead = await lead({})
  t.equal(directLead.statusCode, 403, 'a lead from a script that sets Origin itself')
  t.equal(directLead.json().code, 'NOT_THROUGH_EDGE')
  const storedLeads = () =>
    production.db.selectFrom('leads').select('id').where('campaign_id', '=', campaign.id).execute()
  t.equal((await storedLeads()).length, 0, 'no lead stored, none delivered')
  const edgeLead = await lead(throughEdge('192.0.2.44'))
  t.equal(edgeLead.statusCode, 202, edgeLead.body)
  t.equal((await storedLeads()).length, 1, 'through the edge: stored')
})
