import type { DB } from '@nudge/db'
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

/** The team's plan, status and use of every limit, as the dashboard's billing page shows them. */
export async function billingOf(db: Kysely<DB>, teamId: string) {
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
      impressions: { used: impressions, limit: limits.monthlyImpressions, periodStart: start.toISOString() },
    },
  }
}
