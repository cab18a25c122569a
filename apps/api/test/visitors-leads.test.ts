import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { depsOf } from '../src/deps.ts'
import { checkLead, emailProblem, phoneProblem } from '../src/modules/visitors/lead-form.ts'
import { visitorCampaign } from '../src/modules/visitors/published.ts'
import { buildTestApp } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { migratedDatabase } from './helpers/database.ts'
import { signInAs } from './helpers/session.ts'

const EDGE_SECRET = 'edge-secret-for-lead-tests-0123456789'
const ORIGIN = 'https://shop.example'
const viaEdge = (country: string, ip = '203.0.113.77') => ({
  'x-edge-secret': EDGE_SECRET,
  'cf-ipcountry': country,
  'cf-connecting-ip': ip,
})

/** Variant a has a lead form (with consent), variant b has none. */
const VARIANTS = [
  {
    id: 'a',
    name: 'With form',
    weight: 50,
    steps: [
      {
        blocks: [{ type: 'text', text: 'Join us' }],
        buttons: [{ label: 'Join', action: 'submit' }],
        form: {
          fields: [
            { name: 'email', type: 'email', label: 'Email', required: true },
            { name: 'firstName', type: 'text', label: 'First name', required: true },
            { name: 'plan', type: 'select', label: 'Plan', options: ['free', 'pro'] },
            { name: 'phone', type: 'phone', label: 'Phone' },
            { name: 'newsletter', type: 'checkbox', label: 'Newsletter' },
            { name: 'workEmail', type: 'email', label: 'Work email' },
            { name: 'source', type: 'hidden', label: '', value: 'spring-popup' },
          ],
          consent: { text: 'I agree to receive emails', required: true, version: '2025-03' },
        },
      },
    ],
  },
  {
    id: 'b',
    name: 'No form',
    weight: 50,
    steps: [{ blocks: [{ type: 'text', text: 'Hello' }], buttons: [{ label: 'Close', action: 'close' }] }],
  },
]

// Two workers of one deployment (one database, one memcached prefix); most tests use the first.
const DATABASE_URL = await migratedDatabase(t)
const app = await buildTestApp(t, { DATABASE_URL, EDGE_SECRET, LEAD_MIN_FILL_MS: '1500' })
// Signed in before the second worker is built: the SuperTokens SDK is one per process, and the
// last app built is the one whose mailbox gets the link.
const ann = await signInAs(app, 'ann@example.com')
const worker2 = await buildTestApp(t, { DATABASE_URL, EDGE_SECRET, LEAD_MIN_FILL_MS: '1500' })
// Load shedding reads "no event loop sample yet" as overloaded: wait for the new worker's first.
for (let tries = 0; (await worker2.inject({ method: 'GET', url: '/health' })).statusCode !== 200; tries++) {
  if (tries > 50) throw new Error('the second worker never became ready')
  await new Promise((resolve) => setTimeout(resolve, 100))
}
const teamId = await personalTeam(app, ann)
const site = await addSite(app, ann, teamId, 'shop.example')
const api = campaignApi(app, ann, teamId)

async function campaign(...statuses: string[]) {
  const c = await newCampaign(app, ann, teamId, { siteId: site.id, variants: VARIANTS })
  if (statuses.length > 0) await api.walk(c.id, c.version, ...statuses)
  return c.id
}

const liveId = await campaign('test', 'live')

function lead(campaignId: string, overrides: Record<string, unknown> = {}) {
  return {
    campaignId,
    variantId: 'a',
    email: 'visitor@example.com',
    fields: { firstName: 'Ada', plan: 'pro' },
    consent: true,
    pageUrl: 'https://shop.example/products/boots',
    hp: '',
    fillMs: 5000,
    ...overrides,
  }
}

function submit(payload: unknown, headers: Record<string, string> = {}, to = app) {
  return to.inject({
    method: 'POST',
    url: '/public/v1/leads',
    headers: { origin: ORIGIN, ...headers },
    payload: payload as object,
  })
}

/** Everything a submission can write, for one campaign. */
async function written(campaignId: string) {
  const leads = await app.db
    .selectFrom('leads')
    .selectAll()
    .where('campaign_id', '=', campaignId)
    .orderBy('created_at')
    .execute()
  const outbox = await app.db
    .selectFrom('lead_outbox')
    .innerJoin('leads', 'leads.id', 'lead_outbox.lead_id')
    .select(['lead_outbox.event', 'lead_outbox.lead_id', 'lead_outbox.team_id'])
    .where('leads.campaign_id', '=', campaignId)
    .orderBy('lead_outbox.created_at')
    .orderBy('lead_outbox.id')
    .execute()
  const submissions = await app.db
    .selectFrom('lead_submissions')
    .selectAll()
    .where('campaign_id', '=', campaignId)
    .execute()
  const stats = await app.db
    .selectFrom('campaign_stats_daily')
    .select(['variant_id', 'day', 'country', 'leads'])
    .where('campaign_id', '=', campaignId)
    .execute()
  return { leads, outbox, submissions, stats }
}

async function nothingWritten(t: Test, campaignId: string, what: string) {
  const all = await written(campaignId)
  t.same(
    {
      leads: all.leads.length,
      outbox: all.outbox.length,
      submissions: all.submissions.length,
      stats: all.stats.length,
    },
    { leads: 0, outbox: 0, submissions: 0, stats: 0 },
    `${what}: nothing written`,
  )
}

const todayUtc = async () =>
  (await sql<{ day: string }>`SELECT ((now() AT TIME ZONE 'UTC')::date)::text AS day`.execute(app.db)).rows[0]
    ?.day

t.test('a lead is stored with its outbox row and counted, with the country from the edge', async (t) => {
  const id = await campaign('test', 'live')
  const res = await submit(
    lead(id, {
      fields: { firstName: 'Ada', plan: 'pro', phone: '+49 (30) 123-456', newsletter: true },
      consentVersion: '2025-03',
    }),
    viaEdge('de'),
  )
  t.equal(res.statusCode, 202)
  t.same(res.json(), { status: 'accepted' }, 'nothing about the lead echoed')

  const { leads, outbox, stats } = await written(id)
  t.equal(leads.length, 1)
  const row = leads[0]!
  t.match(row, {
    team_id: teamId,
    campaign_id: id,
    variant_id: 'a',
    email: 'visitor@example.com',
    consent: true,
    consent_version: '2025-03',
    country: 'DE',
    page_url: 'https://shop.example/products/boots',
  })
  t.same(row.fields, {
    firstName: 'Ada',
    plan: 'pro',
    phone: '+49 (30) 123-456',
    newsletter: true,
    source: 'spring-popup',
  })
  t.same(
    Object.keys(row).sort(),
    [
      'campaign_id',
      'consent',
      'consent_version',
      'country',
      'created_at',
      'email',
      'fields',
      'id',
      'page_url',
      'team_id',
      'updated_at',
      'variant_id',
    ],
    'no column for an address or user agent',
  )
  t.notOk(JSON.stringify(row).includes('203.0.113.77'), 'the client address is stored nowhere in the lead')
  t.same(outbox, [{ event: 'created', lead_id: row.id, team_id: teamId }], 'one outbox row')
  t.same(stats, [{ variant_id: 'a', day: await todayUtc(), country: 'DE', leads: 1 }], 'counted for DE today')
})

t.test('the country is believed only from the edge', async (t) => {
  const id = await campaign('test', 'live')
  t.equal((await submit(lead(id, { email: 'one@example.com' }), { 'cf-ipcountry': 'FR' })).statusCode, 202)
  const wrongSecret = { ...viaEdge('FR'), 'x-edge-secret': 'not-the-edge-secret-0123456789abcdef' }
  t.equal((await submit(lead(id, { email: 'two@example.com' }), wrongSecret)).statusCode, 202)
  const { leads, stats } = await written(id)
  t.same(
    leads.map((row) => row.country),
    [null, null],
    'no country without the edge',
  )
  t.same(stats, [{ variant_id: 'a', day: await todayUtc(), country: '', leads: 2 }], 'counted as unknown')
})

t.test('the consent version defaults to the form’s, and is none without consent', async (t) => {
  const id = await campaign('test', 'live')
  t.equal((await submit(lead(id))).statusCode, 202)
  const { leads } = await written(id)
  t.equal(leads[0]?.consent_version, '2025-03')
})

t.test('Idempotency-Key: a retry answers the same and stores nothing new', async (t) => {
  const id = await campaign('test', 'live')
  const key = { 'idempotency-key': 'submit-0001' }
  const first = await submit(lead(id), key)
  const again = await submit(lead(id, { fillMs: 9000 }), key)
  t.equal(first.statusCode, 202)
  t.equal(again.statusCode, first.statusCode, 'same status')
  t.equal(again.body, first.body, 'same body')
  const { leads, outbox, submissions, stats } = await written(id)
  t.equal(leads.length, 1, 'one lead')
  t.same(
    outbox.map((row) => row.event),
    ['created'],
    'one outbox row',
  )
  t.equal(submissions.length, 1)
  t.equal(submissions[0]?.lead_id, leads[0]?.id, 'the key points at its lead')
  t.equal(submissions[0]?.request_hash.length, 32, 'a SHA-256')
  t.equal(stats[0]?.leads, 1, 'counted once')

  const other = await submit(lead(id, { fields: { firstName: 'Eve', plan: 'pro' } }), key)
  t.equal(other.statusCode, 422)
  t.equal(other.json().code, 'IDEMPOTENCY_KEY_REUSED')
  const after = await written(id)
  t.same(after.leads[0]?.fields, leads[0]?.fields, 'the lead is unchanged')
  t.equal(after.outbox.length, 1, 'no new outbox row')

  const sameKeyOtherCampaign = await campaign('test', 'live')
  t.equal((await submit(lead(sameKeyOtherCampaign), key)).statusCode, 202, 'keys are per campaign')
})

t.test('Idempotency-Key: concurrent submits with one key store one lead', async (t) => {
  const id = await campaign('test', 'live')
  const key = { 'idempotency-key': 'concurrent-1' }
  const answers = await Promise.all(Array.from({ length: 8 }, () => submit(lead(id), key)))
  t.same(
    answers.map((res) => res.statusCode),
    Array(8).fill(202),
    'every one answered like the first',
  )
  const { leads, outbox, submissions, stats } = await written(id)
  t.equal(leads.length, 1)
  t.equal(outbox.length, 1)
  t.equal(submissions.length, 1)
  t.equal(stats[0]?.leads, 1)

  // The same key for different people at once: one is stored, the others are refused.
  const other = await campaign('test', 'live')
  const mixed = await Promise.all(
    Array.from({ length: 6 }, (_, i) => submit(lead(other, { email: `p${i}@example.com` }), key)),
  )
  const codes = mixed.map((res) => res.statusCode).sort()
  t.same(codes, [202, 422, 422, 422, 422, 422], 'one stored, the rest 422')
  const stored = await written(other)
  t.equal(stored.leads.length, 1)
  t.equal(stored.outbox.length, 1)
  t.equal(stored.stats[0]?.leads, 1)
})

t.test('Idempotency-Key: one key on two workers at once, among other leads', async (t) => {
  // Each worker writes the leads that arrive during a write together: the keyed one is sent last,
  // so it shares a statement with others, which must not be lost when the key's race fails it.
  const id = await campaign('test', 'live')
  const rounds = 5
  for (let round = 0; round < rounds; round++) {
    const key = { 'idempotency-key': `two-workers-${round}` }
    const answers = await Promise.all(
      [app, worker2].flatMap((to, w) => [
        ...Array.from({ length: 5 }, (_, i) =>
          submit(lead(id, { email: `r${round}-w${w}-${i}@example.com` }), {}, to),
        ),
        submit(lead(id, { email: `keyed-${round}@example.com` }), key, to),
      ]),
    )
    t.same(
      answers.map((res) => res.statusCode),
      Array(12).fill(202),
      `round ${round}: every one 202`,
    )
  }
  const { leads, outbox, submissions, stats } = await written(id)
  t.equal(leads.length, rounds * 11, 'each keyed lead once, and the ten others of each round')
  t.equal(outbox.length, rounds * 11, 'one outbox row each')
  t.equal(submissions.length, rounds)
  t.equal(stats[0]?.leads, rounds * 11)
})

t.test('many leads at once are each stored, counted and answered', async (t) => {
  const one = await campaign('test', 'live')
  const two = await campaign('test', 'live')
  const send = () =>
    Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        submit(
          lead(i % 2 ? one : two, {
            email: `many-${i}@example.com`,
            fields: { firstName: `N${i}` },
            variantId: 'a',
          }),
          { ...(i % 4 < 2 ? { 'idempotency-key': `many-${i}` } : {}), ...viaEdge(i % 3 ? 'DE' : 'FR') },
          i % 5 ? app : worker2,
        ),
      ),
    )
  const first = await send()
  t.same(
    first.map((res) => res.statusCode),
    Array(40).fill(202),
  )
  const again = await send()
  t.same(
    again.map((res) => res.statusCode),
    Array(40).fill(202),
    'sent again: keyed ones replayed, the others update',
  )
  for (const id of [one, two]) {
    const { leads, outbox, submissions, stats } = await written(id)
    t.equal(leads.length, 20, 'twenty leads per campaign')
    t.same(
      outbox.map((o) => o.event).sort(),
      [...Array(20).fill('created'), ...Array(10).fill('updated')],
      'created once each, updated once for each unkeyed resend',
    )
    t.equal(submissions.length, 10)
    t.equal(
      stats.reduce((sum, s) => sum + s.leads, 0),
      20,
      'each counted once',
    )
    const byCountry = Object.fromEntries(stats.map((s) => [s.country, s.leads]))
    const expected = { DE: 0, FR: 0 }
    for (let i = 0; i < 40; i++) if ((i % 2 ? one : two) === id) expected[i % 3 ? 'DE' : 'FR'] += 1
    t.same(byCountry, expected, 'per country')
    for (const row of leads) {
      const i = Number(row.email.match(/many-(\d+)@/)?.[1])
      t.equal((row.fields as { firstName: string }).firstName, `N${i}`, `${row.email}: its own fields`)
      t.equal(row.country, i % 3 ? 'DE' : 'FR', `${row.email}: its own country`)
    }
  }
})

t.test(
  'one lead the database refuses among many at once: it alone is refused, the rest stored',
  async (t) => {
    const kept = await campaign('test', 'live')
    const doomed = await campaign('test', 'live')
    // The worker has checked the doomed campaign (cached), then it is deleted under it: its lead
    // passes every check and fails only in the write, in a statement it shares with the others.
    await visitorCampaign(depsOf(app), { campaignId: doomed })
    await app.db.deleteFrom('campaigns').where('id', '=', doomed).execute()
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        submit(
          i === 15
            ? lead(doomed, { email: 'doomed@example.com' })
            : lead(kept, { email: `crowd-${i}@example.com` }),
          i % 2 ? { 'idempotency-key': `crowd-${i}` } : {},
        ),
      ),
    )
    t.same(
      answers.map((res) => res.statusCode),
      Array.from({ length: 30 }, (_, i) => (i === 15 ? 404 : 202)),
      'a clear 404 for the one, 202 for every other',
    )
    t.match(answers[15]?.json(), { code: 'NOT_FOUND', message: /Campaign/ })
    const { leads, outbox, submissions, stats } = await written(kept)
    t.equal(leads.length, 29, 'every other lead stored')
    t.equal(outbox.length, 29, 'each with its outbox row')
    t.equal(submissions.length, 14, 'and its Idempotency-Key (the odd ones but the refused)')
    t.equal(stats[0]?.leads, 29, 'and counted')
    const stray = await app.db
      .selectFrom('leads')
      .select('id')
      .where('email', '=', 'doomed@example.com')
      .execute()
    t.same(stray, [], 'the refused one stored nowhere')
  },
)

t.test('the same email again updates its lead', async (t) => {
  const id = await campaign('test', 'live')
  t.equal(
    (await submit(lead(id, { fields: { firstName: 'Ada', plan: 'pro' } }), viaEdge('DE'))).statusCode,
    202,
  )
  const second = await submit(
    lead(id, {
      email: 'Visitor@Example.com',
      fields: { firstName: 'Ada L.', newsletter: false },
      pageUrl: 'https://shop.example/other',
    }),
  )
  t.equal(second.statusCode, 202)
  const { leads, outbox, stats } = await written(id)
  t.equal(leads.length, 1, 'one lead')
  const row = leads[0]!
  t.equal(row.email, 'visitor@example.com', 'first spelling kept')
  t.same(
    row.fields,
    { firstName: 'Ada L.', plan: 'pro', newsletter: false, source: 'spring-popup' },
    'merged: new values win',
  )
  t.equal(row.page_url, 'https://shop.example/other')
  t.equal(row.country, 'DE', 'an unknown country does not erase a known one')
  t.ok(row.updated_at.getTime() >= row.created_at.getTime())
  t.same(
    outbox.map((o) => o.event),
    ['created', 'updated'],
  )
  t.same(
    stats.map((s) => s.leads),
    [1],
    'counted once',
  )

  // Many at once with one email: still one lead, every submission delivered.
  const burst = await campaign('test', 'live')
  const answers = await Promise.all(
    Array.from({ length: 6 }, (_, i) => submit(lead(burst, { fields: { firstName: `N${i}` } }))),
  )
  t.same(
    answers.map((res) => res.statusCode),
    Array(6).fill(202),
  )
  const after = await written(burst)
  t.equal(after.leads.length, 1)
  t.same(after.outbox.map((o) => o.event).sort(), [
    'created',
    'updated',
    'updated',
    'updated',
    'updated',
    'updated',
  ])
  t.equal(after.stats[0]?.leads, 1)
})

t.test('fields the form does not have are dropped; hidden ones keep the form’s value', async (t) => {
  const id = await campaign('test', 'live')
  const res = await submit(
    lead(id, {
      fields: {
        firstName: 'Ada',
        evil: '<script>',
        source: 'tampered',
        email: 'someone-else@example.com',
        isAdmin: true,
      },
    }),
  )
  t.equal(res.statusCode, 202)
  const { leads } = await written(id)
  t.same(leads[0]?.fields, { firstName: 'Ada', source: 'spring-popup' })
  t.equal(leads[0]?.email, 'visitor@example.com')
})

t.test('each invalid submission names its field and writes nothing', async (t) => {
  const id = await campaign('test', 'live')
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['email syntax', { email: 'not-an-email' }, 'body.email'],
    ['email without a domain dot', { email: 'a@localhost' }, 'body.email'],
    ['email with a space', { email: 'a b@example.com' }, 'body.email'],
    ['email too long', { email: `${'a'.repeat(64)}@${'b'.repeat(186)}.com` }, 'body.email'],
    ['email missing', { email: undefined }, 'body.email'],
    ['required field missing', { fields: { plan: 'pro' } }, 'body.fields.firstName'],
    ['required field blank', { fields: { firstName: '   ' } }, 'body.fields.firstName'],
    ['select not an option', { fields: { firstName: 'Ada', plan: 'enterprise' } }, 'body.fields.plan'],
    ['checkbox not a boolean', { fields: { firstName: 'Ada', newsletter: 'yes' } }, 'body.fields.newsletter'],
    ['text not a string', { fields: { firstName: true } }, 'body.fields.firstName'],
    ['a number', { fields: { firstName: 'Ada', plan: 3 } }, 'body.fields.plan'],
    [
      'an object, even in a field the form lacks',
      { fields: { firstName: 'Ada', x: { a: 1 } } },
      'body.fields.x',
    ],
    ['null', { fields: { firstName: null } }, 'body.fields.firstName'],
    [
      'too many fields',
      { fields: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`f${i}`, 'x'])) },
      'body.fields',
    ],
    ['phone', { fields: { firstName: 'Ada', phone: 'call me maybe' } }, 'body.fields.phone'],
    ['second email field', { fields: { firstName: 'Ada', workEmail: 'nope' } }, 'body.fields.workEmail'],
    ['text too long', { fields: { firstName: 'x'.repeat(1001) } }, 'body.fields.firstName'],
    ['text with NUL', { fields: { firstName: 'A\u0000da' } }, 'body.fields.firstName'],
    ['text with a lone surrogate', { fields: { firstName: 'A\ud800da' } }, 'body.fields.firstName'],
    ['consent missing', { consent: undefined }, 'body.consent'],
    ['consent refused', { consent: false }, 'body.consent'],
    ['consent version with a line break', { consentVersion: 'v1\nv2' }, 'body.consentVersion'],
    ['page URL not http', { pageUrl: 'javascript:alert(1)' }, 'body.pageUrl'],
    ['page URL too long', { pageUrl: `https://shop.example/${'p'.repeat(2040)}` }, 'body.pageUrl'],
    ['page URL with a space', { pageUrl: 'https://shop.example/a b' }, 'body.pageUrl'],
    ['fill time not an integer', { fillMs: 12.5 }, 'body.fillMs'],
    ['fill time missing (the bot check)', { fillMs: undefined }, 'body.fillMs'],
    ['consent version the form never showed', { consentVersion: '1999-01' }, 'body.consentVersion'],
    ['unknown body property', { extra: 1 }, 'body.extra'],
  ]
  for (const [what, overrides, field] of cases) {
    const res = await submit(lead(id, overrides), { 'idempotency-key': `k-${what}` })
    t.equal(res.statusCode, 400, `${what}: 400`)
    const fields = ((res.json().details ?? []) as Array<{ field: string }>).map((d) => d.field)
    t.ok(fields.includes(field), `${what}: names ${field} (got ${fields.join(', ')})`)
  }
  const badKey = await submit(lead(id), { 'idempotency-key': 'x'.repeat(201) })
  t.equal(badKey.statusCode, 400, 'an Idempotency-Key over 200 characters')

  const noForm = await submit(lead(id, { variantId: 'b' }))
  t.equal(noForm.statusCode, 409, 'a variant without a lead form: 409')
  await nothingWritten(t, id, 'after every refusal')

  const madeUp = await submit(lead(id, { variantId: 'gone', email: 'late@example.com' }))
  t.equal(madeUp.statusCode, 400, 'a variant the campaign never showed: 400')
  t.same(
    (madeUp.json().details as Array<{ field: string }>).map((d) => d.field),
    ['body.variantId'],
    'names body.variantId',
  )
  await nothingWritten(t, id, 'after a made-up variant')

  // A page loaded before a variant was removed: the lead is not lost.
  const current = (await api.get(id)).json() as { version: number }
  const edited = await api.patch(id, current.version, {
    variants: [{ ...VARIANTS[0], id: 'c', name: 'With form, again' }, VARIANTS[1]],
  })
  t.equal(edited.statusCode, 200, edited.body)
  const removed = await submit(lead(id, { variantId: 'a', email: 'late@example.com' }))
  t.equal(removed.statusCode, 202, 'a variant removed since the page loaded: kept')
  const kept = await sql<{
    variant_id: string
  }>`SELECT variant_id FROM leads WHERE email = 'late@example.com'`.execute(app.db)
  t.same(kept.rows, [{ variant_id: 'a' }], 'under the variant the visitor saw')
})

t.test('bots are answered like people and stored nowhere', async (t) => {
  const id = await campaign('test', 'live')
  const person = await submit(lead(id, { email: 'person@example.com' }))
  const honeypot = await submit(lead(id, { email: 'bot1@example.com', hp: 'http://spam.example' }), {
    'idempotency-key': 'bot-1',
  })
  const tooFast = await submit(lead(id, { email: 'bot2@example.com', fillMs: 300 }), {
    'idempotency-key': 'bot-2',
  })
  const garbage = await submit(lead(id, { email: 'not an email', fields: {}, consent: false, hp: 'x' }))
  for (const [what, res] of [
    ['honeypot', honeypot],
    ['too fast', tooFast],
    ['honeypot with invalid fields', garbage],
  ] as const) {
    t.equal(res.statusCode, person.statusCode, `${what}: same status`)
    t.equal(res.body, person.body, `${what}: same body`)
  }
  const { leads, outbox, submissions, stats } = await written(id)
  t.same(
    leads.map((row) => row.email),
    ['person@example.com'],
    'only the person stored',
  )
  t.equal(outbox.length, 1)
  t.equal(submissions.length, 0, 'no key kept for a bot')
  t.equal(stats[0]?.leads, 1)
})

t.test('requests from other origins are refused and write nothing', async (t) => {
  const id = await campaign('test', 'live')
  const origins: Array<[string, Record<string, string>]> = [
    ['another site', { origin: 'https://evil.example' }],
    ['a look-alike', { origin: 'https://shop.example.evil.example' }],
    ['a subdomain the site does not allow', { origin: 'https://www.shop.example' }],
    ['a non-web scheme', { origin: 'file://shop.example' }],
    ['the literal null origin', { origin: 'null' }],
  ]
  for (const [what, headers] of origins) {
    const res = await submit(lead(id), headers)
    t.equal(res.statusCode, 403, `${what}: 403`)
    t.equal(res.json().code, 'ORIGIN_NOT_ALLOWED', what)
  }
  const none = await app.inject({ method: 'POST', url: '/public/v1/leads', payload: lead(id) })
  t.equal(none.statusCode, 403, 'no Origin at all')
  await nothingWritten(t, id, 'refused origins')
})

t.test(
  'a site’s page sends a lead through our Worker: the preflight passes, every answer is readable',
  async (t) => {
    const id = await campaign('test', 'live')
    // What the Worker adds when it forwards the page's request (apps/edge/src/forward.ts).
    const worker = { 'x-edge-secret': EDGE_SECRET, 'x-real-ip': '198.51.100.30', 'cf-ipcountry': 'DE' }
    const tokens = (value: unknown) =>
      String(value ?? '')
        .split(',')
        .map((token) => token.trim().toLowerCase())
        .filter(Boolean)
    // The script's fetch: JSON with an Idempotency-Key, so the browser asks first.
    const pre = await app.inject({
      method: 'OPTIONS',
      url: '/public/v1/leads',
      headers: {
        origin: ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,idempotency-key',
        ...worker,
      },
    })
    t.equal(pre.statusCode, 204, 'preflight granted')
    t.equal(pre.headers['access-control-allow-origin'], ORIGIN)
    t.ok(tokens(pre.headers['access-control-allow-methods']).includes('post'), 'POST allowed')
    const allowed = tokens(pre.headers['access-control-allow-headers'])
    t.same(
      ['content-type', 'idempotency-key'].filter((header) => !allowed.includes(header)),
      [],
      `Content-Type and Idempotency-Key allowed (allowed: ${allowed.join(', ')})`,
    )

    const accepted = await submit(lead(id, { email: 'cors@example.com' }), {
      'idempotency-key': 'cors-1',
      ...worker,
    })
    t.equal(accepted.statusCode, 202, accepted.body)
    t.equal(accepted.headers['access-control-allow-origin'], ORIGIN, 'the 202 is readable by the page')
    const stored = await written(id)
    t.match(stored.leads, [{ email: 'cors@example.com', country: 'DE' }])

    // The script shows a 400's details at the form's fields: it must be able to read them.
    const refused = await submit(lead(id, { email: 'not-an-email' }), {
      'idempotency-key': 'cors-2',
      ...worker,
    })
    t.equal(refused.statusCode, 400)
    t.equal(refused.headers['access-control-allow-origin'], ORIGIN, 'the 400 is readable by the page')
    t.match(refused.json().details, [{ field: 'body.email' }])
  },
)

t.test('campaigns that take no leads', async (t) => {
  const draft = await campaign()
  const res = await submit(lead(draft))
  t.equal(res.statusCode, 409)
  t.equal(res.json().code, 'CAMPAIGN_NOT_ACCEPTING')
  await nothingWritten(t, draft, 'draft')

  const archived = await campaign('test', 'live', 'paused', 'archived')
  const gone = await submit(lead(archived))
  t.equal(gone.statusCode, 409)
  t.equal(gone.json().code, 'CAMPAIGN_NOT_ACCEPTING')
  await nothingWritten(t, archived, 'archived')

  const paused = await campaign('test', 'live', 'paused')
  t.equal((await submit(lead(paused))).statusCode, 202, 'paused a moment ago: still accepted')

  const inTest = await campaign('test')
  const preview = await submit(lead(inTest))
  t.equal(preview.statusCode, 202, 'in test: answered')
  t.same(preview.json(), { status: 'accepted', preview: true }, 'as preview traffic')
  await nothingWritten(t, inTest, 'in test (preview)')

  const unknown = await submit(lead('0195f3a2-7c1e-7b3a-9f10-4d2c8e6a1b23'))
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().code, 'NOT_FOUND')
  t.equal((await submit(lead(liveId.toUpperCase(), { email: 'upper@example.com' }))).statusCode, 202)
  t.equal((await written(liveId)).leads.length, 1, 'an upper-case id names the same campaign')
})

t.test('the form rules on their own', async (t) => {
  t.equal(emailProblem('ada@example.com'), null)
  t.equal(emailProblem('jürgen@müller.de'), null, 'internationalised addresses are leads too')
  t.ok(emailProblem('@example.com'))
  t.ok(emailProblem('ada@@example.com'))
  t.ok(emailProblem('ada@example.'))
  t.ok(emailProblem('ada@.com'))
  t.ok(emailProblem('ada\u0000@example.com'))
  t.ok(emailProblem(`${'a'.repeat(65)}@example.com`), 'local part over 64')
  t.equal(phoneProblem('+1 (555) 010-9999'), null)
  t.equal(phoneProblem('030/123.456'), null)
  t.ok(phoneProblem('12'), 'too few digits')
  t.ok(phoneProblem('+'.repeat(5)))
  t.ok(phoneProblem('1'.repeat(21)), 'too many digits')

  const form = {
    fields: [
      { name: 'email', type: 'email' as const, label: '', required: true },
      { name: 'agree', type: 'checkbox' as const, label: '', required: true },
    ],
  }
  const base = { campaignId: liveId, variantId: 'a', email: 'a@example.com' }
  t.same(checkLead(form, { ...base, fields: { agree: false } }).problems, [
    { field: 'body.fields.agree', message: 'must be ticked (true)' },
  ])
  t.same(
    checkLead(form, { ...base, fields: { agree: true }, consent: true }).lead,
    {
      email: 'a@example.com',
      fields: { agree: true },
      consent: false,
      consentVersion: null,
      pageUrl: null,
    },
    'no consent stored when the form asks for none',
  )
})

t.test('closing a worker finishes the lead write under way, then answers it', async (t) => {
  const id = await campaign('test', 'live')
  const closing = await buildTestApp(t, { DATABASE_URL, EDGE_SECRET, LEAD_MIN_FILL_MS: '1500' })
  for (let tries = 0; (await closing.inject({ method: 'GET', url: '/health' })).statusCode !== 200; tries++) {
    if (tries > 50) throw new Error('the worker never became ready')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  // Another transaction holds the lead's key: the worker's write waits for it.
  let release: () => void = () => {}
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  const holding = app.db
    .transaction()
    .execute(async (trx) => {
      await sql`INSERT INTO leads (id, team_id, campaign_id, variant_id, email, fields, consent)
        VALUES (gen_random_uuid(), ${teamId}, ${id}, 'a', 'closing@example.com', '{}', false)`.execute(trx)
      await released
      throw new Error('rolled back')
    })
    .catch(() => {})
  const pending = submit(lead(id, { email: 'closing@example.com' }), {}, closing)
  for (let tries = 0; ; tries++) {
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO leads%'`.execute(app.db)
    if ((rows[0]?.n ?? 0) > 0) break
    if (tries > 100) throw new Error('the lead write never reached the database')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const closed = closing.close()
  release()
  await holding
  await closed
  t.equal((await pending).statusCode, 202, 'answered after its commit')
  const { leads, outbox } = await written(id)
  t.same(
    leads.map((row) => row.email),
    ['closing@example.com'],
    'stored before the pool closed',
  )
  t.same(
    outbox.map((row) => row.event),
    ['created'],
  )
})
