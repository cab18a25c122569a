import type { Config } from '@nudge/config'
import { recordTiming } from '@nudge/logging'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { DB } from './schema.ts'

// int8 (bigint, count(*)) as number: every count here is far below 2^53.
pg.types.setTypeParser(20, (value) => Number.parseInt(value, 10))

type DbConfig = Pick<Config, 'DATABASE_POOL_MAX' | 'DATABASE_STATEMENT_TIMEOUT_MS'> & { DATABASE_URL: string }

export function createPool(config: DbConfig): pg.Pool {
  return new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: config.DATABASE_POOL_MAX,
    statement_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS,
    // A request must not hang on an exhausted or unreachable database: fail and answer 503.
    connectionTimeoutMillis: 3000,
    idleTimeoutMillis: 30000,
    application_name: 'nudge-api',
  })
}

/** Kysely over the pool; query time is added to the current request's `Server-Timing`. */
export function createDb(pool: pg.Pool): Kysely<DB> {
  return new Kysely<DB>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => recordTiming('db', event.queryDurationMillis),
  })
}
