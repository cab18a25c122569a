import t from 'tap'
import { utcDay, uuidv7Time } from '../src/modules/visitors/event-ids.ts'

t.test(
  'utcDay: the UTC day of a time, right on both sides of midnight, in any order of asking',
  async (t) => {
    const midnight = Date.UTC(2026, 11, 7)
    const asked = [
      [midnight - 1, '2026-12-06'],
      [midnight, '2026-12-07'],
      [midnight + 86_399_999, '2026-12-07'],
      [midnight + 86_400_000, '2026-12-08'],
      [midnight - 1, '2026-12-06'],
      [midnight + 1, '2026-12-07'],
      [Date.UTC(2024, 1, 29, 12), '2024-02-29'],
      [0, '1970-01-01'],
    ] as const
    for (const [ms, day] of asked) t.equal(utcDay(ms), day, `${ms}`)
  },
)

t.test('uuidv7Time: the time a UUIDv7 carries; null for other uuids', async (t) => {
  t.equal(uuidv7Time('019af7c4-1c00-7000-8000-000000000000'), 0x019af7c41c00)
  t.equal(uuidv7Time('019AF7C4-1C00-7000-8000-000000000000'), 0x019af7c41c00, 'upper case too')
  t.equal(uuidv7Time('019af7c4-1c00-4000-8000-000000000000'), null, 'a UUIDv4')
})
