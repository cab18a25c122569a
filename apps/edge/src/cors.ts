import type { Env } from './env.ts'
import { errorResponse } from './errors.ts'

/*
 * Preflights of `/public/v1/*` answered here, so a visitor's first write costs one round trip to
 * the edge and none to the API. The same answer as the API's `visitorCors` (apps/api/src/plugins/
 * http.ts): a page may call when its Origin's host is a site's, which at the edge means a
 * domain document for that host is in the bucket.
 *
 * Subdomains: the API also lets in pages on subdomains of a site whose settings allow them. The
 * domain document does not carry that setting, so here a subdomain's page is refused until it
 * does (see README, "Edge Worker").
 */

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

export async function preflight(request: Request, env: Env): Promise<Response> {
  const origin = request.headers.get('origin')
  const host = originHost(origin)
  const registered = host !== null && (await env.OBJECTS.head(`domains/${host}.json`)) !== null
  if (!registered || origin === null) {
    return errorResponse(
      403,
      'ORIGIN_NOT_ALLOWED',
      'This request must come from a page of the campaign’s site (the Origin header names another site, or none)',
      { vary: 'Origin' },
    )
  }
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
