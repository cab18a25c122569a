import t from 'tap'
import { makeLog } from '../src/debug.ts'
import {
  BATCH_WAIT_MS,
  backoffMs,
  EventQueue,
  MAX_ATTEMPTS,
  outcome,
  PENDING_KEY,
  type Transport,
  uuidTime,
  type VisitorEvent,
} from '../src/events.ts'
import { safeStorage } from '../src/storage.ts'

/** Timers run by hand: `advance` fires what is due, in order. */
function clock() {
  let now = Date.parse('2030-04-01T10:00:00Z')
  let tasks: Array<{ at: number; fn: () => void; id: number }> = []
  let next = 1
  return {
    now: () => now,
    timers: {
      set: (fn: () => void, ms: number) => {
        tasks.push({ at: now + ms, fn, id: next })
        return next++
      },
      clear: (id: unknown) => {
        tasks = tasks.filter((task) => task.id !== id)
      },
    },
    async advance(ms: number) {
      const end = now + ms
      for (;;) {
        tasks.sort((a, b) => a.at - b.at)
        const task = tasks[0]
        if (!task || task.at > end) break
        tasks.shift()
        now = task.at
        task.fn()
        await new Promise((r) => setImmediate(r))
      }
      now = end
    },
  }
}

function recorder(statuses: Array<number | 'network'> = []) {
  const posts: VisitorEvent[][] = []
  const beacons: VisitorEvent[][] = []
  let beaconWorks = true
  const transport: Transport = {
    post: async (_url, json) => {
      posts.push((JSON.parse(json) as { events: VisitorEvent[] }).events)
      const status = statuses.shift() ?? 202
      if (status === 'network') throw new TypeError('Failed to fetch')
      return status
    },
    beacon: (_url, json) => {
      if (!beaconWorks) return false
      beacons.push((JSON.parse(json) as { events: VisitorEvent[] }).events)
      return true
    },
  }
  return { posts, beacons, transport, breakBeacon: () => (beaconWorks = false) }
}

const memory = () => {
  const map = new Map<string, string>()
  return safeStorage(() => ({
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, v),
    removeItem: (k) => void map.delete(k),
  }))
}

const event = (type: VisitorEvent['type'] = 'impression') => ({ campaignId: 'c1', variantId: 'a', type })

t.test('what a response means: 2xx sent, 429 and 5xx retried, other 4xx dropped', async (t) => {
  t.same([200, 202, 429, 500, 503, 400, 403, 413].map(outcome), [
    'sent',
    'sent',
    'retry',
    'retry',
    'retry',
    'drop',
    'drop',
    'drop',
  ])
  t.ok(backoffMs(1, 0.5) === 1000 && backoffMs(3, 0.5) === 4000, 'doubling from 1 s')
})

t.test('events within a second go as one batch with one page view and UUIDv7 ids', async (t) => {
  const c = clock()
  const r = recorder()
  const q = new EventQueue({ url: 'u', transport: r.transport, store: memory(), log: makeLog(false), ...c })
  q.add(event('impression'))
  await c.advance(300)
  q.add(event('close'))
  t.equal(r.posts.length, 0, 'nothing before the second is up')
  await c.advance(BATCH_WAIT_MS)
  t.equal(r.posts.length, 1)
  const [batch] = r.posts
  t.same(
    batch?.map((e) => e.type),
    ['impression', 'close'],
  )
  t.equal(new Set(batch?.map((e) => e.pageViewId)).size, 1)
  for (const e of batch ?? []) {
    t.match(e.eventId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    t.ok(Math.abs(uuidTime(e.eventId) - c.now()) < 2000, 'the id carries when it happened')
  }
})

t.test('50 events go at once, the 51st waits for the next batch', async (t) => {
  const c = clock()
  const r = recorder()
  const q = new EventQueue({ url: 'u', transport: r.transport, store: memory(), log: makeLog(false), ...c })
  for (let i = 0; i < 51; i += 1) q.add(event())
  await c.advance(0)
  t.equal(r.posts.length, 1)
  t.equal(r.posts[0]?.length, 50)
  await c.advance(BATCH_WAIT_MS)
  t.equal(r.posts[1]?.length, 1)
})

t.test('a network failure and a 503 are retried with the same event ids; a 400 is not', async (t) => {
  const c = clock()
  const r = recorder(['network', 503, 202, 400])
  const q = new EventQueue({ url: 'u', transport: r.transport, store: memory(), log: makeLog(false), ...c })
  q.add(event())
  await c.advance(60_000)
  t.equal(r.posts.length, 3)
  const ids = r.posts.map((batch) => batch.map((e) => e.eventId).join())
  t.equal(new Set(ids).size, 1, 'every attempt carries the same ids')
  q.add(event('close'))
  await c.advance(60_000)
  t.equal(r.posts.length, 4, 'a 400 is final')
})

t.test(
  'after the last attempt the events are kept and the next page sends them with their ids',
  async (t) => {
    const c = clock()
    const store = memory()
    const r = recorder(Array(MAX_ATTEMPTS).fill(503))
    const q = new EventQueue({ url: 'u', transport: r.transport, store, log: makeLog(false), ...c })
    const sent = q.add(event())
    await c.advance(120_000)
    t.equal(r.posts.length, MAX_ATTEMPTS)
    t.match(store.get(PENDING_KEY), sent.eventId)
    const next = recorder()
    const q2 = new EventQueue({ url: 'u', transport: next.transport, store, log: makeLog(false), ...c })
    q2.resendKept()
    await c.advance(0)
    t.same(
      next.posts[0]?.map((e) => e.eventId),
      [sent.eventId],
    )
    t.equal(store.get(PENDING_KEY), null)
  },
)

t.test('leaving the page: pending and unanswered events go by beacon; refused ones are kept', async (t) => {
  const c = clock()
  const store = memory()
  const r = recorder()
  r.transport.post = () => new Promise(() => {}) // never answers: the page goes first
  const q = new EventQueue({ url: 'u', transport: r.transport, store, log: makeLog(false), ...c })
  const a = q.add(event())
  await c.advance(BATCH_WAIT_MS)
  const b = q.add(event('close'))
  q.leave()
  t.same(
    r.beacons[0]?.map((e) => e.eventId),
    [a.eventId, b.eventId],
  )
  t.equal(store.get(PENDING_KEY), null)
  r.breakBeacon()
  const d = q.add(event('conversion'))
  q.leave()
  t.match(store.get(PENDING_KEY), d.eventId, 'kept for the next page')
})
