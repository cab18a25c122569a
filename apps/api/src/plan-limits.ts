import type { DB } from '@nudge/db'
import { effectivePlan, type Plan, type PlanLimits } from '@nudge/payments'
import { type Kysely, sql, type Transaction } from 'kysely'
import { NotFound, PlanLimitReached } from './errors.ts'

/** What a team's plan limits when something is added or put live. */
export type LimitedResource = 'sites' | 'liveCampaigns' | 'members' | 'integrations'

const NOUNS: Record<LimitedResource, [string, string]> = {
  sites: ['site', 'sites'],
  liveCampaigns: ['live campaign', 'live campaigns'],
  members: ['member (invites included)', 'members (invites included)'],
  integrations: ['integration', 'integrations'],
}

/** How many of a resource the team uses now. */
export async function usageOf(db: Kysely<DB>, teamId: string, resource: LimitedResource): Promise<number> {
  const count = sql<number>`count(*)::int`.as('n')
  switch (resource) {
    case 'sites':
      return (
        await db.selectFrom('sites').select(count).where('team_id', '=', teamId).executeTakeFirstOrThrow()
      ).n
    case 'liveCampaigns':
      return (
        await db
          .selectFrom('campaigns')
          .select(count)
          .where('team_id', '=', teamId)
          .where('status', '=', 'live')
          .executeTakeFirstOrThrow()
      ).n
    case 'integrations':
      return (
        await db
          .selectFrom('integrations')
          .select(count)
          .where('team_id', '=', teamId)
          .executeTakeFirstOrThrow()
      ).n
    case 'members': {
      const members = await db
        .selectFrom('team_members')
        .select(count)
        .where('team_id', '=', teamId)
        .executeTakeFirstOrThrow()
      const invites = await db
        .selectFrom('team_invites')
        .select(count)
        .where('team_id', '=', teamId)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', new Date())
        .executeTakeFirstOrThrow()
      return members.n + invites.n
    }
  }
}

/** The team's plan now (read from the database: never from a cache, it decides what is allowed). */
export async function planOf(db: Kysely<DB>, teamId: string, lock = false) {
  let select = db
    .selectFrom('teams')
    .select(['plan', 'subscription_status', 'trial_ends_at', 'payment_grace_ends_at', 'current_period_end'])
    .where('id', '=', teamId)
  if (lock) select = select.forUpdate()
  const team = await select.executeTakeFirst()
  if (!team) throw new NotFound('Team')
  return { team, ...effectivePlan(team) }
}

function limitMessage(plan: Plan, resource: LimitedResource, limit: number, usage: number) {
  const [one, many] = NOUNS[resource]
  return `The ${plan.name} plan allows ${limit} ${limit === 1 ? one : many} and the team has ${usage}; upgrade to add more`
}

/**
 * The one place a plan limit is checked, inside the transaction that adds the resource. It
 * locks the team's row first, so two requests cannot both take the last slot; the plan is read
 * from the database, never from a cache. Over the limit: 402 PLAN_LIMIT with the limit and usage.
 */
export async function checkPlanLimit(
  trx: Transaction<DB>,
  teamId: string,
  resource: LimitedResource,
): Promise<void> {
  const { plan } = await planOf(trx, teamId, true)
  const limit = plan.limits[resource as keyof PlanLimits] as number | null
  if (limit === null) return
  const usage = await usageOf(trx, teamId, resource)
  if (usage >= limit) {
    throw Object.assign(new PlanLimitReached(limitMessage(plan, resource, limit, usage)), {
      details: { resource, limit, usage, plan: plan.id },
    })
  }
}
