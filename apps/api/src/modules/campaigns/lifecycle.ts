import type { CampaignStatus } from '@nudge/db'

/**
 * Where each status may go: draft → test → live ⇄ paused → archived, and archived back to draft.
 * A draft may also be archived without going out, and a campaign in test may go back to draft.
 */
export const TRANSITIONS: Record<CampaignStatus, readonly CampaignStatus[]> = {
  draft: ['test', 'archived'],
  test: ['live', 'draft'],
  live: ['paused'],
  paused: ['live', 'archived'],
  archived: ['draft'],
}

/** Statuses whose campaign has an object at the edge (test: preview only; live: every visitor). */
export function isPublished(status: CampaignStatus): boolean {
  return status === 'test' || status === 'live'
}

/** Only campaigns that never reached visitors, or were retired, may be deleted or moved to another site. */
export function isRetired(status: CampaignStatus): boolean {
  return status === 'draft' || status === 'archived'
}
