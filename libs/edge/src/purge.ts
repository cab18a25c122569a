import createError from '@fastify/error'
import type { Config } from '@nudge/config'
import type Cloudflare from 'cloudflare'
import type { FastifyBaseLogger } from 'fastify'

/** Cloudflare's cache, as publishing sees it: the public URL of an object, and purging URLs. */
export interface EdgeCache {
  /** Whether purging is configured (CLOUDFLARE_API_TOKEN + CLOUDFLARE_ZONE_ID); when not, purge() does nothing. */
  readonly enabled: boolean
  /** Public URL of a published object key: `${EDGE_URL}/${key}`. */
  urlOf(key: string): string
  /**
   * Purges these URLs from Cloudflare's cache: one API call per batch of 30 (Cloudflare's per-request
   * limit for purge by URL), batches sent one after another; throws PurgeFailed (502) when Cloudflare
   * refuses or cannot be reached. Empty list = no call.
   */
  purge(urls: string[]): Promise<void>
}

/** Purge by URL takes at most 30 files per request on every plan below Enterprise. */
export const PURGE_BATCH_SIZE = 30

/** One attempt; a Cloudflare that does not answer within this is treated as down. */
const REQUEST_TIMEOUT_MS = 10_000
/** Retries on connection errors, 408/409/429 and 5xx, with the SDK's backoff (0.5 s, 1 s). */
const MAX_RETRIES = 2
/**
 * The whole of one batch, retries included. The SDK obeys any `retry-after` Cloudflare sends, and
 * its global API limit answers 429 for five minutes: a publish must fail instead of waiting that out.
 */
const BATCH_DEADLINE_MS = 30_000

const DEFAULT_API_URL = 'https://api.cloudflare.com/client/v4'

/** Cloudflare refused a purge or could not be reached; the message never carries the API token. */
export const PurgeFailed = createError<[string, string]>(
  'PURGE_FAILED',
  'Cloudflare did not purge %s: %s',
  502,
)

type Settings = Pick<
  Config,
  'EDGE_URL' | 'CLOUDFLARE_API_TOKEN' | 'CLOUDFLARE_ZONE_ID' | 'CLOUDFLARE_API_URL'
>

/** Builds `app.edgeCache` from the config; the SDK client exists only when purging is configured. */
export function edgeCache(config: Settings, log: FastifyBaseLogger): EdgeCache {
  const origin = config.EDGE_URL.replace(/\/+$/, '')
  const urlOf = (key: string) =>
    `${origin}/${key
      .replace(/^\/+/, '')
      .split('/')
      .map((segment) => encodeURIComponent(segment))
      .join('/')}`

  const token = config.CLOUDFLARE_API_TOKEN
  const zoneId = config.CLOUDFLARE_ZONE_ID
  if (!token || !zoneId) return { enabled: false, urlOf, purge: async () => {} }

  // The SDK is loaded at the first purge: it is the heaviest package we use (~14 MB of heap, over a
  // thousand modules), and only publishing purges.
  let sdk: typeof import('cloudflare') | undefined
  let loading: Promise<Cloudflare> | undefined
  const connect = async (): Promise<Cloudflare> => {
    sdk = await import('cloudflare')
    return new sdk.default({
      apiToken: token,
      // Every credential and the base URL are given explicitly: left undefined, the SDK would read
      // CLOUDFLARE_API_KEY, CLOUDFLARE_EMAIL, CLOUDFLARE_BASE_URL... from the environment.
      apiKey: null,
      apiEmail: null,
      userServiceKey: null,
      baseURL: config.CLOUDFLARE_API_URL ?? DEFAULT_API_URL,
      timeout: REQUEST_TIMEOUT_MS,
      maxRetries: MAX_RETRIES,
      logger: log,
      logLevel: 'warn',
    })
  }

  async function purgeBatch(files: string[]): Promise<void> {
    const controller = new AbortController()
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        controller.abort()
        reject(new DeadlineExceeded())
      }, BATCH_DEADLINE_MS)
    })
    try {
      loading ??= connect()
      const client = await loading
      await Promise.race([
        client.cache.purge({ zone_id: zoneId as string, files }, { signal: controller.signal }),
        deadline,
      ])
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    enabled: true,
    urlOf,
    async purge(urls) {
      const unique = [...new Set(urls)]
      for (let start = 0; start < unique.length; start += PURGE_BATCH_SIZE) {
        const batch = unique.slice(start, start + PURGE_BATCH_SIZE)
        try {
          await purgeBatch(batch)
        } catch (error) {
          const left = unique.length - start
          const what =
            left === unique.length ? plural(left, 'URL') : `${left} of ${plural(unique.length, 'URL')}`
          // Cloudflare never echoes the token, but a proxy in between might: it is cut out regardless.
          const reason = describe(error, sdk).replaceAll(token, '[token]')
          log.warn({ urls: unique.length, notPurged: left, reason }, 'cloudflare cache purge failed')
          throw new PurgeFailed(what, reason)
        }
      }
    },
  }
}

class DeadlineExceeded extends Error {}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}

/** What went wrong, from Cloudflare's own error codes when it answered. */
function describe(error: unknown, sdk: typeof import('cloudflare') | undefined): string {
  if (error instanceof DeadlineExceeded || (sdk && error instanceof sdk.APIUserAbortError))
    return `no answer within ${BATCH_DEADLINE_MS / 1000} s`
  if (sdk && error instanceof sdk.APIConnectionTimeoutError) return 'Cloudflare did not answer in time'
  if (sdk && error instanceof sdk.APIConnectionError) return 'Cloudflare could not be reached'
  if (sdk && error instanceof sdk.APIError) {
    const codes = error.errors.map((e) => [e.code, e.message].filter((part) => part !== undefined).join(' '))
    return [`HTTP ${error.status}`, ...codes].join(', ')
  }
  return error instanceof Error ? error.message : String(error)
}
