import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { signedInUser } from '@nudge/auth'
import { actorOf } from '../../actor.ts'
import { depsOf } from '../../deps.ts'
import { ErrorResponse, SessionErrorResponse, SessionRouteErrors, sessionSecurity } from '../../errors.ts'
import { teamOf } from '../../plugins/team-access.ts'
import {
  MemberList,
  MemberParams,
  MemberPatch,
  NewTeam,
  Team,
  TeamList,
  TeamParams,
  TeamPatch,
} from './schemas.ts'
import {
  changeRole,
  createTeam,
  deleteTeam,
  getTeam,
  listMembers,
  listTeamsOf,
  removeMember,
  renameTeam,
} from './service.ts'
import { toTeam } from './team-view.ts'

const errors = SessionRouteErrors
const security = sessionSecurity

export const teamRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const deps = depsOf(app, 'teams')

  app.post(
    '/v1/teams',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['teams'],
        operationId: 'createTeam',
        summary: 'Create a team; the caller becomes its owner',
        security,
        body: NewTeam,
        response: { 201: Team, ...errors },
      },
    },
    async (request, reply) => {
      const team = await createTeam(deps, { name: request.body.name, actor: actorOf(request) })
      return reply.code(201).send(toTeam(team, 'owner'))
    },
  )

  app.get(
    '/v1/teams',
    {
      preHandler: app.authenticate,
      schema: {
        tags: ['teams'],
        operationId: 'listTeams',
        summary: "The caller's teams, each with the caller's role",
        security,
        response: { 200: TeamList, 401: SessionErrorResponse },
      },
    },
    async (request) => ({
      items: (await listTeamsOf(deps, { userId: signedInUser(request).id })).map((row) =>
        toTeam(row, row.role),
      ),
    }),
  )

  app.get(
    '/v1/teams/:teamId',
    {
      config: { permission: 'team:read' },
      schema: {
        tags: ['teams'],
        operationId: 'getTeam',
        summary: 'A team the caller belongs to',
        security,
        params: TeamParams,
        response: { 200: Team, ...errors },
      },
    },
    async (request) => {
      const access = teamOf(request)
      return toTeam(await getTeam(deps, { teamId: access.id }), access.role)
    },
  )

  app.patch(
    '/v1/teams/:teamId',
    {
      config: { permission: 'team:update' },
      schema: {
        tags: ['teams'],
        operationId: 'updateTeam',
        summary: 'Rename a team',
        security,
        params: TeamParams,
        body: TeamPatch,
        response: { 200: Team, ...errors },
      },
    },
    async (request) => {
      const access = teamOf(request)
      const team = await renameTeam(deps, {
        teamId: access.id,
        name: request.body.name,
        actor: actorOf(request),
      })
      return toTeam(team, access.role)
    },
  )

  app.delete(
    '/v1/teams/:teamId',
    {
      config: { permission: 'team:delete' },
      schema: {
        tags: ['teams'],
        operationId: 'deleteTeam',
        summary: 'Delete a team and everything in it (owners only; not while a paid plan runs)',
        security,
        params: TeamParams,
        response: { 204: { type: 'null' }, ...errors, 409: ErrorResponse },
      },
    },
    async (request, reply) => {
      await deleteTeam(deps, { teamId: teamOf(request).id })
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/v1/teams/:teamId/members',
    {
      config: { permission: 'member:read' },
      schema: {
        tags: ['members'],
        operationId: 'listMembers',
        summary: 'The members of a team and their roles',
        security,
        params: TeamParams,
        response: { 200: MemberList, ...errors },
      },
    },
    async (request) => ({ items: await listMembers(deps, { teamId: teamOf(request).id }) }),
  )

  app.patch(
    '/v1/teams/:teamId/members/:userId',
    {
      config: { permission: 'member:update' },
      schema: {
        tags: ['members'],
        operationId: 'updateMember',
        summary: "Change a member's role (owners may make owners: that is how ownership is transferred)",
        security,
        params: MemberParams,
        body: MemberPatch,
        response: { 204: { type: 'null' }, ...errors, 409: ErrorResponse },
      },
    },
    async (request, reply) => {
      const access = teamOf(request)
      await changeRole(deps, {
        teamId: access.id,
        userId: request.params.userId,
        role: request.body.role,
        by: { id: signedInUser(request).id, role: access.role },
        actor: actorOf(request),
      })
      return reply.code(204).send(null)
    },
  )

  app.delete(
    '/v1/teams/:teamId/members/:userId',
    {
      // Leaving is open to every member; removing someone else needs member:remove (checked inside).
      config: { permission: 'team:read' },
      schema: {
        tags: ['members'],
        operationId: 'removeMember',
        summary: 'Remove a member, or leave the team (your own user id)',
        security,
        params: MemberParams,
        response: { 204: { type: 'null' }, ...errors, 409: ErrorResponse },
      },
    },
    async (request, reply) => {
      const access = teamOf(request)
      await removeMember(deps, {
        teamId: access.id,
        userId: request.params.userId,
        by: { id: signedInUser(request).id, role: access.role },
        actor: actorOf(request),
      })
      return reply.code(204).send(null)
    },
  )
}
