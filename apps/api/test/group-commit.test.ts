import t from 'tap'
import { GroupCommit, type ItemOutcome } from '../src/group-commit.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A writer that records its groups and answers each item with its double. */
function doubling(
  options: { windowMs?: number; maxSize?: number; keysOf?: (item: number) => string[] } = {},
) {
  const groups: number[][] = []
  const writer = new GroupCommit<number, number>({
    windowMs: options.windowMs,
    maxSize: options.maxSize ?? 100,
    keysOf: options.keysOf,
    write: async (items) => {
      groups.push(items)
      await sleep(10)
      return items.map((item): ItemOutcome<number> => ({ ok: true, result: item * 2 }))
    },
    closed: () => new Error('closed'),
  })
  return { writer, groups }
}

t.test('the items of one window are written as one group, each answered with its own result', async (t) => {
  const { writer, groups } = doubling({ windowMs: 20 })
  t.same(await Promise.all([1, 2, 3].map((n) => writer.write(n))), [2, 4, 6])
  t.same(groups, [[1, 2, 3]])
  t.equal(writer.flushes, 1)
})

t.test(
  'without a window: the first item goes at once, those arriving meanwhile make the next group',
  async (t) => {
    const { writer, groups } = doubling()
    const first = writer.write(1)
    const later = [2, 3].map((n) => writer.write(n))
    t.same(await Promise.all([first, ...later]), [2, 4, 6])
    t.same(groups, [[1], [2, 3]])
  },
)

t.test('a group holds at most maxSize; the rest keep their order for the next', async (t) => {
  const { writer, groups } = doubling({ windowMs: 5, maxSize: 2 })
  await Promise.all([1, 2, 3, 4, 5].map((n) => writer.write(n)))
  t.same(groups, [[1, 2], [3, 4], [5]])
})

t.test('an item sharing a key with one already in the group waits for the next group', async (t) => {
  const { writer, groups } = doubling({ windowMs: 5, keysOf: (n) => [`parity ${n % 2}`] })
  await Promise.all([1, 3, 2, 5].map((n) => writer.write(n)))
  t.same(groups, [[1, 2], [3], [5]])
})

t.test('per-item errors reach their own caller; a group that throws fails every item of it', async (t) => {
  let fail = false
  const writer = new GroupCommit<number, number>({
    windowMs: 5,
    maxSize: 10,
    write: async (items) => {
      if (fail) throw new Error('statement failed')
      return items.map(
        (n): ItemOutcome<number> =>
          n < 0 ? { ok: false, error: new Error(`bad ${n}`) } : { ok: true, result: n },
      )
    },
    groupFailed: (error) => new Error(`not stored: ${(error as Error).message}`),
    closed: () => new Error('closed'),
  })
  const answers = await Promise.allSettled([writer.write(1), writer.write(-1)])
  t.same(answers[0], { status: 'fulfilled', value: 1 })
  t.match(answers[1], { status: 'rejected', reason: { message: 'bad -1' } })
  t.equal(writer.flushes, 1)
  fail = true
  const failed = await Promise.allSettled([writer.write(2), writer.write(3)])
  t.match(failed, [
    { status: 'rejected', reason: { message: 'not stored: statement failed' } },
    { status: 'rejected', reason: { message: 'not stored: statement failed' } },
  ])
  t.equal(writer.flushes, 1, 'a failed group is not a write')
})

t.test('close() writes what waits without waiting for the window, then refuses new items', async (t) => {
  const { writer, groups } = doubling({ windowMs: 10_000 })
  const waiting = [1, 2].map((n) => writer.write(n))
  const started = Date.now()
  await writer.close()
  t.ok(Date.now() - started < 5_000, 'not held for the window')
  t.same(await Promise.all(waiting), [2, 4])
  t.same(groups, [[1, 2]])
  await t.rejects(writer.write(3), { message: 'closed' })
  t.same(groups, [[1, 2]], 'nothing written after close')
})
