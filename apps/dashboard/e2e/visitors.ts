/**
 * What the stats and leads journeys need before a browser opens: a site and a live campaign made
 * through the typed client, and visitors' traffic sent as the popup script sends it (the public
 * API, with the site's Origin). With the stack's EDGE_SECRET the requests come "through the edge"
 * as in production, so each carries a country and a visitor address of its own.
 */
import { randomBytes } from 'node:crypto'
import { type ApiClient, createApiClient, type operations } from '@nudge/api-client'
import type { Stack } from './stack.ts'

/** The secret a stack started with `env: { EDGE_SECRET }` believes (as the Worker sends it). */
export const EDGE_SECRET = 'e2e-edge-secret-0123456789abcdef0123456789'
export const SITE = 'shop.example.com'

type NewCampaign = operations['createCampaign']['requestBody']['content']['application/json']
type Variant = NonNullable<NewCampaign['variants']>[number]
type Step = Variant['steps'][number]
type VisitorEvent =
  operations['sendVisitorEvents']['requestBody']['content']['application/json']['events'][number]
type NewLead = operations['submitLead']['requestBody']['content']['application/json']

/** A UUIDv7 for `at` (the API counts an event on the day of its id's time). */
export function uuidv7(at: number = Date.now()): string {
  const bytes = randomBytes(16)
  let time = BigInt(at)
  for (let i = 5; i >= 0; i--) {
    bytes[i] = Number(time & 0xffn)
    time >>= 8n
  }
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x70
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

async function must<D>(
  what: string,
  request: Promise<{ data?: D; error?: unknown; response: Response }>,
): Promise<D> {
  const answer = await request
  if (!answer.response.ok)
    throw new Error(`${what}: ${answer.response.status} ${JSON.stringify(answer.error)}`)
  return answer.data as D
}

export const formStep = (heading: string): Step => ({
  blocks: [{ type: 'text', text: heading, style: 'heading' }],
  buttons: [
    { label: 'Join', action: 'submit' },
    { label: 'No thanks', action: 'close' },
  ],
  form: {
    capturesLeads: true,
    fields: [
      { name: 'email', type: 'email', label: 'Email', required: true },
      { name: 'firstName', type: 'text', label: 'First name' },
    ],
  },
})

export const teaserStep = (heading: string): Step => ({
  blocks: [{ type: 'text', text: heading, style: 'heading' }],
  buttons: [{ label: 'Tell me more', action: 'next-step' }],
})

/** The personal team of the client's user (made at first sign-in). */
export async function personalTeam(api: ApiClient): Promise<string> {
  const teams = await must('teams', api.GET('/v1/teams'))
  const team = teams.items.find((item) => item.personal)
  if (!team) throw new Error('no personal team')
  return team.id
}

export async function addSite(api: ApiClient, teamId: string, hostname = SITE): Promise<string> {
  const site = await must(
    'site',
    api.POST('/v1/teams/{teamId}/sites', { params: { path: { teamId } }, body: { hostname } }),
  )
  return site.id
}

/** A campaign on the site, moved through test to live (If-Match at each version). */
export async function liveCampaign(
  api: ApiClient,
  teamId: string,
  siteId: string,
  campaign: { name: string; variants: Variant[] },
): Promise<string> {
  const made = await must(
    'campaign',
    api.POST('/v1/teams/{teamId}/campaigns', {
      params: { path: { teamId } },
      body: { name: campaign.name, type: 'modal', siteId, variants: campaign.variants },
    }),
  )
  let version = made.version
  for (const status of ['test', 'live'] as const) {
    const moved = await must(
      `→ ${status}`,
      api.POST('/v1/teams/{teamId}/campaigns/{campaignId}/status', {
        params: { path: { teamId, campaignId: made.id }, header: { 'if-match': `"${version}"` } },
        body: { status },
      }),
    )
    version = moved.version
  }
  return made.id
}

/** The public API as a visitor's browser on the site calls it (no session). */
function visitorClient(stack: Stack): ApiClient {
  return createApiClient({ baseUrl: stack.apiLocal, fetch: globalThis.fetch })
}

function visitorHeaders(country: string, address: string, site = SITE): Record<string, string> {
  return {
    origin: `https://${site}`,
    'x-edge-secret': EDGE_SECRET,
    'cf-ipcountry': country,
    'x-real-ip': address,
  }
}

/**
 * Visitors of one country seeing a variant: `impressions` page views, of which `steps` moved on
 * to step 2, `conversions` converted and `closes` closed it. Returns what the API counted.
 */
export async function sendVisits(
  stack: Stack,
  visits: {
    campaignId: string
    variantId: string
    country: string
    impressions: number
    steps?: number
    conversions?: number
    closes?: number
    /** The site's hostname (its pages' Origin); SITE unless told. */
    site?: string
  },
): Promise<number> {
  const events: VisitorEvent[] = []
  for (let i = 0; i < visits.impressions; i++) {
    const pageViewId = uuidv7()
    const base = { pageViewId, campaignId: visits.campaignId, variantId: visits.variantId }
    events.push({ ...base, eventId: uuidv7(), type: 'impression' })
    if (i < (visits.steps ?? 0)) events.push({ ...base, eventId: uuidv7(), type: 'step', step: 2 })
    if (i < (visits.conversions ?? 0)) events.push({ ...base, eventId: uuidv7(), type: 'conversion' })
    else if (i < (visits.conversions ?? 0) + (visits.closes ?? 0))
      events.push({ ...base, eventId: uuidv7(), type: 'close' })
  }
  const visitor = visitorClient(stack)
  let accepted = 0
  for (let start = 0; start < events.length; start += 50) {
    const answer = await must(
      'events',
      visitor.POST('/public/v1/events', {
        body: { events: events.slice(start, start + 50) },
        headers: visitorHeaders(visits.country, `203.0.113.${(start / 50) % 250}`, visits.site),
      }),
    )
    accepted += answer.accepted
  }
  return accepted
}

/** A visitor sending the campaign's form. */
export async function submitLead(
  stack: Stack,
  lead: Pick<NewLead, 'campaignId' | 'variantId' | 'email'> & Partial<NewLead>,
  country = 'DE',
  site = SITE,
): Promise<void> {
  await must(
    'lead',
    visitorClient(stack).POST('/public/v1/leads', {
      body: { fillMs: 4200, pageUrl: `https://${site}/products/boots`, hp: '', ...lead },
      headers: { ...visitorHeaders(country, '198.51.100.7', site), 'idempotency-key': uuidv7() },
    }),
  )
}
