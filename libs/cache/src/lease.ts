import type { FastifyBaseLogger } from 'fastify'

/**
 * How long a read of an epoch vouches for the answers tagged with it. A change that takes an
 * answer back answers only after this long (`settled`), so every worker has read the new epoch by
 * then or stopped trusting what it holds.
 */
export const LEASE_MS = 300
/** A few polls per lease: one slow poll on a loaded machine does not send every lookup back. */
const POLL_MS = 100

/**
 * Answers held by every worker that must never be served once taken back (a role, a session),
 * without a query per request. An invalidation broadcast reaches the other workers some
 * milliseconds after the change answers, so a held answer would be served in between. Instead
 * every held answer is tagged with the epoch (a counter in PostgreSQL, bumped in the
 * transaction of every change that can take an answer back) read before or with it; each worker
 * polls the epoch and trusts a held answer only while its newest read of the epoch started less
 * than LEASE_MS ago and matches the answer's tag. The change waits LEASE_MS after its commit
 * before it answers (`settled`): any request arriving after that answer finds, on every worker,
 * either a read of the epoch started after the commit (the old tag no longer matches) or an
 * expired lease (back to the source). Only durations of one process's monotonic clock are
 * compared, never two machines' clocks. A poll that waits for a pool connection counts from when
 * it was asked, so a saturated pool only sends lookups back to the source, never lets an old
 * answer through; a failing poll lets the lease run out by itself.
 * The cost: a change answers LEASE_MS later, and drops every worker's held answers of its kind once.
 */
export interface Lease {
  /**
   * The epoch to tag an answer with that is read from its source now: one whose read finished
   * before the source was asked, so a change committed after it bumps past the tag. An answer
   * read in the same statement as the epoch is tagged with that epoch (`learn` it too).
   */
  current(): number
  /** Whether an answer tagged `epoch` may be served now. */
  trusts(epoch: number): boolean
  /** An epoch read elsewhere (in the statement that read an answer), sent at `readAt` (performance.now()). */
  learn(epoch: number, readAt: number): void
  /**
   * Resolves once no worker can serve an answer taken back before the call: a change awaits it
   * after its commit, before it answers.
   */
  settled(): Promise<void>
  close(): void
}

export function createLease(name: string, read: () => Promise<number>, log: FastifyBaseLogger): Lease {
  // The newest read of the epoch: what it said, and when (this process's clock) it was sent.
  let known = { epoch: -1, readAt: Number.NEGATIVE_INFINITY }
  let poller: NodeJS.Timeout | undefined
  let polling = false
  let failing = false

  // A later-sent read saw every commit an earlier one saw: keep the latest-sent, in whatever
  // order the answers arrive.
  const learn = (epoch: number, readAt: number) => {
    if (readAt > known.readAt) known = { epoch, readAt }
  }

  async function poll() {
    if (polling) return
    polling = true
    const readAt = performance.now()
    try {
      learn(await read(), readAt)
      if (failing) log.info({ epoch: name }, 'epoch readable again')
      failing = false
    } catch (error) {
      if (!failing) log.warn({ err: error, epoch: name }, 'epoch not readable; held answers not trusted')
      failing = true
    } finally {
      polling = false
    }
  }

  // Only processes that ask poll (the job worker never serves a session or a role).
  const start = () => {
    if (poller) return
    poller = setInterval(poll, POLL_MS)
    poller.unref()
  }

  return {
    current() {
      start()
      return known.epoch
    },
    trusts(epoch) {
      start()
      return epoch === known.epoch && performance.now() - known.readAt < LEASE_MS
    },
    learn,
    async settled() {
      // Timers may fire a little early by the loop's cached clock: wait by the monotonic one.
      const until = performance.now() + LEASE_MS
      for (let left = LEASE_MS; left > 0; left = until - performance.now()) {
        await new Promise((resolve) => setTimeout(resolve, Math.ceil(left) + 1))
      }
    },
    close() {
      clearInterval(poller)
    },
  }
}
