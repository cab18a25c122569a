import { API_BASE_PATH, buildServer, isServerError, type PurgeRecord, StandInState } from './server.ts'

export type { PurgedFile, PurgeRecord } from './server.ts'
export { API_BASE_PATH, CONTROL_PATH } from './server.ts'

/** What the stand-in uses when not told otherwise (the CLI's defaults too). */
export const DEFAULT_TOKEN = 'cloudflare-stand-in-token'
export const DEFAULT_ZONE_ID = '023e105f4ecef8ad9ca31a8372d0c353'

export interface StartCloudflareStandInOptions {
  /** 0 (the default) picks a free port. */
  port?: number
  host?: string
  /** The one API token it accepts. */
  token?: string
  /** The one zone that token can purge (32 hex characters, like Cloudflare's ids). */
  zoneId?: string
  /** Files per purge-by-URL request; 30, as below Enterprise. */
  maxFilesPerRequest?: number
  /** Tags, hosts or prefixes per request; 100. */
  maxItemsPerRequest?: number
  logger?: boolean | Record<string, unknown>
}

export interface CloudflareStandIn {
  /** The API's base URL, with `/client/v4`: the SDK's `baseURL`, our CLOUDFLARE_API_URL. */
  url: string
  /** Scheme, host and port, for the test controls under `/__stand-in`. */
  origin: string
  token: string
  zoneId: string
  /** Every accepted purge, oldest first (a live array). */
  purges: PurgeRecord[]
  /** The next `count` API requests answer `status` (5xx) with Cloudflare's error envelope. */
  failNext(count?: number, status?: number): void
  /** Forgets recorded purges and pending failures. */
  reset(): void
  close(): Promise<void>
}

export async function startCloudflareStandIn(
  options: StartCloudflareStandInOptions = {},
): Promise<CloudflareStandIn> {
  // It accepts any purge and purges nothing: production must talk to the real Cloudflare API.
  if (process.env.NODE_ENV === 'production') {
    throw new Error(
      'The Cloudflare API stand-in is for development and tests only; in production leave CLOUDFLARE_API_URL unset so purges reach api.cloudflare.com',
    )
  }
  const token = options.token ?? DEFAULT_TOKEN
  const zoneId = options.zoneId ?? DEFAULT_ZONE_ID
  if (!/^[0-9a-f]{32}$/.test(zoneId)) throw new Error(`zoneId must be 32 hex characters (got ${zoneId})`)
  const state = new StandInState()
  const app = buildServer({
    config: {
      token,
      zoneId,
      maxFilesPerRequest: options.maxFilesPerRequest ?? 30,
      maxItemsPerRequest: options.maxItemsPerRequest ?? 100,
    },
    state,
    logger: options.logger ?? false,
  })
  await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') {
    await app.close()
    throw new Error('Cloudflare stand-in did not bind a TCP port')
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const origin = `http://${host}:${address.port}`
  return {
    url: `${origin}${API_BASE_PATH}`,
    origin,
    token,
    zoneId,
    purges: state.purges,
    failNext(count = 1, status = 503) {
      if (!isServerError(status)) throw new Error(`failNext takes a 5xx status (got ${status})`)
      state.failNext(count, status)
    },
    reset: () => state.reset(),
    close: async () => {
      await app.close()
    },
  }
}
