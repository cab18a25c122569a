import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ErrorResponse } from '../../errors.ts'
import { Nullable } from '../../schemas.ts'

const QueueSummary = Type.Object({
  name: Type.String(),
  waiting: Type.Integer({ description: 'ready to run now' }),
  deferred: Type.Integer({ description: 'waiting for their start time (retries, delayed jobs)' }),
  active: Type.Integer(),
  failed: Type.Integer({ description: 'out of retries (see the dead-letter queue)' }),
  total: Type.Integer(),
  oldestWaitingSeconds: Nullable(Type.Number()),
  deadLetter: Nullable(Type.String()),
})

/** What the job queue holds, for operators and monitors (service token, audience cron). */
export const operationsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/internal/v1/jobs',
    {
      preHandler: app.authenticateService(['cron']),
      schema: {
        tags: ['internal'],
        operationId: 'listJobQueues',
        summary: 'Each job queue: depth, failures, the oldest waiting job',
        security: [{ service: [] }],
        response: {
          200: Type.Object({ queues: Type.Array(QueueSummary) }),
          401: ErrorResponse,
          403: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async () => ({ queues: await app.jobs.queues() }),
  )
}
