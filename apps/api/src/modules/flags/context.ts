import { signedInUser } from '@nudge/auth'
import type { Cache } from '@nudge/cache'
import type { DB } from '@nudge/db'
import type { FlagContext } from '@nudge/flags'
import { effectivePlan } from '@nudge/payments'
import type { FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'

// Targeting by plan may lag a plan change by this long; plan limits themselves never use it.
const PLAN_TTL_SECONDS = 60
const planKey = (teamId: string) => `flags:team-plan:${teamId}`

/** The plan in effect for the team, as targeting sees it (cached: see PLAN_TTL_SECONDS). */
async function planForFlags(
  deps: { db: Kysely<DB>; cache: Cache },
  teamId: string,
): Promise<string | undefined> {
  return deps.cache.wrap(planKey(teamId), PLAN_TTL_SECONDS, async () => {
    const team = await deps.db
      .selectFrom('teams')
      .select(['plan', 'subscription_status', 'trial_ends_at', 'payment_grace_ends_at', 'current_period_end'])
      .where('id', '=', teamId)
      .executeTakeFirst()
    return team ? effectivePlan(team).plan.id : undefined
  })
}

/** Flag context of a request: its team (under /v1/teams/:teamId), the caller's role there, the user, the plan. */
export async function requestFlagContext(
  deps: { db: Kysely<DB>; cache: Cache },
  request: FastifyRequest,
): Promise<FlagContext> {
  const userId = request.user ? signedInUser(request).id : undefined
  const team = request.team
  if (!team) return { userId }
  return { teamId: team.id, role: team.role, userId, plan: await planForFlags(deps, team.id) }
}

/** Flag context of visitors' routes and publishing: the site's team (no user, no role). */
export async function teamFlagContext(
  deps: { db: Kysely<DB>; cache: Cache },
  teamId: string,
): Promise<FlagContext> {
  return { teamId, plan: await planForFlags(deps, teamId) }
}
