import type { DB } from '@nudge/db'
import { newId } from '@nudge/db'
import type { FlagDefinition } from '@nudge/flags'
import { type Kysely, sql } from 'kysely'

// Keeps changes to one flag in order even when the first creates it (no row to lock yet).
const FLAG_LOCK_NAMESPACE = 7_001_002

export async function listFlags(db: Kysely<DB>) {
  return db.selectFrom('feature_flags').selectAll().orderBy('key').execute()
}

export async function findFlag(db: Kysely<DB>, key: string) {
  return db.selectFrom('feature_flags').selectAll().where('key', '=', key).executeTakeFirst()
}

/** Serialises changes to one key for the rest of the transaction (changes are read-modify-write). */
export async function lockFlagKey(db: Kysely<DB>, key: string) {
  await sql`SELECT pg_advisory_xact_lock(${FLAG_LOCK_NAMESPACE}, hashtext(${key}))`.execute(db)
}

export async function saveFlag(db: Kysely<DB>, key: string, definition: FlagDefinition, actor: string) {
  const json = JSON.stringify(definition)
  return db
    .insertInto('feature_flags')
    .values({ key, definition: json, updated_by: actor })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({ definition: json, updated_by: actor, updated_at: new Date() }),
    )
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function recordChange(
  db: Kysely<DB>,
  change: { key: string; actor: string; before: FlagDefinition | null; after: FlagDefinition | null },
) {
  await db
    .insertInto('feature_flag_changes')
    .values({
      id: newId(),
      flag_key: change.key,
      actor: change.actor,
      before: change.before === null ? null : JSON.stringify(change.before),
      after: change.after === null ? null : JSON.stringify(change.after),
    })
    .execute()
}

/** Newest first. */
export async function listChanges(db: Kysely<DB>, key: string, limit: number) {
  return db
    .selectFrom('feature_flag_changes')
    .selectAll()
    .where('flag_key', '=', key)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute()
}
