import t from 'tap'
import {
  downloadName,
  emptyFilters,
  erasureSummary,
  fieldsText,
  filterQuery,
  filtersFromRoute,
  filtersToRoute,
} from '../src/views/leads/leads.ts'

t.test('the filter form becomes the route query: dates are whole days in the browser zone', async (t) => {
  t.same(filterQuery(emptyFilters()), {}, 'no filter, no query')
  const query = filterQuery({ campaignId: 'c1', search: '  ada@ ', from: '2026-03-01', to: '2026-03-31' })
  t.equal(query.campaignId, 'c1')
  t.equal(query.search, 'ada@', 'search trimmed')
  t.equal(query.from, new Date(2026, 2, 1).toISOString(), 'from: local midnight of the first day')
  t.equal(query.to, new Date(2026, 3, 1).toISOString(), 'to: local midnight after the last day (exclusive)')
  t.equal(filterQuery({ ...emptyFilters(), to: '2026-12-31' }).to, new Date(2027, 0, 1).toISOString())
})

t.test('filters round-trip through the page URL; junk is dropped', async (t) => {
  const filters = { campaignId: 'c1', search: 'ada', from: '2026-03-01', to: '' }
  t.same(filtersToRoute(filters), { campaignId: 'c1', search: 'ada', from: '2026-03-01' })
  t.same(filtersFromRoute(filtersToRoute(filters)), filters)
  t.same(filtersFromRoute({ from: 'yesterday', search: ['a', 'b'] }), emptyFilters())
})

t.test('the download keeps the name the API gives', async (t) => {
  t.equal(downloadName('attachment; filename="leads-2026-03-01.csv"'), 'leads-2026-03-01.csv')
  t.equal(downloadName("attachment; filename*=UTF-8''leads%20spring.csv"), 'leads spring.csv')
  t.equal(downloadName(null, new Date('2026-03-02T10:00:00Z')), 'leads-2026-03-02.csv')
})

t.test('a lead’s other fields in one cell', async (t) => {
  t.equal(
    fieldsText({ firstName: 'Ada', newsletter: true, sms: false }),
    'firstName: Ada · newsletter: yes · sms: no',
  )
  t.equal(fieldsText({}), '')
})

t.test('the erasure answer, said plainly', async (t) => {
  t.match(erasureSummary('a@b.c', { erased: 0, integrationsTold: 0, statsKept: true }), /No lead with a@b.c/)
  const one = erasureSummary('a@b.c', { erased: 1, integrationsTold: 0, statsKept: true })
  t.match(one, /Erased 1 lead of a@b.c/)
  t.match(one, /No integration had received/)
  t.match(one, /statistics still count/)
  const many = erasureSummary('a@b.c', { erased: 3, integrationsTold: 2, statsKept: true })
  t.match(many, /Erased 3 leads/)
  t.match(many, /2 integrations that had received this person are being told/)
})
