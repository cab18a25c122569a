import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ErrorResponse } from '../../errors.ts'
import { publishDeps, republishAll } from './publisher.ts'

// Enough for an operator to see what happened; the counts are always complete.
const LISTED_KEYS = 1000

export const RepublishReport = Type.Object({
  sites: Type.Integer({ description: 'sites rebuilt' }),
  written: Type.Integer({ description: 'objects whose content changed and were written' }),
  deleted: Type.Integer({ description: 'objects removed (nothing in the database accounts for them)' }),
  unchanged: Type.Integer(),
  purged: Type.Integer({ description: 'URLs purged from the Cloudflare cache' }),
  purgePending: Type.Integer({ description: 'URLs whose purge failed, retried by the next publish' }),
  writtenKeys: Type.Array(Type.String(), { description: `the first ${LISTED_KEYS} keys written` }),
  deletedKeys: Type.Array(Type.String(), { description: `the first ${LISTED_KEYS} keys deleted` }),
})

/** Republish-all, for Cloudflare Cron (service token) and operators (`npm run republish`). */
export const publishingRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const deps = publishDeps(app)
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
      return toReport(report)
    },
  )
}

export function toReport(report: Awaited<ReturnType<typeof republishAll>>) {
  return {
    sites: report.sites,
    written: report.written.length,
    deleted: report.deleted.length,
    unchanged: report.unchanged,
    purged: report.purged,
    purgePending: report.purgePending,
    writtenKeys: report.written.slice(0, LISTED_KEYS),
    deletedKeys: report.deleted.slice(0, LISTED_KEYS),
  }
}
