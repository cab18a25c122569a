import { withCountry } from './country.ts'
import type { EdgeRequest, Env, R2Object, R2ObjectBody } from './env.ts'
import { errorResponse } from './errors.ts'
import { PUBLIC_READ } from './public-read.ts'

/*
 * The edge contract's objects (apps/api/src/modules/publishing/documents.ts), served under their
 * own keys as paths: /domains/{hostname}.json, /campaigns/production/{id}.json and
 * /campaigns/test/{id}.json. The body is R2's stream handed to the Response: never read, parsed or
 * re-serialised here (that was the old Worker's CPU), so it is byte for byte what was published.
 */

/** The API's OBJECT_CONTENT_TYPE and OBJECT_CACHE_CONTROL (a test keeps them equal). */
export const OBJECT_CONTENT_TYPE = 'application/json; charset=utf-8'
export const OBJECT_CACHE_CONTROL = 'public, max-age=60'

// Hostnames as the API stores them (lower case, at most 253); campaign ids are UUIDs. Anything
// else is not an object we publish, and is answered without a bucket read.
const DOMAIN_PATH = /^\/domains\/([a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?)\.json$/
const CAMPAIGN_PATH =
  /^\/campaigns\/(production|test)\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.json$/

export type ObjectRoute =
  | { kind: 'domain'; key: string; hostname: string }
  | { kind: 'campaign'; key: string }

/** The object a path names, or null when it names none. */
export function objectRoute(pathname: string): ObjectRoute | null {
  const domain = DOMAIN_PATH.exec(pathname)
  if (domain?.[1]) return { kind: 'domain', key: `domains/${domain[1]}.json`, hostname: domain[1] }
  const campaign = CAMPAIGN_PATH.exec(pathname)
  if (campaign) return { kind: 'campaign', key: `campaigns/${campaign[1]}/${campaign[2]}.json` }
  return null
}

export async function serveObject(request: EdgeRequest, env: Env, route: ObjectRoute): Promise<Response> {
  // R2 evaluates If-None-Match itself (weak and strong, lists, `*`): a match gives no body. Only
  // that header: a failed If-Match or If-Unmodified-Since would also give no body, and is no 304.
  const ifNoneMatch = request.headers.get('if-none-match')
  const onlyIf = ifNoneMatch === null ? undefined : new Headers({ 'if-none-match': ifNoneMatch })
  const object = await env.OBJECTS.get(route.key, onlyIf ? { onlyIf } : undefined)
  if (object === null) {
    if (route.kind === 'domain') return fromApi(request, env, route.hostname)
    return errorResponse(404, 'NOT_FOUND', 'No such published campaign', PUBLIC_READ)
  }
  const headers = withCountry(objectHeaders(object), request)
  if (!hasBody(object)) return new Response(null, { status: 304, headers })
  return new Response(request.method === 'HEAD' ? null : object.body, { status: 200, headers })
}

function objectHeaders(object: R2Object): Headers {
  return new Headers({
    ...PUBLIC_READ,
    etag: object.httpEtag,
    'content-type': object.httpMetadata?.contentType ?? OBJECT_CONTENT_TYPE,
    // The API's value whatever the object carries: the browser re-checks within a minute, and a
    // publish purges Cloudflare's cache, the same promise the API makes for its own answers.
    'cache-control': OBJECT_CACHE_CONTROL,
  })
}

function hasBody(object: R2Object | R2ObjectBody): object is R2ObjectBody {
  return 'body' in object && object.body !== undefined && object.body !== null
}

/**
 * A domain document not (yet) in the bucket: the API builds the site's document itself (cache,
 * then database) and its answer goes to the visitor as it is: 200 with the site document (its
 * campaigns embedded), 304, or its 404 for a hostname that is no site.
 */
async function fromApi(request: EdgeRequest, env: Env, hostname: string): Promise<Response> {
  const headers = new Headers({ accept: 'application/json' })
  const ifNoneMatch = request.headers.get('if-none-match')
  if (ifNoneMatch !== null) headers.set('if-none-match', ifNoneMatch)
  let answer: Response
  try {
    answer = await fetch(`${env.API_ORIGIN}/public/v1/sites/${hostname}`, { method: request.method, headers })
  } catch {
    return errorResponse(
      502,
      'API_UNREACHABLE',
      'The site document is not published and the API did not answer',
    )
  }
  const passed = new Headers(answer.headers)
  for (const [name, value] of Object.entries(PUBLIC_READ)) passed.set(name, value)
  return new Response(answer.body, { status: answer.status, headers: withCountry(passed, request) })
}
