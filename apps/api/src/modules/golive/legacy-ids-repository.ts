import type { DB } from '@nudge/db'
import type { Kysely } from 'kysely'

/**
 * Go-Live's map of the old system's ids to nudge's (the `legacy_ids` table): written by the
 * migration, read by it (what is already migrated) and by the visitor routes while old ids are
 * accepted. A row is never changed once written.
 */

/** What an old row is: its table in the old system, or the old key of a person. */
export type LegacyKind = 'account' | 'user' | 'auth0' | 'domain' | 'campaign' | 'lead' | 'integration'

export interface LegacyIdRow {
  kind: LegacyKind
  legacyId: string
  newId: string
}

/** The new id of one old row, or undefined when it was not migrated. */
export async function newIdFor(
  db: Kysely<DB>,
  kind: LegacyKind,
  legacyId: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('legacy_ids')
    .select('new_id')
    .where('kind', '=', kind)
    .where('legacy_id', '=', legacyId)
    .executeTakeFirst()
  return row?.new_id
}

/** The new ids of the old rows of one kind that were migrated, by old id. */
export async function newIdsFor(
  db: Kysely<DB>,
  kind: LegacyKind,
  legacyIds: string[],
): Promise<Map<string, string>> {
  if (legacyIds.length === 0) return new Map()
  const rows = await db
    .selectFrom('legacy_ids')
    .select(['legacy_id', 'new_id'])
    .where('kind', '=', kind)
    .where('legacy_id', 'in', legacyIds)
    .execute()
  return new Map(rows.map((row) => [row.legacy_id, row.new_id]))
}

/** Records old → new ids; a pair already recorded is kept as it is (a rerun changes nothing). */
export async function recordLegacyIds(db: Kysely<DB>, rows: LegacyIdRow[]): Promise<void> {
  if (rows.length === 0) return
  await db
    .insertInto('legacy_ids')
    .values(rows.map((row) => ({ kind: row.kind, legacy_id: row.legacyId, new_id: row.newId })))
    .onConflict((conflict) => conflict.columns(['kind', 'legacy_id']).doNothing())
    .execute()
}
