import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { depsOf } from '../../deps.ts'
import { ErrorResponse } from '../../errors.ts'
import { RepublishReport, toRepublishReport } from './schemas.ts'
import { republishAll } from './service.ts'

/** Republish-all, for Cloudflare Cron (service token) and operators (`npm run republish`). */
export const publishingRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const deps = depsOf(app, 'publishing')
  app.post(
    '/internal/v1/republish',
    {
      preHandler: app.authenticateService(['cron']),
      schema: {
        tags: ['internal'],
        operationId: 'republishAll',
        summary: 'Rebuild every published object from the database; report what changed',
        security: [{ service: [] }],
        response: {
          200: RepublishReport,
          401: ErrorResponse,
          403: ErrorResponse,
          502: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async (request) => {
      const report = await republishAll(deps)
      request.log.info(
        { sites: report.sites, written: report.written.length, deleted: report.deleted.length },
        'republished',
      )
      return toRepublishReport(report)
    },
  )
}
