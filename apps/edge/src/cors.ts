import type { EdgeRequest, Env } from './env.ts'
import { errorResponse } from './errors.ts'
import { forward } from './forward.ts'

/*
 * Preflights of `/public/v1/*` answered here, so a visitor's first write costs one round trip to
 * the edge and none to the API. The same answer as the API's `visitorCors` (apps/api/src/plugins/
 * http.ts): a page may call when its Origin's host is a site's, which at the edge means a
 * domain document for that host is in the bucket.
 *
 * Any other host is the API's question, forwarded over the trusted-edge path: a subdomain of a
 * site whose settings let subdomains in (the domain document does not carry that setting), and a
 * site whose document is missing from the bucket, whose popups the document route's fallback to
 * the API still shows (refusing here would drop their events and leads). A stranger gains nothing
 * the document route's own fallback does not already give.
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

export async function preflight(request: EdgeRequest, env: Env): Promise<Response> {
  const origin = request.headers.get('origin')
  const host = originHost(origin)
  if (origin === null || host === null) return refused()
  if ((await env.OBJECTS.head(`domains/${host}.json`)) !== null) return allowed(origin)
  return forward(request, env)
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
