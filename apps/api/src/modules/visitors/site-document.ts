import { createHash } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Cache } from '@nudge/cache'
import type { AfterCommit, DB } from '@nudge/db'
import type { Flags } from '@nudge/flags'
import type { FastifyReply } from 'fastify'
import type { Kysely } from 'kysely'
import { Type } from 'typebox'
import { ErrorResponse, NotFound } from '../../errors.ts'
import { CampaignType } from '../campaigns/content.ts'
import { publishedFeatures } from '../flags/released.ts'
import { campaignDocument, OBJECT_CONTENT_TYPE, siteDocument } from '../publishing/documents.ts'
import { visitorLimits } from './limits.ts'

/**
 * `GET /public/v1/sites/:hostname`: the site's document with its live campaigns, for the Worker's
 * cache misses and for local development. The hot path of the product: a request that finds the
 * document in the cache does no query and no serialisation, it sends bytes built once per publish.
 */

type Deps = { db: Kysely<DB>; cache: Cache; flags?: Pick<Flags, 'evaluateMarked'> }

// Dropped after every publish of the site (forgetSiteDocument); the TTL bounds how long a worker
// that missed an invalidation (the bus down) serves an old document.
const DOCUMENT_TTL_SECONDS = 300
// Also dropped when a site with this hostname is added, deleted or its settings change; the TTL
// bounds how long a scan of made-up names is remembered.
const HOST_TTL_SECONDS = 30
const documentKey = (hostname: string) => `visitor:site-document:${hostname}`
// One entry per hostname that is (or is not) a site, so a change to a site drops every answer that
// depends on it, its subdomains' included: those are read from the site's own entry.
const siteHostKey = (hostname: string) => `visitor:site-host:${hostname}`

/** Browsers keep it a minute; Cloudflare five, then serves it while it fetches the next one. */
export const SITE_DOCUMENT_CACHE_CONTROL = 'public, max-age=60, s-maxage=300, stale-while-revalidate=600'

interface CachedDocument {
  body: string
  /** Strong: the same bytes always give the same tag, on every worker. */
  etag: string
}

/** After a publish of the site commits (or its creation or deletion): every worker drops both entries. */
export function forgetSiteDocument(cache: Cache, afterCommit: AfterCommit, hostname: string) {
  afterCommit(() => cache.del(documentKey(hostname)))
  forgetKnownHost(cache, afterCommit, hostname)
}

/** After a change to what the site's hostname allows commits: every worker asks the database again. */
export function forgetKnownHost(cache: Cache, afterCommit: AfterCommit, hostname: string) {
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
  if (labels.length < 2) return { site: false, origin: false }
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
      .then(() =>
        deps.db
          .selectFrom('sites')
          .select(['hostname', 'settings'])
          .where('hostname', 'in', candidates)
          .execute(),
      )
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
  const parent = answers.slice(1).some((answer) => answer.site && answer.allowSubdomains)
  return { site, origin: site || parent }
}

/** The host of an `Origin` header (http or https), lower case; null when it has none we could match. */
export function originHost(origin: string): string | null {
  const url = URL.parse(origin)
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return null
  const host = url.hostname
  return host.length > 0 && host.length <= 253 ? host : null
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

/** What a published campaign document is built from (documents.ts). */
const PUBLISHED_COLUMNS = [
  'campaigns.id',
  'campaigns.version',
  'campaigns.type',
  'campaigns.variants',
  'campaigns.targeting',
  'campaigns.frequency',
  'campaigns.schedule',
] as const

/** Thrown inside the cache's load (so nothing is stored); answered as a fresh 404 per request. */
class UnknownSite extends Error {}

/** The cached document, else built from the database (and cached until the site's next publish). */
function cachedDocument(deps: Deps, hostname: string): Promise<CachedDocument> {
  return deps.cache.wrap(documentKey(hostname), DOCUMENT_TTL_SECONDS, async () => {
    // A name nobody registered is remembered briefly under its own key: a scan of made-up
    // hostnames reaches the database once per name, not once per request.
    if (!(await knownHost(deps, hostname)).site) throw new UnknownSite()
    const site = await deps.db
      .selectFrom('sites')
      .select(['id', 'hostname', 'team_id'])
      .where('hostname', '=', hostname)
      .executeTakeFirst()
    if (!site) throw new UnknownSite()
    // A team past its impression quota serves no campaigns (publishSite drops this cache entry
    // on every worker when that changes).
    const live = await deps.db
      .selectFrom('campaigns')
      .innerJoin('teams', 'teams.id', 'campaigns.team_id')
      .select(PUBLISHED_COLUMNS)
      .where('campaigns.site_id', '=', site.id)
      .where('campaigns.status', '=', 'live')
      .where('teams.campaigns_suspended_at', 'is', null)
      .execute()
    const body = siteDocument(site, live, await publishedFeatures(deps, site.team_id))
    return { body, etag: `"${createHash('sha256').update(body).digest('base64url')}"` }
  })
}

// Keyed by the cached object itself (the cache's local level hands out the same one until the next
// publish), so the bytes go when the document goes; not a field of it, which memcached would copy.
const encoded = new WeakMap<CachedDocument, Buffer>()

function bytesOf(document: CachedDocument): Buffer {
  let bytes = encoded.get(document)
  if (!bytes) {
    bytes = Buffer.from(document.body)
    encoded.set(document, bytes)
  }
  return bytes
}

/** If-None-Match names this tag: strong, or weakened (`W/`) as Cloudflare passes it on. */
function notModified(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  if (ifNoneMatch === etag || ifNoneMatch === `W/${etag}` || ifNoneMatch.trim() === '*') return true
  return ifNoneMatch.split(',').some((tag) => {
    const trimmed = tag.trim()
    return trimmed === etag || trimmed === `W/${etag}`
  })
}

const PublishedCampaign = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    v: Type.Integer({ description: 'the campaign’s version' }),
    type: CampaignType,
    variants: Type.Array(
      Type.Object({
        id: Type.String(),
        weight: Type.Integer(),
        steps: Type.Array(Type.Unknown(), {
          description: 'the variant’s steps, as the dashboard built them',
        }),
      }),
      { description: 'variants with a weight above 0' },
    ),
    targeting: Type.Optional(
      Type.Unknown({ description: 'on which pages and for whom (the campaign’s targeting)' }),
    ),
    frequency: Type.Optional(
      Type.Unknown({ description: 'how often a visitor sees it (the campaign’s frequency)' }),
    ),
    schedule: Type.Optional(Type.Unknown({ description: 'when it runs; absent when always' })),
  },
  { description: 'A live campaign, as campaigns/production/{id}.json holds it' },
)

const SiteDocument = Type.Object(
  {
    site: Type.String({ format: 'uuid' }),
    hostname: Type.String(),
    campaigns: Type.Optional(Type.Array(PublishedCampaign, { description: 'absent when none is live' })),
    features: Type.Optional(
      Type.Array(Type.String(), {
        description:
          'released features: flags marked published that are on for the site’s team, as of its last publish; absent when none',
      }),
    ),
  },
  {
    $id: 'SiteDocument',
    description:
      'domains/{hostname}.json with the live campaigns embedded; no nulls, no empty lists, no dashboard-only fields',
  },
)

const SiteDocumentParams = Type.Object({
  hostname: Type.String({
    description: 'the site’s hostname as it was added (case and a trailing dot do not matter)',
    examples: ['shop.example.com'],
  }),
})

const PreviewParams = Type.Object({
  hostname: SiteDocumentParams.properties.hostname,
  campaignId: Type.String({
    format: 'uuid',
    description: 'the nudge_preview parameter of the page: a campaign in test on this site',
    examples: ['01936f0e-7c1a-7000-8000-000000000000'],
  }),
})

export const siteDocumentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const deps: Deps = { db: app.db, cache: app.cache, flags: app.flags }
  app.get(
    '/public/v1/sites/:hostname',
    {
      config: { rateLimit: visitorLimits(app).perClient },
      schema: {
        tags: ['visitors'],
        operationId: 'getSiteDocument',
        summary: 'The site’s live campaigns, as visitors’ browsers read them',
        description:
          'Carries a strong ETag (answers 304 to If-None-Match with it, weak or strong) and ' +
          `Cache-Control: ${SITE_DOCUMENT_CACHE_CONTROL}. Changes on the next request after a publish.`,
        params: SiteDocumentParams,
        response: {
          200: SiteDocument,
          304: { type: 'null', description: 'Not modified: the ETag in If-None-Match is current' },
          404: ErrorResponse,
          429: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const hostname = storedHostname(request.params.hostname)
      if (hostname === null) throw new NotFound('Site')
      let document: CachedDocument
      try {
        document = await cachedDocument(deps, hostname)
      } catch (error) {
        if (error instanceof UnknownSite) throw new NotFound('Site')
        throw error
      }
      // The schema describes the JSON text sent here; the type provider's types want an object.
      const raw = reply as unknown as FastifyReply
      raw.header('etag', document.etag).header('cache-control', SITE_DOCUMENT_CACHE_CONTROL)
      if (notModified(request.headers['if-none-match'], document.etag)) return raw.code(304).send()
      // Bytes encoded once per worker and document: neither serialised nor UTF-8 encoded per request.
      return raw.type(OBJECT_CONTENT_TYPE).send(bytesOf(document))
    },
  )

  // The test version is never in the site document: a page shows it only when its URL carries the
  // preview parameter (GET …/campaigns/:id/preview gives that URL), and asks for it here by id.
  app.get(
    '/public/v1/sites/:hostname/preview/:campaignId',
    {
      config: { rateLimit: visitorLimits(app).perClient },
      schema: {
        tags: ['visitors'],
        operationId: 'getPreviewDocument',
        summary:
          'A campaign in test, as campaigns/test/{id}.json holds it, for a page opened with nudge_preview',
        description:
          'Answers only for a campaign in test on this site (404 otherwise, the same for every reason), ' +
          'with Cache-Control: no-store, so an edit shows on the next preview and no cache keeps it.',
        params: PreviewParams,
        response: {
          200: PublishedCampaign,
          404: ErrorResponse,
          429: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const hostname = storedHostname(request.params.hostname)
      if (hostname === null) throw new NotFound('Campaign')
      const campaign = await app.db
        .selectFrom('campaigns')
        .innerJoin('sites', 'sites.id', 'campaigns.site_id')
        .select(PUBLISHED_COLUMNS)
        .where('sites.hostname', '=', hostname)
        .where('campaigns.id', '=', request.params.campaignId)
        .where('campaigns.status', '=', 'test')
        .executeTakeFirst()
      if (!campaign) throw new NotFound('Campaign')
      const raw = reply as unknown as FastifyReply
      return raw
        .header('cache-control', 'no-store')
        .type(OBJECT_CONTENT_TYPE)
        .send(campaignDocument(campaign))
    },
  )
}
