import { countryOf } from './country.ts'
import { demoSiteOrigin } from './demo.ts'
import type { EdgeRequest, Env } from './env.ts'
import { errorResponse } from './errors.ts'

/** libs/edge's EDGE_SECRET_HEADER: with it the API believes the CF-* headers below. */
export const EDGE_SECRET_HEADER = 'x-edge-secret'

/** What Cloudflare turns into CF-Connecting-IP on a same-zone subrequest. */
const REAL_IP_HEADER = 'x-real-ip'

/** The visitors' writes the Worker carries to the API. */
export const FORWARDED_PATHS = new Set(['/public/v1/events', '/public/v1/leads'])

/*
 * A visitor's event batch or lead (or a subdomain page's preflight, cors.ts), sent on to the API
 * over the trusted-edge path. Only what Cloudflare itself established is vouched for: any
 * `x-edge-secret`, `cf-*` or `x-real-ip` header the visitor wrote is dropped before ours are set. The rest (Origin, Content-Type, Idempotency-Key, the body)
 * goes as it came, and the API's answer (status, headers with its CORS, errors) comes back as it is.
 */
export async function forward(request: EdgeRequest, env: Env): Promise<Response> {
  const url = new URL(request.url)
  // Cloudflare sets CF-Connecting-IP on the request the Worker receives (overwriting the visitor's).
  const clientIp = request.headers.get('cf-connecting-ip')
  const headers = new Headers()
  for (const [name, value] of request.headers) {
    if (name === EDGE_SECRET_HEADER || name.startsWith('cf-') || name === REAL_IP_HEADER || name === 'host')
      continue
    headers.set(name, value)
  }
  headers.set(EDGE_SECRET_HEADER, env.EDGE_SECRET)
  // A Worker cannot set CF-Connecting-IP on its fetch (Cloudflare replaces it; Miniflare drops it):
  // Cloudflare makes the API's CF-Connecting-IP from X-Real-IP when the API is in the Worker's
  // zone; from another zone it would be the Worker's address (README, "Edge Worker").
  if (clientIp !== null) headers.set(REAL_IP_HEADER, clientIp)
  // Unknown (XX, Tor) is left out: the API reads a missing CF-IPCountry as unknown.
  const country = countryOf(request)
  if (country !== null) headers.set('cf-ipcountry', country)
  // sendBeacon sends the batch left at pagehide as text/plain (no preflight needed); it is JSON.
  if (url.pathname === '/public/v1/events' && isTextPlain(headers.get('content-type')))
    headers.set('content-type', 'application/json')
  const demoOrigin = demoSiteOrigin(request, env)
  if (demoOrigin !== null) headers.set('origin', demoOrigin)
  try {
    return await fetch(`${env.API_ORIGIN}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      body: request.body,
      redirect: 'manual',
    })
  } catch {
    return errorResponse(
      502,
      'API_UNREACHABLE',
      'The API did not answer; send it again (with the same Idempotency-Key)',
    )
  }
}

function isTextPlain(contentType: string | null): boolean {
  return contentType?.split(';')[0]?.trim().toLowerCase() === 'text/plain'
}
