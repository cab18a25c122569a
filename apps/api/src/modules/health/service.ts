import type { Deps } from '../../deps.ts'
import { selectOne } from './repository.ts'

/** Whether PostgreSQL answers. Why it does not goes to the log: the answer is public. */
export async function checkDatabase(deps: Deps) {
  const start = performance.now()
  try {
    await selectOne(deps.db)
    return { status: 'up' as const, ms: performance.now() - start }
  } catch (error) {
    deps.log.warn({ err: error }, 'health check: the database is unavailable')
    return { status: 'down' as const }
  }
}

/** Memcached being down degrades speed, not correctness, so it never makes the API unready. */
export async function checkCache(deps: Deps) {
  const health = await deps.cache.health()
  return {
    memcached: { status: health.memcached },
    cacheInvalidation: { status: health.invalidation },
  }
}

export async function cacheRoundTrip(deps: Deps): Promise<number> {
  const start = performance.now()
  const key = `health:timing:${process.pid}`
  await deps.cache.set(key, start, 10)
  await deps.cache.get(key)
  return performance.now() - start
}

/** Flags at their defaults degrade features, not the API: reported, never a reason to be unready. Why is logged. */
export function flagsCheck(deps: Deps) {
  const state = deps.flags.state()
  return { status: state.status, flags: state.flags, loadedAt: state.loadedAt?.toISOString() ?? null }
}
