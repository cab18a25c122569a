import type { Campaign, Site } from '@nudge/db'

/**
 * The edge contract (DESIGN.md): what the Worker serves to our customers' visitors. Built by pure
 * functions from database rows, so the same rows always give the same bytes (and the same ETag).
 * Kept small, since every visitor's browser downloads them: no dashboard-only fields (names,
 * authors, timestamps), no nulls, no empty lists.
 */
export const objectKey = {
  domain: (hostname: string) => `domains/${hostname}.json`,
  production: (campaignId: string) => `campaigns/production/${campaignId}.json`,
  test: (campaignId: string) => `campaigns/test/${campaignId}.json`,
}

/** The prefixes republish sweeps for objects nothing in the database accounts for. */
export const OBJECT_PREFIXES = ['domains/', 'campaigns/production/', 'campaigns/test/']

export const OBJECT_CONTENT_TYPE = 'application/json; charset=utf-8'
/** Browsers re-check within a minute; Cloudflare keeps it until a publish purges it. */
export const OBJECT_CACHE_CONTROL = 'public, max-age=60'

/**
 * domains/{hostname}.json: the site and the ids (with versions, for cache busting) of its live
 * campaigns, and the released features (flags marked published that are on for its team).
 */
export function domainDocument(
  site: Pick<Site, 'id' | 'hostname'>,
  live: Array<Pick<Campaign, 'id' | 'version'>>,
  features: string[] = [],
): Buffer {
  const campaigns = [...live].sort((a, b) => (a.id < b.id ? -1 : 1)).map((c) => ({ id: c.id, v: c.version }))
  return toBytes({ site: site.id, hostname: site.hostname, campaigns, features })
}

type Published = Pick<
  Campaign,
  'id' | 'type' | 'version' | 'variants' | 'targeting' | 'frequency' | 'schedule'
>

/** campaigns/{production|test}/{id}.json: what the popup script renders and when. */
export function campaignDocument(campaign: Published): Buffer {
  return toBytes(publishedCampaign(campaign))
}

/**
 * What `GET /public/v1/sites/:hostname` serves: domains/{hostname}.json with each live campaign
 * embedded as its campaigns/production object holds it, so a visitor's browser needs one request.
 * A string: it is cached and sent as it is, never serialised per request.
 */
export function siteDocument(
  site: Pick<Site, 'id' | 'hostname'>,
  live: Published[],
  features: string[] = [],
): string {
  const campaigns = [...live].sort((a, b) => (a.id < b.id ? -1 : 1)).map(publishedCampaign)
  return toJson({ site: site.id, hostname: site.hostname, campaigns, features })
}

function publishedCampaign(campaign: Published) {
  const variants = (campaign.variants as Array<{ id: string; weight: number; steps: unknown[] }>)
    // A variant with no traffic is never shown: the visitor need not download it.
    .filter((variant) => variant.weight > 0)
    .map((variant) => ({ id: variant.id, weight: variant.weight, steps: variant.steps.map(publishedStep) }))
  return {
    id: campaign.id,
    v: campaign.version,
    type: campaign.type,
    variants,
    targeting: campaign.targeting,
    frequency: campaign.frequency,
    schedule: campaign.schedule,
  }
}

/**
 * What a published campaign lets visitors' browsers name back: the ids of the variants it
 * serves (those with traffic) and the consent versions of their forms.
 */
export function publishedTerms(variants: unknown[]): { variantIds: string[]; consentVersions: string[] } {
  const served = (variants as Array<{ id: string; weight: number; steps: unknown[] }>).filter(
    (variant) => variant.weight > 0,
  )
  const consentVersions = new Set<string>()
  for (const variant of served) {
    for (const step of variant.steps as Array<{ form?: { consent?: { version?: string } } }>) {
      const version = step.form?.consent?.version
      if (version !== undefined) consentVersions.add(version)
    }
  }
  return { variantIds: served.map((variant) => variant.id), consentVersions: [...consentVersions] }
}

type Linked = { url?: unknown }

/**
 * A step with its image and link URLs as `URL.href`, ' and ` percent-encoded too. The API stores
 * them so since it refuses what could end an attribute; content saved before then is published
 * just as safe, whatever renders it. The same bytes for content stored since.
 */
function publishedStep(step: unknown): unknown {
  const { blocks, buttons } = step as { blocks?: Linked[]; buttons?: Linked[] }
  const withSafeUrl = (item: Linked) =>
    typeof item.url === 'string' ? { ...item, url: safeUrl(item.url) } : item
  return {
    ...(step as object),
    ...(Array.isArray(blocks) ? { blocks: blocks.map(withSafeUrl) } : {}),
    ...(Array.isArray(buttons) ? { buttons: buttons.map(withSafeUrl) } : {}),
  }
}

function safeUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'about:invalid'
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'about:invalid'
  return parsed.href.replaceAll("'", '%27').replaceAll('`', '%60')
}

function toJson(document: unknown): string {
  return JSON.stringify(compact(document) ?? {})
}

function toBytes(document: unknown): Buffer {
  return Buffer.from(toJson(document))
}

/** Drops nulls, undefined, empty arrays and empty objects, recursively; `false` and 0 stay. */
export function compact(value: unknown): unknown {
  if (value === null || value === undefined) return undefined
  if (Array.isArray(value)) {
    const items = value.map(compact).filter((item) => item !== undefined)
    return items.length > 0 ? items : undefined
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .map(([key, item]) => [key, compact(item)] as const)
      .filter(([, item]) => item !== undefined)
    return entries.length > 0 ? Object.fromEntries(entries) : undefined
  }
  return value
}
