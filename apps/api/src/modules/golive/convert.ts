// TEMPORARY stand-in for gofixture's converters (h/gofixture owns this file): same names, enough
// to drive the engine until that branch is merged. Deleted on merge.
import type { CampaignStatus, CampaignType } from '@nudge/db'
import { DEFAULT_FREQUENCY, DEFAULT_TARGETING } from '../campaigns/content.ts'

export interface Change {
  kind: string
  legacyId: string
  field: string
  reason: string
  before?: string
  after?: string
}

export interface LegacyCampaign {
  id: number
  account_id: number
  domain_id: number | null
  name: string
  type: string
  status: string
  content: Record<string, unknown>
  created_at: Date
  updated_at: Date
}

export interface ConvertedCampaign {
  name: string
  type: CampaignType
  status: CampaignStatus
  variants: Array<Record<string, unknown> & { id: string }>
  targeting: Record<string, unknown>
  frequency: Record<string, unknown>
  schedule: Record<string, unknown> | null
}

const TYPES: Record<string, CampaignType> = {
  popup: 'modal',
  slidein: 'slide-in',
  bar: 'bar',
  fullscreen: 'full-screen',
}
const STATUSES: Record<string, CampaignStatus> = {
  draft: 'draft',
  active: 'live',
  paused: 'paused',
  archived: 'archived',
}

export function convertCampaign(
  old: LegacyCampaign,
  _context: { siteHostname?: string },
): { value: ConvertedCampaign; changes: Change[] } {
  const title = String(old.content.title ?? '').replace(/<[^>]*>/g, '') || old.name
  return {
    value: {
      name: old.name.slice(0, 120) || `Campaign ${old.id}`,
      type: TYPES[old.type] ?? 'modal',
      status: STATUSES[old.status] ?? 'draft',
      variants: [
        {
          id: 'a',
          name: 'Variant A',
          weight: 100,
          steps: [
            {
              blocks: [{ type: 'text', text: title.slice(0, 200), style: 'heading' }],
              buttons: [{ label: 'Close', action: 'close' }],
            },
          ],
        },
      ],
      targeting: { ...DEFAULT_TARGETING },
      frequency: { ...DEFAULT_FREQUENCY },
      schedule: null,
    },
    changes: [],
  }
}

export function normaliseHostname(raw: string): { hostname: string; changes: Change[] } {
  const hostname = raw
    .trim()
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/^www\./, '')
  return { hostname, changes: [] }
}

export function normaliseEmail(raw: string): { email: string; changes: Change[] } {
  return { email: raw.trim(), changes: [] }
}

export function convertPlan(plan: string): { plan: string; changes: Change[] } {
  return { plan: plan === 'free' ? 'free' : plan === 'agency' ? 'business' : 'pro', changes: [] }
}
