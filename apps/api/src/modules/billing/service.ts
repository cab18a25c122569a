import { dashboardOrigin } from '@nudge/config'
import { effectivePlan, type Interval, PLANS, type Plan, type PlanId } from '@nudge/payments'
import { type Deps, inTransaction } from '../../deps.ts'
import { AlreadySubscribed, BillingNotConfigured, NotFound, PaymentsUnavailable } from '../../errors.ts'
import { lockTeam, memberEmails } from '../teams/repository.ts'
import { type BillingNoticeKind, billingNoticeEmail } from './notice-email.ts'
import { usageOf } from './plan-limits.ts'
import * as billing from './repository.ts'

/** Where the current billing period began: the subscription's period, else the UTC month. */
export function periodStart(
  team: { current_period_start: Date | null; subscription_status: string | null },
  now = new Date(),
) {
  if (
    team.current_period_start &&
    (team.subscription_status === 'active' || team.subscription_status === 'past_due')
  )
    return team.current_period_start
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1))
}

/** How the impression quota stands: under 80 %, past it (warned), used up (in grace), or suspended. */
export type QuotaState = 'ok' | 'warning' | 'over' | 'suspended'

/**
 * The overage policy in one place (README, billing): the owners are told at 80 % and at 100 %;
 * from 100 % a grace of `graceDays` runs, and only once it has ended with the team still past the
 * quota plus `gracePercent` do its sites stop serving campaigns (the owners told again), until a
 * new period or a bigger plan. Forged traffic cannot get there quietly: visitor impressions count
 * once per campaign and page view, within a per-address allowance, and in production only through
 * the edge (visitors/events.ts).
 */
export function impressionQuota(input: {
  used: number
  limit: number | null
  /** When the owners were told the quota is used up, this period (null: not yet). */
  usedUpNotifiedAt: Date | null
  suspendedAt: Date | null
  graceDays: number
  gracePercent: number
  now?: Date
}) {
  const { used, limit } = input
  const now = input.now ?? new Date()
  const graceEndsAt =
    input.usedUpNotifiedAt && limit !== null && used >= limit
      ? new Date(input.usedUpNotifiedAt.getTime() + input.graceDays * 86_400_000)
      : null
  const suspend =
    limit !== null &&
    used > limit * (1 + input.gracePercent / 100) &&
    graceEndsAt !== null &&
    graceEndsAt <= now
  const state: QuotaState =
    input.suspendedAt !== null
      ? 'suspended'
      : limit !== null && used >= limit
        ? 'over'
        : limit !== null && used >= limit * 0.8
          ? 'warning'
          : 'ok'
  return { state, graceEndsAt, suspend }
}

/** The smallest plan with more impressions than this one: what the upgrade prompt offers. */
export function upgradeFor(plan: Plan): Plan | null {
  const current = plan.limits.monthlyImpressions
  if (current === null) return null
  const bigger = Object.values(PLANS)
    .filter((other) => other.paid && (other.limits.monthlyImpressions ?? Number.POSITIVE_INFINITY) > current)
    .sort(
      (a, b) =>
        (a.limits.monthlyImpressions ?? Number.POSITIVE_INFINITY) -
        (b.limits.monthlyImpressions ?? Number.POSITIVE_INFINITY),
    )
  return bigger[0] ?? null
}

/** The team's plan, status and use of every limit, for the dashboard's billing page (`toBilling`). */
export async function billingOf(deps: Deps, input: { teamId: string }) {
  const { db, config } = deps
  const { teamId } = input
  const team = await billing.findTeamBilling(db, teamId)
  if (!team) throw new NotFound('Team')
  const { plan, status } = effectivePlan(team)
  const start = periodStart(team)
  const [sites, liveCampaigns, members, integrations, impressions] = await Promise.all([
    usageOf(db, teamId, 'sites'),
    usageOf(db, teamId, 'liveCampaigns'),
    usageOf(db, teamId, 'members'),
    usageOf(db, teamId, 'integrations'),
    billing.impressionsSince(db, teamId, start),
  ])
  const { limits } = plan
  const usedUp = team.impressions_100_notified_at
  const { state, graceEndsAt } = impressionQuota({
    used: impressions,
    limit: limits.monthlyImpressions,
    usedUpNotifiedAt: usedUp && usedUp >= start ? usedUp : null,
    suspendedAt: team.campaigns_suspended_at,
    graceDays: config.IMPRESSION_QUOTA_GRACE_DAYS,
    gracePercent: config.IMPRESSION_QUOTA_GRACE_PERCENT,
  })
  const upgrade = state === 'ok' ? null : upgradeFor(plan)
  return {
    team,
    plan,
    status,
    usage: { sites, liveCampaigns, members, integrations, impressions },
    impressions: { periodStart: start, state, graceEndsAt, upgrade },
  }
}

export type BillingView = Awaited<ReturnType<typeof billingOf>>

/** The billing page of the team in the dashboard: where Stripe sends people back, and emails link. */
export function billingPage(deps: Deps, teamId: string) {
  return `${dashboardOrigin(deps.config)}/teams/${teamId}/billing`
}

function enabled(deps: Deps) {
  if (!deps.payments.enabled) throw new BillingNotConfigured()
}

/** A Stripe failure while a person waits: ours to report as 502, with Stripe's words for the log. */
function stripeProblem(deps: Deps, error: unknown): Error {
  deps.log.warn({ err: error }, 'Stripe call failed')
  return new PaymentsUnavailable('Stripe could not be reached or refused the request; try again shortly')
}

/**
 * The team's Stripe customer, created the first time. The team row stays locked while Stripe
 * creates it, and the create carries an idempotency key per team: two clicks at once make one
 * customer.
 */
async function customerOf(deps: Deps, teamId: string): Promise<string> {
  return inTransaction(deps, async (tx) => {
    const team = await lockTeam(tx.db, teamId)
    if (!team) throw new NotFound('Team')
    if (team.stripe_customer_id) return team.stripe_customer_id
    const [owner] = await memberEmails(tx.db, teamId, ['owner'])
    const customer = await (await deps.payments.stripe()).customers
      .create(
        { name: team.name, ...(owner ? { email: owner } : {}), metadata: { team_id: teamId } },
        { idempotencyKey: `nudge-customer-${teamId}` },
      )
      .catch((error: unknown) => {
        throw stripeProblem(deps, error)
      })
    await billing.setStripeCustomer(tx.db, teamId, customer.id)
    return customer.id
  })
}

/** A Stripe Checkout Session for a paid plan: the dashboard sends the person to its `url`. */
export async function startCheckout(deps: Deps, input: { teamId: string; plan: PlanId; interval: Interval }) {
  enabled(deps)
  // A second subscription would bill the team twice: plan changes go through the portal.
  const current = await billing.findSubscriptionStatus(deps.db, input.teamId)
  if (
    current?.subscription_status &&
    !['canceled', 'incomplete_expired'].includes(current.subscription_status)
  )
    throw new AlreadySubscribed()
  const customer = await customerOf(deps, input.teamId)
  const back = billingPage(deps, input.teamId)
  const session = await (await deps.payments.stripe()).checkout.sessions
    .create({
      mode: 'subscription',
      customer,
      client_reference_id: input.teamId,
      line_items: [{ price: deps.payments.priceId(input.plan, input.interval), quantity: 1 }],
      success_url: `${back}?checkout=success`,
      cancel_url: `${back}?checkout=canceled`,
      subscription_data: { metadata: { team_id: input.teamId } },
      metadata: { team_id: input.teamId },
    })
    .catch((error: unknown) => {
      throw stripeProblem(deps, error)
    })
  return { id: session.id, url: session.url ?? '' }
}

/** A Billing Portal session: change the card or the plan, cancel. */
export async function openPortal(deps: Deps, input: { teamId: string }) {
  enabled(deps)
  const customer = await customerOf(deps, input.teamId)
  const session = await (await deps.payments.stripe()).billingPortal.sessions
    .create({ customer, return_url: billingPage(deps, input.teamId) })
    .catch((error: unknown) => {
      throw stripeProblem(deps, error)
    })
  return { url: session.url }
}

/** Emails a billing notice to the team's owners (the job sent in the transaction that decided it). */
export async function sendBillingNotice(
  deps: Deps,
  input: { teamId: string; kind: BillingNoticeKind; graceEndsAt?: string | undefined },
) {
  const { teamId, kind, graceEndsAt } = input
  const teamName = await billing.findTeamName(deps.db, teamId)
  if (teamName === undefined) return
  const owners = await memberEmails(deps.db, teamId, ['owner'])
  for (const email of owners) {
    await deps.mailer.send(
      billingNoticeEmail({ to: email, teamName, kind, graceEndsAt, link: billingPage(deps, teamId) }),
    )
  }
}
