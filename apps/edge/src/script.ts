import SOURCE from '../bundled/nudge.js'
import type { EdgeRequest } from './env.ts'
import { errorResponse } from './errors.ts'
import { noneMatchHits } from './etag.ts'
import { PUBLIC_READ } from './public-read.ts'

/*
 * The popup script customers' snippets load (apps/embed/dist/nudge.js, bundled into the Worker at
 * build time). `/nudge.js` is the snippet's URL: browsers re-check it every five minutes and may
 * use a day-old copy while they do, so a new script reaches every page within minutes.
 * `/widget.js`, the old system's snippet's URL, is the same as `/nudge.js`.
 * `/nudge.<first 10 hex of its SHA-256>.js` is this build's own URL, cached for good: only the
 * current hash is served (an old one is 404), so an immutable copy is never the wrong script.
 */

export const SCRIPT_CONTENT_TYPE = 'text/javascript; charset=utf-8'
export const SNIPPET_CACHE_CONTROL = 'public, max-age=300, stale-while-revalidate=86400'
export const VERSIONED_CACHE_CONTROL = 'public, max-age=31536000, immutable'

// /widget.js: the old system's snippet's URL (Go-Live: the old CDN hostname is routed here), the
// same script under the snippet's caching; the script finds an old snippet's tag too.
const SCRIPT_PATH = /^\/(?:nudge(?:\.([0-9a-f]{10}))?|widget)\.js$/

const BYTES = new TextEncoder().encode(SOURCE)

interface Identity {
  /** The first 10 hex of the script's SHA-256: its versioned URL. */
  hash: string
  etag: string
}

// Once per isolate, on the first request (no I/O or hashing at module scope).
let identity: Promise<Identity> | undefined
export function scriptIdentity(): Promise<Identity> {
  identity ??= crypto.subtle.digest('SHA-256', BYTES).then((digest) => {
    const hex = Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('')
    return { hash: hex.slice(0, 10), etag: `"${hex.slice(0, 32)}"` }
  })
  return identity
}

/** The script a path names: the snippet's URL, or a versioned one (with the hash it names). */
export function scriptRoute(pathname: string): { versioned: string | null } | null {
  const match = SCRIPT_PATH.exec(pathname)
  return match ? { versioned: match[1] ?? null } : null
}

export async function serveScript(
  request: EdgeRequest,
  route: { versioned: string | null },
): Promise<Response> {
  const { hash, etag } = await scriptIdentity()
  if (route.versioned !== null && route.versioned !== hash) {
    return errorResponse(
      404,
      'NOT_FOUND',
      `No script of version ${route.versioned} is served (the current one is /nudge.${hash}.js)`,
      PUBLIC_READ,
    )
  }
  const headers = new Headers({
    ...PUBLIC_READ,
    'content-type': SCRIPT_CONTENT_TYPE,
    'cache-control': route.versioned === null ? SNIPPET_CACHE_CONTROL : VERSIONED_CACHE_CONTROL,
    etag,
  })
  if (noneMatchHits(request.headers.get('if-none-match'), etag))
    return new Response(null, { status: 304, headers })
  return new Response(request.method === 'HEAD' ? null : BYTES, { status: 200, headers })
}
