import { contentEtag } from '@nudge/storage'
import { type Deps, inTransaction, type TxDeps } from '../../deps.ts'
import { forgetCampaignList } from '../campaigns/list-cache.ts'
import { publishedFeatures } from '../flags/released.ts'
import { forgetVisitorCampaign } from '../visitors/published.ts'
import { forgetSiteDocument } from '../visitors/site-document-service.ts'
import {
  campaignDocument,
  domainDocument,
  OBJECT_CACHE_CONTROL,
  OBJECT_CONTENT_TYPE,
  OBJECT_PREFIXES,
  objectKey,
  publishedTerms,
} from './documents.ts'
import * as publishing from './repository.ts'

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

/**
 * Brings the edge objects of a site (its domain document) and of the given campaigns to what
 * the database says inside the caller's transaction, which must hold the site's lock
 * (`lockSiteForPublish`). Only objects whose bytes differ are written; objects that should not
 * exist are deleted. A storage failure throws (STORAGE_FAILED, 502): the caller's transaction
 * rolls back, so a campaign's status and published version stay as they were. Records each
 * campaign's published version. Once the transaction commits, purges the changed URLs (see `purge`).
 */
export async function publishSite(
  tx: TxDeps,
  scope: { siteId: string; hostname: string; campaignIds: string[] },
): Promise<PublishReport> {
  const desired = new Map<string, Buffer | null>()
  const site = await publishing.findSite(tx.db, scope.siteId)
  if (site) {
    const live = await publishing.listLiveCampaigns(tx.db, site.id)
    desired.set(
      objectKey.domain(site.hostname),
      // Read through this transaction: a second connection per publish could exhaust the pool.
      domainDocument(site, live, await publishedFeatures(tx, site.team_id)),
    )
  } else {
    desired.set(objectKey.domain(scope.hostname), null)
  }
  const campaigns = await publishing.findCampaigns(tx.db, scope.campaignIds)
  for (const id of scope.campaignIds) {
    const campaign = campaigns.find((row) => row.id === id)
    const onSite = campaign && site && campaign.site_id === site.id
    const status = onSite ? campaign.status : 'gone'
    desired.set(objectKey.production(id), status === 'live' && campaign ? campaignDocument(campaign) : null)
    desired.set(objectKey.test(id), status === 'test' && campaign ? campaignDocument(campaign) : null)
  }

  const report = await syncObjects(tx, desired)
  // The API's copy of the document (and a cached "no such site" for a site just added), before
  // the purge: after-commit work runs in order, and Cloudflare may be slow.
  forgetSiteDocument(tx.cache, tx.afterCommit, scope.hostname)
  // After the commit the transaction is over: the purge's bookkeeping queries the pool.
  const afterwards = { ...tx, db: tx.pool }
  tx.afterCommit(() => purge(afterwards, [...report.written, ...report.deleted], report))

  for (const campaign of campaigns) {
    const publishedVersion =
      campaign.status === 'live' || campaign.status === 'test' ? campaign.version : null
    const terms = publishedVersion === null ? null : publishedTerms(campaign.variants)
    const variantIds = terms && remembered(campaign.published_variant_ids, terms.variantIds)
    const consentVersions = terms && remembered(campaign.published_consent_versions, terms.consentVersions)
    if (variantIds || consentVersions) {
      await publishing.updatePublishedTerms(tx.db, campaign.id, {
        variantIds: variantIds ?? undefined,
        consentVersions: consentVersions ?? undefined,
      })
      forgetVisitorCampaign(tx.cache, tx.afterCommit, campaign.id)
    }
    if (campaign.published_version === publishedVersion) continue
    await publishing.updatePublishedVersion(tx.db, campaign.id, {
      version: publishedVersion,
      at: publishedVersion === null ? null : new Date(),
    })
    forgetCampaignList(tx.cache, tx.afterCommit, campaign.team_id)
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
async function syncObjects(
  deps: Pick<Deps, 'storage'>,
  desired: Map<string, Buffer | null>,
): Promise<PublishReport> {
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
async function purge(deps: Deps, keys: string[], report: PublishReport) {
  if (!deps.edgeCache.enabled) return
  // After the commit, an error has no request to fail: it is logged, and the cache expires by itself.
  await purgeOrKeep(deps, keys, report).catch((error: unknown) => {
    deps.log.error({ err: error }, 'cache purge bookkeeping failed')
  })
}

async function purgeOrKeep(deps: Deps, keys: string[], report: PublishReport) {
  const pending = await publishing.listPendingPurges(deps.db)
  const urls = [...new Set([...keys.map((key) => deps.edgeCache.urlOf(key)), ...pending])]
  if (urls.length === 0) return
  try {
    await deps.edgeCache.purge(urls)
    if (pending.length > 0) await publishing.deletePendingPurges(deps.db, pending)
    report.purged = urls.length
  } catch (error) {
    deps.log.warn({ err: error, urls: urls.length }, 'cache purge failed; kept for the next publish')
    await publishing.addPendingPurges(deps.db, urls)
    report.purgePending = urls.length
  }
}

/**
 * Rebuilds every object from the database: each site under its lock, then a sweep that deletes
 * objects nothing accounts for (a site or campaign removed while storage was unreachable).
 * Running it twice in a row writes nothing the second time.
 */
export async function republishAll(deps: Deps): Promise<PublishReport & { sites: number }> {
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
    const ids = await publishing.listSiteIdsAfter(deps.db, after, 100)
    if (ids.length === 0) break
    after = ids.at(-1) ?? null
    for (const id of ids) {
      const report = await inTransaction(deps, async (tx) => {
        const site = await publishing.lockSiteForPublish(tx.db, id)
        if (!site) return emptyReport()
        const campaignIds = await publishing.listPublishedCampaignIds(tx.db, id)
        return publishSite(tx, { siteId: id, hostname: site.hostname, campaignIds })
      })
      add(report)
      total.sites++
    }
  }
  add(await sweep(deps))
  return total
}

/** Deletes stored objects that no site or published campaign accounts for. */
async function sweep(deps: Deps): Promise<PublishReport> {
  return inTransaction(deps, async (tx) => {
    await publishing.lockAllPublishing(tx.db)
    const expected = new Set<string>()
    for (const hostname of await publishing.listHostnames(tx.db)) {
      expected.add(objectKey.domain(hostname))
    }
    const published = await publishing.listPublishedCampaigns(tx.db)
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
    tx.afterCommit(() => purge(deps, orphans, report))
    return report
  })
}
