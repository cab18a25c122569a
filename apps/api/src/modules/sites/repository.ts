import { type DB, newId } from '@nudge/db'
import type { Kysely } from 'kysely'
import { type PageRequest, page } from '../../pagination.ts'

export async function insertSite(db: Kysely<DB>, input: { teamId: string; hostname: string }) {
  return db
    .insertInto('sites')
    .values({ id: newId(), team_id: input.teamId, hostname: input.hostname })
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function findSite(db: Kysely<DB>, teamId: string, siteId: string) {
  return db
    .selectFrom('sites')
    .selectAll()
    .where('team_id', '=', teamId)
    .where('id', '=', siteId)
    .executeTakeFirst()
}

export async function listSites(db: Kysely<DB>, teamId: string, request: PageRequest) {
  return page(db.selectFrom('sites').selectAll().where('team_id', '=', teamId), request).execute()
}

export async function deleteSite(db: Kysely<DB>, siteId: string) {
  await db.deleteFrom('sites').where('id', '=', siteId).execute()
}

/** The site's row, locked until the transaction ends (a settings change reads, then writes it). */
export async function lockSite(db: Kysely<DB>, teamId: string, siteId: string) {
  return db
    .selectFrom('sites')
    .selectAll()
    .where('team_id', '=', teamId)
    .where('id', '=', siteId)
    .forUpdate()
    .executeTakeFirst()
}

export async function updateSiteSettings(db: Kysely<DB>, siteId: string, settings: Record<string, unknown>) {
  return db
    .updateTable('sites')
    .set({ settings: JSON.stringify(settings), updated_at: new Date() })
    .where('id', '=', siteId)
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function campaignIdsOfSite(db: Kysely<DB>, siteId: string): Promise<string[]> {
  const rows = await db.selectFrom('campaigns').select('id').where('site_id', '=', siteId).execute()
  return rows.map((row) => row.id)
}
