import type { Cache } from '@nudge/cache'
import { type AfterCommit, type DB, transaction } from '@nudge/db'
import type { EdgeCache } from '@nudge/edge'
import type { Flags } from '@nudge/flags'
import { contentEtag, type ObjectStorage } from '@nudge/storage'
import type { FastifyBaseLogger } from 'fastify'
import { type Kysely, sql, type Transaction } from 'kysely'
import { forgetCampaignList } from '../campaigns/list-cache.ts'
import { publishedFeatures } from '../flags/released.ts'
import { forgetVisitorCampaign } from '../visitors/published.ts'
import { forgetSiteDocument } from '../visitors/site-document.ts'
import {
  campaignDocument,
  domainDocument,
  OBJECT_CACHE_CONTROL,
  OBJECT_CONTENT_TYPE,
  OBJECT_PREFIXES,
  objectKey,
  publishedTerms,
} from './documents.ts'

export interface PublishDeps {
  db: Kysely<DB>
  cache: Cache
  storage: ObjectStorage
  edgeCache: EdgeCache
  log: FastifyBaseLogger
  /** The released features in each site document (none without it). */
  flags?: Pick<Flags, 'evaluateMarked'> | undefined
}

/** What a publish did to the edge: keys written and deleted, and the cache purge. */
export interface PublishReport {
  written: string[]
  deleted: string[]
  unchanged: number
  /** URLs purged from Cloudflare's cache (0 when purging is not configured). */
  purged: number
  /** URLs whose purge failed and waits for the next publish or republish. */
  purgePending: number
}

export function emptyReport(): PublishReport {
  return { written: [], deleted: [], unchanged: 0, purged: 0, purgePending: 0 }
}

// Every publish holds this lock shared; republish's sweep holds it exclusively, so it never
// deletes an object that a publish in flight has just written for a row not yet committed.
const PUBLISH_LOCK = 7_001_001

/**
 * Locks a site for publishing, in the caller's transaction. Every change that alters what the
 * edge serves for a site takes this lock first (then the campaign's row), so publishes of one
 * site run one after another and each builds from the state the one before it committed: the
 * last to write is the last to commit, and the edge is never older than the database says.
 */
export async function lockSiteForPublish(trx: Transaction<DB>, siteId: string) {
  await sql`SELECT pg_advisory_xact_lock_shared(${PUBLISH_LOCK})`.execute(trx)
  return trx.selectFrom('sites').selectAll().where('id', '=', siteId).forUpdate().executeTakeFirst()
}

/**
 * Brings the edge objects of a site (its domain document) and of the given campaigns to what
 * the database says inside `trx`, which must hold the site's lock (`lockSiteForPublish`).
 * Only objects whose bytes differ are written; objects that should not exist are deleted.
 * A storage failure throws (STORAGE_FAILED, 502): the caller's transaction rolls back, so a
 * campaign's status and published version stay as they were. Records each campaign's
 * published version. Once the transaction commits, purges the changed URLs (see `purge`).
 */
export async function publishSite(
  trx: Transaction<DB>,
  afterCommit: AfterCommit,
  deps: PublishDeps,
  scope: { siteId: string; hostname: string; campaignIds: string[] },
): Promise<PublishReport> {
  const desired = new Map<string, Buffer | null>()
  const site = await trx
    .selectFrom('sites')
    .select(['id', 'hostname', 'team_id'])
    .where('id', '=', scope.siteId)
    .executeTakeFirst()
  if (site) {
    // A team past its impression quota (and the grace) serves no campaigns until it is back under.
    const live = await trx
      .selectFrom('campaigns')
      .innerJoin('teams', 'teams.id', 'campaigns.team_id')
      .select(['campaigns.id', 'campaigns.version'])
      .where('campaigns.site_id', '=', site.id)
      .where('campaigns.status', '=', 'live')
      .where('teams.campaigns_suspended_at', 'is', null)
      .execute()
    desired.set(
      objectKey.domain(site.hostname),
      // Read through this transaction: a second connection per publish could exhaust the pool.
      domainDocument(site, live, await publishedFeatures({ ...deps, db: trx }, site.team_id)),
    )
  } else {
    desired.set(objectKey.domain(scope.hostname), null)
  }
  const campaigns =
    scope.campaignIds.length > 0
      ? await trx.selectFrom('campaigns').selectAll().where('id', 'in', scope.campaignIds).execute()
      : []
  for (const id of scope.campaignIds) {
    const campaign = campaigns.find((row) => row.id === id)
    const onSite = campaign && site && campaign.site_id === site.id
    const status = onSite ? campaign.status : 'gone'
    desired.set(objectKey.production(id), status === 'live' && campaign ? campaignDocument(campaign) : null)
    desired.set(objectKey.test(id), status === 'test' && campaign ? campaignDocument(campaign) : null)
  }

  const report = await syncObjects(deps, desired)
  // The API's copy of the document (and a cached "no such site" for a site just added), before
  // the purge: after-commit work runs in order, and Cloudflare may be slow.
  forgetSiteDocument(deps.cache, afterCommit, scope.hostname)
  afterCommit(() => purge(deps, [...report.written, ...report.deleted], report))

  for (const campaign of campaigns) {
    const publishedVersion =
      campaign.status === 'live' || campaign.status === 'test' ? campaign.version : null
    const terms = publishedVersion === null ? null : publishedTerms(campaign.variants)
    const variantIds = terms && remembered(campaign.published_variant_ids, terms.variantIds)
    const consentVersions = terms && remembered(campaign.published_consent_versions, terms.consentVersions)
    if (variantIds || consentVersions) {
      await trx
        .updateTable('campaigns')
        .set({
          ...(variantIds && { published_variant_ids: variantIds }),
          ...(consentVersions && { published_consent_versions: consentVersions }),
        })
        .where('id', '=', campaign.id)
        .execute()
      forgetVisitorCampaign(deps.cache, afterCommit, campaign.id)
    }
    if (campaign.published_version === publishedVersion) continue
    await trx
      .updateTable('campaigns')
      .set({
        published_version: publishedVersion,
        published_at: publishedVersion === null ? null : new Date(),
      })
      .where('id', '=', campaign.id)
      .execute()
    forgetCampaignList(deps.cache, afterCommit, campaign.team_id)
  }
  return report
}

/**
 * Variant ids and consent versions a campaign remembers having published: enough for every
 * edit a marketer makes to a running campaign, bounded so a script editing in a loop cannot
 * grow the row (and every visitor's cached copy) without end; the oldest go first.
 */
const MAX_REMEMBERED = 50

/** The earlier list with the current names moved to its end, or null when nothing is new. */
function remembered(earlier: string[], current: string[]): string[] | null {
  if (current.every((name) => earlier.includes(name))) return null
  const retired = earlier.filter((name) => !current.includes(name))
  return [...retired, ...current].slice(-MAX_REMEMBERED)
}

/** Writes or deletes each key whose stored bytes differ from the desired ones (null = absent). */
async function syncObjects(deps: PublishDeps, desired: Map<string, Buffer | null>): Promise<PublishReport> {
  const report = emptyReport()
  const current = await Promise.all([...desired.keys()].map((key) => deps.storage.etag(key)))
  const toDelete: string[] = []
  const writes: Array<Promise<void>> = []
  let index = 0
  for (const [key, body] of desired) {
    const etag = current[index++]
    if (body === null) {
      if (etag !== null) toDelete.push(key)
    } else if (etag === contentEtag(body)) {
      report.unchanged++
    } else {
      report.written.push(key)
      writes.push(
        deps.storage.put(key, body, { contentType: OBJECT_CONTENT_TYPE, cacheControl: OBJECT_CACHE_CONTROL }),
      )
    }
  }
  await Promise.all(writes)
  if (toDelete.length > 0) await deps.storage.delete(toDelete)
  report.deleted = toDelete
  return report
}

/**
 * One purge call (batched by the edge layer) for the changed keys plus any URL an earlier purge
 * failed on, after the commit: Cloudflare may be slow, and the site's lock is not held for it.
 * A failed purge does not undo the publish (storage and database agree; only Cloudflare's copy
 * is stale): its URLs are kept and purged by the next publish or republish.
 */
async function purge(deps: PublishDeps, keys: string[], report: PublishReport) {
  if (!deps.edgeCache.enabled) return
  // After the commit, an error has no request to fail: it is logged, and the cache expires by itself.
  await purgeOrKeep(deps, keys, report).catch((error: unknown) => {
    deps.log.error({ err: error }, 'cache purge bookkeeping failed')
  })
}

async function purgeOrKeep(deps: PublishDeps, keys: string[], report: PublishReport) {
  const pending = (await deps.db.selectFrom('edge_purges_pending').select('url').execute()).map(
    (row) => row.url,
  )
  const urls = [...new Set([...keys.map((key) => deps.edgeCache.urlOf(key)), ...pending])]
  if (urls.length === 0) return
  try {
    await deps.edgeCache.purge(urls)
    if (pending.length > 0)
      await deps.db.deleteFrom('edge_purges_pending').where('url', 'in', pending).execute()
    report.purged = urls.length
  } catch (error) {
    deps.log.warn({ err: error, urls: urls.length }, 'cache purge failed; kept for the next publish')
    await deps.db
      .insertInto('edge_purges_pending')
      .values(urls.map((url) => ({ url })))
      .onConflict((oc) => oc.column('url').doNothing())
      .execute()
    report.purgePending = urls.length
  }
}

/**
 * Rebuilds every object from the database: each site under its lock, then a sweep that deletes
 * objects nothing accounts for (a site or campaign removed while storage was unreachable).
 * Running it twice in a row writes nothing the second time.
 */
export async function republishAll(deps: PublishDeps): Promise<PublishReport & { sites: number }> {
  const total = { ...emptyReport(), sites: 0 }
  const add = (report: PublishReport) => {
    total.written.push(...report.written)
    total.deleted.push(...report.deleted)
    total.unchanged += report.unchanged
    total.purged += report.purged
    // Not a sum: every purge takes along each URL still waiting from earlier ones (and keeps them
    // waiting if it fails too), so the last one, the sweep's, says what is left when the run ends.
    // Summing would count a URL once per site publish it was carried through.
    total.purgePending = report.purgePending
  }
  let after: string | null = null
  for (;;) {
    let query = deps.db.selectFrom('sites').select('id').orderBy('id').limit(100)
    if (after) query = query.where('id', '>', after)
    const ids = (await query.execute()).map((row) => row.id)
    if (ids.length === 0) break
    after = ids.at(-1) ?? null
    for (const id of ids) {
      const report = await transaction(deps.db, async (trx, afterCommit) => {
        const site = await lockSiteForPublish(trx, id)
        if (!site) return emptyReport()
        const campaignIds = (
          await trx
            .selectFrom('campaigns')
            .select('id')
            .where('site_id', '=', id)
            .where('status', 'in', ['test', 'live'])
            .execute()
        ).map((row) => row.id)
        return publishSite(trx, afterCommit, deps, { siteId: id, hostname: site.hostname, campaignIds })
      })
      add(report)
      total.sites++
    }
  }
  add(await sweep(deps))
  return total
}

/** Deletes stored objects that no site or published campaign accounts for. */
async function sweep(deps: PublishDeps): Promise<PublishReport> {
  return transaction(deps.db, async (trx, afterCommit) => {
    await sql`SELECT pg_advisory_xact_lock(${PUBLISH_LOCK})`.execute(trx)
    const expected = new Set<string>()
    for (const site of await trx.selectFrom('sites').select('hostname').execute()) {
      expected.add(objectKey.domain(site.hostname))
    }
    const published = await trx
      .selectFrom('campaigns')
      .select(['id', 'status'])
      .where('status', 'in', ['test', 'live'])
      .where('site_id', 'is not', null)
      .execute()
    for (const campaign of published) {
      expected.add(
        campaign.status === 'live' ? objectKey.production(campaign.id) : objectKey.test(campaign.id),
      )
    }
    const orphans: string[] = []
    for (const prefix of OBJECT_PREFIXES) {
      for await (const object of deps.storage.list(prefix)) {
        if (!expected.has(object.key)) orphans.push(object.key)
      }
    }
    const report = emptyReport()
    if (orphans.length > 0) await deps.storage.delete(orphans)
    report.deleted = orphans
    afterCommit(() => purge(deps, orphans, report))
    return report
  })
}

/** The layers a publish goes through, from the app's decorators. */
export function publishDeps(app: {
  db: Kysely<DB>
  cache: Cache
  storage: ObjectStorage
  edgeCache: EdgeCache
  log: FastifyBaseLogger
  flags?: Flags
}): PublishDeps {
  return {
    db: app.db,
    cache: app.cache,
    storage: app.storage,
    edgeCache: app.edgeCache,
    log: app.log,
    flags: app.flags,
  }
}
