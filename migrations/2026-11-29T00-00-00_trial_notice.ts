import type { Kysely } from 'kysely'

// Frozen in time: this file never imports app code, so it means today what it meant when written.

export async function up(db: Kysely<unknown>): Promise<void> {
  // When the owners were told their trial ends soon (once per team).
  await db.schema.alterTable('teams').addColumn('trial_notice_sent_at', 'timestamptz').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('teams').dropColumn('trial_notice_sent_at').execute()
}
