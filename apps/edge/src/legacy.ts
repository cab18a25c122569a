import type { EdgeRequest, Env } from './env.ts'
import { errorResponse } from './errors.ts'
import { objectRoute, serveObject } from './objects.ts'
import { PUBLIC_READ } from './public-read.ts'

/*
 * Go-Live's transition (tools/legacy/README.md): the old CDN hostname is routed to this Worker,
 * and snippets already on customers' pages ask it for the old object names, by the old system's
 * numbers: /w/{domainId}.json (the site's document) and /c/{campaignId}.json (a live campaign).
 * `golive migrate` publishes the legacy map, `legacy/map.json` in the bucket:
 *   { "until": "<ISO>", "domains": { "17": "shop.example.com" }, "campaigns": { "123": "<uuid>" } }
 * and each old name is served as the object it maps to (same bytes, headers, 304s and API fallback).
 * After `until`, or with no map (`golive legacy-map --remove`), they are 404.
 */

export const LEGACY_MAP_KEY = 'legacy/map.json'

/** How long an isolate keeps the map it read (or that there was none): a change shows within this. */
export const LEGACY_MAP_TTL_MS = 60_000

// The old ids were serials: no sign, no leading zero, at most 10 digits. Anything else (/w/017.json,
// /w/17.json/, /w/..%2f.json) names nothing and is answered without reading the map.
const LEGACY_PATH = /^\/(w|c)\/([1-9][0-9]{0,9})\.json$/

export type LegacyRoute = { kind: 'domain' | 'campaign'; legacyId: string }

/** The old object a path names, or null when it names none. */
export function legacyRoute(pathname: string): LegacyRoute | null {
  const match = LEGACY_PATH.exec(pathname)
  if (!match?.[2]) return null
  return { kind: match[1] === 'w' ? 'domain' : 'campaign', legacyId: match[2] }
}

interface LegacyMap {
  until: number
  domains: Record<string, unknown>
  campaigns: Record<string, unknown>
}

/*
 * Per isolate: the map read at most once a minute, however many requests ask, rather than a bucket
 * read per request. About 50 bytes per old campaign: 2,000 accounts' 10,000 campaigns make 520 KB,
 * parsed in about 4 ms (Node 24's V8), once a minute per isolate.
 */
let cached: { at: number; map: Promise<LegacyMap | null> } | undefined

function legacyMap(env: Env, now: number): Promise<LegacyMap | null> {
  if (cached && now - cached.at < LEGACY_MAP_TTL_MS) return cached.map
  const map = readMap(env)
  cached = { at: now, map }
  // A bucket that failed is asked again by the next request, not a minute later.
  map.catch(() => {
    if (cached?.map === map) cached = undefined
  })
  return map
}

async function readMap(env: Env): Promise<LegacyMap | null> {
  const object = await env.OBJECTS.get(LEGACY_MAP_KEY)
  if (object === null || !('body' in object)) return null
  let parsed: unknown
  try {
    parsed = JSON.parse(await new Response(object.body).text())
  } catch {
    // Not what `golive migrate` writes: as good as no map (the old names are 404, nothing breaks).
    return null
  }
  if (typeof parsed !== 'object' || parsed === null) return null
  const { until, domains, campaigns } = parsed as Record<string, unknown>
  const ends = typeof until === 'string' ? Date.parse(until) : Number.NaN
  if (Number.isNaN(ends)) return null
  const table = (value: unknown) =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {}
  return { until: ends, domains: table(domains), campaigns: table(campaigns) }
}

function notMapped(route: LegacyRoute): Response {
  return errorResponse(
    404,
    'NOT_FOUND',
    `No ${route.kind} ${route.legacyId} is served under its old name (any more)`,
    PUBLIC_READ,
  )
}

/** The object an old name maps to, served as under its own name; 404 when it maps to none now. */
export async function serveLegacy(request: EdgeRequest, env: Env, route: LegacyRoute): Promise<Response> {
  const now = Date.now()
  let map: LegacyMap | null
  try {
    map = await legacyMap(env, now)
  } catch {
    return errorResponse(503, 'LEGACY_MAP_UNAVAILABLE', 'The legacy map could not be read; try again shortly')
  }
  if (map === null || now >= map.until) return notMapped(route)
  const table = route.kind === 'domain' ? map.domains : map.campaigns
  const target = Object.hasOwn(table, route.legacyId) ? table[route.legacyId] : undefined
  // Through the object routes' own patterns: a value in the map that names no object we publish
  // (a path, a URL, another bucket's key) is no object here either.
  const object =
    typeof target !== 'string'
      ? null
      : objectRoute(
          route.kind === 'domain' ? `/domains/${target}.json` : `/campaigns/production/${target}.json`,
        )
  if (object === null) return notMapped(route)
  return serveObject(request, env, object)
}
