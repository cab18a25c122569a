import Fastify, { type FastifyInstance } from 'fastify'
import { registerMiscRoutes } from './misc.ts'
import { registerPasswordlessRoutes } from './passwordless.ts'
import { registerSessionRoutes } from './sessions.ts'
import { type CoreConfig, CoreStore } from './store.ts'
import { registerUserRoutes } from './users.ts'

export interface BuildServerOptions {
  config: CoreConfig
  logger: boolean | Record<string, unknown>
}

export function buildServer(options: BuildServerOptions): FastifyInstance {
  const app = Fastify({ logger: options.logger })
  const store = new CoreStore(options.config)

  registerMiscRoutes(app, store)
  registerUserRoutes(app, store)
  registerPasswordlessRoutes(app, store)
  registerSessionRoutes(app, store)

  // Anything else the SDK asks for is a gap in the stand-in: say so loudly in the log
  // and answer like the core does for unknown paths.
  app.setNotFoundHandler((request, reply) => {
    request.log.warn(
      { method: request.method, url: request.url },
      'SuperTokens core stand-in: unimplemented core path',
    )
    return reply.code(404).type('text/plain').send('Not Found')
  })

  app.setErrorHandler((error, request, reply) => {
    const statusCode =
      typeof (error as { statusCode?: unknown }).statusCode === 'number'
        ? (error as { statusCode: number }).statusCode
        : 500
    if (statusCode >= 500) request.log.error(error)
    const message = error instanceof Error ? error.message : String(error)
    return reply
      .code(statusCode)
      .type('text/plain')
      .send(statusCode >= 500 ? 'Internal Error' : message)
  })

  return app
}
