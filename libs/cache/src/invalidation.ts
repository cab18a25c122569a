import type { FastifyBaseLogger } from 'fastify'
import pg from 'pg'

const CHANNEL = 'nudge_cache_invalidate'
const RECONNECT_MS = 1000

/**
 * Broadcasts cache invalidations to every worker of every process on the database through
 * PostgreSQL LISTEN/NOTIFY. One dedicated connection per worker listens (and notifies).
 * When that connection drops, messages may have been missed, so `onGap` lets the cache
 * forget everything it holds locally.
 */
export class InvalidationBus {
  private client: pg.Client | undefined
  private connecting: Promise<void> | undefined
  private closed = false
  private reconnectTimer: NodeJS.Timeout | undefined
  private readonly url: string
  private readonly log: FastifyBaseLogger
  private readonly onKey: (key: string) => void
  private readonly onGap: () => void

  constructor(url: string, log: FastifyBaseLogger, onKey: (key: string) => void, onGap: () => void) {
    this.url = url
    this.log = log
    this.onKey = onKey
    this.onGap = onGap
  }

  get listening(): boolean {
    return this.client !== undefined
  }

  async start(): Promise<void> {
    await this.connect()
  }

  /** Resolves once PostgreSQL has queued the message for every listener. */
  async publish(key: string): Promise<void> {
    if (!this.client) await this.connect()
    if (!this.client) throw new Error('cache invalidation channel is down')
    await this.client.query('SELECT pg_notify($1, $2)', [CHANNEL, key])
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.reconnectTimer)
    const client = this.client
    this.client = undefined
    await client?.end().catch(() => {})
  }

  private connect(): Promise<void> {
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined
    })
    return this.connecting
  }

  private async open(): Promise<void> {
    if (this.closed || this.client) return
    const client = new pg.Client({
      connectionString: this.url,
      application_name: 'nudge-cache-bus',
      // `publish` waits for this connection inside a request: an unreachable server must fail it.
      connectionTimeoutMillis: 3000,
    })
    client.on('notification', (message) => {
      if (message.channel === CHANNEL && message.payload) this.onKey(message.payload)
    })
    client.on('error', (error) => this.lost(client, error))
    client.on('end', () => this.lost(client))
    try {
      await client.connect()
      await client.query(`LISTEN ${CHANNEL}`)
    } catch (error) {
      await client.end().catch(() => {})
      this.retry(error)
      return
    }
    if (this.closed) await client.end().catch(() => {})
    else this.client = client
  }

  /** Only the listening connection counts: a failed attempt is retried from `open`, with its cause. */
  private lost(client: pg.Client, error?: unknown): void {
    if (this.client !== client) return
    this.client = undefined
    this.retry(error)
  }

  private retry(error: unknown): void {
    if (this.closed || this.reconnectTimer) return
    this.log.warn({ err: error }, 'cache invalidation channel lost; dropping local cache and reconnecting')
    this.onGap()
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined
      void this.connect()
    }, RECONNECT_MS)
    this.reconnectTimer.unref()
  }
}
