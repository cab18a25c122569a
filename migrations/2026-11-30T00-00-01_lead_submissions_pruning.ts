import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports app code, so it means today what it meant when written.

export async function up(db: Kysely<unknown>): Promise<void> {
  // Idempotency rows of lead submits are deleted once past their window, oldest first, in batches.
  await sql`CREATE INDEX lead_submissions_created_idx ON lead_submissions (created_at)`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX lead_submissions_created_idx`.execute(db)
}
