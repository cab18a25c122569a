import type { FlagContext } from '@nudge/flags'
import type { FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.ts'
import { planOf } from '../billing/plan-limits.ts'

// Targeting by plan may lag a plan change by this long; plan limits themselves never use it.
const PLAN_TTL_SECONDS = 60
const planKey = (teamId: string) => `flags:team-plan:${teamId}`

/** The plan in effect for the team, as targeting sees it per request (cached: see PLAN_TTL_SECONDS). */
function planForFlags(deps: Deps, teamId: string): Promise<string> {
  return deps.cache.wrap(
    planKey(teamId),
    PLAN_TTL_SECONDS,
    async () => (await planOf(deps, { teamId })).plan.id,
  )
}

/** Flag context of a request: its team (under /v1/teams/:teamId), the caller's role there, the user, the plan. */
export async function requestFlagContext(deps: Deps, request: FastifyRequest): Promise<FlagContext> {
  const userId = request.user?.id
  const team = request.team
  if (!team) return { userId }
  return { teamId: team.id, role: team.role, userId, plan: await planForFlags(deps, team.id) }
}

/**
 * Flag context of publishing and of the site document: the site's team (no user, no role), with the
 * plan read now, since what is built from it is kept until the next publish (a plan change
 * republishes, and must not bake in the plan it replaced). Takes only `db`, as `planOf` does.
 */
export async function teamFlagContext(deps: Pick<Deps, 'db'>, teamId: string): Promise<FlagContext> {
  return { teamId, plan: (await planOf(deps, { teamId })).plan.id }
}
