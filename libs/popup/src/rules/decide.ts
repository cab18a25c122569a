import { checkFrequency, type HistoryStore } from './frequency.ts'
import { inSchedule } from './schedule.ts'
import { matchesTargeting, type Visitor } from './targeting.ts'
import { type TriggerPlan, triggerPlan } from './triggers.ts'
import type { PublishedCampaign, Verdict } from './types.ts'
import { assignVariant } from './variant.ts'

export interface DecideContext {
  now: number
  visitor: Visitor
  /** the random id the script keeps in localStorage */
  visitorId: string
  history: HistoryStore
  /** the domain document's released features */
  features?: readonly string[]
}

export interface Decision {
  show: boolean
  variantId?: string
  /** what to arm when show is true */
  trigger?: TriggerPlan
  /** every check made, in order; the last one names why it does not show */
  reasons: string[]
}

/**
 * Whether this page view may show the campaign, and which variant, in the order the script runs
 * the checks: cheapest and most often failing first (schedule, targeting), then this browser's
 * history, then the variant, then whether its trigger can be armed at all.
 */
export function decide(campaign: PublishedCampaign, context: DecideContext): Decision {
  const reasons: string[] = []
  const stop = (verdict: Verdict): Decision => {
    reasons.push(verdict.reason)
    return { show: false, reasons }
  }
  const steps: Array<() => Verdict> = [
    () => inSchedule(campaign.schedule, context.now),
    () => matchesTargeting(campaign.targeting, context.visitor),
    () => checkFrequency(campaign.frequency, context.history, campaign.id, context.now),
  ]
  for (const step of steps) {
    const verdict = step()
    if (!verdict.show) return stop(verdict)
    reasons.push(verdict.reason)
  }
  const variant = assignVariant(campaign.variants ?? [], context.visitorId, campaign.id)
  if (!variant) return stop({ show: false, reason: 'variant: no variant has traffic' })
  reasons.push(`variant: ${variant.id} (weight ${variant.weight})`)
  const trigger = triggerPlan(campaign.targeting?.trigger, context.features)
  if (trigger.type === 'never') return stop({ show: false, reason: trigger.reason })
  reasons.push(`trigger: ${trigger.type}`)
  return { show: true, variantId: variant.id, trigger, reasons }
}
