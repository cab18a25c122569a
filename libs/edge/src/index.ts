export { clientKey, EDGE_SECRET_HEADER, type Edge } from './client.ts'
export { edgePlugin, type Limit, type LimitOptions } from './plugin.ts'
export { RateLimited, rateLimited } from './rate-limit.ts'
