export { clientKey, EDGE_SECRET_HEADER, type Edge } from './client.ts'
export { type Limit, type LimitOptions, edgePlugin } from './plugin.ts'
export { RateLimited, rateLimited } from './rate-limit.ts'
