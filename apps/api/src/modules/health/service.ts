import type { Cache } from '@nudge/cache'
import type { DB } from '@nudge/db'
import type { FlagsState } from '@nudge/flags'
import type { FastifyBaseLogger } from 'fastify'
import { type Kysely, sql } from 'kysely'

/** Whether PostgreSQL answers. Why it does not goes to the log: the answer is public. */
export async function checkDatabase(db: Kysely<DB>, log: FastifyBaseLogger) {
  const start = performance.now()
  try {
    await sql`SELECT 1`.execute(db)
    return { status: 'up' as const, ms: performance.now() - start }
  } catch (error) {
    log.warn({ err: error }, 'health check: the database is unavailable')
    return { status: 'down' as const }
  }
}

/** Memcached being down degrades speed, not correctness, so it never makes the API unready. */
export async function checkCache(cache: Cache) {
  const health = await cache.health()
  return {
    memcached: { status: health.memcached },
    cacheInvalidation: { status: health.invalidation },
  }
}

export async function cacheRoundTrip(cache: Cache): Promise<number> {
  const start = performance.now()
  const key = `health:timing:${process.pid}`
  await cache.set(key, start, 10)
  await cache.get(key)
  return performance.now() - start
}

/** Flags at their defaults degrade features, not the API: reported, never a reason to be unready. Why is logged. */
export function flagsCheck(state: FlagsState) {
  return { status: state.status, flags: state.flags, loadedAt: state.loadedAt?.toISOString() ?? null }
}
