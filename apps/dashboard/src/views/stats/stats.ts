import type { paths } from '@nudge/api-client'

/** The stats route's answer, as the client types it. */
export type CampaignStats =
  paths['/v1/teams/{teamId}/campaigns/{campaignId}/stats']['get']['responses'][200]['content']['application/json']
export type VariantStats = CampaignStats['variants'][number]
export type Comparison = NonNullable<CampaignStats['comparison']>

export interface DayTotals {
  /** A UTC day (YYYY-MM-DD). */
  day: string
  impressions: number
  closes: number
  conversions: number
  leads: number
  conversionRate: number
}

const DAY_MS = 86_400_000

/** The browser's IANA time zone (the stats route reads `from` and `to` in it). */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
}

/** Today's calendar date (YYYY-MM-DD) in a zone. */
export function todayIn(timeZone: string, now: Date = new Date()): string {
  // en-CA writes dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(now)
}

/** A calendar date `days` after (or before, when negative) another. */
export function addDays(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number]
  return new Date(Date.UTC(year, month - 1, day) + days * DAY_MS).toISOString().slice(0, 10)
}

/** The preset ranges offered above the chart: the last n days, today included. */
export function lastDays(n: number, timeZone: string, now: Date = new Date()): { from: string; to: string } {
  const to = todayIn(timeZone, now)
  return { from: addDays(to, -(n - 1)), to }
}

/** Why a picked range cannot be asked for, in words; null when it can (the API allows 366 days). */
export function rangeProblem(from: string, to: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(from) || !/^\d{4}-\d{2}-\d{2}$/.test(to)) return 'Pick both dates.'
  if (from > to) return 'The first day must not be after the last.'
  const span = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS + 1
  if (span > 366) return 'A range spans at most 366 days.'
  return null
}

export function rate(conversions: number, impressions: number): number {
  return impressions > 0 ? conversions / impressions : 0
}

/** Every day of the answer, the variants added together (the chart and its table). */
export function dailyTotals(stats: Pick<CampaignStats, 'variants'>): DayTotals[] {
  const byDay = new Map<string, DayTotals>()
  for (const variant of stats.variants) {
    for (const day of variant.days) {
      const totals = byDay.get(day.day) ?? {
        day: day.day,
        impressions: 0,
        closes: 0,
        conversions: 0,
        leads: 0,
        conversionRate: 0,
      }
      totals.impressions += day.impressions
      totals.closes += day.closes
      totals.conversions += day.conversions
      totals.leads += day.leads
      byDay.set(day.day, totals)
    }
  }
  return [...byDay.values()]
    .map((totals) => ({ ...totals, conversionRate: rate(totals.conversions, totals.impressions) }))
    .sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0))
}

/** Whether anything at all was counted in the range (otherwise the page says so, not a flat chart). */
export function hasCounts(stats: Pick<CampaignStats, 'totals'>): boolean {
  const { impressions, closes, conversions, leads } = stats.totals
  return impressions + closes + conversions + leads > 0
}

export function percent(value: number): string {
  return `${(value * 100).toLocaleString('en', { maximumFractionDigits: 1 })} %`
}

export function count(value: number): string {
  return value.toLocaleString('en')
}

/** "12 Nov 2026" for a YYYY-MM-DD date (no zone: it is a calendar date). */
export function dayLabel(day: string): string {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString('en-GB', {
    timeZone: 'UTC',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
  })
}

/** "12 Nov" for the chart's axis (the table beside it has the year). */
export function shortDayLabel(day: string): string {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString('en-GB', {
    timeZone: 'UTC',
    day: 'numeric',
    month: 'short',
  })
}

export interface StepReach {
  step: number
  reached: number
  /** Share of the variant's impressions that reached this step. */
  share: number
}

/** The variant's funnel: step 1 is every impression, then the steps the API counts. */
export function stepReach(variant: Pick<VariantStats, 'impressions' | 'steps'>): StepReach[] {
  if (variant.steps.length === 0) return []
  return [
    { step: 1, reached: variant.impressions, share: variant.impressions > 0 ? 1 : 0 },
    ...variant.steps.map((step) => ({
      step: step.step,
      reached: step.reached,
      share: rate(step.reached, variant.impressions),
    })),
  ]
}

function pValueText(p: number): string {
  if (p < 0.001) return 'p < 0.001'
  return `p = ${p.toLocaleString('en', { maximumSignificantDigits: 2 })}`
}

/**
 * The A/B verdict the API computed, in words a marketer reads: who is ahead, whether the
 * difference is beyond chance, and why not when it cannot be.
 */
export function verdict(stats: Pick<CampaignStats, 'comparison' | 'variants'>): {
  tone: 'winner' | 'undecided' | 'none'
  headline: string
  detail: string
} {
  const comparison = stats.comparison
  if (!comparison) {
    return {
      tone: 'none',
      headline: 'not running',
      detail: 'This campaign has one variant: add a second one to compare them.',
    }
  }
  const confidence = `${Math.round((1 - comparison.alpha) * 100)} %`
  const compared = stats.variants.filter((variant) => comparison.variantIds.includes(variant.id))
  const leader = stats.variants.find((variant) => variant.id === comparison.leader)
  const test =
    comparison.test === 'two-proportion z-test (pooled)'
      ? 'a two-proportion z-test'
      : 'a chi-square test of independence'
  const rates = compared.map((variant) => `${variant.name} ${percent(variant.conversionRate)}`).join(', ')
  const statistic = comparison.pValue === null ? '' : ` (${pValueText(comparison.pValue)}, ${test})`

  if (!leader) {
    return {
      tone: 'undecided',
      headline: 'No variant is ahead',
      detail: compared.every((variant) => variant.impressions === 0)
        ? 'No variant has been shown yet in this range.'
        : `The variants convert equally (${rates}).`,
    }
  }
  if (comparison.significant) {
    return {
      tone: 'winner',
      headline: `${leader.name} wins`,
      detail:
        `${leader.name} converts best (${rates}), and the difference is beyond chance at ` +
        `${confidence} confidence${statistic}.`,
    }
  }
  const why =
    comparison.reason === 'not enough data'
      ? 'Not conclusive yet: not enough data. A verdict needs every variant shown, with at least 5 conversions and 5 non-conversions expected for each.'
      : comparison.reason
        ? `No verdict can be drawn: ${comparison.reason}.`
        : `The difference could still be chance: it is not significant at ${confidence} confidence${statistic}.`
  return {
    tone: 'undecided',
    headline: `${leader.name} is ahead, not yet a winner`,
    detail: `${leader.name} converts best so far (${rates}). ${why}`,
  }
}

/** A country code as its name in English ("DE" → "Germany"); null is "Unknown". */
export function countryName(code: string | null): string {
  if (!code) return 'Unknown'
  try {
    return new Intl.DisplayNames(['en'], { type: 'region' }).of(code) ?? code
  } catch {
    return code
  }
}
