import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports app code, so it means today what it meant when written.

// Lists page on (created_at, id); a cursor carries milliseconds, so that is what is stored.
const nowMs = sql`date_trunc('milliseconds', now())`

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sites')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('team_id', 'uuid', (col) => col.notNull().references('teams.id').onDelete('cascade'))
    // Stored normalised (lower case, punycode); one hostname belongs to one team.
    .addColumn('hostname', 'text', (col) =>
      col
        .notNull()
        .unique()
        .check(sql`hostname <> '' AND length(hostname) <= 253 AND hostname = lower(hostname)`),
    )
    .addColumn('first_seen_at', 'timestamptz')
    .addColumn('settings', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(nowMs))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`CREATE INDEX sites_team_page_idx ON sites (team_id, created_at DESC, id DESC)`.execute(db)

  await db.schema
    .createTable('campaigns')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('team_id', 'uuid', (col) => col.notNull().references('teams.id').onDelete('cascade'))
    // Deleting a site first unpublishes its campaigns and detaches them (the service does it, so
    // leads and stats stay); NO ACTION makes sure none is left pointing at a deleted site, and lets
    // a team's deletion cascade to both tables in one statement.
    .addColumn('site_id', 'uuid', (col) => col.references('sites.id'))
    .addColumn('name', 'text', (col) => col.notNull().check(sql`name <> '' AND length(name) <= 120`))
    .addColumn('type', 'text', (col) =>
      col.notNull().check(sql`type IN ('modal', 'slide-in', 'bar', 'full-screen')`),
    )
    .addColumn('status', 'text', (col) =>
      col.notNull().defaultTo('draft').check(sql`status IN ('draft', 'test', 'live', 'paused', 'archived')`),
    )
    // The content: 1 to 4 variants (A/B), each with its weight and its ordered steps.
    .addColumn('variants', 'jsonb', (col) => col.notNull())
    .addColumn('targeting', 'jsonb', (col) => col.notNull())
    .addColumn('frequency', 'jsonb', (col) => col.notNull())
    .addColumn('schedule', 'jsonb')
    .addColumn('version', 'integer', (col) => col.notNull().defaultTo(1).check(sql`version > 0`))
    // The version the edge serves (test or production object); null when nothing is published.
    .addColumn('published_version', 'integer')
    .addColumn('published_at', 'timestamptz')
    .addColumn('created_by', 'uuid', (col) => col.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(nowMs))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addCheckConstraint(
      'campaigns_published_has_site',
      sql`status NOT IN ('test', 'live') OR site_id IS NOT NULL`,
    )
    .execute()
  await sql`CREATE INDEX campaigns_team_page_idx ON campaigns (team_id, created_at DESC, id DESC)`.execute(db)
  // What a site publishes: its campaigns in test or live.
  await sql`CREATE INDEX campaigns_site_published_idx ON campaigns (site_id) WHERE status IN ('test', 'live')`.execute(
    db,
  )

  // URLs whose Cloudflare purge failed: retried by the next publish or republish.
  await db.schema
    .createTable('edge_purges_pending')
    .addColumn('url', 'text', (col) => col.primaryKey())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('edge_purges_pending').execute()
  await db.schema.dropTable('campaigns').execute()
  await db.schema.dropTable('sites').execute()
}
