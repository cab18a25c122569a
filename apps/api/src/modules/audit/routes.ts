import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { AuditEvent as AuditRow } from '@nudge/db'
import { depsOf } from '../../deps.ts'
import { ErrorResponse, SessionErrorResponse } from '../../errors.ts'
import { toPage } from '../../pagination.ts'
import { TeamParams } from '../teams/schemas.ts'
import { AuditPage, AuditQuery } from './schemas.ts'
import { auditEvents } from './service.ts'

function toAuditEvent(row: AuditRow) {
  return {
    id: row.id,
    actor: { type: row.actor_type, id: row.actor_id },
    action: row.action,
    target: { type: row.target_type, id: row.target_id },
    data: row.data,
    ip: row.ip,
    createdAt: row.created_at.toISOString(),
  }
}

export const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const deps = depsOf(app, 'audit')
  app.get(
    '/v1/teams/:teamId/audit-events',
    {
      config: { permission: 'audit:read' },
      schema: {
        tags: ['audit'],
        operationId: 'listAuditEvents',
        summary: "The team's audit log, newest first",
        security: [{ session: [] }],
        params: TeamParams,
        querystring: AuditQuery,
        response: {
          200: AuditPage,
          400: ErrorResponse,
          401: SessionErrorResponse,
          403: ErrorResponse,
          404: ErrorResponse,
        },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 20
      const rows = await auditEvents(deps, { ...request.query, teamId: request.params.teamId, limit })
      return toPage(rows, limit, toAuditEvent)
    },
  )
}
