import type { EdgeRequest, Env } from './env.ts'
import { errorResponse } from './errors.ts'
import { forward } from './forward.ts'

/*
 * Preflights of `/public/v1/*` answered here, so a visitor's first write costs one round trip to
 * the edge and none to the API. The same answer as the API's `visitorCors` (apps/api/src/plugins/
 * http.ts): a page may call when its Origin's host is a site's, which at the edge means a
 * domain document for that host is in the bucket.
 *
 * Subdomains: the API also lets in pages on subdomains of a site whose settings allow them. The
 * domain document does not carry that setting, so a page whose parent domain is a site's has its
 * preflight forwarded to the API, which decides (and answers) as it does for its own visitors.
 * A host neither registered nor under a registered domain is refused here, the API never asked.
 */

/** Parent domains looked up, as the API does (origin.ts): those of 2 to 10 labels. */
const MAX_PARENT_LABELS = 10

const ALLOW_METHODS = 'GET, POST, OPTIONS'
const ALLOW_HEADERS = 'content-type, idempotency-key'
const MAX_AGE_SECONDS = '600'

/** The host of an http(s) Origin, lower case; null when there is none to match (the API's originHost). */
export function originHost(origin: string | null): string | null {
  if (origin === null) return null
  const url = URL.parse(origin)
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return null
  const host = url.hostname
  return host.length > 0 && host.length <= 253 ? host : null
}

/** A host's parent domains of two labels or more, nearest first: a.shop.example.com → shop.example.com, example.com. */
export function parentDomains(host: string): string[] {
  const labels = host.split('.')
  return labels
    .slice(1, -1)
    .map((_, index) => labels.slice(index + 1).join('.'))
    .slice(-(MAX_PARENT_LABELS - 1))
}

const hasDomainDocument = async (env: Env, host: string) =>
  (await env.OBJECTS.head(`domains/${host}.json`)) !== null

export async function preflight(request: EdgeRequest, env: Env): Promise<Response> {
  const origin = request.headers.get('origin')
  const host = originHost(origin)
  if (origin === null || host === null) return refused()
  if (await hasDomainDocument(env, host)) return allowed(origin)
  const parents = await Promise.all(parentDomains(host).map((parent) => hasDomainDocument(env, parent)))
  if (parents.includes(true)) return forward(request, env)
  return refused()
}

function refused(): Response {
  return errorResponse(
    403,
    'ORIGIN_NOT_ALLOWED',
    'This request must come from a page of the campaign’s site (the Origin header names another site, or none)',
    { vary: 'Origin' },
  )
}

function allowed(origin: string): Response {
  return new Response(null, {
    status: 204,
    headers: {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': ALLOW_METHODS,
      'access-control-allow-headers': ALLOW_HEADERS,
      'access-control-max-age': MAX_AGE_SECONDS,
      vary: 'Origin',
    },
  })
}
