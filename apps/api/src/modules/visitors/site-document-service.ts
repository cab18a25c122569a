import { createHash } from 'node:crypto'
import type { AfterCommit } from '@nudge/db'
import type { Deps } from '../../deps.ts'
import { NotFound } from '../../errors.ts'
import { publishedFeatures } from '../flags/released.ts'
import { campaignDocument, OBJECT_CONTENT_TYPE, siteDocument } from '../publishing/documents.ts'
import { findCampaignInTest, listLiveCampaigns } from '../publishing/repository.ts'
import { forgetKnownHost, knownHost, originMatches } from './origin.ts'
import { findSiteByHostname } from './site-repository.ts'

/**
 * What `GET /public/v1/sites/:hostname` serves: the site's document with its live campaigns, for
 * the Worker's cache misses and for local development. The hot path of the product: a request that
 * finds the document in the cache does no query and no serialisation, it sends bytes built once
 * per publish.
 */

// Dropped after every publish of the site (forgetSiteDocument); the TTL bounds how long a worker
// that missed an invalidation (the bus down) serves an old document.
const DOCUMENT_TTL_SECONDS = 300
// v2: with the site's origins (an entry of another release without them is never read).
const documentKey = (hostname: string) => `visitor:site-document:v2:${hostname}`

/** Browsers keep it a minute; Cloudflare five, then serves it while it fetches the next one. */
export const SITE_DOCUMENT_CACHE_CONTROL = 'public, max-age=60, s-maxage=300, stale-while-revalidate=600'

export interface CachedDocument {
  body: string
  /** Strong: the same bytes always give the same tag, on every worker. */
  etag: string
  /** Whose pages may read it (its CORS answer): the site's hostname, and its subdomains if it lets them in. */
  hostname: string
  allowSubdomains: boolean
}

/** What a worker sends for a document, made once per worker and document (so once per publish). */
export interface ServedDocument {
  etag: string
  /**
   * The JSON text, sent as a string: Node writes a string body together with the headers in one
   * write, where a Buffer goes as a second buffer of a writev (about 5-10 % more CPU per small
   * response, measured side by side on a bare Fastify).
   */
  body: string
  /** The response headers but CORS: etag, cache-control, content-type. */
  headers: Readonly<Record<string, string>>
  /** Whether a page at `origin` (an Origin header) may read the document: the site's pages only. */
  allows(origin: string): boolean
}

/**
 * After a publish of the site commits (or its creation, deletion or a change of its settings):
 * every worker drops both entries.
 */
export function forgetSiteDocument(cache: Deps['cache'], afterCommit: AfterCommit, hostname: string) {
  afterCommit(() => cache.del(documentKey(hostname)))
  forgetKnownHost(cache, afterCommit, hostname)
}

/**
 * The hostname as sites store it, the cheap way (no punycode, no URL parsing): anything that
 * cannot be a stored hostname is null, and is answered 404 without touching cache or database.
 */
function storedHostname(raw: string): string | null {
  if (raw.length > 254) return null
  let hostname = raw.toLowerCase()
  if (hostname.endsWith('.')) hostname = hostname.slice(0, -1)
  return hostname.length <= 253 && HOSTNAME.test(hostname) ? hostname : null
}
/** Letters, digits and hyphens, in labels separated by single dots. */
const HOSTNAME = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*$/

/** Thrown inside the cache's load (so nothing is stored); answered as a fresh 404 per request. */
class UnknownSite extends Error {}

/** Thrown inside the cache's load: the hostname is a subdomain the site `hostname` lets in. */
class SubdomainOf extends Error {
  readonly hostname: string
  constructor(hostname: string) {
    super(hostname)
    this.hostname = hostname
  }
}

/**
 * The site's document for a hostname as a visitor's page names it: the cached one, else built from
 * the database (and cached until the site's next publish). A page on a subdomain of a site that
 * lets subdomains in is answered its site's document (nothing is published under the subdomain's
 * name, so the Worker asks here). 404 for a hostname that is no site's.
 */
export async function cachedSiteDocument(deps: Deps, input: { hostname: string }): Promise<CachedDocument> {
  const hostname = storedHostname(input.hostname)
  if (hostname === null) throw new NotFound('Site')
  try {
    return await deps.cache.wrap(documentKey(hostname), DOCUMENT_TTL_SECONDS, async () => {
      // A name nobody registered is remembered briefly under its own key: a scan of made-up
      // hostnames reaches the database once per name, not once per request.
      const known = await knownHost(deps, hostname)
      if (!known.site) throw known.siteHostname ? new SubdomainOf(known.siteHostname) : new UnknownSite()
      const site = await findSiteByHostname(deps.db, hostname)
      if (!site) throw new UnknownSite()
      // publishSite drops this cache entry on every worker when the live campaigns change (a team
      // past its impression quota included).
      const live = await listLiveCampaigns(deps.db, site.id)
      const body = siteDocument(site, live, await publishedFeatures(deps, site.team_id))
      return {
        body,
        etag: `"${createHash('sha256').update(body).digest('base64url')}"`,
        hostname: site.hostname,
        allowSubdomains: site.settings.allowSubdomains === true,
      }
    })
  } catch (error) {
    if (error instanceof UnknownSite) throw new NotFound('Site')
    // The site's own entry, which its publishes drop; the subdomain's answer is never cached, so
    // a change of the site's settings (forgetKnownHost) shows at once.
    if (error instanceof SubdomainOf) return cachedSiteDocument(deps, { hostname: error.hostname })
    throw error
  }
}

// Keyed by the cached object itself (the cache's local level hands out the same one until the next
// publish), so what is made from it goes when the document goes; not a field of it, which memcached
// would copy.
const served = new WeakMap<CachedDocument, ServedDocument>()
/** Origins a document has allowed, remembered so a page's next request parses nothing. */
const REMEMBERED_ORIGINS = 8

/**
 * The site's document as it is sent: the bytes and headers of the cached document (see
 * cachedSiteDocument), and its CORS answer, which needs no lookup either: it is part of the
 * document, and goes with it on every change of the site (forgetSiteDocument).
 */
export async function servedSiteDocument(deps: Deps, input: { hostname: string }): Promise<ServedDocument> {
  const document = await cachedSiteDocument(deps, input)
  let ready = served.get(document)
  if (!ready) {
    ready = serve(document)
    served.set(document, ready)
  }
  return ready
}

function serve(document: CachedDocument): ServedDocument {
  const allowed = new Set<string>()
  return {
    etag: document.etag,
    body: document.body,
    headers: {
      etag: document.etag,
      'cache-control': SITE_DOCUMENT_CACHE_CONTROL,
      'content-type': OBJECT_CONTENT_TYPE,
    },
    allows(origin) {
      if (allowed.has(origin)) return true
      if (!originMatches(origin, document)) return false
      if (allowed.size < REMEMBERED_ORIGINS) allowed.add(origin)
      return true
    },
  }
}

/**
 * A campaign in test on the site, as campaigns/test/{id}.json holds it, read fresh every time (an
 * edit shows on the next preview). 404 otherwise, the same for every reason.
 */
export async function previewDocument(
  deps: Deps,
  input: { hostname: string; campaignId: string },
): Promise<Buffer> {
  const hostname = storedHostname(input.hostname)
  if (hostname === null) throw new NotFound('Campaign')
  const campaign = await findCampaignInTest(deps.db, hostname, input.campaignId)
  if (!campaign) throw new NotFound('Campaign')
  return campaignDocument(campaign)
}
