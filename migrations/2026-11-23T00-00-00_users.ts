import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports app code, so it means today what it meant when written.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('email', 'text', (col) => col.notNull().check(sql`email <> '' AND length(email) <= 320`))
    .addColumn('supertokens_user_id', 'text', (col) => col.notNull().unique())
    .addColumn('name', 'text')
    .addColumn('last_login_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute()
  // One account per address whatever its case: "Ann@x.io" and "ann@x.io" are the same person.
  await sql`CREATE UNIQUE INDEX users_email_key ON users (lower(email))`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('users').execute()
}
