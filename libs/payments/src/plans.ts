/** What a plan allows. `null` = no limit. */
export interface PlanLimits {
  sites: number | null
  liveCampaigns: number | null
  members: number | null
  integrations: number | null
  /** visitor impressions per billing period (a calendar month without a subscription) */
  monthlyImpressions: number | null
  /** whether the "powered by nudge" branding can be removed */
  removeBranding: boolean
}

export type PlanId = 'free' | 'pro' | 'business'

export interface Plan {
  id: PlanId
  name: string
  limits: PlanLimits
  /** Paid plans only: monthly and yearly prices in cents, for display (Stripe holds the truth). */
  paid: boolean
}

/** Every plan, in one place. Stripe price ids for the paid ones come from config. */
export const PLANS: Record<PlanId, Plan> = {
  free: {
    id: 'free',
    name: 'Free',
    paid: false,
    limits: {
      sites: 1,
      liveCampaigns: 1,
      members: 1,
      integrations: 1,
      monthlyImpressions: 5_000,
      removeBranding: false,
    },
  },
  pro: {
    id: 'pro',
    name: 'Pro',
    paid: true,
    limits: {
      sites: 5,
      liveCampaigns: 25,
      members: 5,
      integrations: 10,
      monthlyImpressions: 200_000,
      removeBranding: true,
    },
  },
  business: {
    id: 'business',
    name: 'Business',
    paid: true,
    limits: {
      sites: 50,
      liveCampaigns: 250,
      members: 50,
      integrations: 50,
      monthlyImpressions: 2_000_000,
      removeBranding: true,
    },
  },
}

/** Every new team tries this plan, without a card, for TRIAL_DAYS. */
export const TRIAL_PLAN: PlanId = 'business'
export const TRIAL_DAYS = 14

export function isPlanId(value: unknown): value is PlanId {
  return typeof value === 'string' && Object.hasOwn(PLANS, value)
}

/** The billing state of a team, as stored. */
export interface TeamBilling {
  plan: string
  subscription_status: string | null
  trial_ends_at: Date | null
  payment_grace_ends_at: Date | null
  current_period_end: Date | null
}

export type BillingStatus = 'trialing' | 'active' | 'past_due' | 'canceled' | 'free'

/**
 * The plan a team has now: its subscription's plan while the subscription is active (or past
 * due, until the grace after the failed payment ends), the trial plan during the trial, else
 * free.
 */
export function effectivePlan(
  team: TeamBilling,
  at: Date = new Date(),
): { plan: Plan; status: BillingStatus } {
  const now = at.getTime()
  const subscribed = isPlanId(team.plan) ? PLANS[team.plan] : PLANS.free
  if (team.subscription_status === 'active' || team.subscription_status === 'trialing')
    return { plan: subscribed, status: 'active' }
  if (team.subscription_status === 'past_due') {
    if (now < (team.payment_grace_ends_at?.getTime() ?? 0)) return { plan: subscribed, status: 'past_due' }
    return { plan: PLANS.free, status: 'past_due' }
  }
  if (team.trial_ends_at && team.trial_ends_at.getTime() > now)
    return { plan: PLANS[TRIAL_PLAN], status: 'trialing' }
  return { plan: PLANS.free, status: team.subscription_status ? 'canceled' : 'free' }
}
