import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports app code, so it means today what it meant when written.

export async function up(db: Kysely<unknown>): Promise<void> {
  // When the campaign last changed status: a paused campaign takes leads and events for a few
  // minutes after its pause (pages opened before it), then none. Existing campaigns start from
  // their last update, which is no later than their last status change.
  await db.schema.alterTable('campaigns').addColumn('status_changed_at', 'timestamptz').execute()
  await sql`UPDATE campaigns SET status_changed_at = updated_at`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('campaigns').dropColumn('status_changed_at').execute()
}
