import { type Kysely, sql } from 'kysely'

// Frozen in time: this file never imports app code, so it means today what it meant when written.

export async function up(db: Kysely<unknown>): Promise<void> {
  // An event's day is its UUIDv7 id's day (the writer refuses ids whose time is more than 7 days
  // old or 5 minutes ahead), so the primary key (day, event_id) settles every resend and race
  // within one partition (ON CONFLICT DO NOTHING). The index on event_id alone, made when an id
  // could land on any day, is read by no query of this release or the one before it (both write
  // by the primary key), yet every event insert still adds an entry to it: dropped. Expand-only:
  // no table or column changes, and neither colour needs it.
  //
  // Locks: DROP INDEX on a partitioned table takes ACCESS EXCLUSIVE on visitor_events and each
  // partition. It waits for the event writes under way (one statement each, milliseconds), and
  // event writes queue behind it meanwhile, so it gives up after 5 s rather than hold them longer
  // (the migration fails and is run again). Once taken, the locks last only until the migration
  // run commits: dropping is a catalogue change and unlinks the index files, whatever the rows.
  await sql`SET LOCAL lock_timeout = '5s'`.execute(db)
  await sql`DROP INDEX IF EXISTS visitor_events_event_id_idx`.execute(db)
  await sql`SET LOCAL lock_timeout TO DEFAULT`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX IF NOT EXISTS visitor_events_event_id_idx ON visitor_events (event_id)`.execute(db)
}
