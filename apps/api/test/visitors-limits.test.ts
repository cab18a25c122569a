import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { LEAD_BODY_LIMIT_BYTES } from '../src/modules/visitors/schemas.ts'
import type { App } from '../src/server.ts'
import { buildTestApp } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { signInAs } from './helpers/session.ts'
import { uuidv7 } from './helpers/visitor-ids.ts'
import { clearOfWindowEdge } from './helpers/windows.ts'

/*
 * What keeps one client, or one busy site, from taking the visitor routes from everyone else:
 * the per-client and per-site limits, and the routes' own body limits. Past a limit nothing is
 * written.
 */

const EDGE_SECRET = 'edge-secret-for-limit-tests-0123456789'
const SHOP = 'https://shop.example'
const BLOG = 'https://blog.example'

/** A visitor's browser behind Cloudflare: its own address, and the page's Origin. */
const client = (ip: string, origin = SHOP) => ({
  origin,
  'x-edge-secret': EDGE_SECRET,
  'cf-connecting-ip': ip,
})

const VARIANTS = [
  {
    id: 'a',
    name: 'With form',
    weight: 100,
    steps: [
      {
        blocks: [{ type: 'text', text: 'Join us' }],
        buttons: [{ label: 'Join', action: 'submit' }],
        form: { fields: [{ name: 'email', type: 'email', label: 'Email', required: true }] },
      },
    ],
  },
]

/** An app with a live campaign with a lead form on shop.example and another on blog.example. */
async function setup(t: Test, overrides: Record<string, string> = {}) {
  const app = await buildTestApp(t, { EDGE_SECRET, LEAD_MIN_FILL_MS: '0', ...overrides })
  const ann = await signInAs(app, 'ann@example.com')
  const teamId = await personalTeam(app, ann)
  const api = campaignApi(app, ann, teamId)
  const live = async (hostname: string) => {
    const site = await addSite(app, ann, teamId, hostname)
    const c = await newCampaign(app, ann, teamId, { siteId: site.id, variants: VARIANTS })
    await api.walk(c.id, c.version, 'test', 'live')
    return c.id
  }
  return { app, shop: await live('shop.example'), blog: await live('blog.example') }
}

const event = (campaignId: string) => ({
  eventId: uuidv7(),
  pageViewId: uuidv7(),
  campaignId,
  variantId: 'a',
  type: 'impression',
  at: new Date().toISOString(),
})

function sendEvents(app: App, headers: Record<string, string>, events: unknown[]) {
  return app.inject({ method: 'POST', url: '/public/v1/events', headers, payload: { events } })
}

function sendLead(app: App, headers: Record<string, string>, campaignId: string, email: string) {
  return app.inject({
    method: 'POST',
    url: '/public/v1/leads',
    headers,
    payload: { campaignId, variantId: 'a', email, fillMs: 5000 },
  })
}

/** What the visitor routes wrote: raw events, counts and leads. */
async function written(app: App) {
  const { rows } = await sql<{ events: number; counted: number; leads: number }>`SELECT
    (SELECT count(*)::int FROM visitor_events) AS events,
    (SELECT coalesce(sum(impressions + closes + conversions), 0)::int FROM campaign_stats_daily) AS counted,
    (SELECT count(*)::int FROM leads) AS leads`.execute(app.db)
  return rows[0]
}

function isRateLimited(t: Test, res: { statusCode: number; json(): unknown; headers: object }, what: string) {
  t.equal(res.statusCode, 429, `${what}: 429`)
  t.match(res.json(), { statusCode: 429, code: 'RATE_LIMITED', message: /^Too many requests/ }, what)
  t.match((res.headers as Record<string, string>)['retry-after'], /^[1-9][0-9]*$/, `${what}: retry-after`)
}

t.test('per client: each route answers 429 past its count, and writes nothing', async (t) => {
  const { app, shop } = await setup(t, { VISITOR_LIMIT_PER_CLIENT_PER_MINUTE: '3' })
  await clearOfWindowEdge(60_000, 20_000)
  const ann = client('198.51.100.1')
  for (let i = 1; i <= 3; i++) {
    const res = await sendEvents(app, ann, [event(shop), event(shop)])
    t.equal(res.statusCode, 202, `events request ${i} of 3`)
  }
  const before = await written(app)
  t.match(before, { events: 6, counted: 6 })
  isRateLimited(t, await sendEvents(app, ann, [event(shop), event(shop)]), 'the 4th events request')
  t.same(await written(app), before, 'the refused events are neither stored nor counted')

  // The limit is per client address: another visitor of the same site is not affected.
  const bob = client('198.51.100.2')
  t.equal((await sendEvents(app, bob, [event(shop)])).statusCode, 202, 'another client is served')

  // And per route: the leads route counts on its own, to the same limit.
  for (let i = 1; i <= 3; i++) {
    const res = await sendLead(app, ann, shop, `visitor-${i}@example.com`)
    t.equal(res.statusCode, 202, `lead ${i} of 3`)
  }
  const leadsBefore = await written(app)
  t.equal(leadsBefore?.leads, 3)
  isRateLimited(t, await sendLead(app, ann, shop, 'visitor-4@example.com'), 'the 4th lead')
  t.same(await written(app), leadsBefore, 'the refused lead is not stored')
})

/** A visitor's browser behind our Worker: one peer and CF-Connecting-IP for all, X-Real-IP each. */
const throughWorker = (ip: string) => ({
  origin: SHOP,
  'x-edge-secret': EDGE_SECRET,
  'cf-connecting-ip': '2a06:98c0:3600::103',
  'x-real-ip': ip,
})

t.test('per client behind our Worker: counted per X-Real-IP, which needs the edge secret', async (t) => {
  const { app, shop } = await setup(t, { VISITOR_LIMIT_PER_CLIENT_PER_MINUTE: '2' })
  await clearOfWindowEdge(60_000, 20_000)
  const ann = throughWorker('198.51.100.1')
  const bob = throughWorker('198.51.100.2')
  for (let i = 1; i <= 2; i++)
    t.equal((await sendEvents(app, ann, [event(shop)])).statusCode, 202, `ann ${i}`)
  isRateLimited(t, await sendEvents(app, ann, [event(shop)]), 'ann’s 3rd request')
  // Same peer, same CF-Connecting-IP (the Worker's), another visitor: a count of its own.
  for (let i = 1; i <= 2; i++)
    t.equal((await sendEvents(app, bob, [event(shop)])).statusCode, 202, `bob ${i}`)
  isRateLimited(t, await sendEvents(app, bob, [event(shop)]), 'bob’s 3rd request')

  // Without the secret, a fresh X-Real-IP on every request is no way round the limit: all of
  // them count against the peer.
  const forged = (ip: string) => ({ origin: SHOP, 'x-real-ip': ip })
  t.equal((await sendEvents(app, forged('203.0.113.1'), [event(shop)])).statusCode, 202, 'forged 1')
  t.equal((await sendEvents(app, forged('203.0.113.2'), [event(shop)])).statusCode, 202, 'forged 2')
  isRateLimited(t, await sendEvents(app, forged('203.0.113.3'), [event(shop)]), 'a 3rd forged address')
  t.match(await written(app), { events: 6, counted: 6 })
})

t.test('per site: shared by every client of the site, another site unaffected', async (t) => {
  const { app, shop, blog } = await setup(t, {
    VISITOR_LIMIT_PER_CLIENT_PER_MINUTE: '1000',
    VISITOR_LIMIT_PER_SITE_PER_MINUTE: '4',
  })
  await clearOfWindowEdge(60_000, 20_000)
  const ann = client('198.51.100.1')
  const bob = client('198.51.100.2')
  // Two clients, two requests each: the site's four. Events and leads count together.
  t.equal((await sendEvents(app, ann, [event(shop)])).statusCode, 202)
  t.equal((await sendEvents(app, bob, [event(shop)])).statusCode, 202)
  t.equal((await sendLead(app, ann, shop, 'ann@example.com')).statusCode, 202)
  t.equal((await sendEvents(app, bob, [event(shop)])).statusCode, 202)
  const before = await written(app)
  t.match(before, { events: 3, counted: 3, leads: 1 })

  const refused = await sendEvents(app, ann, [event(shop)])
  isRateLimited(t, refused, 'the site’s 5th request, from the first client')
  t.match(refused.json(), { message: /for visitor requests for this site/ })
  isRateLimited(t, await sendEvents(app, bob, [event(shop)]), 'and from the second')
  isRateLimited(t, await sendLead(app, client('198.51.100.3'), shop, 'cy@example.com'), 'a lead from a third')
  t.same(await written(app), before, 'nothing written past the site’s limit')

  // Another site's visitors, the same client addresses among them, are served.
  const ann2 = client('198.51.100.1', BLOG)
  t.equal((await sendEvents(app, ann2, [event(blog)])).statusCode, 202, 'another site: events')
  t.equal((await sendLead(app, ann2, blog, 'ann@example.com')).statusCode, 202, 'another site: a lead')
  t.match(await written(app), { events: 4, counted: 4, leads: 2 })
})

t.test('body limits: events 32 KB, leads 64 KB, each a 413 that names its limit', async (t) => {
  const { app, shop } = await setup(t)
  const ann = client('198.51.100.1')
  const tooLarge = (res: { statusCode: number; json(): unknown }, limitBytes: number, what: string) => {
    t.equal(res.statusCode, 413, `${what}: 413`)
    t.same(
      res.json(),
      {
        statusCode: 413,
        code: 'PAYLOAD_TOO_LARGE',
        message: `The request body is larger than the ${limitBytes} bytes this route accepts`,
        details: { limitBytes },
      },
      what,
    )
  }

  // A batch padded past 32 KB (the schema would refuse the padding; the size is checked first).
  const events = await app.inject({
    method: 'POST',
    url: '/public/v1/events',
    headers: { ...ann, 'content-type': 'application/json' },
    payload: JSON.stringify({ events: [event(shop)], padding: 'x'.repeat(32 * 1024) }),
  })
  tooLarge(events, 32 * 1024, 'events')

  // The largest form a lead can fill (10 fields of 1,000 characters, 3 bytes each) still fits.
  const fields = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`field${i}`, '語'.repeat(1000)]))
  const big = JSON.stringify({
    campaignId: shop,
    variantId: 'a',
    email: 'big@example.com',
    fields,
    fillMs: 5000,
  })
  t.ok(big.length > 10_000 && Buffer.byteLength(big) < LEAD_BODY_LIMIT_BYTES, 'a large form')
  const fits = await app.inject({
    method: 'POST',
    url: '/public/v1/leads',
    headers: { ...ann, 'content-type': 'application/json' },
    payload: big,
  })
  t.equal(fits.statusCode, 202, 'a large but real submission is accepted')

  const lead = await app.inject({
    method: 'POST',
    url: '/public/v1/leads',
    headers: { ...ann, 'content-type': 'application/json' },
    payload: JSON.stringify({
      campaignId: shop,
      variantId: 'a',
      email: 'huge@example.com',
      fields: { name: 'x'.repeat(LEAD_BODY_LIMIT_BYTES) },
    }),
  })
  tooLarge(lead, LEAD_BODY_LIMIT_BYTES, 'leads')
  t.match(await written(app), { events: 0, leads: 1 }, 'nothing of either was written')
})
