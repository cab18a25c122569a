/** One item's answer from a group's write: its result, or the error that item alone ran into. */
export type ItemOutcome<Result> = { ok: true; result: Result } | { ok: false; error: unknown }

export interface GroupCommitOptions<Item, Result> {
  /**
   * Writes one group and answers each of its items, in order. What it throws fails every item of
   * the group (through `groupFailed`); a group that resolves counts as written (`flushes`).
   */
  write: (items: Item[]) => Promise<ItemOutcome<Result>[]>
  /**
   * How long a group gathers after its first item before it is written. Without a window, a
   * group is written as soon as no write is under way (only the items that arrived during the
   * previous write are grouped).
   */
  windowMs?: number | undefined
  /**
   * How many groups may be written at once (default 1). With 2, the next group's statement runs
   * while the previous one commits and its callers are answered, instead of after that.
   */
  inFlight?: number
  /** The most a group holds, in `sizeOf` units; an item larger than that makes a group alone. */
  maxSize: number
  /** What one item counts for against `maxSize` (default 1). */
  sizeOf?: (item: Item) => number
  /**
   * Keys no two items being written may share (the same row written twice in one statement, or
   * by two of this writer's statements at once): a later item with a key already in its group or
   * in a group being written waits for a later group, in its place in line.
   */
  keysOf?: (item: Item) => Array<string | null>
  /** The error each item of a group gets when `write` throws (default: what it threw). */
  groupFailed?: (error: unknown) => Error
  /** The error an item handed over after `close()` gets: nothing is written any more. */
  closed: () => Error
}

interface Waiter<Item, Result> {
  item: Item
  resolve: (result: Result) => void
  reject: (error: unknown) => void
}

/**
 * Group commit. Callers hand over an item each and wait; the items that gather (within the window,
 * or while the previous write runs) are written together by ONE call of `write`, one commit for
 * many under load, and each caller is answered after that commit with its own item's outcome.
 * Few writes at a time (`inFlight`): writes of one kind lock the same few rows (daily counts), so
 * a third one would only wait for the others' row locks; items that arrive meanwhile make the next
 * group instead, which grows with the load. A second one is worth it: the statements' own work
 * overlaps the previous one's commit (its disk flush) and the answering of its callers.
 */
export class GroupCommit<Item, Result> {
  /** Groups written so far (for tests and metrics). */
  flushes = 0
  readonly #options: GroupCommitOptions<Item, Result>
  #waiting: Waiter<Item, Result>[] = []
  #waitingSize = 0
  #timer: NodeJS.Timeout | undefined
  readonly #running = new Set<Promise<void>>()
  /** The keys of the items being written (`keysOf`). */
  readonly #writingKeys = new Set<string>()
  #closing = false

  constructor(options: GroupCommitOptions<Item, Result>) {
    this.#options = options
  }

  /** Items handed over and not yet being written (for tests and metrics). */
  get waiting(): number {
    return this.#waiting.length
  }

  /** Resolves with the item's result once its group is committed; rejects with its error. */
  write(item: Item): Promise<Result> {
    if (this.#closing) return Promise.reject(this.#options.closed())
    return new Promise((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject })
      this.#waitingSize += this.#sizeOf(item)
      this.#schedule()
    })
  }

  /**
   * Refuses new items, writes every item still waiting without waiting for the window, and
   * returns when all of them are answered (on shutdown: nothing handed over is lost).
   */
  async close(): Promise<void> {
    this.#closing = true
    this.#schedule()
    while (this.#running.size > 0) await Promise.all(this.#running)
  }

  #sizeOf(item: Item): number {
    return this.#options.sizeOf?.(item) ?? 1
  }

  #keysOf(item: Item): string[] {
    return (this.#options.keysOf?.(item) ?? []).filter((key) => key !== null)
  }

  /** Starts a write now, or when the window ends, or when a write under way ends. */
  #schedule(writeEnded = false) {
    if (this.#waiting.length === 0 || this.#running.size >= (this.#options.inFlight ?? 1)) return
    const { windowMs, maxSize } = this.#options
    // Items that gathered while a write ran have waited long enough.
    if (writeEnded || this.#closing || windowMs === undefined || this.#waitingSize >= maxSize) {
      return this.#start()
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined
      this.#schedule(true)
    }, windowMs)
  }

  /**
   * Takes waiting items in line order (up to maxSize, none sharing a key with one taken before it
   * or being written) and writes them as one group; the rest keep their places for the next.
   */
  #start() {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const group: Waiter<Item, Result>[] = []
    const rest: Waiter<Item, Result>[] = []
    const keys = this.#writingKeys
    const taken: string[] = []
    let size = 0
    let full = false
    for (const waiter of this.#waiting) {
      const itemSize = this.#sizeOf(waiter.item)
      if (full || (group.length > 0 && size + itemSize > this.#options.maxSize)) {
        full = true
        rest.push(waiter)
        continue
      }
      const itemKeys = this.#keysOf(waiter.item)
      if (itemKeys.some((key) => keys.has(key))) {
        rest.push(waiter)
        continue
      }
      for (const key of itemKeys) keys.add(key)
      taken.push(...itemKeys)
      size += itemSize
      group.push(waiter)
    }
    this.#waiting = rest
    this.#waitingSize -= size
    // Every waiting item shares a key with one being written: the end of that write starts the next.
    if (group.length === 0) return
    const running: Promise<void> = this.#write(group).finally(() => {
      for (const key of taken) keys.delete(key)
      this.#running.delete(running)
      this.#schedule(true)
    })
    this.#running.add(running)
    // Another write may start at once with what is left (when inFlight allows it).
    if (this.#waiting.length > 0) this.#schedule()
  }

  /** Answers every item of the group: each with its outcome, or all with the group's error. */
  async #write(group: Waiter<Item, Result>[]): Promise<void> {
    let outcomes: ItemOutcome<Result>[]
    try {
      outcomes = await this.#options.write(group.map((waiter) => waiter.item))
    } catch (error) {
      const failed = this.#options.groupFailed
      for (const waiter of group) waiter.reject(failed ? failed(error) : error)
      return
    }
    this.flushes++
    for (const [index, waiter] of group.entries()) {
      const outcome = outcomes[index]
      if (outcome?.ok) waiter.resolve(outcome.result)
      else waiter.reject(outcome ? outcome.error : new Error('the group write gave this item no answer'))
    }
  }
}
