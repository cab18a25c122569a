import type { DB } from '@nudge/db'
import { newId } from '@nudge/db'
import type { FlagDefinition } from '@nudge/flags'
import type { Kysely } from 'kysely'

export async function listFlags(db: Kysely<DB>) {
  return db.selectFrom('feature_flags').selectAll().orderBy('key').execute()
}

/** The flag's row, locked for the rest of the transaction when `lock` (changes are read-modify-write). */
export async function findFlag(db: Kysely<DB>, key: string, lock = false) {
  let query = db.selectFrom('feature_flags').selectAll().where('key', '=', key)
  if (lock) query = query.forUpdate()
  return query.executeTakeFirst()
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
