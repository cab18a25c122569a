export { type Cache, type CacheHealth, TwoLevelCache } from './cache.ts'
export type { Lease } from './lease.ts'
export { cachePlugin } from './plugin.ts'
