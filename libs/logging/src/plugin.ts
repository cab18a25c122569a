import type {} from '@nudge/config'
import fp from 'fastify-plugin'
import { loadAgent } from './newrelic.ts'
import { serverTimingHeader, TIMING_FIELDS, type Timings, withTimings } from './timing.ts'

type Attributes = Record<string, string | number | boolean>

/** Observability port: what modules report about a request, wherever it ends up (NewRelic today). */
export interface Observe {
  /** Adds attributes to the current transaction (route, request id, user, team). */
  annotate(attributes: Attributes): void
  /** Reports an error that a person should look at. */
  noticeError(error: Error, attributes?: Attributes): void
}

declare module 'fastify' {
  interface FastifyInstance {
    observe: Observe
  }
}

/**
 * Request ids echoed on every response, `Server-Timing` with total/db/cache time, and the
 * NewRelic bridge. The logger itself is configured in the Fastify constructor (`loggerOptions`).
 */
export const loggingPlugin = fp(
  async (app) => {
    const { config } = app
    const agent = loadAgent(config.NEW_RELIC_LICENSE_KEY)
    const observe: Observe = {
      annotate: (attributes) => agent?.addCustomAttributes(attributes),
      noticeError: (error, attributes) => agent?.noticeError(error, attributes),
    }
    app.decorate('observe', observe)

    // Each request is its own timing bucket: two numbers, set to 0 with the request itself.
    for (const field of TIMING_FIELDS) app.decorateRequest(field, 0)
    app.addHook('onRequest', (request, reply, done) => {
      reply.header('x-request-id', request.id)
      if (agent)
        agent.addCustomAttributes({ requestId: request.id, route: request.routeOptions.url ?? 'unmatched' })
      // Everything after this hook runs inside the bucket, so layers can add their time to it.
      withTimings(request as unknown as Timings, done)
    })

    app.addHook('onSend', (request, reply, _payload, done) => {
      reply.header('server-timing', serverTimingHeader(reply.elapsedTime, request as unknown as Timings))
      done()
    })
  },
  { name: 'logging', dependencies: ['config'], fastify: '5.x' },
)
