import type { Kysely } from 'kysely'
import {
  fromKysely,
  type Job,
  type PgBoss,
  type Queue,
  type QueueResult,
  type SendOptions,
  type WorkOptions,
} from 'pg-boss'
import { JobsUnavailableError } from './errors.ts'

/** A database handle: `app.db` or a transaction, whose commit then decides whether the job exists. */
// biome-ignore lint/suspicious/noExplicitAny: any Kysely database or transaction will do
type Executor = Kysely<any>

/** A kind of job: its queue's settings, and what runs it in the worker process. */
export interface JobDefinition<T extends object> {
  name: string
  queue?: Omit<Queue, 'name' | 'deadLetter'>
  /** Jobs that exhaust their retries move to `<name>.dead`, kept for `npm run jobs -- redrive`. */
  deadLetter?: boolean
  /** A cron expression (UTC): the worker process sends one job each time it fires. */
  cron?: string
  work?: Pick<WorkOptions, 'batchSize' | 'localConcurrency' | 'burstWhenBatchFull'>
  handler?: (jobs: Job<T>[]) => Promise<void>
}

export type JobSendOptions = Omit<SendOptions, 'db'> & { db?: Executor }

export interface QueueSummary {
  name: string
  waiting: number
  deferred: number
  active: number
  failed: number
  total: number
  /** Seconds the oldest job ready to run has waited; null when none is waiting. */
  oldestWaitingSeconds: number | null
  deadLetter: string | null
}

/** Longest a request waits for a queue still starting. */
const READY_WAIT_MS = 2000

/**
 * The durable job queue (pg-boss on our PostgreSQL, in schema `pgboss`). Every process sends;
 * only the worker process (`work()`) runs handlers, cron schedules and pg-boss maintenance.
 * Jobs sent with `db: trx` are rows of that transaction: a rollback leaves no job.
 */
export class Jobs {
  readonly boss: PgBoss
  readonly #definitions = new Map<string, JobDefinition<object>>()
  readonly #pollSeconds: number
  #started = false
  #ready: Promise<void> | undefined
  readonly #wakes = new Map<string, { last: number; timer: NodeJS.Timeout | undefined }>()

  constructor(boss: PgBoss, pollSeconds: number) {
    this.boss = boss
    this.#pollSeconds = pollSeconds
  }

  /**
   * Starts pg-boss (installing or migrating its schema) and creates the queues, retrying while
   * the database is unreachable. Sends wait for it.
   */
  start(attempts: number): Promise<void> {
    this.#ready ??= (async () => {
      this.#started = true
      await this.boss.start({ attempts })
      await this.createQueues()
    })()
    return this.#ready
  }

  /** Resolves once the queues exist (sends made earlier wait for it). */
  get ready(): Promise<void> {
    if (!this.#ready) throw new Error('the jobs layer has not started (app not ready)')
    return this.#ready
  }

  /**
   * The queue for a caller that cannot wait: while the database was unreachable at start-up,
   * pg-boss retries its start with backoff, and a request must not hang behind it (503 after
   * READY_WAIT_MS instead).
   */
  #startedWithin(): Promise<void> {
    const ready = this.ready
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new JobsUnavailableError()), READY_WAIT_MS)
    })
    return Promise.race([ready, late]).finally(() => clearTimeout(timer))
  }

  /** Declares a kind of job; its queue is created when the app starts. */
  define<T extends object>(definition: JobDefinition<T>): void {
    if (this.#started) throw new Error(`job ${definition.name} defined after the jobs layer started`)
    if (this.#definitions.has(definition.name)) throw new Error(`job ${definition.name} defined twice`)
    this.#definitions.set(definition.name, definition as JobDefinition<object>)
  }

  get names(): string[] {
    return [...this.#definitions.keys()]
  }

  /** Creates or updates every queue, dead-letter queues first (pg-boss refuses sends to unknown queues). */
  async createQueues(): Promise<void> {
    const wanted: Queue[] = []
    for (const definition of this.#definitions.values()) {
      const deadLetter = definition.deadLetter ? `${definition.name}.dead` : undefined
      if (deadLetter)
        wanted.push({ name: deadLetter, retentionSeconds: 30 * 86400, deleteAfterSeconds: 30 * 86400 })
      wanted.push({ name: definition.name, ...definition.queue, ...(deadLetter ? { deadLetter } : {}) })
    }
    const existing = new Set((await this.boss.getQueues(wanted.map((q) => q.name))).map((q) => q.name))
    for (const { name, ...options } of wanted) {
      if (existing.has(name)) {
        const { policy: _policy, partition: _partition, ...changeable } = options
        await this.boss.updateQueue(name, changeable)
      } else {
        await this.boss.createQueue(name, options)
      }
    }
  }

  async send(name: string, data: object | null, options: JobSendOptions = {}): Promise<string | null> {
    const { db, ...rest } = options
    await this.#startedWithin()
    return this.boss.send(name, data, { ...rest, ...(db ? { db: fromKysely(db) } : {}) })
  }

  /** Many jobs of one kind in one statement; `db: trx` as for `send`. */
  async insert(
    name: string,
    items: Array<{ data: object } & Omit<SendOptions, 'db'>>,
    options: { db?: Executor } = {},
  ) {
    if (items.length === 0) return
    await this.#startedWithin()
    await this.boss.insert(name, items, options.db ? { db: fromKysely(options.db) } : {})
  }

  /**
   * A wake-up: at most one job per `seconds` (and one more at the end of the window if others
   * were asked for meanwhile), for handlers that drain a table themselves.
   */
  async sendDebounced(name: string, seconds: number): Promise<void> {
    await this.#startedWithin()
    await this.boss.sendDebounced(name, {}, null, seconds)
  }

  /**
   * Asks for a run of `name` (a handler that drains a table) soon, from a hot path: at most one
   * send a second from this process, plus a trailing one for calls in between, and pg-boss
   * debounces across processes. Never throws; a failed send goes to `onError`.
   */
  wake(name: string, onError: (error: unknown) => void): void {
    const wake = this.#wakes.get(name) ?? { last: 0, timer: undefined }
    this.#wakes.set(name, wake)
    if (wake.timer) return
    const send = () => {
      wake.timer = undefined
      wake.last = Date.now()
      this.sendDebounced(name, 1).catch(onError)
    }
    const wait = wake.last + 1000 - Date.now()
    if (wait <= 0) send()
    else wake.timer = setTimeout(send, wait).unref()
  }

  /** Stops pending wake-ups (the app is closing). */
  stopWaking(): void {
    for (const wake of this.#wakes.values()) clearTimeout(wake.timer)
  }

  /** Starts the handlers and cron schedules: the worker process only. */
  async work(): Promise<void> {
    await this.ready
    for (const definition of this.#definitions.values()) {
      const { handler, name } = definition
      if (definition.cron) await this.boss.schedule(name, definition.cron, {}, { tz: 'UTC' })
      if (!handler) continue
      await this.boss.work(
        name,
        {
          // NOTIFY wakes a worker for new jobs, not for delayed ones coming due (retries): poll too.
          pollingIntervalSeconds: this.#pollSeconds,
          notifyPollingIntervalSeconds: this.#pollSeconds,
          batchSize: 1,
          ...definition.work,
        },
        (jobs: Job<object>[]) => handler(jobs),
      )
    }
  }

  async queues(): Promise<QueueSummary[]> {
    await this.#startedWithin()
    return queueSummaries(this.boss)
  }
}

/**
 * Each queue's depth now. pg-boss's own counts (getQueues) are a cache its monitor refreshes
 * every minute or so; an operator looking at a backlog wants the present, so the job table is
 * counted directly (pg-boss 12's schema: one row per job, `state` and `start_after`).
 */
export async function queueSummaries(boss: PgBoss): Promise<QueueSummary[]> {
  const queues = await boss.getQueues()
  const { rows } = await boss.getDb().executeSql(
    `SELECT name,
       count(*) FILTER (WHERE state IN ('created', 'retry') AND start_after <= now())::int AS waiting,
       count(*) FILTER (WHERE state IN ('created', 'retry') AND start_after > now())::int AS deferred,
       count(*) FILTER (WHERE state = 'active')::int AS active,
       count(*) FILTER (WHERE state = 'failed')::int AS failed,
       count(*)::int AS total,
       extract(epoch FROM now() - min(start_after) FILTER (WHERE state IN ('created', 'retry') AND start_after <= now()))::float AS oldest
     FROM pgboss.job GROUP BY name`,
  )
  const counts = new Map(rows.map((row) => [row.name as string, row]))
  return queues
    .map((queue: QueueResult) => {
      const row = counts.get(queue.name)
      return {
        name: queue.name,
        waiting: row?.waiting ?? 0,
        deferred: row?.deferred ?? 0,
        active: row?.active ?? 0,
        failed: row?.failed ?? 0,
        total: row?.total ?? 0,
        oldestWaitingSeconds:
          row?.oldest === null || row?.oldest === undefined ? null : Math.round(row.oldest),
        deadLetter: queue.deadLetter ?? null,
      }
    })
    .sort((a, b) => a.name.localeCompare(b.name))
}
