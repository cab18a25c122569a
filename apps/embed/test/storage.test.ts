import t from 'tap'
import { debugEnabled, makeLog } from '../src/debug.ts'
import { safeStorage } from '../src/storage.ts'
import { historyStore, VISITOR_KEY, visitorState } from '../src/visitor.ts'

function memoryStorage() {
  const map = new Map<string, string>()
  return {
    getItem: (k: string) => map.get(k) ?? null,
    setItem: (k: string, v: string) => void map.set(k, v),
    removeItem: (k: string) => void map.delete(k),
    map,
  }
}

const throwing = () => {
  throw new DOMException('The operation is insecure.', 'SecurityError')
}

t.test('storage that throws on every call (Safari private mode) falls back to memory', async (t) => {
  const store = safeStorage(throwing)
  t.equal(store.get('nudge:vid'), null)
  t.doesNotThrow(() => store.set('nudge:vid', 'x'))
  t.equal(store.get('nudge:vid'), 'x', 'kept for this page view')
  t.doesNotThrow(() => store.remove('nudge:vid'))
  t.equal(store.get('nudge:vid'), null)
})

t.test('a full quota: writes go to memory, reads still see them', async (t) => {
  const backing = memoryStorage()
  const store = safeStorage(() => ({
    ...backing,
    setItem: () => {
      throw new DOMException('quota', 'QuotaExceededError')
    },
  }))
  store.set('nudge:h:c1', '{"timesShown":1}')
  t.same(historyStore(store).get('c1'), { timesShown: 1 })
})

t.test('the visitor id is made once and kept; the next day the visitor is returning', async (t) => {
  const backing = memoryStorage()
  const store = safeStorage(() => backing)
  const day1 = Date.parse('2030-04-01T10:00:00')
  const first = visitorState(store, day1)
  t.match(first.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.equal(first.returning, false)
  t.equal(backing.map.get(VISITOR_KEY), first.id)
  t.same(visitorState(store, day1 + 3_600_000), { id: first.id, returning: false }, 'same day: one visit')
  t.same(visitorState(store, day1 + 86_400_000), { id: first.id, returning: true }, 'next day: returning')
  t.notOk(
    [...backing.map.values()].some((v) => v.includes('@')),
    'nothing personal stored',
  )
})

t.test('an edited or foreign visitor id is replaced, a broken history ignored', async (t) => {
  const backing = memoryStorage()
  backing.map.set(VISITOR_KEY, 'not-an-id')
  backing.map.set('nudge:h:c1', '{oops')
  const store = safeStorage(() => backing)
  t.not(visitorState(store, Date.now()).id, 'not-an-id')
  t.equal(historyStore(store).get('c1'), undefined)
})

t.test('debug: on by the URL switch or localStorage, silent otherwise, each error once', async (t) => {
  const backing = memoryStorage()
  const store = safeStorage(() => backing)
  t.equal(debugEnabled('?nudge_debug=1', store), true)
  t.equal(debugEnabled('?nudge_debug=0', store), false)
  store.set('nudge:debug', '1')
  t.equal(debugEnabled('', store), true)
  const lines: unknown[][] = []
  const sink = { info: (...a: unknown[]) => lines.push(a), error: (...a: unknown[]) => lines.push(a) }
  const quiet = makeLog(false, sink)
  quiet.info('x')
  quiet.error(new Error('boom'))
  t.equal(lines.length, 0)
  const loud = makeLog(true, sink)
  loud.error(new Error('boom'))
  loud.error(new Error('boom'))
  t.equal(lines.length, 1)
})
