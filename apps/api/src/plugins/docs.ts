import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { HTML_SECURITY_HEADERS } from './http.ts'

/**
 * OpenAPI 3 built from the route schemas: the document at /docs/json everywhere, its UI at /docs
 * outside production only (Swagger UI and @fastify/static are a few MB per process that a
 * production worker would hold for nobody).
 */
export const docsPlugin = fp(
  async (app: FastifyInstance) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'nudge API',
          version: '1.0.0',
          description: 'The API behind nudge popups and lead capture',
        },
        servers: [{ url: app.config.API_DOMAIN }],
        components: {
          securitySchemes: {
            session: {
              type: 'http',
              scheme: 'bearer',
              description: 'SuperTokens access token (header mode), or the sAccessToken cookie (cookie mode)',
            },
            service: {
              type: 'http',
              scheme: 'bearer',
              bearerFormat: 'JWT',
              description: 'service token (Worker, Cron)',
            },
          },
        },
      },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    })
    if (app.config.NODE_ENV === 'production') {
      app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger())
      return
    }
    const { default: swaggerUi } = await import('@fastify/swagger-ui')
    await app.register(swaggerUi, {
      routePrefix: '/docs',
      staticCSP: true,
      // The one HTML the API serves: a browser renders it, so it gets the document headers.
      uiHooks: {
        onRequest: (_request, reply, done) => {
          reply.headers(HTML_SECURITY_HEADERS)
          done()
        },
      },
    })
  },
  { name: 'docs', dependencies: ['config'], fastify: '5.x' },
)
