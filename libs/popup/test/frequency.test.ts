import t from 'tap'
import {
  checkFrequency,
  type History,
  type HistoryStore,
  recordClose,
  recordConversion,
  recordShow,
} from '../src/rules/frequency.ts'
import type { Frequency } from '../src/rules/types.ts'

const DAY = 86_400_000
const T0 = Date.parse('2030-06-01T12:00:00Z')

function mapStore(): HistoryStore & { map: Map<string, History> } {
  const map = new Map<string, History>()
  return { map, get: (id) => map.get(id), set: (id, history) => map.set(id, history) }
}

const shows = (frequency: Frequency | undefined, store: HistoryStore, now = T0) =>
  checkFrequency(frequency, store, 'c1', now).show

t.test('once: until it has been shown', async (t) => {
  const store = mapStore()
  t.equal(shows({ show: 'once' }, store), true)
  recordShow(store, 'c1', T0)
  t.same(checkFrequency({ show: 'once' }, store, 'c1', T0 + 365 * DAY), {
    show: false,
    reason: 'frequency: once, already shown',
  })
  t.equal(checkFrequency({ show: 'once' }, store, 'c2', T0).show, true, 'per campaign')
  t.equal(shows(undefined, store), false, 'missing frequency is the default: once')
})

t.test('every-n-days: n × 24 h after the last show', async (t) => {
  const store = mapStore()
  const weekly: Frequency = { show: 'every-n-days', days: 7 }
  t.equal(shows(weekly, store), true)
  recordShow(store, 'c1', T0)
  t.same(checkFrequency(weekly, store, 'c1', T0 + 6 * DAY), {
    show: false,
    reason: 'frequency: every 7 days, shown again in 24 h',
  })
  t.equal(shows(weekly, store, T0 + 7 * DAY - 1), false)
  t.equal(shows(weekly, store, T0 + 7 * DAY), true)
  recordShow(store, 'c1', T0 + 7 * DAY)
  t.equal(shows(weekly, store, T0 + 8 * DAY), false, 'counted from the latest show')
  t.same(store.map.get('c1'), { timesShown: 2, lastShownAt: T0 + 7 * DAY })
})

t.test('every-page-view: always', async (t) => {
  const store = mapStore()
  recordShow(store, 'c1', T0)
  recordShow(store, 'c1', T0)
  t.equal(shows({ show: 'every-page-view' }, store), true)
  recordClose(store, 'c1', T0)
  t.equal(shows({ show: 'every-page-view' }, store), true, 'stopAfterClose is off by default')
})

t.test('stopAfterConversion is on by default; it can be turned off', async (t) => {
  const store = mapStore()
  recordConversion(store, 'c1', T0)
  t.same(checkFrequency({ show: 'every-page-view' }, store, 'c1', T0), {
    show: false,
    reason: 'frequency: the visitor converted (stopAfterConversion)',
  })
  t.equal(shows({ show: 'every-page-view', stopAfterConversion: false }, store), true)
  t.equal(store.map.get('c1')?.convertedAt, T0)
})

t.test('stopAfterClose keeps a closed popup away', async (t) => {
  const store = mapStore()
  recordShow(store, 'c1', T0)
  recordClose(store, 'c1', T0 + 1000)
  const settings: Frequency = { show: 'every-n-days', days: 1, stopAfterClose: true }
  t.same(checkFrequency(settings, store, 'c1', T0 + 30 * DAY), {
    show: false,
    reason: 'frequency: the visitor closed it (stopAfterClose)',
  })
  t.equal(shows({ ...settings, stopAfterClose: false }, store, T0 + 30 * DAY), true)
  t.same(store.map.get('c1'), { timesShown: 1, lastShownAt: T0, closedAt: T0 + 1000 })
})
