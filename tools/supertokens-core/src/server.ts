import Fastify, { type FastifyInstance } from 'fastify'
import { CoreError } from './errors.ts'
import { registerMiscRoutes } from './misc.ts'
import { registerPasswordlessRoutes } from './passwordless.ts'
import { CoreRouter, text } from './routes.ts'
import { registerSessionRoutes } from './sessions.ts'
import { type CoreConfig, CoreStore } from './store.ts'
import { registerUserIdMappingRoutes } from './user-id-mapping.ts'
import { registerUserRoutes } from './users.ts'

export interface BuildServerOptions {
  config: CoreConfig
  logger: boolean | Record<string, unknown>
}

export function buildServer(options: BuildServerOptions): FastifyInstance {
  const app = Fastify({ logger: options.logger })
  const store = new CoreStore(options.config)
  const router = new CoreRouter()

  registerMiscRoutes(router, store)
  registerUserRoutes(router, store)
  registerUserIdMappingRoutes(router, store)
  registerPasswordlessRoutes(router, store)
  registerSessionRoutes(router, store)

  // The core reads every body as text and parses it itself (Gson), whatever the
  // content-type says, so an empty, non-JSON or mislabelled body reaches the API and is
  // answered "Invalid Json Input" there, not by a framework 415.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body))
  router.register(app)

  // Methods the router does not take (PATCH and the like), which Tomcat answers with its
  // own error page; the stand-in says Not found and logs it.
  app.setNotFoundHandler((request, reply) => {
    request.log.warn(
      { method: request.method, url: request.url },
      'SuperTokens core stand-in: unimplemented core path',
    )
    return text(reply, 404, 'Not found')
  })

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof CoreError) {
      if (error.statusCode >= 500) request.log.error(error)
      return text(reply, error.statusCode, error.message)
    }
    // A failure of the stand-in itself (or of fastify, e.g. an oversized body). The core
    // answers its own unexpected exceptions with a 500 and the exception's toString().
    const statusCode =
      typeof (error as { statusCode?: unknown }).statusCode === 'number'
        ? (error as { statusCode: number }).statusCode
        : 500
    if (statusCode >= 500) request.log.error(error)
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    return text(reply, statusCode, message)
  })

  return app
}
