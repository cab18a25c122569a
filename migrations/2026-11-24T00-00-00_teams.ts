import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports app code, so it means today what it meant when written.

// Lists page on (created_at, id); a cursor carries milliseconds, so that is what is stored.
const nowMs = sql`date_trunc('milliseconds', now())`

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('teams')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('name', 'text', (col) => col.notNull().check(sql`name <> '' AND length(name) <= 100`))
    .addColumn('personal', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('plan', 'text', (col) => col.notNull().defaultTo('free'))
    .addColumn('stripe_customer_id', 'text', (col) => col.unique())
    .addColumn('stripe_subscription_id', 'text')
    .addColumn('subscription_status', 'text')
    .addColumn('current_period_end', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(nowMs))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute()

  await db.schema
    .createTable('team_members')
    .addColumn('team_id', 'uuid', (col) => col.notNull().references('teams.id').onDelete('cascade'))
    .addColumn('user_id', 'uuid', (col) => col.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'text', (col) =>
      col.notNull().check(sql`role IN ('owner', 'admin', 'editor', 'viewer')`),
    )
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(nowMs))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('team_members_pkey', ['team_id', 'user_id'])
    .execute()
  await db.schema.createIndex('team_members_user_id_idx').on('team_members').column('user_id').execute()

  await db.schema
    .createTable('team_invites')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('team_id', 'uuid', (col) => col.notNull().references('teams.id').onDelete('cascade'))
    .addColumn('email', 'text', (col) => col.notNull().check(sql`email <> '' AND length(email) <= 254`))
    .addColumn('role', 'text', (col) =>
      col.notNull().check(sql`role IN ('owner', 'admin', 'editor', 'viewer')`),
    )
    .addColumn('token_hash', 'bytea', (col) => col.notNull().unique())
    .addColumn('invited_by', 'uuid', (col) => col.references('users.id').onDelete('set null'))
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addColumn('accepted_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(nowMs))
    .execute()
  // One pending invite per address and team; inviting again replaces it.
  await sql`CREATE UNIQUE INDEX team_invites_pending_key ON team_invites (team_id, lower(email))
    WHERE accepted_at IS NULL AND revoked_at IS NULL`.execute(db)

  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('team_id', 'uuid', (col) => col.notNull().references('teams.id').onDelete('cascade'))
    .addColumn('actor_type', 'text', (col) =>
      col.notNull().check(sql`actor_type IN ('user', 'system', 'stripe')`),
    )
    .addColumn('actor_id', 'uuid')
    .addColumn('action', 'text', (col) => col.notNull())
    .addColumn('target_type', 'text', (col) => col.notNull())
    .addColumn('target_id', 'text')
    .addColumn('data', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('ip', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(nowMs))
    .execute()
  await sql`CREATE INDEX audit_events_team_page_idx ON audit_events (team_id, created_at DESC, id DESC)`.execute(
    db,
  )
  // Append-only: rows go only when their team goes (the cascade runs after the team row is gone).
  await sql`
    CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM teams WHERE id = OLD.team_id) THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
    END $$`.execute(db)
  await sql`CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_events').execute()
  await sql`DROP FUNCTION audit_events_append_only()`.execute(db)
  await db.schema.dropTable('team_invites').execute()
  await db.schema.dropTable('team_members').execute()
  await db.schema.dropTable('teams').execute()
}
