import type { Cache } from '@nudge/cache'
import type { AfterCommit, CampaignStatus } from '@nudge/db'
import type { Deps } from '../../deps.ts'
import { CampaignNotAccepting, CampaignPaused } from '../../errors.ts'
import type { FormInput, VariantInput } from '../campaigns/content.ts'
import { findVisitorCampaign } from './campaign-repository.ts'
import { leadForm } from './lead-form.ts'

/**
 * What the visitor-facing routes need to know about a campaign, read once and cached until the
 * campaign's next change: whose it is, which site it runs on, and each variant's lead form.
 */
export interface VisitorCampaign {
  id: string
  teamId: string
  siteId: string
  hostname: string
  allowSubdomains: boolean
  status: CampaignStatus
  /** ISO time of the last status change (null: unknown, long ago). */
  statusChangedAt: string | null
  /** Each current variant, its lead form, and its number of steps (absent in entries cached by an earlier release). */
  variants: Array<{ id: string; form: FormInput | null; steps?: number }>
  /**
   * Every variant id and consent version the campaign has shown visitors, current or retired:
   * the only ones a visitor's report may name. Absent from entries cached by an earlier release.
   */
  published?: { variantIds: string[]; consentVersions: string[] }
}

/** Statuses visitors may still report on: live, in preview (test), or paused a moment ago. */
export const REPORTABLE: ReadonlySet<CampaignStatus> = new Set(['test', 'live', 'paused'])

/**
 * How long a paused campaign still takes leads and events: a page opened before the pause shows
 * the popup until it is reloaded, and a person who typed their email there should not lose it.
 */
export const PAUSE_GRACE_MINUTES = 5

/**
 * Throws 409 unless visitors may report on the campaign now: live, in test (preview traffic, which
 * the callers keep out of counts, quotas and deliveries), or paused less than PAUSE_GRACE_MINUTES ago.
 */
export function checkAccepting(campaign: VisitorCampaign, now = Date.now()) {
  if (!REPORTABLE.has(campaign.status)) throw new CampaignNotAccepting(campaign.id, campaign.status)
  if (campaign.status !== 'paused') return
  const pausedAt = campaign.statusChangedAt ? Date.parse(campaign.statusChangedAt) : 0
  if (now - pausedAt > PAUSE_GRACE_MINUTES * 60_000) {
    throw new CampaignPaused(campaign.id, new Date(pausedAt).toISOString(), PAUSE_GRACE_MINUTES)
  }
}

/** Preview traffic: a campaign in test shows only to its team; nothing of it is counted or delivered. */
export const isPreview = (campaign: VisitorCampaign) => campaign.status === 'test'

// Invalidated after every committed change to the campaign (forgetVisitorCampaign); the TTL only
// bounds how long an entry for a campaign nobody asks about any more stays in memory.
const CAMPAIGN_TTL_SECONDS = 300
const campaignKey = (campaignId: string) => `visitor:campaign:${campaignId}`

/** The campaign as visitors' reports see it, or null when it does not exist or has no site. */
export async function visitorCampaign(
  deps: Deps,
  { campaignId }: { campaignId: string },
): Promise<VisitorCampaign | null> {
  return deps.cache.wrap(campaignKey(campaignId), CAMPAIGN_TTL_SECONDS, async () => {
    const row = await findVisitorCampaign(deps.db, campaignId)
    if (!row?.site_id) return null
    return {
      id: row.id,
      teamId: row.team_id,
      siteId: row.site_id,
      hostname: row.hostname,
      allowSubdomains: row.settings.allowSubdomains === true,
      status: row.status,
      statusChangedAt: row.status_changed_at?.toISOString() ?? null,
      variants: (row.variants as VariantInput[]).map((variant) => ({
        id: variant.id ?? '',
        form: leadForm(variant),
        steps: variant.steps.length,
      })),
      published: {
        variantIds: row.published_variant_ids,
        consentVersions: row.published_consent_versions,
      },
    }
  })
}

/**
 * Whether a visitor's report may name this variant: one the campaign has published (its current
 * variants for an entry cached before the campaign's published ones were kept).
 */
export function publishedVariant(campaign: VisitorCampaign, variantId: string): boolean {
  const published = campaign.published?.variantIds ?? campaign.variants.map((variant) => variant.id)
  return published.includes(variantId)
}

/**
 * Whether a step event's step (1-based) is one the variant has. A retired variant's steps, or an
 * entry cached by an earlier release, are not known here: then any step the schema allows.
 */
export function variantHasStep(campaign: VisitorCampaign, variantId: string, step: number): boolean {
  const steps = campaign.variants.find((variant) => variant.id === variantId)?.steps
  return steps === undefined || step <= steps
}

/** Whether a lead may name this consent wording: one the campaign's published forms have shown. */
export function publishedConsentVersion(campaign: VisitorCampaign, version: string): boolean {
  const published =
    campaign.published?.consentVersions ??
    campaign.variants.flatMap((variant) => variant.form?.consent?.version ?? [])
  return published.includes(version)
}

/** After a change to a campaign commits (content, status, site): visitors' view of it, on every worker. */
export function forgetVisitorCampaign(cache: Cache, afterCommit: AfterCommit, campaignId: string) {
  afterCommit(() => cache.del(campaignKey(campaignId)))
}
