import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports app code, so it means today what it meant when written.

export async function up(db: Kysely<unknown>): Promise<void> {
  // How far visitors get through a campaign's steps: per campaign, variant, UTC day and the
  // 1-based step moved on to (2 to 5: a variant has at most 5 steps, and step 1 is the impression).
  // A table of its own, so the old colour's writes of campaign_stats_daily are untouched.
  await db.schema
    .createTable('campaign_step_stats_daily')
    .addColumn('campaign_id', 'uuid', (col) => col.notNull().references('campaigns.id').onDelete('cascade'))
    .addColumn('variant_id', 'text', (col) => col.notNull())
    .addColumn('day', 'date', (col) => col.notNull())
    .addColumn('step', 'smallint', (col) => col.notNull().check(sql`step BETWEEN 2 AND 5`))
    .addColumn('reached', 'bigint', (col) => col.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('campaign_step_stats_daily_pkey', ['campaign_id', 'variant_id', 'day', 'step'])
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('campaign_step_stats_daily').execute()
}
