/*
 * The published campaign as the edge serves it (apps/api/src/modules/publishing/documents.ts):
 * compacted, so every optional field may be missing and no list is empty. Written out here rather
 * than imported, since this code runs in visitors' browsers and must not pull in the API.
 */

export type Device = 'desktop' | 'mobile' | 'tablet'

export interface UrlRule {
  match: 'exact' | 'prefix' | 'contains' | 'glob'
  value: string
}

export type TriggerType = 'delay' | 'scroll' | 'exit-intent' | 'click' | 'inactivity' | 'tab-return'

export interface Trigger {
  type: TriggerType
  seconds?: number
  percent?: number
  selector?: string
}

export interface Targeting {
  urls?: { include?: UrlRule[]; exclude?: UrlRule[] }
  devices?: Device[]
  countries?: { mode: 'allow' | 'deny'; codes: string[] }
  visitors?: 'all' | 'new' | 'returning'
  languages?: string[]
  trigger?: Trigger
}

export interface Frequency {
  show: 'once' | 'every-n-days' | 'every-page-view'
  days?: number
  stopAfterConversion?: boolean
  stopAfterClose?: boolean
}

export interface Schedule {
  startAt?: string
  endAt?: string
  timeZone?: string
}

export interface PublishedVariant {
  id: string
  weight: number
  steps: unknown[]
}

export interface PublishedCampaign {
  id: string
  v?: number
  type: string
  variants?: PublishedVariant[]
  targeting?: Targeting
  frequency?: Frequency
  schedule?: Schedule
}

/** Every check answers whether it lets the popup show and why, for the debug switch. */
export interface Verdict {
  show: boolean
  reason: string
}
