import type { PublishedCampaign } from '@nudge/popup'
import type { Log } from './debug.ts'

/*
 * What the edge publishes for a site: the domain document lists the live campaigns as {id, v};
 * each is fetched at its version (the ?v= makes a new version a new URL). When R2 has no domain
 * document the Worker answers with the API's, whose campaigns are the full objects already.
 * Fetches use the browser's default cache: it revalidates with the ETag and the Worker answers
 * 304, so a returning visitor downloads nothing new.
 */

export interface SiteData {
  site?: string
  features: string[]
  campaigns: PublishedCampaign[]
  /** from the edge's x-nudge-country header; null when the edge does not know */
  country: string | null
}

interface DomainDocument {
  site?: string
  features?: string[]
  campaigns?: Array<{ id: string; v?: number } | PublishedCampaign>
}

type Fetch = (url: string, init?: RequestInit) => Promise<Response>

const isFull = (entry: object): entry is PublishedCampaign => 'variants' in entry || 'type' in entry

export function campaignUrl(edge: string, id: string, v: number | undefined, mode: 'production' | 'test') {
  const path = `${edge}/campaigns/${mode}/${encodeURIComponent(id)}.json`
  return v === undefined ? path : `${path}?v=${v}`
}

export async function loadSite(
  edge: string,
  hostname: string,
  log: Log,
  get: Fetch = fetch,
): Promise<SiteData | null> {
  const response = await get(`${edge}/domains/${encodeURIComponent(hostname)}.json`, { credentials: 'omit' })
  if (!response.ok) {
    log.info(`no site document for ${hostname} (${response.status}): nothing to show`)
    return null
  }
  const country = response.headers.get('x-nudge-country')
  const document = (await response.json()) as DomainDocument
  const entries = Array.isArray(document.campaigns) ? document.campaigns : []
  const campaigns = await Promise.all(
    entries.map(async (entry) => {
      if (!entry || typeof entry !== 'object' || typeof entry.id !== 'string') return undefined
      if (isFull(entry)) return entry
      try {
        const answer = await get(campaignUrl(edge, entry.id, entry.v, 'production'), { credentials: 'omit' })
        if (!answer.ok) throw new Error(`HTTP ${answer.status}`)
        return (await answer.json()) as PublishedCampaign
      } catch (error) {
        log.info(`campaign ${entry.id}: could not be loaded`, error)
        return undefined
      }
    }),
  )
  return {
    site: document.site,
    features: Array.isArray(document.features) ? document.features : [],
    campaigns: campaigns.filter((c): c is PublishedCampaign => c !== undefined),
    country: country ? country.toUpperCase() : null,
  }
}

/** The campaign as the dashboard's preview link shows it: its test version, else its live one. */
export async function loadPreview(
  edge: string,
  id: string,
  log: Log,
  get: Fetch = fetch,
): Promise<PublishedCampaign | null> {
  for (const mode of ['test', 'production'] as const) {
    const response = await get(campaignUrl(edge, id, undefined, mode), { credentials: 'omit' }).catch(
      () => undefined,
    )
    if (response?.ok) return (await response.json()) as PublishedCampaign
    log.info(`preview ${id}: no ${mode} version (${response ? response.status : 'network error'})`)
  }
  return null
}
