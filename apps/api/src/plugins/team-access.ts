import { signedInUser } from '@nudge/auth'
import { isUuid, type Role } from '@nudge/db'
import { bindToRequestLog } from '@nudge/logging'
import type { FastifyRequest, preHandlerHookHandler, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { Forbidden, NotFound } from '../errors.ts'
import { type Action, can, isAction } from '../permissions.ts'

export interface TeamAccess {
  id: string
  role: Role
}

export interface TeamScopedRoute {
  method: string
  url: string
  action: Action
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route under /v1/teams/:teamId with the action it declares (the permission table as built). */
    teamScopedRoutes: TeamScopedRoute[]
  }
  interface FastifyContextConfig {
    /** The action a team-scoped route performs; required under /v1/teams/:teamId. */
    permission?: Action
  }
  interface FastifyRequest {
    /** The team of a route under /v1/teams/:teamId and the caller's role in it; null elsewhere. */
    team: TeamAccess | null
  }
}

const TEAM_SCOPE = '/v1/teams/:teamId'

/** The team the permission hook resolved for a route under /v1/teams/:teamId (it always has). */
export function teamOf(request: FastifyRequest): TeamAccess {
  if (!request.team) throw new NotFound('Team')
  return request.team
}

/**
 * Every route under /v1/teams/:teamId gets the session check and then the permission check for
 * the action it declares: non-members get 404 (the team's existence is not revealed), members
 * whose role lacks the action get 403. A route that declares no action stops the app at start-up.
 * The role comes from `app.memberships` on every request: a security answer, never a stale one
 * (modules/teams/memberships.ts says how without a query per request).
 */
export const teamAccessPlugin = fp(
  async (app) => {
    app.decorateRequest('team', null)
    const table: TeamScopedRoute[] = []
    app.decorate('teamScopedRoutes', table)

    async function checkAccess(request: FastifyRequest, action: Action) {
      const user = signedInUser(request)
      const { teamId: written } = request.params as { teamId?: string }
      if (!written || !isUuid(written)) throw new NotFound('Team')
      // One spelling per team: cache keys and invalidations must meet whatever case the URL used.
      const teamId = written.toLowerCase()
      const role = await app.memberships.roleOf({ teamId, userId: user.id })
      if (!role) throw new NotFound('Team')
      if (!can(role, action)) throw new Forbidden(action)
      request.team = { id: teamId, role }
      bindToRequestLog(request.log, { teamId, teamRole: role })
      app.observe.annotate({ teamId, teamRole: role })
    }

    app.addHook('onRoute', (route: RouteOptions) => {
      if (route.url !== TEAM_SCOPE && !route.url.startsWith(`${TEAM_SCOPE}/`)) return
      const action = route.config?.permission
      if (!isAction(action)) {
        throw new Error(
          `${String(route.method)} ${route.url} declares no permission action: add config.permission (see permissions.ts)`,
        )
      }
      for (const method of ([] as string[]).concat(route.method)) {
        if (method !== 'HEAD') table.push({ method, url: route.url, action })
      }
      const access: preHandlerHookHandler = async (request) => checkAccess(request, action)
      const own = route.preHandler ? ([] as Array<typeof access>).concat(route.preHandler as never) : []
      route.preHandler = [app.authenticate as typeof access, access, ...own]
    })
  },
  { name: 'team-access', dependencies: ['auth', 'logging', 'memberships'], fastify: '5.x' },
)
