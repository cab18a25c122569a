import t from 'tap'
import { boundInstant, inSchedule } from '../src/rules/schedule.ts'
import { instantOf, offsetAt } from '../src/rules/time-zone.ts'

const at = (iso: string) => Date.parse(iso)

t.test('no schedule, or no bounds: always', async (t) => {
  t.equal(inSchedule(undefined, at('2030-01-01T00:00:00Z')).show, true)
  t.equal(inSchedule({ timeZone: 'Europe/Berlin' }, at('2030-01-01T00:00:00Z')).show, true)
})

t.test('startAt and endAt are inclusive instants, reasons in the schedule zone', async (t) => {
  const schedule = {
    startAt: '2030-03-20T08:00:00+01:00',
    endAt: '2030-04-20T23:59:59+02:00',
    timeZone: 'Europe/Berlin',
  }
  t.same(inSchedule(schedule, at('2030-03-20T06:59:59Z')), {
    show: false,
    reason: 'schedule: starts 2030-03-20 08:00:00 Europe/Berlin (now 2030-03-20 07:59:59 Europe/Berlin)',
  })
  t.equal(inSchedule(schedule, at('2030-03-20T07:00:00Z')).show, true, 'at startAt')
  t.equal(inSchedule(schedule, at('2030-04-20T21:59:59Z')).show, true, 'at endAt')
  t.same(inSchedule(schedule, at('2030-04-20T22:00:00Z')), {
    show: false,
    reason: 'schedule: ended 2030-04-20 23:59:59 Europe/Berlin (now 2030-04-21 00:00:00 Europe/Berlin)',
  })
  t.equal(
    inSchedule({ startAt: '2030-01-01T00:00:00Z', timeZone: 'UTC' }, at('2031-01-01T00:00:00Z')).show,
    true,
  )
  t.equal(
    inSchedule({ endAt: '2030-01-01T00:00:00Z', timeZone: 'UTC' }, at('2020-01-01T00:00:00Z')).show,
    true,
  )
})

t.test('day boundary: the same instant is another day in another zone', async (t) => {
  // Midnight 1 May in Tokyo is still 30 April in UTC and in New York.
  const schedule = { startAt: '2030-05-01T00:00:00+09:00', timeZone: 'Asia/Tokyo' }
  const justAfter = at('2030-04-30T15:00:00Z')
  t.equal(inSchedule(schedule, justAfter - 1).show, false)
  t.equal(inSchedule(schedule, justAfter).show, true)
  t.match(inSchedule(schedule, justAfter).reason, /now 2030-05-01 00:00:00 Asia\/Tokyo/)
  // A bound without an offset is wall time in the zone.
  t.equal(boundInstant('2030-05-01T00:00:00', 'Asia/Tokyo'), justAfter)
  t.equal(boundInstant('2030-05-01', 'America/New_York'), at('2030-05-01T04:00:00Z'))
})

t.test('daylight saving: offset-less bounds follow the zone’s clock change', async (t) => {
  // Berlin: clocks go forward at 02:00 on 31 March 2030, back at 03:00 on 27 October 2030.
  t.equal(offsetAt(at('2030-03-31T00:59:59Z'), 'Europe/Berlin'), 3_600_000)
  t.equal(offsetAt(at('2030-03-31T01:00:00Z'), 'Europe/Berlin'), 7_200_000)
  t.equal(
    boundInstant('2030-03-31T01:30:00', 'Europe/Berlin'),
    at('2030-03-31T00:30:00Z'),
    'before the change',
  )
  t.equal(
    boundInstant('2030-03-31T03:30:00', 'Europe/Berlin'),
    at('2030-03-31T01:30:00Z'),
    'after the change',
  )
  t.equal(
    boundInstant('2030-03-31T02:30:00', 'Europe/Berlin'),
    at('2030-03-31T01:30:00Z'),
    'the skipped hour',
  )
  t.equal(
    boundInstant('2030-10-27T02:30:00', 'Europe/Berlin'),
    at('2030-10-27T00:30:00Z'),
    'the repeated hour: first',
  )
  t.equal(
    instantOf({ year: 2030, month: 11, day: 3, hour: 1, minute: 30, second: 0 }, 'America/New_York'),
    at('2030-11-03T05:30:00Z'),
    'New York falls back on its own day',
  )
  // A campaign ending at local midnight after the spring change ends at 22:00 UTC, not 23:00.
  const schedule = { endAt: '2030-04-01T00:00:00', timeZone: 'Europe/Berlin' }
  t.equal(inSchedule(schedule, at('2030-03-31T22:00:00Z')).show, true)
  t.equal(inSchedule(schedule, at('2030-03-31T22:00:01Z')).show, false)
})

t.test('unreadable dates do not show; an unknown zone falls back to UTC', async (t) => {
  t.match(inSchedule({ startAt: 'soon', timeZone: 'UTC' }, 0), {
    show: false,
    reason: /startAt "soon" cannot be read/,
  })
  t.match(inSchedule({ endAt: '2030-13-99T00:00:00Z', timeZone: 'UTC' }, 0), { show: false, reason: /endAt/ })
  const unknownZone = inSchedule(
    { startAt: '2030-01-01T00:00:00Z', timeZone: 'Mars/Olympus' },
    at('2030-06-01T00:00:00Z'),
  )
  t.same(unknownZone, { show: true, reason: 'schedule: running (now 2030-06-01 00:00:00 UTC)' })
})
