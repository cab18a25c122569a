import type { DB } from '@nudge/db'
import { effectivePlan, type Plan, type PlanLimits } from '@nudge/payments'
import type { Kysely } from 'kysely'
import type { Deps, TxDeps } from '../../deps.ts'
import { NotFound, PlanLimitReached } from '../../errors.ts'
import { lockTeam } from '../teams/repository.ts'
import * as billing from './repository.ts'

/** What a team's plan limits when something is added or put live. */
export type LimitedResource = 'sites' | 'liveCampaigns' | 'members' | 'integrations'

const NOUNS: Record<LimitedResource, [string, string]> = {
  sites: ['site', 'sites'],
  liveCampaigns: ['live campaign', 'live campaigns'],
  members: ['member (invites included)', 'members (invites included)'],
  integrations: ['integration', 'integrations'],
}

/** How many of a resource the team uses now (members count the invites still open). */
export async function usageOf(db: Kysely<DB>, teamId: string, resource: LimitedResource): Promise<number> {
  switch (resource) {
    case 'sites':
      return billing.countSites(db, teamId)
    case 'liveCampaigns':
      return billing.countLiveCampaigns(db, teamId)
    case 'integrations':
      return billing.countIntegrations(db, teamId)
    case 'members':
      return (await billing.countMembers(db, teamId)) + (await billing.countPendingInvites(db, teamId))
  }
}

/**
 * The team's plan now (read from the database: never from a cache, it decides what is allowed).
 * Takes only `db`: publishing's callers (through flags' `teamFlagContext`) have no more to give.
 */
export async function planOf(deps: Pick<Deps, 'db'>, input: { teamId: string }) {
  const team = await billing.findTeamPlan(deps.db, input.teamId)
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
 * Only `tx.db` is used, so a caller not yet holding a `TxDeps` passes `{ db: trx }`.
 */
export async function checkPlanLimit(
  tx: Pick<TxDeps, 'db'>,
  input: { teamId: string; resource: LimitedResource },
): Promise<void> {
  const { teamId, resource } = input
  const team = await lockTeam(tx.db, teamId)
  if (!team) throw new NotFound('Team')
  const { plan } = effectivePlan(team)
  const limit = plan.limits[resource as keyof PlanLimits] as number | null
  if (limit === null) return
  const usage = await usageOf(tx.db, teamId, resource)
  if (usage >= limit) {
    throw Object.assign(new PlanLimitReached(limitMessage(plan, resource, limit, usage)), {
      details: { resource, limit, usage, plan: plan.id },
    })
  }
}
