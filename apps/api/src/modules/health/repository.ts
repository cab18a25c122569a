import type { DB } from '@nudge/db'
import { type Kysely, sql } from 'kysely'

/** A trivial query: the database answers. */
export async function selectOne(db: Kysely<DB>): Promise<void> {
  await sql`SELECT 1`.execute(db)
}
