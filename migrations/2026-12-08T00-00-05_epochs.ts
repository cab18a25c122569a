import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports app code, so it means today what it meant when written.

export async function up(db: Kysely<unknown>): Promise<void> {
  // One counter per kind of answer every worker holds and must never serve once taken back
  // (libs/cache lease.ts): 'memberships' (roles, bumped by the team_members trigger) and
  // 'sessions' (bumped by the API in each revocation, after the SuperTokens core revoked).
  // Each row's lock orders its bumps as the commits.
  await db.schema
    .createTable('epochs')
    .addColumn('name', 'text', (col) => col.primaryKey())
    .addColumn('epoch', 'bigint', (col) => col.notNull().defaultTo(0))
    .execute()
  await sql`
    INSERT INTO epochs (name, epoch)
    SELECT 'memberships', epoch FROM membership_epoch
    UNION ALL SELECT 'sessions', 0
  `.execute(db)
  // Expand-only: the previous release still reads membership_epoch while both colours run, so
  // the trigger bumps both rows until a contract migration drops the old table.
  await sql`
    CREATE OR REPLACE FUNCTION membership_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE epochs SET epoch = epoch + 1 WHERE name = 'memberships';
      UPDATE membership_epoch SET epoch = epoch + 1 WHERE id;
      RETURN NULL;
    END $$
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE OR REPLACE FUNCTION membership_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE membership_epoch SET epoch = epoch + 1 WHERE id;
      RETURN NULL;
    END $$
  `.execute(db)
  await db.schema.dropTable('epochs').execute()
}
