import type { Trigger } from './types.ts'

/*
 * A trigger as a plan the DOM layer arms (a timer, a scroll listener…), and pure checks of whether
 * an observed fact fires it. Bounds are content.ts's: delay 0 to 600 s, inactivity 1 to 3600 s,
 * scroll 1 to 100 %; a value outside them is brought inside. A missing trigger is the default
 * targeting's: 3 seconds after the page loads.
 */

/** The flag that releases the tab-return trigger (it is listed in the domain document's features). */
export const TAB_RETURN_FEATURE = 'campaign-trigger-tab-return'

export type TriggerPlan =
  | { type: 'delay'; ms: number }
  | { type: 'scroll'; percent: number }
  | { type: 'exit-intent' }
  | { type: 'click'; selector: string }
  | { type: 'inactivity'; ms: number }
  | { type: 'tab-return' }
  /** nothing to arm: the reason says why */
  | { type: 'never'; reason: string }

export type TriggerFact =
  | { type: 'elapsed'; ms: number }
  | { type: 'scroll'; percent: number }
  /** the pointer left the document (mouseout with no relatedTarget) at clientY */
  | { type: 'pointer-leave'; clientY: number }
  /** a click; `matches(selector)` is the clicked element's `closest(selector) !== null` */
  | { type: 'click'; matches: (selector: string) => boolean }
  | { type: 'idle'; ms: number }
  | { type: 'tab-return' }

const DEFAULT_DELAY_SECONDS = 3
const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value))

export function triggerPlan(trigger: Trigger | undefined, features: readonly string[] = []): TriggerPlan {
  if (!trigger) return { type: 'delay', ms: DEFAULT_DELAY_SECONDS * 1000 }
  switch (trigger.type) {
    case 'delay':
      return { type: 'delay', ms: clamp(trigger.seconds ?? DEFAULT_DELAY_SECONDS, 0, 600) * 1000 }
    case 'scroll':
      return { type: 'scroll', percent: clamp(trigger.percent ?? 100, 1, 100) }
    case 'exit-intent':
      return { type: 'exit-intent' }
    case 'click':
      return trigger.selector?.trim()
        ? { type: 'click', selector: trigger.selector }
        : { type: 'never', reason: 'trigger: click without a selector' }
    case 'inactivity':
      return { type: 'inactivity', ms: clamp(trigger.seconds ?? 1, 1, 3600) * 1000 }
    case 'tab-return':
      return features.includes(TAB_RETURN_FEATURE)
        ? { type: 'tab-return' }
        : {
            type: 'never',
            reason: `trigger: tab-return is not released for this site (${TAB_RETURN_FEATURE})`,
          }
    default:
      return { type: 'never', reason: `trigger: unknown type "${(trigger as { type: string }).type}"` }
  }
}

/**
 * How far down the page the visitor has scrolled, 0 to 100: the share of the scrollable distance
 * covered. A page that does not scroll is fully seen.
 */
export function scrollPercent(scrollTop: number, viewportHeight: number, documentHeight: number): number {
  const scrollable = documentHeight - viewportHeight
  if (scrollable <= 0) return 100
  return clamp((scrollTop / scrollable) * 100, 0, 100)
}

/** "towards the browser bar": leaving the document through its top edge. */
const EXIT_MARGIN_PX = 0

export function fires(plan: TriggerPlan, fact: TriggerFact): boolean {
  switch (plan.type) {
    case 'delay':
      return fact.type === 'elapsed' && fact.ms >= plan.ms
    case 'scroll':
      return fact.type === 'scroll' && fact.percent >= plan.percent
    case 'exit-intent':
      return fact.type === 'pointer-leave' && fact.clientY <= EXIT_MARGIN_PX
    case 'click':
      if (fact.type !== 'click') return false
      // A selector the browser cannot parse throws: the trigger never fires, the page is untouched.
      try {
        return fact.matches(plan.selector)
      } catch {
        return false
      }
    case 'inactivity':
      return fact.type === 'idle' && fact.ms >= plan.ms
    case 'tab-return':
      return fact.type === 'tab-return'
    default:
      return false
  }
}

/** Whether the browser can use the selector (a bad one is reported once in debug mode). */
export function selectorWorks(selector: string, test: (selector: string) => unknown): boolean {
  try {
    test(selector)
    return true
  } catch {
    return false
  }
}
