import type { AfterCommit } from '@nudge/db'
import type { FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.ts'
import { NotThroughEdge } from '../../errors.ts'
import type { VisitorOrigins } from '../../plugins/http.ts'
import * as sites from './site-repository.ts'

/*
 * Which pages may call the visitors' routes: the CORS answer for `/public/v1` (the http plugin
 * asks through `visitorOrigins`) and the checks of each visitor's write against its campaign's site.
 */

// Also dropped when a site with this hostname is added, deleted or its settings change; the TTL
// bounds how long a scan of made-up names is remembered.
const HOST_TTL_SECONDS = 30
// One entry per hostname that is (or is not) a site, so a change to a site drops every answer that
// depends on it, its subdomains' included: those are read from the site's own entry.
const siteHostKey = (hostname: string) => `visitor:site-host:${hostname}`

/** After a change to what the site's hostname allows commits: every worker asks the database again. */
export function forgetKnownHost(cache: Deps['cache'], afterCommit: AfterCommit, hostname: string) {
  afterCommit(() => cache.del(siteHostKey(hostname)))
}

/**
 * Parent domains of a page's host looked up as sites letting subdomains in: those of 2 to 10
 * labels. A site of more labels still matches its own pages; its subdomains' are refused.
 */
const MAX_PARENT_LABELS = 10

/** What a hostname is to us: a site's own, and whether pages on it may call `/public/v1`. */
export interface KnownHost {
  site: boolean
  /** The hostname of a site, or a subdomain of a site whose `settings.allowSubdomains` is true. */
  origin: boolean
  /**
   * Whose site document a page on this host is served: the hostname itself when it is a site's,
   * else the nearest parent domain that is a site letting subdomains in; null when neither.
   */
  siteHostname: string | null
}

/** What one hostname is: a site's, and whether that site lets its subdomains in. */
interface SiteHost {
  site: boolean
  allowSubdomains: boolean
}

/**
 * One lookup for the site document's unknown-hostname answer and the CORS check of visitors'
 * requests. `hostname` must already be lower case and bounded (253). The hostname and each parent
 * domain of two labels or more (sites have at least two) is cached on its own, so the answer for
 * a subdomain changes with its site's settings; the candidates missing from the cache are read by
 * one query, however many there are; `beforeQuery` runs before that query (a request limit).
 */
export async function knownHost(
  deps: Deps,
  hostname: string,
  beforeQuery?: () => Promise<void>,
): Promise<KnownHost> {
  const labels = hostname.split('.')
  if (labels.length < 2) return { site: false, origin: false, siteHostname: null }
  // The hostname itself, and its parents of two to MAX_PARENT_LABELS labels: a made-up host of
  // a hundred labels would otherwise put a hundred entries in the cache (evicting real ones).
  const parents = labels
    .slice(1, -1)
    .map((_, index) => labels.slice(index + 1).join('.'))
    .slice(-(MAX_PARENT_LABELS - 1))
  const candidates = [hostname, ...parents]
  let rows: Promise<Map<string, SiteHost>> | undefined
  const load = () => {
    rows ??= (beforeQuery ? beforeQuery() : Promise.resolve())
      .then(() => sites.findSitesByHostname(deps.db, candidates))
      .then(
        (found) =>
          new Map(
            found.map((row) => [
              row.hostname,
              { site: true, allowSubdomains: row.settings.allowSubdomains === true },
            ]),
          ),
      )
    return rows
  }
  const answers = await Promise.all(
    candidates.map((candidate) =>
      deps.cache.wrap<SiteHost>(
        siteHostKey(candidate),
        HOST_TTL_SECONDS,
        async () => (await load()).get(candidate) ?? { site: false, allowSubdomains: false },
      ),
    ),
  )
  const site = answers[0]?.site === true
  // Nearest first: shop.example.com's own settings decide for a.shop.example.com, not example.com's.
  const parent = parents.find((_, index) => answers[index + 1]?.site && answers[index + 1]?.allowSubdomains)
  return { site, origin: site || parent !== undefined, siteHostname: site ? hostname : (parent ?? null) }
}

/**
 * The host of an `Origin` header (http or https), lower case; null when it has none we could match
 * (no hostname is longer than 253 characters). The one parser of Origins, for CORS and for checkOrigin.
 */
export function originHost(origin: string): string | null {
  const url = URL.parse(origin)
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return null
  const host = url.hostname
  return host.length > 0 && host.length <= 253 ? host : null
}

/** What the http plugin asks about the Origins of visitors' requests (CORS for `/public/v1`). */
export function visitorOrigins(deps: Deps): VisitorOrigins {
  return {
    hostOf: originHost,
    allows: async (host, beforeQuery) => (await knownHost(deps, host, beforeQuery)).origin,
  }
}

/**
 * The page a visitor's browser is on must belong to the campaign's site: the `Origin` header
 * (which browsers set on every cross-origin request and scripts cannot forge) names its host.
 */
export function originMatches(
  origin: string | undefined,
  site: { hostname: string; allowSubdomains: boolean },
) {
  const host = origin ? originHost(origin) : null
  if (host === null) return false
  return host === site.hostname || (site.allowSubdomains && host.endsWith(`.${site.hostname}`))
}

/**
 * Throws 403 NOT_THROUGH_EDGE for a visitor write that did not come through the edge, in
 * production: visitors' reports spend a team's quota and reach its leads and integrations, and
 * only at the edge is the visitor's address known and limited (a script writes any Origin it likes).
 */
export function checkThroughEdge(config: { NODE_ENV: string }, request: FastifyRequest) {
  if (config.NODE_ENV === 'production' && !request.edge.viaEdge) throw new NotThroughEdge()
}
