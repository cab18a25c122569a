/*
 * What the Worker is given (wrangler.jsonc) and the few workerd types it uses. Declared here rather
 * than taken from @cloudflare/workers-types: those redefine fetch, Request and Response and clash
 * with @types/node, which the tests (type-checked by the same tsconfig) need.
 */

export interface Env {
  /** The bucket the API publishes into (the edge contract's objects). */
  OBJECTS: R2Bucket
  /** Where misses and visitors' writes go, e.g. https://api.nudge.example (no trailing slash). */
  API_ORIGIN: string
  /** Sent as `x-edge-secret`: the API believes CF-IPCountry and CF-Connecting-IP only with it. */
  EDGE_SECRET: string
  /** "true" serves /demo/{hostname} pages (the local loop, dev/serve.ts); never set in wrangler.jsonc. */
  DEMO_PAGES?: string
}

export interface R2Object {
  /** The ETag in quotes, as an HTTP header carries it. */
  httpEtag: string
  httpMetadata?: { contentType?: string; cacheControl?: string }
}

export interface R2ObjectBody extends R2Object {
  body: ReadableStream
}

export interface R2Bucket {
  /** With `onlyIf` a failed precondition gives the object without a body. */
  get(key: string, options?: { onlyIf?: Headers }): Promise<R2Object | R2ObjectBody | null>
  head(key: string): Promise<R2Object | null>
}

/** The part of `request.cf` the Worker reads; absent outside Cloudflare (and then unknown). */
export interface IncomingProperties {
  country?: string
}

export type EdgeRequest = Request & { cf?: IncomingProperties }
