import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports app code, so it means today what it meant when written.

const nowMs = sql`date_trunc('milliseconds', now())`

export async function up(db: Kysely<unknown>): Promise<void> {
  // Where a team's leads go. Secrets (a Mailerlite API key, webhook signing secrets) are stored
  // encrypted (AES-256-GCM, the key id inside the value); only their last four characters are
  // shown. `account_key` (a hash of the Mailerlite key) groups integrations sharing one
  // Mailerlite account, whose rate limit they share.
  await db.schema
    .createTable('integrations')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('team_id', 'uuid', (col) => col.notNull().references('teams.id').onDelete('cascade'))
    .addColumn('kind', 'text', (col) => col.notNull().check(sql`kind IN ('mailerlite', 'webhook')`))
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) =>
      col.notNull().defaultTo('active').check(sql`status IN ('active', 'paused', 'disabled')`),
    )
    .addColumn('status_reason', 'text')
    .addColumn('url', 'text')
    .addColumn('secret', 'text', (col) => col.notNull())
    .addColumn('secret_last4', 'text', (col) => col.notNull())
    .addColumn('account_key', 'text')
    .addColumn('consecutive_failures', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(nowMs))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(nowMs))
    .execute()
  await sql`CREATE INDEX integrations_team_page_idx ON integrations (team_id, created_at DESC, id DESC)`.execute(
    db,
  )

  // Which integrations receive a campaign's leads, and how (Mailerlite: group and field map).
  await db.schema
    .createTable('campaign_integrations')
    .addColumn('campaign_id', 'uuid', (col) => col.notNull().references('campaigns.id').onDelete('cascade'))
    .addColumn('integration_id', 'uuid', (col) =>
      col.notNull().references('integrations.id').onDelete('cascade'),
    )
    .addColumn('team_id', 'uuid', (col) => col.notNull().references('teams.id').onDelete('cascade'))
    .addColumn('settings', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(nowMs))
    .addPrimaryKeyConstraint('campaign_integrations_pkey', ['campaign_id', 'integration_id'])
    .execute()
  await sql`CREATE INDEX campaign_integrations_integration_idx ON campaign_integrations (integration_id)`.execute(
    db,
  )

  // One delivery per (outbox event, integration): its id is the webhook-id, and its payload is
  // fixed when it is created, so every retry sends the same bytes. Erasing the lead cancels the
  // pending ones and clears every payload (lead_id set null).
  await db.schema
    .createTable('integration_deliveries')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('team_id', 'uuid', (col) => col.notNull().references('teams.id').onDelete('cascade'))
    .addColumn('integration_id', 'uuid', (col) =>
      col.notNull().references('integrations.id').onDelete('cascade'),
    )
    .addColumn('lead_id', 'uuid', (col) => col.references('leads.id').onDelete('set null'))
    .addColumn('source_id', 'uuid')
    .addColumn('event', 'text', (col) =>
      col.notNull().check(sql`event IN ('lead.created', 'lead.updated', 'test')`),
    )
    .addColumn('status', 'text', (col) =>
      col
        .notNull()
        .check(
          sql`status IN ('pending', 'delivering', 'retrying', 'held', 'succeeded', 'failed', 'cancelled')`,
        ),
    )
    .addColumn('payload', 'text')
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('claimed_at', 'timestamptz')
    .addColumn('next_attempt_at', 'timestamptz')
    .addColumn('last_response_status', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(nowMs))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(nowMs))
    .addColumn('completed_at', 'timestamptz')
    .execute()
  await sql`CREATE UNIQUE INDEX integration_deliveries_source_key ON integration_deliveries (source_id, integration_id)`.execute(
    db,
  )
  await sql`CREATE INDEX integration_deliveries_page_idx ON integration_deliveries (integration_id, created_at DESC, id DESC)`.execute(
    db,
  )
  await sql`CREATE INDEX integration_deliveries_open_idx ON integration_deliveries (integration_id, status)
    WHERE status IN ('pending', 'delivering', 'retrying', 'held', 'failed')`.execute(db)
  await sql`CREATE INDEX integration_deliveries_lead_idx ON integration_deliveries (lead_id) WHERE lead_id IS NOT NULL`.execute(
    db,
  )

  // Each attempt: when, what came back (status, latency, the first KB of the body) or why not.
  await db.schema
    .createTable('integration_delivery_attempts')
    .addColumn('delivery_id', 'uuid', (col) =>
      col.notNull().references('integration_deliveries.id').onDelete('cascade'),
    )
    .addColumn('attempt', 'integer', (col) => col.notNull())
    .addColumn('at', 'timestamptz', (col) => col.notNull())
    .addColumn('response_status', 'integer')
    .addColumn('latency_ms', 'integer', (col) => col.notNull())
    .addColumn('response_body', 'text')
    .addColumn('error', 'text')
    .addPrimaryKeyConstraint('integration_delivery_attempts_pkey', ['delivery_id', 'attempt'])
    .execute()

  // Requests per window per external account (Mailerlite's 120 a minute), shared by every worker.
  await db.schema
    .createTable('outbound_rate_windows')
    .addColumn('account_key', 'text', (col) => col.notNull())
    .addColumn('window_start', 'timestamptz', (col) => col.notNull())
    .addColumn('used', 'integer', (col) => col.notNull())
    .addPrimaryKeyConstraint('outbound_rate_windows_pkey', ['account_key', 'window_start'])
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('outbound_rate_windows').execute()
  await db.schema.dropTable('integration_delivery_attempts').execute()
  await db.schema.dropTable('integration_deliveries').execute()
  await db.schema.dropTable('campaign_integrations').execute()
  await db.schema.dropTable('integrations').execute()
}
