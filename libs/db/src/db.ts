import type { Config } from '@nudge/config'
import { recordTiming } from '@nudge/logging'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { DB } from './schema.ts'

// int8 (bigint, count(*)) as number: every count here is far below 2^53.
pg.types.setTypeParser(20, (value) => Number.parseInt(value, 10))
// `date` columns stay 'YYYY-MM-DD': a Date would move them to local midnight.
pg.types.setTypeParser(1082, (value) => value)

type DbConfig = Pick<Config, 'DATABASE_POOL_MAX' | 'DATABASE_STATEMENT_TIMEOUT_MS'> & { DATABASE_URL: string }

/**
 * `onConnectionError` hears of every connection that fails (a database restart terminates them
 * all); the pool has already discarded it, and the query on it, if any, has been rejected.
 */
export function createPool(config: DbConfig, onConnectionError: (error: Error) => void = () => {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: config.DATABASE_POOL_MAX,
    statement_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS,
    // A request must not hang on an exhausted or unreachable database: fail and answer 503.
    connectionTimeoutMillis: 3000,
    idleTimeoutMillis: 30000,
    application_name: 'nudge-api',
  })
  // pg-pool listens for errors only on idle clients: it takes its listener off a client while it
  // is checked out (Kysely holds one per query or transaction). A connection dying then emits
  // 'error' with nobody listening, which would take the process down. A client that has failed
  // is no longer queryable, and the pool drops such a client when it is released.
  pool.on('connect', (client) => {
    let failed = false
    // A dying connection often reports twice (the server's message, then the socket closing).
    client.on('error', (error) => {
      if (!failed) onConnectionError(error)
      failed = true
    })
  })
  // An idle client's failure reaches the client listener above as well.
  pool.on('error', () => {})
  return pool
}

/** Kysely over the pool; query time is added to the current request's `Server-Timing`. */
export function createDb(pool: pg.Pool): Kysely<DB> {
  return new Kysely<DB>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => recordTiming('db', event.queryDurationMillis),
  })
}
