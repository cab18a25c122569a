import { type DB, httpErrorFromDatabase, isRetryableConflict } from '@nudge/db'
import type { FastifyBaseLogger } from 'fastify'
import { type Kysely, sql } from 'kysely'
import { EventsNotStored } from '../../errors.ts'

export type EventType = 'impression' | 'close' | 'conversion'

/** One validated visitor event, as the writer stores it. */
export interface StoredEvent {
  /**
   * The UTC day 'YYYY-MM-DD' of the time `eventId` carries (a UUIDv7): the day it is counted on
   * and stored under. Always the same day for the same id, so (day, eventId) is one key.
   */
  day: string
  /** What counts once: the event's id, or for an impression a key of its campaign and page view. */
  eventId: string
  campaignId: string
  variantId: string
  type: EventType
  /** ISO country from the edge, '' when unknown. */
  country: string
  siteId: string
}

/** What one request's events came to: newly counted, or already counted before. */
export interface Outcome {
  accepted: number
  duplicates: number
}

interface Waiter {
  events: StoredEvent[]
  resolve: (outcome: Outcome) => void
  reject: (error: Error) => void
}

const RETRIES = 1

/**
 * Group commit. Requests hand over their events and wait; the events that arrive within
 * `windowMs` of the first (or until `maxEvents` wait) are stored by ONE statement, and every
 * waiting request is answered after its commit, or all of them fail. One write at a time: every
 * write updates the same few daily-count rows, so a second one would only wait for the first's
 * row locks; events that arrive meanwhile make the next group instead, which grows with the load.
 */
export class EventWriter {
  /** Statements written so far (for tests and metrics). */
  flushes = 0
  readonly #db: Kysely<DB>
  readonly #windowMs: number
  readonly #maxEvents: number
  readonly #log: FastifyBaseLogger | undefined
  #waiting: Waiter[] = []
  #waitingEvents = 0
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #closing = false

  constructor(
    db: Kysely<DB>,
    options: { windowMs: number; maxEvents?: number; log?: FastifyBaseLogger | undefined },
  ) {
    this.#db = db
    this.#windowMs = options.windowMs
    this.#maxEvents = options.maxEvents ?? 1000
    this.#log = options.log
  }

  /** Resolves once the events are durably stored (each counted at most once, ever). */
  write(events: StoredEvent[]): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ events, resolve, reject })
      this.#waitingEvents += events.length
      this.#schedule()
    })
  }

  /** Writes what is waiting, without waiting for the window, and returns when all is written. */
  async close(): Promise<void> {
    this.#closing = true
    this.#schedule()
    while (this.#running) await this.#running
  }

  /** Starts a write now, or when the window ends, or when the write under way ends. */
  #schedule(writeEnded = false) {
    if (this.#waiting.length === 0 || this.#running) return
    // Events that gathered while a write ran have waited long enough.
    if (writeEnded || this.#closing || this.#waitingEvents >= this.#maxEvents) return this.#start()
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined
      this.#schedule(true)
    }, this.#windowMs)
  }

  /** Takes waiting requests (up to maxEvents, at least one) and writes them as one group. */
  #start() {
    clearTimeout(this.#timer)
    this.#timer = undefined
    let taken = 0
    let events = 0
    while (taken < this.#waiting.length) {
      const size = this.#waiting[taken]?.events.length ?? 0
      if (taken > 0 && events + size > this.#maxEvents) break
      events += size
      taken++
    }
    const group = this.#waiting.splice(0, taken)
    this.#waitingEvents -= events
    this.#running = this.#write(group).finally(() => {
      this.#running = undefined
      this.#schedule(true)
    })
  }

  /** Answers every request of the group: after the commit, or all with the same 503. */
  async #write(group: Waiter[]): Promise<void> {
    try {
      const outcomes = await this.#count(group)
      this.flushes++
      for (const [index, waiter] of group.entries()) waiter.resolve(outcomes[index] as Outcome)
    } catch (error) {
      this.#log?.error({ err: error, requests: group.length }, 'events not stored')
      const database = httpErrorFromDatabase(error)
      for (const waiter of group) waiter.reject(notStored(database))
    }
  }

  /** Stores the group's events, each eventId once; what each request's events came to. */
  async #count(group: Waiter[]): Promise<Outcome[]> {
    // The first request to carry an event owns it; later ones (a resend in the same group, or a
    // repeat within one batch) are duplicates without asking the database.
    const outcomes = group.map(() => ({ accepted: 0, duplicates: 0 }))
    const owners = new Map<string, { event: StoredEvent; outcome: Outcome }>()
    for (const [index, waiter] of group.entries()) {
      const outcome = outcomes[index] as Outcome
      for (const given of waiter.events) {
        // PostgreSQL reads uuids case-blind: so must the keys, or one row would join twice.
        const event = { ...given, eventId: given.eventId.toLowerCase() }
        if (owners.has(event.eventId)) outcome.duplicates++
        else owners.set(event.eventId, { event, outcome })
      }
    }
    // Rows in (day, eventId) order, the primary key's: writes of other workers then take their
    // locks in the same order.
    const unique = [...owners.values()]
      .map((owner) => owner.event)
      .sort((a, b) => (a.day !== b.day ? (a.day < b.day ? -1 : 1) : a.eventId < b.eventId ? -1 : 1))
    const siteIds = [...new Set(unique.map((event) => event.siteId))].sort()
    const duplicates = await this.#store(unique, siteIds)
    for (const [eventId, owner] of owners) {
      if (duplicates.has(eventId)) owner.outcome.duplicates++
      else owner.outcome.accepted++
    }
    return outcomes
  }

  /**
   * One statement, so one transaction: the raw events that are new, the daily counts of exactly
   * those, and the sites' first_seen_at. Returns the duplicate eventIds.
   *
   * New means not in the primary key (day, event_id): the day is a function of the id (its
   * UUIDv7 time, events.ts), so a resend, a repeat on another worker and two writes of one id
   * racing each other all meet on that key, and ON CONFLICT DO NOTHING lets exactly one count.
   */
  async #store(events: StoredEvent[], siteIds: string[]): Promise<Set<string>> {
    const column = <K extends keyof StoredEvent>(name: K) => events.map((event) => event[name])
    for (let attempt = 0; ; attempt++) {
      try {
        const { rows } = await sql<{ event_id: string }>`
          WITH batch AS (
            SELECT * FROM unnest(
              ${column('day')}::date[], ${column('eventId')}::uuid[], ${column('campaignId')}::uuid[],
              ${column('variantId')}::text[], ${column('type')}::text[], ${column('country')}::text[]
            ) WITH ORDINALITY AS b(day, event_id, campaign_id, variant_id, type, country, n)
          ),
          fresh AS (
            INSERT INTO visitor_events (day, event_id)
            SELECT b.day, b.event_id FROM batch b
            ORDER BY b.n
            ON CONFLICT DO NOTHING
            RETURNING event_id
          ),
          counted AS (
            INSERT INTO campaign_stats_daily
              (campaign_id, variant_id, day, country, impressions, closes, conversions)
            SELECT b.campaign_id, b.variant_id, b.day, b.country,
              count(*) FILTER (WHERE b.type = 'impression'),
              count(*) FILTER (WHERE b.type = 'close'),
              count(*) FILTER (WHERE b.type = 'conversion')
            FROM fresh JOIN batch b USING (event_id)
            GROUP BY b.campaign_id, b.variant_id, b.day, b.country
            -- A campaign deleted since the request was checked: its events count nowhere.
            HAVING EXISTS (SELECT 1 FROM campaigns c WHERE c.id = b.campaign_id)
            ORDER BY b.campaign_id, b.variant_id, b.day, b.country
            ON CONFLICT (campaign_id, variant_id, day, country) DO UPDATE SET
              impressions = campaign_stats_daily.impressions + EXCLUDED.impressions,
              closes = campaign_stats_daily.closes + EXCLUDED.closes,
              conversions = campaign_stats_daily.conversions + EXCLUDED.conversions
          ),
          seen AS (
            UPDATE sites SET first_seen_at = now()
            WHERE id = ANY(${siteIds}::uuid[]) AND first_seen_at IS NULL
          )
          SELECT b.event_id::text AS event_id FROM batch b
          WHERE NOT EXISTS (SELECT 1 FROM fresh f WHERE f.event_id = b.event_id)
        `.execute(this.#db)
        return new Set(rows.map((row) => row.event_id))
      } catch (error) {
        // Another worker's write took the same rows in another order: the statement did nothing.
        if (attempt >= RETRIES || !isRetryableConflict(error)) throw error
      }
    }
  }
}

function notStored(database: ReturnType<typeof httpErrorFromDatabase>): Error {
  // The database's own 503s keep their code (DATABASE_UNAVAILABLE, DATABASE_TIMEOUT); anything
  // else (a day without a partition, say) is still ours to retry: never a 500 or a 4xx.
  const error = new EventsNotStored(
    database?.statusCode === 503
      ? `${database.message}; the events were not stored, send them again`
      : 'The events could not be stored; send them again',
  )
  if (database?.statusCode === 503) error.code = database.code
  return error
}
