import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports app code, so it means today what it meant when written.

export async function up(db: Kysely<unknown>): Promise<void> {
  // One counter for every team's memberships: each worker holds the roles it has read, tagged with
  // the epoch they were read at, and polls this one row to know they still hold (apps/api
  // modules/teams/memberships.ts). The trigger bumps it in the transaction of every change that
  // can take a role away or change it, whoever writes it (a service, a cascade from a deleted team
  // or account, the old colour during a release). Its row lock orders the bumps as the commits.
  // Inserts do not bump: workers never hold a non-member's answer, so a new member changes none.
  await db.schema
    .createTable('membership_epoch')
    .addColumn('id', 'boolean', (col) => col.primaryKey().defaultTo(true).check(sql`id`))
    .addColumn('epoch', 'bigint', (col) => col.notNull().defaultTo(0))
    .execute()
  await sql`INSERT INTO membership_epoch (id, epoch) VALUES (true, 0)`.execute(db)
  await sql`
    CREATE FUNCTION membership_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE membership_epoch SET epoch = epoch + 1 WHERE id;
      RETURN NULL;
    END $$
  `.execute(db)
  await sql`
    CREATE TRIGGER membership_epoch_bump AFTER UPDATE OR DELETE OR TRUNCATE ON team_members
    FOR EACH STATEMENT EXECUTE FUNCTION membership_epoch_bump()
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TRIGGER membership_epoch_bump ON team_members`.execute(db)
  await sql`DROP FUNCTION membership_epoch_bump()`.execute(db)
  await db.schema.dropTable('membership_epoch').execute()
}
