import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports app code, so it means today what it meant when written.

export async function up(db: Kysely<unknown>): Promise<void> {
  // Go-Live: which new row each of the old system's rows became. The migration's idempotency (a
  // row already mapped is not made again) and the transition's old ids (snippets on customers'
  // pages) both read it. kind: account, user, auth0, domain, campaign, lead, integration.
  await db.schema
    .createTable('legacy_ids')
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('legacy_id', 'text', (col) => col.notNull())
    .addColumn('new_id', 'uuid', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
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
