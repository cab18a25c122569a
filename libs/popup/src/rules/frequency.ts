import type { Frequency, Verdict } from './types.ts'

/** What this browser remembers of one campaign (times in ms since the epoch). */
export interface History {
  timesShown: number
  lastShownAt?: number
  closedAt?: number
  convertedAt?: number
}

/** Where histories are kept: localStorage in the script, a Map in tests. */
export interface HistoryStore {
  get(campaignId: string): History | undefined
  set(campaignId: string, history: History): void
}

const DAY_MS = 86_400_000

/*
 * content.ts: show once | every-n-days (then `days`) | every-page-view, per visitor;
 * stopAfterConversion defaults to true, stopAfterClose to false. "Every n days" counts from the
 * last time it was shown: n × 24 hours later it may show again.
 */
export function allowsShow(
  frequency: Frequency | undefined,
  history: History | undefined,
  now: number,
): Verdict {
  const settings = frequency ?? { show: 'once' }
  const seen = history ?? { timesShown: 0 }
  if ((settings.stopAfterConversion ?? true) && seen.convertedAt !== undefined) {
    return { show: false, reason: 'frequency: the visitor converted (stopAfterConversion)' }
  }
  if ((settings.stopAfterClose ?? false) && seen.closedAt !== undefined) {
    return { show: false, reason: 'frequency: the visitor closed it (stopAfterClose)' }
  }
  switch (settings.show) {
    case 'every-page-view':
      return { show: true, reason: 'frequency: every page view' }
    case 'every-n-days': {
      const days = Math.min(365, Math.max(1, settings.days ?? 1))
      if (seen.lastShownAt === undefined)
        return { show: true, reason: `frequency: every ${days} days, never shown` }
      const next = seen.lastShownAt + days * DAY_MS
      if (now >= next)
        return { show: true, reason: `frequency: every ${days} days, last shown ${days}+ days ago` }
      const hours = Math.ceil((next - now) / 3_600_000)
      return { show: false, reason: `frequency: every ${days} days, shown again in ${hours} h` }
    }
    default:
      return seen.timesShown > 0
        ? { show: false, reason: 'frequency: once, already shown' }
        : { show: true, reason: 'frequency: once, never shown' }
  }
}

export function checkFrequency(
  frequency: Frequency | undefined,
  store: HistoryStore,
  campaignId: string,
  now: number,
): Verdict {
  return allowsShow(frequency, store.get(campaignId), now)
}

function update(store: HistoryStore, campaignId: string, change: (history: History) => History) {
  store.set(campaignId, change(store.get(campaignId) ?? { timesShown: 0 }))
}

export function recordShow(store: HistoryStore, campaignId: string, now: number): void {
  update(store, campaignId, (h) => ({ ...h, timesShown: h.timesShown + 1, lastShownAt: now }))
}

export function recordClose(store: HistoryStore, campaignId: string, now: number): void {
  update(store, campaignId, (h) => ({ ...h, closedAt: now }))
}

export function recordConversion(store: HistoryStore, campaignId: string, now: number): void {
  update(store, campaignId, (h) => ({ ...h, convertedAt: now }))
}
