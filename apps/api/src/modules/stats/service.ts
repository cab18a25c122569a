import type { Deps } from '../../deps.ts'
import { invalidInput, NotFound } from '../../errors.ts'
import { findCampaign } from '../campaigns/repository.ts'
import { statsRange } from './range.ts'
import { countsByCountry, countsByVariantAndDay, stepsByVariant } from './repository.ts'
import { compareVariants } from './significance.ts'

interface Counts {
  impressions: number
  closes: number
  conversions: number
  leads: number
}

const zero = (): Counts => ({ impressions: 0, closes: 0, conversions: 0, leads: 0 })

function add(into: Counts, counts: Counts) {
  into.impressions += counts.impressions
  into.closes += counts.closes
  into.conversions += counts.conversions
  into.leads += counts.leads
}

function conversionRate(counts: { impressions: number; conversions: number }): number {
  return counts.impressions > 0 ? counts.conversions / counts.impressions : 0
}

function withRate<T extends { impressions: number; conversions: number }>(counts: T) {
  return { ...counts, conversionRate: conversionRate(counts) }
}

/** A variant the campaign no longer has, known only by its counts. */
const removedVariant = (id: string) => ({
  id,
  name: id,
  weight: null as number | null,
  stepCount: 1,
  rows: [] as Counts[],
  reached: new Map<number, number>(),
})

/**
 * Every step from 2 to the variant's last, and any later one with counts (the variant had more
 * steps before an edit), in order; steps nobody reached as zeros.
 */
function stepReach(stepCount: number, reached: Map<number, number>) {
  const last = Math.max(stepCount, ...reached.keys())
  const steps: Array<{ step: number; reached: number }> = []
  for (let step = 2; step <= last; step++) steps.push({ step, reached: reached.get(step) ?? 0 })
  return steps
}

/** The variants as the campaign stores them (checked by its schema on every write). */
type StoredVariant = { id: string; name: string; weight: number; steps: unknown[] }

/**
 * A campaign's stats over a range of dates in a zone, answered with the UTC days that cover it:
 * totals, per variant (each UTC day present), per country, and the comparison of the variants.
 */
export async function campaignStats(
  deps: Deps,
  input: {
    teamId: string
    campaignId: string
    from?: string | undefined
    to?: string | undefined
    tz?: string | undefined
    now?: Date
  },
) {
  const { db } = deps
  const { teamId, campaignId, now = new Date() } = input
  const range = statsRange(input, now)
  if (Array.isArray(range)) throw invalidInput(range)
  const campaign = await findCampaign(db, teamId, campaignId)
  if (!campaign) throw new NotFound('Campaign')

  const [byDay, byCountry, bySteps] = await Promise.all([
    countsByVariantAndDay(db, campaign.id, range.utcFrom, range.utcTo),
    countsByCountry(db, campaign.id, range.utcFrom, range.utcTo),
    stepsByVariant(db, campaign.id, range.utcFrom, range.utcTo),
  ])

  const current = campaign.variants as StoredVariant[]
  const dayIndex = new Map(range.days.map((day, index) => [day, index]))
  const variants = new Map(
    current.map((v) => [
      v.id,
      {
        id: v.id,
        name: v.name,
        weight: v.weight as number | null,
        stepCount: v.steps.length,
        rows: [] as Counts[],
        reached: new Map<number, number>(),
      },
    ]),
  )
  for (const row of byDay) {
    let variant = variants.get(row.variant_id)
    if (!variant) {
      variant = removedVariant(row.variant_id)
      variants.set(row.variant_id, variant)
    }
    const index = dayIndex.get(row.day)
    if (index !== undefined) variant.rows[index] = row
  }
  for (const row of bySteps) {
    let variant = variants.get(row.variant_id)
    if (!variant) {
      variant = removedVariant(row.variant_id)
      variants.set(row.variant_id, variant)
    }
    variant.reached.set(row.step, row.reached)
  }
  const currentIds = new Set(current.map((v) => v.id))
  const ordered = [
    ...current.map((v) => variants.get(v.id) as NonNullable<ReturnType<typeof variants.get>>),
    ...[...variants.values()].filter((v) => !currentIds.has(v.id)).sort((a, b) => (a.id < b.id ? -1 : 1)),
  ]

  const totals = zero()
  const variantStats = ordered.map((variant) => {
    const sum = zero()
    const days = range.days.map((day, index) => {
      const counts = variant.rows[index] ?? zero()
      add(sum, counts)
      return withRate({
        day,
        impressions: counts.impressions,
        closes: counts.closes,
        conversions: counts.conversions,
        leads: counts.leads,
      })
    })
    add(totals, sum)
    const steps = stepReach(variant.stepCount, variant.reached)
    return { id: variant.id, name: variant.name, weight: variant.weight, ...withRate(sum), steps, days }
  })

  const countries = byCountry
    .map((row) =>
      withRate({
        country: row.country === '' ? null : row.country,
        impressions: row.impressions,
        conversions: row.conversions,
        leads: row.leads,
      }),
    )
    .sort(
      (a, b) =>
        b.impressions - a.impressions ||
        b.conversions - a.conversions ||
        (a.country ?? '\uffff').localeCompare(b.country ?? '\uffff'),
    )

  // The test covers the variants visitors can be shown now; a paused one (weight 0) that had no
  // impressions in the range has nothing to compare and would only block the answer.
  const compared = variantStats.filter((v) => v.weight !== null && (v.weight > 0 || v.impressions > 0))

  return {
    campaignId: campaign.id,
    from: range.from,
    to: range.to,
    tz: range.tz,
    dayBoundary: 'UTC' as const,
    utcFrom: range.utcFrom,
    utcTo: range.utcTo,
    totals: withRate(totals),
    variants: variantStats,
    countries,
    comparison: compareVariants(compared),
  }
}
