import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports app code, so it means today what it meant when written.

export async function up(db: Kysely<unknown>): Promise<void> {
  // Go-Live: the old system's integer ids (and Auth0 ids, lower-cased emails) → the new UUIDv7
  // ids. Written in the same transaction as the rows they map, so the migration can be rerun
  // (idempotent), resumed after a crash and brought up to date (delta); the visitor routes
  // resolve old snippets' ids through it for a transition period.
  await db.schema
    .createTable('legacy_ids')
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('legacy_id', 'text', (col) => col.notNull())
    .addColumn('new_id', 'uuid', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('legacy_ids_pkey', ['kind', 'legacy_id'])
    .execute()
  await db.schema
    .createIndex('legacy_ids_kind_new_id_idx')
    .on('legacy_ids')
    .columns(['kind', 'new_id'])
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('legacy_ids').execute()
}
