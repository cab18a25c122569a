import type { DB } from '@nudge/db'
import { type Kysely, sql } from 'kysely'

/** The columns that say which plan a team has now (`effectivePlan`) and when its period began. */
const PLAN_COLUMNS = [
  'plan',
  'subscription_status',
  'trial_ends_at',
  'payment_grace_ends_at',
  'current_period_end',
  'current_period_start',
] as const

/** The team's plan columns, unlocked. */
export async function findTeamPlan(db: Kysely<DB>, teamId: string) {
  return db.selectFrom('teams').select(PLAN_COLUMNS).where('id', '=', teamId).executeTakeFirst()
}

/** What the billing page shows of the team, besides its usage. */
export async function findTeamBilling(db: Kysely<DB>, teamId: string) {
  return db
    .selectFrom('teams')
    .select([
      ...PLAN_COLUMNS,
      'cancel_at_period_end',
      'impressions_100_notified_at',
      'campaigns_suspended_at',
    ])
    .where('id', '=', teamId)
    .executeTakeFirst()
}

export async function findTeamName(db: Kysely<DB>, teamId: string) {
  return (await db.selectFrom('teams').select('name').where('id', '=', teamId).executeTakeFirst())?.name
}

export async function findSubscriptionStatus(db: Kysely<DB>, teamId: string) {
  return db.selectFrom('teams').select('subscription_status').where('id', '=', teamId).executeTakeFirst()
}

export async function setStripeCustomer(db: Kysely<DB>, teamId: string, customerId: string) {
  await db.updateTable('teams').set({ stripe_customer_id: customerId }).where('id', '=', teamId).execute()
}

// ---- plan limits: what a team uses of them

const count = sql<number>`count(*)::int`.as('n')

export async function countSites(db: Kysely<DB>, teamId: string) {
  return (await db.selectFrom('sites').select(count).where('team_id', '=', teamId).executeTakeFirstOrThrow())
    .n
}

export async function countLiveCampaigns(db: Kysely<DB>, teamId: string) {
  return (
    await db
      .selectFrom('campaigns')
      .select(count)
      .where('team_id', '=', teamId)
      .where('status', '=', 'live')
      .executeTakeFirstOrThrow()
  ).n
}

export async function countIntegrations(db: Kysely<DB>, teamId: string) {
  return (
    await db.selectFrom('integrations').select(count).where('team_id', '=', teamId).executeTakeFirstOrThrow()
  ).n
}

export async function countMembers(db: Kysely<DB>, teamId: string) {
  return (
    await db.selectFrom('team_members').select(count).where('team_id', '=', teamId).executeTakeFirstOrThrow()
  ).n
}

/** Invites neither accepted, revoked nor expired. */
export async function countPendingInvites(db: Kysely<DB>, teamId: string) {
  return (
    await db
      .selectFrom('team_invites')
      .select(count)
      .where('team_id', '=', teamId)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', new Date())
      .executeTakeFirstOrThrow()
  ).n
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

// ---- Stripe

/** Records a Stripe event's id; undefined when it was recorded before (a duplicate delivery). */
export async function recordStripeEvent(db: Kysely<DB>, event: { id: string; type: string }) {
  return db
    .insertInto('stripe_events')
    .values({ id: event.id, type: event.type })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst()
}

/** The team with this Stripe customer, locked (by id: teams' `lockTeam`). */
export async function lockTeamByCustomer(db: Kysely<DB>, customerId: string) {
  return db
    .selectFrom('teams')
    .selectAll()
    .where('stripe_customer_id', '=', customerId)
    .forUpdate()
    .executeTakeFirst()
}

/** Stripe's subscription as the team's billing state. */
export async function storeSubscription(
  db: Kysely<DB>,
  teamId: string,
  state: {
    payment_grace_ends_at: Date | null
    plan: string
    stripe_subscription_id: string
    subscription_status: string
    current_period_start: Date | null
    current_period_end: Date | null
    cancel_at_period_end: boolean
    billing_synced_at: Date
  },
) {
  await db
    .updateTable('teams')
    .set({ ...state, updated_at: new Date() })
    .where('id', '=', teamId)
    .execute()
}

// ---- quotas

/** What the impression quota check reads of the team. */
export async function findTeamQuota(db: Kysely<DB>, teamId: string) {
  return db
    .selectFrom('teams')
    .select([
      ...PLAN_COLUMNS,
      'impressions_80_notified_at',
      'impressions_100_notified_at',
      'campaigns_suspended_at',
    ])
    .where('id', '=', teamId)
    .executeTakeFirst()
}

export type QuotaNotice = 'impressions_80_notified_at' | 'impressions_100_notified_at'

/**
 * Sets when the owners were told of `column`, unless it was already set this period (from
 * `periodStart`). Returns whether this call set it (not another worker, a moment before).
 */
export async function claimQuotaNotice(
  db: Kysely<DB>,
  teamId: string,
  column: QuotaNotice,
  at: Date,
  periodStart: Date,
) {
  const claimed = await db
    .updateTable('teams')
    .set({ [column]: at })
    .where('id', '=', teamId)
    .where((eb) => eb.or([eb(column, 'is', null), eb(column, '<', periodStart)]))
    .returning('id')
    .executeTakeFirst()
  return claimed !== undefined
}

export async function findQuotaNotice(db: Kysely<DB>, teamId: string, column: QuotaNotice) {
  return (
    (await db.selectFrom('teams').select(column).where('id', '=', teamId).executeTakeFirst())?.[column] ??
    null
  )
}

/**
 * Suspends (or resumes) the team's campaigns, unless they already are. Returns whether this call
 * changed it.
 */
export async function setCampaignsSuspended(db: Kysely<DB>, teamId: string, suspending: boolean) {
  const changed = await db
    .updateTable('teams')
    .set({ campaigns_suspended_at: suspending ? new Date() : null })
    .where('id', '=', teamId)
    .where('campaigns_suspended_at', suspending ? 'is' : 'is not', null)
    .returning('id')
    .executeTakeFirst()
  return changed !== undefined
}

/** Sets when the owners were told the trial ends, once. Returns whether this call set it. */
export async function claimTrialNotice(db: Kysely<DB>, teamId: string) {
  const claimed = await db
    .updateTable('teams')
    .set({ trial_notice_sent_at: new Date() })
    .where('id', '=', teamId)
    .where('trial_notice_sent_at', 'is', null)
    .returning('id')
    .executeTakeFirst()
  return claimed !== undefined
}

export async function teamSites(db: Kysely<DB>, teamId: string) {
  return db.selectFrom('sites').select(['id', 'hostname']).where('team_id', '=', teamId).execute()
}

/** The team's live campaigns, newest put live first. */
export async function liveCampaigns(db: Kysely<DB>, teamId: string) {
  return db
    .selectFrom('campaigns')
    .select(['id', 'version'])
    .where('team_id', '=', teamId)
    .where('status', '=', 'live')
    .orderBy('published_at', 'desc')
    .orderBy('id', 'desc')
    .execute()
}

export async function markPausedByPlan(db: Kysely<DB>, campaignId: string) {
  await db
    .updateTable('campaigns')
    .set({ paused_by_plan_at: new Date() })
    .where('id', '=', campaignId)
    .execute()
}

/** Campaigns the plan paused, oldest pause first. */
export async function campaignsPausedByPlan(db: Kysely<DB>, teamId: string, limit: number) {
  return db
    .selectFrom('campaigns')
    .select(['id', 'version'])
    .where('team_id', '=', teamId)
    .where('status', '=', 'paused')
    .where('paused_by_plan_at', 'is not', null)
    .orderBy('paused_by_plan_at')
    .orderBy('id')
    .limit(limit)
    .execute()
}

/**
 * A batch of the teams whose limits the round checks, in id order after `after`: teams with
 * campaigns, suspended ones, and those whose trial ends within `trialNoticeMs` and were not told.
 */
export async function teamsToCheck(db: Kysely<DB>, after: string, trialNoticeMs: number, limit: number) {
  return db
    .selectFrom('teams')
    .select('id')
    .where('id', '>', after)
    .where((eb) =>
      eb.or([
        eb('campaigns_suspended_at', 'is not', null),
        eb.and([
          eb('trial_notice_sent_at', 'is', null),
          eb('trial_ends_at', '>', new Date()),
          eb('trial_ends_at', '<', new Date(Date.now() + trialNoticeMs)),
        ]),
        eb.exists(eb.selectFrom('campaigns').select('id').whereRef('campaigns.team_id', '=', 'teams.id')),
      ]),
    )
    .orderBy('id')
    .limit(limit)
    .execute()
}
