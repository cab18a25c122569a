import type { DnsChange, DnsRecord, DnsRecordSeed } from './records.ts'
import { API_BASE_PATH, buildServer, isServerError } from './server.ts'
import { type PurgeRecord, StandInState } from './state.ts'

export type { DnsChange, DnsRecord, DnsRecordSeed, DnsRecordSettings, DnsRecordType } from './records.ts'
export { DEFAULT_PER_PAGE, MAX_PER_PAGE, RECORD_TYPES } from './records.ts'
export { API_BASE_PATH, CONTROL_PATH } from './server.ts'
export type { PurgedFile, PurgeRecord } from './state.ts'

/** What the stand-in uses when not told otherwise (the CLI's defaults too). */
export const DEFAULT_TOKEN = 'cloudflare-stand-in-token'
export const DEFAULT_ZONE_ID = '023e105f4ecef8ad9ca31a8372d0c353'
export const DEFAULT_ZONE_NAME = 'nudge.example'

export interface StartCloudflareStandInOptions {
  /** 0 (the default) picks a free port. */
  port?: number
  host?: string
  /** The one API token it accepts. */
  token?: string
  /** The one zone that token can purge and edit DNS in (32 hex characters, like Cloudflare's ids). */
  zoneId?: string
  /** That zone's domain: record names are fully qualified in it (`api` becomes `api.nudge.example`). */
  zoneName?: string
  /** DNS records the zone starts with, checked as a create is; they are not in `dnsChanges`. */
  records?: DnsRecordSeed[]
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
  /** Lowercase, Punycode, without the final dot. */
  zoneName: string
  /** Every accepted purge, oldest first (a live array). */
  purges: PurgeRecord[]
  /** The zone's DNS records as the API answers them, in creation order (a live array). */
  records: DnsRecord[]
  /** Every create, edit, overwrite and delete made through the API, oldest first (a live array). */
  dnsChanges: DnsChange[]
  /** Adds records without going through the API (nor `dnsChanges`); throws, adding none, on a bad one. */
  seedRecords(records: DnsRecordSeed[]): DnsRecord[]
  /** The next `count` API requests answer `status` (5xx) with Cloudflare's error envelope. */
  failNext(count?: number, status?: number): void
  /** Forgets purges, pending failures, DNS records (seeded ones too) and DNS changes. */
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
  const state = new StandInState(options.zoneName ?? DEFAULT_ZONE_NAME)
  try {
    state.zone.seed(options.records ?? [])
  } catch (error) {
    throw new Error(`Cloudflare stand-in: cannot seed ${(error as Error).message}`)
  }
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
    zoneName: state.zone.name,
    purges: state.purges,
    records: state.zone.records,
    dnsChanges: state.zone.changes,
    seedRecords: (records) => state.zone.seed(records),
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
