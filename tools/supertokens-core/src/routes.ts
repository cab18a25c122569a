import type { FastifyInstance } from 'fastify'
import type { Body, CorePath, Query, Reply } from './schema.ts'
import { PUBLIC_TENANT } from './store.ts'

type Method = 'get' | 'post' | 'put'

export interface CoreRequest<P extends CorePath, M extends Method> {
  body: Body<P, M>
  query: Query<P, M>
  tenantId: string
}

// The core answers client mistakes with a 400 and a plain-text message; the SDK turns
// that into an Error carrying the message.
export class BadRequest extends Error {
  readonly statusCode = 400
}

// Schema paths that start with /<tenantId>/ are served both with a tenant prefix (what
// the SDK sends) and without one (the core treats that as the public tenant). Handlers
// may answer with statuses the schema leaves out (Extra), e.g. RESTART_FLOW_ERROR on
// create-code, because the SDK handles them.
export function route<P extends CorePath, M extends Method, Extra = never>(
  app: FastifyInstance,
  method: M,
  path: P,
  handler: (req: CoreRequest<P, M>) => Reply<P, M> | Extra | Promise<Reply<P, M> | Extra>,
): void {
  const template: string = path
  const urls = template.startsWith('/<tenantId>/')
    ? [template.replace('/<tenantId>/', '/:tenantId/'), template.slice('/<tenantId>'.length)]
    : [template]
  const httpMethod = method.toUpperCase() as Uppercase<M>
  for (const url of urls) {
    // Where the schema also has the unprefixed path (e.g. /recipe/session/remove,
    // which spans all tenants), that route is registered on its own and wins.
    if (app.hasRoute({ method: httpMethod, url })) continue
    app.route({
      method: httpMethod,
      url,
      handler: async (request) => {
        const params = request.params as { tenantId?: string }
        const tenantId = params.tenantId ?? PUBLIC_TENANT
        if (tenantId !== PUBLIC_TENANT) {
          // Only the public tenant exists here, as in a core without a license.
          throw new BadRequest(
            `AppId or tenantId not found => Tenant with the following connectionURIDomain, appId and tenantId combination not found: (, public, ${tenantId})`,
          )
        }
        return handler({
          body: (request.body ?? {}) as Body<P, M>,
          query: request.query as Query<P, M>,
          tenantId,
        })
      },
    })
  }
}

export function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string') {
    throw new BadRequest(`Field name '${field}' is invalid in JSON input`)
  }
  return value
}

export function parseBoolean(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback
  return value === 'true'
}
