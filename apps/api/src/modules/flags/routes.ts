import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { depsOf } from '../../deps.ts'
import { ErrorResponse, SessionRouteErrors, sessionSecurity } from '../../errors.ts'
import { TeamParams } from '../teams/schemas.ts'
import { requestFlagContext } from './context.ts'
import {
  Flag,
  FlagChangeList,
  FlagDefinitionInput,
  FlagList,
  FlagParams,
  RolloutInput,
  TeamEnableInput,
  TeamFlags,
  toFlag,
  toFlagChange,
} from './schemas.ts'
import { disableFlag, enableForTeam, flagChanges, getFlag, listFlags, rollOut, setFlag } from './service.ts'

/** Who changed a flag through the routes: the service token's audience (operators hold `ops` tokens). */
function actorOf(request: FastifyRequest): string {
  return `service:${request.serviceCaller?.audience ?? 'unknown'}`
}

/**
 * Operators' flag routes (service token, audience ops) and the dashboard's view of its team's
 * client-visible flags. The CLI (`npm run flags`) runs the same service.
 */
export const flagRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const deps = depsOf(app, 'flags')
  const internal = {
    preHandler: app.authenticateService(['ops']),
  }
  const tags = ['internal']
  const security = [{ service: [] }]
  const errors = { 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse }
  const writeErrors = { 400: ErrorResponse, ...errors, 409: ErrorResponse }

  app.get(
    '/internal/v1/flags',
    {
      ...internal,
      schema: {
        tags,
        security,
        operationId: 'listFlags',
        summary: 'Every feature flag definition',
        response: { 200: FlagList, ...errors },
      },
    },
    async () => ({ flags: (await listFlags(deps)).map(toFlag) }),
  )

  app.get(
    '/internal/v1/flags/:key',
    {
      ...internal,
      schema: {
        tags,
        security,
        operationId: 'getFlag',
        summary: 'One feature flag definition',
        params: FlagParams,
        response: { 200: Flag, 400: ErrorResponse, ...errors },
      },
    },
    async (request) => toFlag(await getFlag(deps, { key: request.params.key })),
  )

  app.get(
    '/internal/v1/flags/:key/changes',
    {
      ...internal,
      schema: {
        tags,
        security,
        operationId: 'listFlagChanges',
        summary: 'Who changed the flag, from what to what (newest first)',
        params: FlagParams,
        response: { 200: FlagChangeList, 400: ErrorResponse, ...errors },
      },
    },
    async (request) => ({
      changes: (await flagChanges(deps, { key: request.params.key })).map(toFlagChange),
    }),
  )

  app.put(
    '/internal/v1/flags/:key',
    {
      ...internal,
      schema: {
        tags,
        security,
        operationId: 'setFlag',
        summary: 'Create or replace a flag (refused with 400 naming the problem when flagd could not use it)',
        params: FlagParams,
        body: FlagDefinitionInput,
        response: { 200: Flag, ...writeErrors },
      },
    },
    async (request) =>
      toFlag(
        await setFlag(deps, { key: request.params.key, definition: request.body, actor: actorOf(request) }),
      ),
  )

  app.post(
    '/internal/v1/flags/:key/rollout',
    {
      ...internal,
      schema: {
        tags,
        security,
        operationId: 'rollOutFlag',
        summary: 'Turn a boolean flag on for a percentage of teams (creates it, off, when new)',
        params: FlagParams,
        body: RolloutInput,
        response: { 200: Flag, ...writeErrors },
      },
    },
    async (request) =>
      toFlag(
        await rollOut(deps, {
          key: request.params.key,
          percent: request.body.percent,
          actor: actorOf(request),
        }),
      ),
  )

  app.post(
    '/internal/v1/flags/:key/teams',
    {
      ...internal,
      schema: {
        tags,
        security,
        operationId: 'enableFlagForTeam',
        summary: 'Turn a boolean flag on for one team (creates it, off for everyone else, when new)',
        params: FlagParams,
        body: TeamEnableInput,
        response: { 200: Flag, ...writeErrors },
      },
    },
    async (request) =>
      toFlag(
        await enableForTeam(deps, {
          key: request.params.key,
          teamId: request.body.teamId,
          actor: actorOf(request),
        }),
      ),
  )

  app.post(
    '/internal/v1/flags/:key/disable',
    {
      ...internal,
      schema: {
        tags,
        security,
        operationId: 'disableFlag',
        summary: 'Kill switch: every evaluation gets the default in the code (off), within a second',
        params: FlagParams,
        response: { 200: Flag, ...writeErrors },
      },
    },
    async (request) => toFlag(await disableFlag(deps, { key: request.params.key, actor: actorOf(request) })),
  )

  app.get(
    '/v1/teams/:teamId/flags',
    {
      config: { permission: 'team:read' },
      schema: {
        tags: ['teams'],
        operationId: 'getTeamFlags',
        summary: 'The flags the dashboard may read (clientVisible), evaluated for this team and you',
        security: sessionSecurity,
        params: TeamParams,
        response: { 200: TeamFlags, ...SessionRouteErrors },
      },
    },
    async (request) => ({
      flags: app.flags.evaluateMarked('clientVisible', await requestFlagContext(deps, request)),
    }),
  )
}
