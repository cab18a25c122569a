/**
 * What the billing page says, as plain functions of the API's Billing answer (tested in
 * test/billing.test.ts): the status in words, the days of trial left, and each limit as a bar.
 */
import type { operations } from '@nudge/api-client'

export type Billing = operations['getBilling']['responses'][200]['content']['application/json']
export type PaidPlan = 'pro' | 'business'
export type Interval = 'month' | 'year'

const DAY = 86_400_000

/** Whole days until `endsAt`, rounded up (a trial ending in 3 hours has 1 day left), never below 0. */
export function daysLeft(endsAt: string | null, now: Date = new Date()): number | null {
  if (!endsAt) return null
  const ms = new Date(endsAt).getTime() - now.getTime()
  return Math.max(0, Math.ceil(ms / DAY))
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/** A date as the person reads it, in their own time zone. */
export function dateOf(iso: string, locale?: string): string {
  return new Date(iso).toLocaleDateString(locale, { year: 'numeric', month: 'long', day: 'numeric' })
}

/** One sentence on where the team stands: trial, paying, payment failed, cancelled, free. */
export function statusLine(billing: Billing, now: Date = new Date(), locale?: string): string {
  const plan = billing.plan.name
  switch (billing.status) {
    case 'trialing': {
      const left = daysLeft(billing.trialEndsAt, now) ?? 0
      const ends = billing.trialEndsAt ? ` (until ${dateOf(billing.trialEndsAt, locale)})` : ''
      return `Free trial of ${plan}: ${plural(left, 'day')} left${ends}. No card needed; afterwards the team is on Free unless you upgrade.`
    }
    case 'active':
      if (billing.cancelAtPeriodEnd && billing.currentPeriodEnd)
        return `${plan}, cancelled: it ends on ${dateOf(billing.currentPeriodEnd, locale)}, then the team is on Free.`
      return billing.currentPeriodEnd
        ? `${plan}, paid. It renews on ${dateOf(billing.currentPeriodEnd, locale)}.`
        : `${plan}, paid.`
    case 'past_due':
      return billing.graceEndsAt
        ? `The last payment failed. ${plan} stays until ${dateOf(billing.graceEndsAt, locale)}; update the card in the billing portal to keep it.`
        : `The last payment failed and the grace period is over: the team has the Free plan's limits until it is paid.`
    case 'canceled':
      return 'The subscription was cancelled: the team is on the Free plan.'
    default:
      return 'The team is on the Free plan.'
  }
}

/** Whether the team pays through Stripe now: plan changes then go through the portal, not Checkout. */
export function hasSubscription(billing: Billing): boolean {
  return billing.status === 'active' || billing.status === 'past_due'
}

export interface UsageBar {
  key: keyof Billing['usage']
  label: string
  used: number
  limit: number | null
  /** 0 to 100, for the bar's width; 0 with no limit. */
  percent: number
  /** "3 of 5", "12,400 of 200,000", "3 (no limit)" */
  text: string
  level: 'ok' | 'warning' | 'full'
  note?: string
}

const LABELS: Record<keyof Billing['usage'], string> = {
  sites: 'Sites',
  liveCampaigns: 'Live campaigns',
  members: 'Members',
  integrations: 'Integrations',
  impressions: 'Impressions this period',
}

/** Every limit of the plan as a bar with its numbers, in the order the API lists them. */
export function usageBars(billing: Billing, locale?: string, now: Date = new Date()): UsageBar[] {
  const n = (value: number) => value.toLocaleString(locale)
  return (Object.keys(LABELS) as Array<keyof Billing['usage']>).map((key) => {
    const { used, limit } = billing.usage[key]
    const percent = limit === null ? 0 : limit === 0 ? 100 : Math.min(100, Math.round((used / limit) * 100))
    const text = limit === null ? `${n(used)} (no limit)` : `${n(used)} of ${n(limit)}`
    let level: UsageBar['level'] = limit !== null && used >= limit ? 'full' : percent >= 80 ? 'warning' : 'ok'
    const bar: UsageBar = { key, label: LABELS[key], used, limit, percent, text, level }
    if (key === 'impressions') {
      const quota = billing.usage.impressions
      bar.note = `Since ${dateOf(quota.periodStart, locale)}.`
      if (quota.state === 'warning') level = 'warning'
      if (quota.state === 'over') {
        level = 'full'
        bar.note += quota.graceEndsAt
          ? ` The quota is used up: campaigns are still shown until ${dateOf(quota.graceEndsAt, locale)} (${plural(daysLeft(quota.graceEndsAt, now) ?? 0, 'day')}).`
          : ' The quota is used up.'
      }
      if (quota.state === 'suspended') {
        level = 'full'
        bar.note += ' Your sites show no campaigns until the next period or a bigger plan.'
      }
      if (quota.upgradeTo) bar.note += ` ${quota.upgradeTo.name} has more.`
      bar.level = level
    } else if (level === 'full') {
      bar.note = 'At the limit: upgrade to add more.'
    }
    return bar
  })
}

/** A paid plan's limits (`null`: no limit), as libs/payments' PLANS has them. */
export interface OfferLimits {
  sites: number | null
  liveCampaigns: number | null
  members: number | null
  integrations: number | null
  monthlyImpressions: number | null
  removeBranding: boolean
}

/**
 * The paid plans' limits, mirrored from libs/payments (the API's truth) rather than imported: that
 * library brings Stripe's SDK, which the browser bundle must not carry. test/billing.test.ts fails
 * when the two differ. Prices live in Stripe and show at Checkout.
 */
export const OFFER_LIMITS: Record<PaidPlan, OfferLimits> = {
  pro: {
    sites: 5,
    liveCampaigns: 25,
    members: 5,
    integrations: 10,
    monthlyImpressions: 200_000,
    removeBranding: true,
  },
  business: {
    sites: 50,
    liveCampaigns: 250,
    members: 50,
    integrations: 50,
    monthlyImpressions: 2_000_000,
    removeBranding: true,
  },
}

export interface PlanOffer {
  id: PaidPlan
  name: string
  points: string[]
}

/** The plan's limits in words, for the upgrade's plan cards. */
export function offerOf(id: PaidPlan, locale = 'en-US'): PlanOffer {
  const l = OFFER_LIMITS[id]
  const n = (value: number | null, one: string, many = `${one}s`) =>
    value === null ? `Unlimited ${many}` : `${value.toLocaleString(locale)} ${value === 1 ? one : many}`
  return {
    id,
    name: id === 'pro' ? 'Pro' : 'Business',
    points: [
      n(l.sites, 'site'),
      n(l.liveCampaigns, 'live campaign'),
      n(l.members, 'member'),
      n(l.integrations, 'integration'),
      `${n(l.monthlyImpressions, 'impression')} a month`,
      ...(l.removeBranding ? ['No “powered by nudge” branding'] : []),
    ],
  }
}

export const PAID_PLANS: readonly PaidPlan[] = ['pro', 'business']

const RESOURCE_NOUNS: Record<string, [keyof OfferLimits, string, string]> = {
  sites: ['sites', 'site', 'sites'],
  liveCampaigns: ['liveCampaigns', 'live campaign', 'live campaigns'],
  members: ['members', 'member', 'members'],
  integrations: ['integrations', 'integration', 'integrations'],
}

/** "live campaigns": a 402's resource in words. */
export function resourceWords(resource: string): string {
  return RESOURCE_NOUNS[resource]?.[2] ?? resource
}

/** "5 sites": what a paid plan allows of the resource a 402 named; null for one it does not count. */
export function limitWords(plan: PaidPlan, resource: string, locale = 'en-US'): string | null {
  const nouns = RESOURCE_NOUNS[resource]
  if (!nouns) return null
  const [key, one, many] = nouns
  const value = OFFER_LIMITS[plan][key]
  if (value === null) return `unlimited ${many}`
  if (typeof value !== 'number') return null
  return `${value.toLocaleString(locale)} ${value === 1 ? one : many}`
}

/** What a 402 PLAN_LIMIT's `details` carries (apps/api billing/plan-limits.ts). */
export interface PlanLimitDetails {
  resource: string
  limit: number
  usage: number
  plan: string
}

export function planLimitDetails(data: unknown): PlanLimitDetails | null {
  if (typeof data !== 'object' || data === null) return null
  const d = data as Record<string, unknown>
  if (typeof d.resource !== 'string' || typeof d.limit !== 'number' || typeof d.usage !== 'number')
    return null
  return {
    resource: d.resource,
    limit: d.limit,
    usage: d.usage,
    plan: typeof d.plan === 'string' ? d.plan : '',
  }
}

/** The smallest paid plan above the one that hit its limit: what the upgrade dialog proposes first. */
export function suggestedPlan(current: string | undefined): PaidPlan {
  return current === 'pro' || current === 'business' ? 'business' : 'pro'
}
