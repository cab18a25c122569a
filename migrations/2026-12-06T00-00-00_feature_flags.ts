import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports app code, so it means today what it meant when written.

const nowMs = sql`date_trunc('milliseconds', now())`

export async function up(db: Kysely<unknown>): Promise<void> {
  // One flagd flag object per key (state, variants, defaultVariant, targeting, metadata), checked
  // by the API before it is written; every worker holds all of them in memory.
  await db.schema
    .createTable('feature_flags')
    .addColumn('key', 'text', (col) => col.primaryKey())
    .addColumn('definition', 'jsonb', (col) => col.notNull())
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(nowMs))
    .addColumn('updated_by', 'text', (col) => col.notNull())
    .execute()
  // Flags are global, so their audit cannot live in audit_events (every row there has a team).
  await db.schema
    .createTable('feature_flag_changes')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('flag_key', 'text', (col) => col.notNull())
    .addColumn('actor', 'text', (col) => col.notNull())
    .addColumn('before', 'jsonb')
    .addColumn('after', 'jsonb')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(nowMs))
    .execute()
  await sql`CREATE INDEX feature_flag_changes_key_idx ON feature_flag_changes (flag_key, created_at DESC, id DESC)`.execute(
    db,
  )
  await sql`
    CREATE FUNCTION feature_flag_changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'feature_flag_changes is append-only' USING ERRCODE = 'insufficient_privilege';
    END $$
  `.execute(db)
  await sql`
    CREATE TRIGGER feature_flag_changes_append_only BEFORE UPDATE OR DELETE ON feature_flag_changes
    FOR EACH ROW EXECUTE FUNCTION feature_flag_changes_append_only()
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('feature_flag_changes').execute()
  await sql`DROP FUNCTION feature_flag_changes_append_only()`.execute(db)
  await db.schema.dropTable('feature_flags').execute()
}
