import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports app code, so it means today what it meant when written.

export async function up(db: Kysely<unknown>): Promise<void> {
  // Erasing a person tells the integrations that received them: a `lead.erased` delivery (a
  // signed webhook event, a subscriber delete at Mailerlite). Widening the check is expand-only:
  // rows the old colour writes still pass it.
  await sql`ALTER TABLE integration_deliveries
    DROP CONSTRAINT integration_deliveries_event_check,
    ADD CONSTRAINT integration_deliveries_event_check
      CHECK (event IN ('lead.created', 'lead.updated', 'lead.erased', 'test'))`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DELETE FROM integration_deliveries WHERE event = 'lead.erased'`.execute(db)
  await sql`ALTER TABLE integration_deliveries
    DROP CONSTRAINT integration_deliveries_event_check,
    ADD CONSTRAINT integration_deliveries_event_check
      CHECK (event IN ('lead.created', 'lead.updated', 'test'))`.execute(db)
}
