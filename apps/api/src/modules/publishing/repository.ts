import type { DB } from '@nudge/db'
import { type Kysely, sql, type Transaction } from 'kysely'

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

/** Waits for every publish in flight and keeps new ones out until the transaction ends (the sweep). */
export async function lockAllPublishing(trx: Transaction<DB>) {
  await sql`SELECT pg_advisory_xact_lock(${PUBLISH_LOCK})`.execute(trx)
}

export async function findSite(db: Kysely<DB>, siteId: string) {
  return db
    .selectFrom('sites')
    .select(['id', 'hostname', 'team_id'])
    .where('id', '=', siteId)
    .executeTakeFirst()
}

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

/**
 * The live campaigns of a site, as the edge's domain document and the API's site document both
 * list them: a team past its impression quota (and the grace) serves none until it is back under.
 */
export async function listLiveCampaigns(db: Kysely<DB>, siteId: string) {
  return db
    .selectFrom('campaigns')
    .innerJoin('teams', 'teams.id', 'campaigns.team_id')
    .select(PUBLISHED_COLUMNS)
    .where('campaigns.site_id', '=', siteId)
    .where('campaigns.status', '=', 'live')
    .where('teams.campaigns_suspended_at', 'is', null)
    .execute()
}

/** A campaign in test on the site with this hostname (what a preview shows), if there is one. */
export async function findCampaignInTest(db: Kysely<DB>, hostname: string, campaignId: string) {
  return db
    .selectFrom('campaigns')
    .innerJoin('sites', 'sites.id', 'campaigns.site_id')
    .select(PUBLISHED_COLUMNS)
    .where('sites.hostname', '=', hostname)
    .where('campaigns.id', '=', campaignId)
    .where('campaigns.status', '=', 'test')
    .executeTakeFirst()
}

export async function findCampaigns(db: Kysely<DB>, campaignIds: string[]) {
  if (campaignIds.length === 0) return []
  return db.selectFrom('campaigns').selectAll().where('id', 'in', campaignIds).execute()
}

/** The variant ids and consent versions a campaign has published (either may be left as it is). */
export async function updatePublishedTerms(
  db: Kysely<DB>,
  campaignId: string,
  terms: { variantIds?: string[] | undefined; consentVersions?: string[] | undefined },
) {
  await db
    .updateTable('campaigns')
    .set({
      ...(terms.variantIds && { published_variant_ids: terms.variantIds }),
      ...(terms.consentVersions && { published_consent_versions: terms.consentVersions }),
    })
    .where('id', '=', campaignId)
    .execute()
}

export async function updatePublishedVersion(
  db: Kysely<DB>,
  campaignId: string,
  published: { version: number | null; at: Date | null },
) {
  await db
    .updateTable('campaigns')
    .set({ published_version: published.version, published_at: published.at })
    .where('id', '=', campaignId)
    .execute()
}

/** Ids of the campaigns a site publishes (in test or live). */
export async function listPublishedCampaignIds(db: Kysely<DB>, siteId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('campaigns')
    .select('id')
    .where('site_id', '=', siteId)
    .where('status', 'in', ['test', 'live'])
    .execute()
  return rows.map((row) => row.id)
}

/**
 * The next `limit` site ids after `after`, in id order: republish walks every site in batches.
 * Not a client's page (no cursor, no created_at order): sites added during the walk are taken
 * along if their id comes later, and the sweep accounts for the rest.
 */
export async function listSiteIdsAfter(
  db: Kysely<DB>,
  after: string | null,
  limit: number,
): Promise<string[]> {
  let query = db.selectFrom('sites').select('id').orderBy('id').limit(limit)
  if (after) query = query.where('id', '>', after)
  return (await query.execute()).map((row) => row.id)
}

export async function listHostnames(db: Kysely<DB>): Promise<string[]> {
  return (await db.selectFrom('sites').select('hostname').execute()).map((row) => row.hostname)
}

/** Every campaign in test or live on a site: the objects the edge should hold. */
export async function listPublishedCampaigns(db: Kysely<DB>) {
  return db
    .selectFrom('campaigns')
    .select(['id', 'status'])
    .where('status', 'in', ['test', 'live'])
    .where('site_id', 'is not', null)
    .execute()
}

/** URLs an earlier purge failed on, waiting for the next one. */
export async function listPendingPurges(db: Kysely<DB>): Promise<string[]> {
  return (await db.selectFrom('edge_purges_pending').select('url').execute()).map((row) => row.url)
}

export async function deletePendingPurges(db: Kysely<DB>, urls: string[]) {
  await db.deleteFrom('edge_purges_pending').where('url', 'in', urls).execute()
}

export async function addPendingPurges(db: Kysely<DB>, urls: string[]) {
  await db
    .insertInto('edge_purges_pending')
    .values(urls.map((url) => ({ url })))
    .onConflict((oc) => oc.column('url').doNothing())
    .execute()
}
