import { randomVisitorId, uuidv7 } from '@nudge/popup'
import t from 'tap'
import { uuidv7Time } from '../../api/src/modules/visitors/event-ids.ts'

t.test('uuidv7: the API reads back the time it was made at', async (t) => {
  for (const now of [Date.now(), 0, Date.parse('2030-06-01T12:34:56.789Z'), 2 ** 48 - 1]) {
    const id = uuidv7(now)
    t.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    t.equal(uuidv7Time(id), now)
  }
  t.equal(uuidv7Time(uuidv7()) !== null, true, 'defaults to now')
})

t.test('uuidv7: ids made in the same millisecond differ', async (t) => {
  const ids = new Set(Array.from({ length: 1000 }, () => uuidv7(1_700_000_000_000)))
  t.equal(ids.size, 1000)
})

t.test('visitor ids are random v4 UUIDs, which the API does not take for event ids', async (t) => {
  const id = randomVisitorId()
  t.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.not(randomVisitorId(), id)
  t.equal(uuidv7Time(id), null)
})
