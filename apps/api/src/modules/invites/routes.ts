import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { signedInUser } from '@nudge/auth'
import type { TeamInvite } from '@nudge/db'
import { actorOf } from '../../actor.ts'
import { depsOf } from '../../deps.ts'
import { ErrorResponse, SessionRouteErrors, sessionSecurity } from '../../errors.ts'
import { toPage } from '../../pagination.ts'
import { teamOf } from '../../plugins/team-access.ts'
import { TeamParams } from '../teams/schemas.ts'
import { toTeam } from '../teams/team-view.ts'
import {
  AcceptedInvite,
  AcceptInvite,
  Invite,
  InvitePage,
  InviteParams,
  InviteQuery,
  NewInvite,
} from './schemas.ts'
import { acceptInvite, createInvite, listPendingInvites, revokeInvite } from './service.ts'

const errors = SessionRouteErrors
const security = sessionSecurity

function toInvite(
  row: Pick<TeamInvite, 'id' | 'email' | 'role' | 'invited_by' | 'expires_at' | 'created_at'>,
  now = Date.now(),
) {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    invitedBy: row.invited_by,
    expiresAt: row.expires_at.toISOString(),
    expired: row.expires_at.getTime() <= now,
    createdAt: row.created_at.toISOString(),
  }
}

/**
 * Team invites: owners and admins invite by email (a link to the dashboard, which calls
 * POST /v1/invites/accept for the signed-in invitee), list pending invites and revoke them.
 */
export const inviteRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const deps = depsOf(app, 'invites')
  const { config } = app
  const invitesPerTeam = app.limiter('invites-team', {
    max: config.INVITE_LIMIT_PER_HOUR,
    windowSeconds: 3600,
    what: 'invites from this team',
    // Each invite is an email.
    counting: 'exact',
  })

  app.post(
    '/v1/teams/:teamId/invites',
    {
      config: { permission: 'member:invite' },
      schema: {
        tags: ['invites'],
        operationId: 'createInvite',
        summary: 'Invite an email address to the team; the link is emailed (a pending invite is replaced)',
        security,
        params: TeamParams,
        body: NewInvite,
        response: {
          201: Invite,
          ...errors,
          402: ErrorResponse,
          409: ErrorResponse,
          422: ErrorResponse,
          429: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const access = teamOf(request)
      await invitesPerTeam(access.id)
      const invite = await createInvite(deps, {
        teamId: access.id,
        email: request.body.email,
        role: request.body.role,
        by: { id: signedInUser(request).id, role: access.role },
        actor: actorOf(request),
      })
      return reply.code(201).send(toInvite(invite))
    },
  )

  app.get(
    '/v1/teams/:teamId/invites',
    {
      // Pending invites name people who are not members yet: for those who manage invites.
      config: { permission: 'member:invite' },
      schema: {
        tags: ['invites'],
        operationId: 'listInvites',
        summary:
          'Pending invites of the team (not accepted, not revoked; expired ones flagged), newest first',
        security,
        params: TeamParams,
        querystring: InviteQuery,
        response: { 200: InvitePage, ...errors },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 20
      const rows = await listPendingInvites(deps, {
        teamId: teamOf(request).id,
        page: { limit, cursor: request.query.cursor },
      })
      const now = Date.now()
      return toPage(rows, limit, (row) => toInvite(row, now))
    },
  )

  app.delete(
    '/v1/teams/:teamId/invites/:inviteId',
    {
      config: { permission: 'member:invite' },
      schema: {
        tags: ['invites'],
        operationId: 'revokeInvite',
        summary: 'Revoke a pending invite: its link stops working',
        security,
        params: InviteParams,
        response: { 204: { type: 'null' }, ...errors, 410: ErrorResponse },
      },
    },
    async (request, reply) => {
      const access = teamOf(request)
      await revokeInvite(deps, {
        teamId: access.id,
        inviteId: request.params.inviteId,
        by: { id: signedInUser(request).id, role: access.role },
        actor: actorOf(request),
      })
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/v1/invites/accept',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['invites'],
        operationId: 'acceptInvite',
        summary: 'Accept an invite as the signed-in user (whose email must be the invited one)',
        security,
        body: AcceptInvite,
        response: { 200: AcceptedInvite, ...errors, 410: ErrorResponse },
      },
    },
    async (request) => {
      const { team, role, joined } = await acceptInvite(deps, {
        token: request.body.token,
        userId: signedInUser(request).id,
        actor: actorOf(request),
      })
      return {
        team: toTeam(team, role),
        joined,
      }
    },
  )
}
