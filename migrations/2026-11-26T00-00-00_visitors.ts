import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports app code, so it means today what it meant when written.

const nowMs = sql`date_trunc('milliseconds', now())`

export async function up(db: Kysely<unknown>): Promise<void> {
  // Leads are our customers' revenue: deleting a campaign keeps them (campaign_id set null).
  await db.schema
    .createTable('leads')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('team_id', 'uuid', (col) => col.notNull().references('teams.id').onDelete('cascade'))
    .addColumn('campaign_id', 'uuid', (col) => col.references('campaigns.id').onDelete('set null'))
    .addColumn('variant_id', 'text', (col) => col.notNull())
    .addColumn('email', 'text', (col) => col.notNull().check(sql`email <> '' AND length(email) <= 254`))
    .addColumn('fields', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('consent', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('consent_version', 'text')
    .addColumn('country', 'text')
    .addColumn('page_url', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(nowMs))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(nowMs))
    .execute()
  // The same person submitting to the same campaign again updates their lead.
  await sql`CREATE UNIQUE INDEX leads_campaign_email_key ON leads (campaign_id, lower(email))`.execute(db)
  await sql`CREATE INDEX leads_team_page_idx ON leads (team_id, created_at DESC, id DESC)`.execute(db)
  await sql`CREATE INDEX leads_team_email_idx ON leads (team_id, lower(email))`.execute(db)

  // A retried submit (same Idempotency-Key) answers as the first one did and stores nothing new.
  await db.schema
    .createTable('lead_submissions')
    .addColumn('campaign_id', 'uuid', (col) => col.notNull().references('campaigns.id').onDelete('cascade'))
    .addColumn('idempotency_key', 'text', (col) => col.notNull())
    .addColumn('lead_id', 'uuid', (col) => col.references('leads.id').onDelete('cascade'))
    .addColumn('request_hash', 'bytea', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('lead_submissions_pkey', ['campaign_id', 'idempotency_key'])
    .execute()

  // The outbox: every stored lead must reach the team's integrations. Written in the lead's
  // transaction; the delivery work takes rows from here. Erasing a lead erases its rows.
  await db.schema
    .createTable('lead_outbox')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('lead_id', 'uuid', (col) => col.notNull().references('leads.id').onDelete('cascade'))
    .addColumn('team_id', 'uuid', (col) => col.notNull().references('teams.id').onDelete('cascade'))
    .addColumn('event', 'text', (col) => col.notNull().check(sql`event IN ('created', 'updated')`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`CREATE INDEX lead_outbox_created_idx ON lead_outbox (created_at)`.execute(db)

  // Counts forever, per campaign, variant, UTC day and visitor country ('' = unknown).
  await db.schema
    .createTable('campaign_stats_daily')
    .addColumn('campaign_id', 'uuid', (col) => col.notNull().references('campaigns.id').onDelete('cascade'))
    .addColumn('variant_id', 'text', (col) => col.notNull())
    .addColumn('day', 'date', (col) => col.notNull())
    .addColumn('country', 'text', (col) => col.notNull().defaultTo(''))
    .addColumn('impressions', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('closes', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('conversions', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('leads', 'bigint', (col) => col.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('campaign_stats_daily_pkey', ['campaign_id', 'variant_id', 'day', 'country'])
    .execute()

  // Raw events, only to count each eventId once: partitioned by the event's UTC day, so old days
  // are dropped whole (libs' maintenance keeps partitions from 8 days back to 3 days ahead).
  await sql`CREATE TABLE visitor_events (
    day date NOT NULL,
    event_id uuid NOT NULL,
    PRIMARY KEY (day, event_id)
  ) PARTITION BY RANGE (day)`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE visitor_events`.execute(db)
  await db.schema.dropTable('campaign_stats_daily').execute()
  await db.schema.dropTable('lead_outbox').execute()
  await db.schema.dropTable('lead_submissions').execute()
  await db.schema.dropTable('leads').execute()
}
