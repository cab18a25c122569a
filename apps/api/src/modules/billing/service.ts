import type { DB } from '@nudge/db'
import { PLANS, type Plan } from '@nudge/payments'
import { type Kysely, sql } from 'kysely'
import { planOf, usageOf } from '../../plan-limits.ts'

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

/** Impressions the team's campaigns had since `from` (UTC days: the day `from` falls in counts whole). */
export async function impressionsSince(db: Kysely<DB>, teamId: string, from: Date): Promise<number> {
  const row = await db
    .selectFrom('campaign_stats_daily as s')
    .innerJoin('campaigns as c', 'c.id', 's.campaign_id')
    .select(sql<number>`coalesce(sum(s.impressions), 0)::bigint`.as('n'))
    .where('c.team_id', '=', teamId)
    .where('s.day', '>=', from.toISOString().slice(0, 10))
    .executeTakeFirstOrThrow()
  return Number(row.n)
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

/** The team's plan, status and use of every limit, as the dashboard's billing page shows them. */
export async function billingOf(
  db: Kysely<DB>,
  teamId: string,
  quota: { graceDays: number; gracePercent: number },
) {
  const { plan, status } = await planOf(db, teamId)
  const team = await db
    .selectFrom('teams')
    .select([
      'trial_ends_at',
      'current_period_start',
      'current_period_end',
      'cancel_at_period_end',
      'payment_grace_ends_at',
      'subscription_status',
      'impressions_100_notified_at',
      'campaigns_suspended_at',
    ])
    .where('id', '=', teamId)
    .executeTakeFirstOrThrow()
  const start = periodStart(team)
  const [sites, liveCampaigns, members, integrations, impressions] = await Promise.all([
    usageOf(db, teamId, 'sites'),
    usageOf(db, teamId, 'liveCampaigns'),
    usageOf(db, teamId, 'members'),
    usageOf(db, teamId, 'integrations'),
    impressionsSince(db, teamId, start),
  ])
  const { limits } = plan
  const usedUp = team.impressions_100_notified_at
  const { state, graceEndsAt } = impressionQuota({
    used: impressions,
    limit: limits.monthlyImpressions,
    usedUpNotifiedAt: usedUp && usedUp >= start ? usedUp : null,
    suspendedAt: team.campaigns_suspended_at,
    ...quota,
  })
  const upgrade = state === 'ok' ? null : upgradeFor(plan)
  return {
    plan: { id: plan.id, name: plan.name, removeBranding: limits.removeBranding },
    status,
    trialEndsAt: status === 'trialing' ? (team.trial_ends_at?.toISOString() ?? null) : null,
    currentPeriodEnd: team.current_period_end?.toISOString() ?? null,
    cancelAtPeriodEnd: team.cancel_at_period_end,
    graceEndsAt: status === 'past_due' ? (team.payment_grace_ends_at?.toISOString() ?? null) : null,
    usage: {
      sites: { used: sites, limit: limits.sites },
      liveCampaigns: { used: liveCampaigns, limit: limits.liveCampaigns },
      members: { used: members, limit: limits.members },
      integrations: { used: integrations, limit: limits.integrations },
      impressions: {
        used: impressions,
        limit: limits.monthlyImpressions,
        periodStart: start.toISOString(),
        state,
        graceEndsAt: graceEndsAt?.toISOString() ?? null,
        suspendedAt: team.campaigns_suspended_at?.toISOString() ?? null,
        upgradeTo: upgrade ? { id: upgrade.id, name: upgrade.name } : null,
      },
    },
  }
}
