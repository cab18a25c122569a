import { uuidv7 } from '@nudge/popup'
import type { Log } from './debug.ts'
import { type KeyValue, readJson } from './storage.ts'

/*
 * Events go in batches: the first event of a batch starts a one-second wait (what else happens in
 * that second rides along), 50 go at once. Each event gets its UUIDv7 when it happens and keeps
 * it through every retry, so the API, which files events by id, counts each once however often
 * it arrives. When the page goes away what is still pending leaves by sendBeacon; what could not
 * leave at all waits in localStorage for the next page (bounded).
 */

export type EventType = 'impression' | 'close' | 'conversion' | 'step'

export interface VisitorEvent {
  eventId: string
  pageViewId: string
  campaignId: string
  variantId: string
  type: EventType
  step?: number
}

export interface Transport {
  /** POSTs JSON; resolves to the HTTP status, rejects on a network failure */
  post(url: string, json: string): Promise<number>
  /** sendBeacon with a text/plain body; false when the browser refused to queue it */
  beacon(url: string, json: string): boolean
}

export interface Timers {
  set(fn: () => void, ms: number): unknown
  clear(handle: unknown): void
}

export const BATCH_SIZE = 50
export const BATCH_WAIT_MS = 1000
export const MAX_ATTEMPTS = 5
/** events kept for the next page at most: a browser that never reaches the API stops growing */
export const MAX_KEPT = 200
export const PENDING_KEY = 'nudge:pending'
const MAX_KEPT_AGE_MS = 6 * 86_400_000

/** What a response means for the batch it answered. */
export function outcome(status: number): 'sent' | 'retry' | 'drop' {
  if (status >= 200 && status < 300) return 'sent'
  if (status === 429 || status >= 500) return 'retry'
  return 'drop'
}

/** Waiting before attempt n+1 (n ≥ 1): 1, 2, 4, 8 s with a little jitter so tabs spread out. */
export function backoffMs(attempt: number, random: number = Math.random()): number {
  return 1000 * 2 ** (attempt - 1) * (0.8 + 0.4 * random)
}

/** The time a UUIDv7 carries, in ms since the epoch. */
export function uuidTime(id: string): number {
  return Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)
}

export interface QueueOptions {
  url: string
  transport: Transport
  store: KeyValue
  log: Log
  timers?: Timers
  now?: () => number
  pageViewId?: string
}

export class EventQueue {
  readonly pageViewId: string
  private pending: VisitorEvent[] = []
  /** sent and not yet answered: the beacon takes them too when the page goes (same ids) */
  private inFlight = new Set<VisitorEvent[]>()
  private timer: unknown
  private readonly timers: Timers
  private readonly now: () => number
  private readonly options: QueueOptions

  constructor(options: QueueOptions) {
    this.options = options
    this.now = options.now ?? Date.now
    this.timers = options.timers ?? {
      set: (fn, ms) => setTimeout(fn, ms),
      clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    }
    this.pageViewId = options.pageViewId ?? uuidv7(this.now())
  }

  add(event: Omit<VisitorEvent, 'eventId' | 'pageViewId'>): VisitorEvent {
    const full: VisitorEvent = { eventId: uuidv7(this.now()), pageViewId: this.pageViewId, ...event }
    this.pending.push(full)
    this.options.log.info(`event ${full.type}`, full)
    if (this.pending.length >= BATCH_SIZE) this.flush()
    else if (this.timer === undefined) this.timer = this.timers.set(() => this.flush(), BATCH_WAIT_MS)
    return full
  }

  /** Events an earlier page could not send, sent now with their own ids (and page views). */
  resendKept(): void {
    const kept = readJson<VisitorEvent[]>(this.options.store, PENDING_KEY)
    this.options.store.remove(PENDING_KEY)
    if (!Array.isArray(kept)) return
    // The API takes events of the last 7 days: older ones would be refused anyway.
    const fresh = kept.filter(
      (e) => e && typeof e.eventId === 'string' && this.now() - uuidTime(e.eventId) < MAX_KEPT_AGE_MS,
    )
    if (fresh.length === 0) return
    this.pending.unshift(...fresh)
    this.flush()
  }

  flush(): void {
    if (this.timer !== undefined) {
      this.timers.clear(this.timer)
      this.timer = undefined
    }
    while (this.pending.length > 0) this.send(this.pending.splice(0, BATCH_SIZE), 1)
  }

  private send(batch: VisitorEvent[], attempt: number): void {
    this.inFlight.add(batch)
    const retry = () => {
      if (attempt >= MAX_ATTEMPTS) {
        this.inFlight.delete(batch)
        this.keep(batch)
        return
      }
      this.timers.set(() => this.send(batch, attempt + 1), backoffMs(attempt))
    }
    this.options.transport.post(this.options.url, JSON.stringify({ events: batch })).then(
      (status) => {
        const result = outcome(status)
        if (result === 'retry') return retry()
        this.inFlight.delete(batch)
        if (result === 'drop') this.options.log.info(`events refused (${status}), dropped`, batch)
      },
      (error) => {
        this.options.log.info('events not sent (network), will retry', error)
        retry()
      },
    )
  }

  /**
   * The page is going away: everything not yet confirmed leaves by sendBeacon (the browser sends
   * it after the page is gone). What was in flight goes again with the same ids, which is safe.
   */
  leave(): void {
    if (this.timer !== undefined) {
      this.timers.clear(this.timer)
      this.timer = undefined
    }
    const all = [...[...this.inFlight].flat(), ...this.pending]
    this.pending = []
    this.inFlight.clear()
    const unsent: VisitorEvent[] = []
    for (let i = 0; i < all.length; i += BATCH_SIZE) {
      const batch = all.slice(i, i + BATCH_SIZE)
      let queued = false
      try {
        queued = this.options.transport.beacon(this.options.url, JSON.stringify({ events: batch }))
      } catch {
        queued = false
      }
      if (!queued) unsent.push(...batch)
    }
    if (unsent.length > 0) this.keep(unsent)
  }

  private keep(events: VisitorEvent[]): void {
    const kept = readJson<VisitorEvent[]>(this.options.store, PENDING_KEY)
    const merged = [...(Array.isArray(kept) ? kept : []), ...events]
    const byId = new Map(merged.map((e) => [e.eventId, e]))
    this.options.store.set(PENDING_KEY, JSON.stringify([...byId.values()].slice(-MAX_KEPT)))
  }
}

/** The browser's transport: fetch with keepalive, and sendBeacon as text/plain (no preflight). */
export const browserTransport: Transport = {
  post: (url, json) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: json,
      keepalive: true,
      credentials: 'omit',
    }).then((response) => response.status),
  beacon: (url, json) =>
    typeof navigator.sendBeacon === 'function' &&
    navigator.sendBeacon(url, new Blob([json], { type: 'text/plain;charset=UTF-8' })),
}
