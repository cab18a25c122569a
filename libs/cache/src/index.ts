export { type Cache, type CacheHealth, TwoLevelCache } from './cache.ts'
export { LEASE_MS, type Lease } from './lease.ts'
export { cachePlugin } from './plugin.ts'
