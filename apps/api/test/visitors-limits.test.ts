import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { LEAD_BODY_LIMIT_BYTES } from '../src/modules/visitors/lead-intake.ts'
import type { App } from '../src/server.ts'
import { buildTestApp } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { signInAs } from './helpers/session.ts'

/*
 * What keeps one client, or one busy site, from taking the visitor routes from everyone else:
 * the routes' own body limits. Past a limit nothing is written.
 */

const EDGE_SECRET = 'edge-secret-for-limit-tests-0123456789'
const SHOP = 'https://shop.example'

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
  eventId: randomUUID(),
  campaignId,
  variantId: 'a',
  type: 'impression',
  at: new Date().toISOString(),
})

/** What the visitor routes wrote: raw events, counts and leads. */
async function written(app: App) {
  const { rows } = await sql<{ events: number; counted: number; leads: number }>`SELECT
    (SELECT count(*)::int FROM visitor_events) AS events,
    (SELECT coalesce(sum(impressions + closes + conversions), 0)::int FROM campaign_stats_daily) AS counted,
    (SELECT count(*)::int FROM leads) AS leads`.execute(app.db)
  return rows[0]
}

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
  const big = JSON.stringify({ campaignId: shop, variantId: 'a', email: 'big@example.com', fields })
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
