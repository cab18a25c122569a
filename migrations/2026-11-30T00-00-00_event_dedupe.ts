import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports app code, so it means today what it meant when written.

export async function up(db: Kysely<unknown>): Promise<void> {
  // An eventId counts once whatever day its `at` names: the writer looks the id up in every day's
  // partition before storing it. The primary key (day, event_id) cannot answer that (day comes
  // first), and PostgreSQL has no unique index across partitions without the partition key, so
  // an index on event_id alone, on the partitioned table: every partition has one, those made
  // later too. Building it locks the raw events (8 to 12 days of them) against writes meanwhile;
  // event writes wait for it and clients resend what timed out.
  await sql`CREATE INDEX visitor_events_event_id_idx ON visitor_events (event_id)`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX visitor_events_event_id_idx`.execute(db)
}
