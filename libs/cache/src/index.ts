export { type Cache, type CacheHealth, TwoLevelCache } from './cache.ts'
export { cachePlugin } from './plugin.ts'
