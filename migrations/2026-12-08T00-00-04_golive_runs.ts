import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports app code, so it means today what it meant when written.

export async function up(db: Kysely<unknown>): Promise<void> {
  // One row per `golive migrate` run. A finished run's source_time (the latest stamp the old
  // database held when the run began reading) is where the next run's delta starts; an unfinished
  // (killed) run has no finished_at, so its rerun starts from the same place.
  await db.schema
    .createTable('golive_runs')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('since', 'timestamptz')
    .addColumn('source_time', 'timestamptz', (col) => col.notNull())
    .addColumn('started_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .execute()

  // Webhook signing secrets generated for migrated integrations that no report has shown yet.
  // Written with the integration (same transaction); cleared once a report holding the secret
  // (read back, decrypted, from integrations.secret) is on disk: shown once, never regenerated.
  await db.schema
    .createTable('golive_secret_notices')
    .addColumn('integration_id', 'uuid', (col) =>
      col.primaryKey().references('integrations.id').onDelete('cascade'),
    )
    .addColumn('reported_at', 'timestamptz')
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('golive_secret_notices').execute()
  await db.schema.dropTable('golive_runs').execute()
}
