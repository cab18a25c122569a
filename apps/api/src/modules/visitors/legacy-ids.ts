import type { Static } from 'typebox'
import type { Deps } from '../../deps.ts'
import { type FieldProblem, invalidInput, NotFound } from '../../errors.ts'
import { type LegacyKind, newIdFor } from '../golive/legacy-ids-repository.ts'
import { type VisitorCampaign, visitorCampaign } from './published.ts'
import type { LeadSubmission, LeadSubmissionBody, ReportedEvent, VisitorEvent } from './schemas.ts'
import { findSiteHostnameById } from './site-repository.ts'

/*
 * Go-Live's transition: snippets already on customers' pages (and reports the old script queued)
 * name domains and campaigns by the old system's numbers. Until LEGACY_IDS_UNTIL, the visitor
 * routes take them, turned here into today's ids (through legacy_ids) before anything else runs:
 * an old id then passes exactly the checks a UUID does (its site's Origin, status, quotas, limits).
 * After that date, or unset, an old id is a malformed one.
 */

/** The old ids were PostgreSQL serials. */
export const MAX_LEGACY_ID = 2_147_483_647

/** What a malformed campaign id is told, with an old one or a UUID alike (schemas.ts says the same). */
const NOT_A_CAMPAIGN_ID = 'must be a campaign id (a UUID)'

/** Whether old ids are taken now. */
function legacyIdsAccepted(config: Deps['config'], now = Date.now()): boolean {
  return config.LEGACY_IDS_UNTIL !== undefined && now < Date.parse(config.LEGACY_IDS_UNTIL)
}

/** The old id as stored in legacy_ids (decimal text), or null: not an old id (a UUID). */
function legacyIdOf(value: string | number): string | null {
  if (typeof value === 'number') return String(value)
  return /^[0-9]+$/.test(value) ? value : null
}

/** An old id is taken: now, and in range (the schema lets 10 digits through). */
function takenNow(deps: Deps, legacyId: string): boolean {
  return legacyIdsAccepted(deps.config) && Number(legacyId) <= MAX_LEGACY_ID
}

// A mapping never changes once written: kept for a day (a bound on memory, not on staleness).
const MAPPED_TTL_SECONDS = 86_400
// An old id nobody migrated: remembered briefly, so a scan of numbers reaches the database once per
// number, and a campaign the delta brings a moment later is found soon after.
const UNMAPPED_TTL_SECONDS = 30

/** Thrown inside the cache's load, so an unknown old id is never cached as a value. */
class Unmapped extends Error {}

/** Through the cache: the new id of an old one, null when it was not migrated. */
async function cachedNewId<T>(
  deps: Deps,
  kind: LegacyKind,
  legacyId: string,
  load: (newId: string) => Promise<T | undefined>,
): Promise<T | null> {
  const missKey = `visitor:legacy-unmapped:${kind}:${legacyId}`
  try {
    return await deps.cache.wrap(`visitor:legacy:${kind}:${legacyId}`, MAPPED_TTL_SECONDS, async () => {
      if (await deps.cache.get(missKey)) throw new Unmapped()
      const newId = await newIdFor(deps.db, kind, legacyId)
      const value = newId === null ? undefined : await load(newId)
      if (value === undefined) {
        await deps.cache.set(missKey, true, UNMAPPED_TTL_SECONDS)
        throw new Unmapped()
      }
      return value
    })
  } catch (error) {
    if (error instanceof Unmapped) return null
    throw error
  }
}

/** The migrated campaign of an old id and the variant its reports count on; 404 as for a UUID. */
async function legacyCampaign(deps: Deps, legacyId: string): Promise<{ id: string; variantId: string }> {
  const id = await cachedNewId(deps, 'campaign', legacyId, async (newId) => newId)
  const campaign = id === null ? null : await visitorCampaign(deps, { campaignId: id })
  if (!campaign) throw new NotFound(`Campaign ${legacyId}`)
  return { id: campaign.id, variantId: singleVariant(campaign) }
}

/**
 * The old system had no variants: a migrated campaign has one, which its old reports count on (the
 * first one published, should it have gained others since).
 */
function singleVariant(campaign: VisitorCampaign): string {
  return campaign.published?.variantIds[0] ?? campaign.variants[0]?.id ?? ''
}

/**
 * A report's events with each campaign as a UUID and a variant: old ids resolved (400 naming the
 * field when not taken now, 404 when not migrated), a UUID's variant required.
 */
export async function resolveEvents(
  deps: Deps,
  events: Static<typeof ReportedEvent>[],
): Promise<Static<typeof VisitorEvent>[]> {
  const problems: FieldProblem[] = []
  const legacy = new Set<string>()
  for (const [index, event] of events.entries()) {
    const legacyId = legacyIdOf(event.campaignId)
    if (legacyId === null) {
      if (event.variantId === undefined) {
        problems.push({ field: `body.events.${index}.variantId`, message: 'is required' })
      }
    } else if (takenNow(deps, legacyId)) {
      legacy.add(legacyId)
    } else {
      problems.push({ field: `body.events.${index}.campaignId`, message: NOT_A_CAMPAIGN_ID })
    }
  }
  if (problems.length > 0) throw invalidInput(problems.slice(0, 20))
  if (legacy.size === 0) return events as Static<typeof VisitorEvent>[]
  const resolved = new Map<string, { id: string; variantId: string }>()
  for (const legacyId of legacy) resolved.set(legacyId, await legacyCampaign(deps, legacyId))
  return events.map((event) => {
    const legacyId = legacyIdOf(event.campaignId)
    const campaign = legacyId === null ? undefined : resolved.get(legacyId)
    return campaign ? { ...event, campaignId: campaign.id, variantId: campaign.variantId } : event
  }) as Static<typeof VisitorEvent>[]
}

/** A lead with its campaign as a UUID and a variant, as resolveEvents does for events. */
export async function resolveLead(
  deps: Deps,
  body: Static<typeof LeadSubmissionBody>,
): Promise<Static<typeof LeadSubmission>> {
  const legacyId = legacyIdOf(body.campaignId)
  if (legacyId === null) {
    if (body.variantId === undefined)
      throw invalidInput([{ field: 'body.variantId', message: 'is required' }])
    return body as Static<typeof LeadSubmission>
  }
  if (!takenNow(deps, legacyId))
    throw invalidInput([{ field: 'body.campaignId', message: NOT_A_CAMPAIGN_ID }])
  const campaign = await legacyCampaign(deps, legacyId)
  return { ...body, campaignId: campaign.id, variantId: campaign.variantId }
}

/**
 * The hostname whose site document `GET /public/v1/sites/:hostname` answers for an old domain id
 * (`/public/v1/sites/17`); null when the parameter is no old id taken now (it is then a hostname,
 * and "17" is no site's). 404 for an old domain that was not migrated.
 */
export async function legacySiteHostname(deps: Deps, param: string): Promise<string | null> {
  if (!/^[1-9][0-9]{0,9}$/.test(param) || !takenNow(deps, param)) return null
  // A site's hostname never changes; a deleted site's document is a 404 by hostname.
  const hostname = await cachedNewId(deps, 'domain', param, (siteId) => findSiteHostnameById(deps.db, siteId))
  if (hostname === null) throw new NotFound('Site')
  return hostname
}
