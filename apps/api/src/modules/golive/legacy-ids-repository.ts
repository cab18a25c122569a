import type { DB } from '@nudge/db'
import type { Kysely } from 'kysely'

/** What a legacy id names: each kind maps one old table's ids (or keys) to the new rows' ids. */
export type LegacyKind = 'account' | 'user' | 'auth0' | 'domain' | 'campaign' | 'lead' | 'integration'

export interface LegacyIdRow {
  kind: LegacyKind
  legacyId: string
  newId: string
}

export async function newIdFor(db: Kysely<DB>, kind: LegacyKind, legacyId: string): Promise<string | null> {
  const row = await db
    .selectFrom('legacy_ids')
    .select('new_id')
    .where('kind', '=', kind)
    .where('legacy_id', '=', legacyId)
    .executeTakeFirst()
  return row?.new_id ?? null
}

/** legacy id → new id, for those of `legacyIds` already mapped. */
export async function newIdsFor(
  db: Kysely<DB>,
  kind: LegacyKind,
  legacyIds: readonly string[],
): Promise<Map<string, string>> {
  if (legacyIds.length === 0) return new Map()
  const rows = await db
    .selectFrom('legacy_ids')
    .select(['legacy_id', 'new_id'])
    .where('kind', '=', kind)
    .where('legacy_id', 'in', [...new Set(legacyIds)])
    .execute()
  return new Map(rows.map((row) => [row.legacy_id, row.new_id]))
}

/** Call in the transaction that writes the rows mapped, so a crash leaves both or neither. */
export async function recordLegacyIds(db: Kysely<DB>, rows: readonly LegacyIdRow[]): Promise<void> {
  if (rows.length === 0) return
  await db
    .insertInto('legacy_ids')
    .values(rows.map((row) => ({ kind: row.kind, legacy_id: row.legacyId, new_id: row.newId })))
    .onConflict((oc) => oc.columns(['kind', 'legacy_id']).doNothing())
    .execute()
}
