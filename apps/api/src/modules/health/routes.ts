import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { depsOf } from '../../deps.ts'
import { ErrorResponse, ServiceUnavailable } from '../../errors.ts'
import { Alive, Readiness, Timing } from './schemas.ts'
import { cacheRoundTrip, checkCache, checkDatabase, flagsCheck } from './service.ts'

/** Liveness, readiness and load-time checks for operators, monitors and the deploy tool. */
export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const deps = depsOf(app, 'health')
  // Monitors and load balancers poll these; they touch nothing but a `SELECT 1`.
  const config = { rateLimit: false as const }

  app.get(
    '/health',
    { config, schema: { tags: ['health'], summary: 'The process is alive', response: { 200: Alive } } },
    // The deploy tool reads the release to see which colour answers through the stable name.
    async () => ({ status: 'ok' as const, release: app.config.RELEASE_ID }),
  )

  app.get(
    '/health/ready',
    {
      config,
      schema: {
        tags: ['health'],
        summary:
          'PostgreSQL and the cache are reachable (503 naming the database when it is not); whether feature flags are loaded',
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const [database, cache] = await Promise.all([checkDatabase(deps), checkCache(deps)])
      const ready = database.status === 'up'
      return reply.code(ready ? 200 : 503).send({
        status: ready ? ('ready' as const) : ('unavailable' as const),
        checks: { database, ...cache, flags: flagsCheck(deps) },
      })
    },
  )

  app.get(
    '/health/timing',
    {
      // Writes to memcached on every call: limited per client like any route, on a counter of its own.
      config: { rateLimit: { max: app.config.HEALTH_TIMING_LIMIT_PER_MINUTE, timeWindow: 60_000 } },
      schema: {
        tags: ['health'],
        summary: 'Times a trivial query and a cache round trip (also in Server-Timing)',
        response: { 200: Timing, 429: ErrorResponse, 503: ErrorResponse },
      },
    },
    async (request) => {
      const start = performance.now()
      const database = await checkDatabase(deps)
      if (database.status === 'down') throw new ServiceUnavailable('The database is unavailable')
      const cacheMs = await cacheRoundTrip(deps)
      request.log.debug({ dbMs: database.ms, cacheMs }, 'timing check')
      return { dbMs: database.ms, cacheMs, totalMs: performance.now() - start }
    },
  )
}
