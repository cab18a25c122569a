export { clientKey, EDGE_SECRET_HEADER, type Edge } from './client.ts'
export { type Allowance, edgePlugin, type Limit, type LimitOptions } from './plugin.ts'
export { type EdgeCache, PURGE_BATCH_SIZE, PurgeFailed } from './purge.ts'
export { RateLimited, rateLimited } from './rate-limit.ts'
