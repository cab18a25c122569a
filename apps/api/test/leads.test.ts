import { createHmac } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { newId } from '@nudge/db'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import type { App } from '../src/server.ts'
import { buildTestApp, captureLogs } from './helpers/app.ts'
import { addSite, newCampaign } from './helpers/campaigns.ts'
import { signInAs } from './helpers/session.ts'
import { addMember, createTeam } from './helpers/teams.ts'

/*
 * The dashboard's side of leads: list, CSV export, erasure. Leads are written straight into the
 * tables here (the visitor's POST /public/v1/leads is another module's work and its own test's).
 */

type FieldSpec = { name: string; type: string; label: string; required?: boolean; options?: string[] }

const emailField: FieldSpec = { name: 'email', type: 'email', label: 'Email', required: true }

function variant(id: string, name: string, weight: number, fields: FieldSpec[]) {
  return {
    id,
    name,
    weight,
    steps: [
      {
        blocks: [{ type: 'text', text: 'Join us' }],
        buttons: [{ label: 'Send', action: 'submit' }],
        form: { fields, consent: { text: 'I agree', required: false, version: '2025-03' } },
      },
    ],
  }
}

/**
 * A team with two campaigns on one site: "Spring sale" (an A/B test whose variants ask for
 * different fields) and "Exit offer".
 */
async function setup(t: Test, overrides: Record<string, string> = {}) {
  const app = await buildTestApp(t, overrides)
  const owner = await signInAs(app, 'owner@example.com')
  const teamId = await createTeam(app, owner, 'Shop')
  const site = await addSite(app, owner, teamId, 'shop.example.com')
  const spring = await newCampaign(app, owner, teamId, {
    name: 'Spring sale',
    siteId: site.id,
    variants: [
      variant('a', 'Discount first', 50, [
        emailField,
        { name: 'firstName', type: 'text', label: 'First name' },
        { name: 'company', type: 'text', label: 'Company' },
        { name: 'newsletter', type: 'checkbox', label: 'Newsletter' },
      ]),
      variant('b', 'Newsletter first', 50, [
        { name: 'mail', type: 'email', label: 'Email', required: true },
        { name: 'phone', type: 'phone', label: 'Phone' },
        { name: 'firstName', type: 'text', label: 'First name' },
      ]),
    ],
  })
  const exit = await newCampaign(app, owner, teamId, {
    name: 'Exit offer',
    siteId: site.id,
    variants: [
      variant('main', 'Only', 100, [
        emailField,
        { name: 'size', type: 'select', label: 'Size', options: ['S', 'M', 'L'] },
      ]),
    ],
  })
  return { app, owner, teamId, site, spring: spring.id, exit: exit.id }
}

interface NewLead {
  teamId: string
  campaignId: string
  variantId?: string
  email: string
  fields?: Record<string, unknown>
  consent?: boolean
  consentVersion?: string | null
  country?: string | null
  pageUrl?: string | null
  createdAt?: Date
}

async function insertLead(app: App, lead: NewLead): Promise<string> {
  const id = newId()
  const at = lead.createdAt ?? new Date()
  await app.db
    .insertInto('leads')
    .values({
      id,
      team_id: lead.teamId,
      campaign_id: lead.campaignId,
      variant_id: lead.variantId ?? 'a',
      email: lead.email,
      fields: JSON.stringify(lead.fields ?? {}),
      consent: lead.consent ?? false,
      consent_version: lead.consentVersion ?? null,
      country: lead.country ?? null,
      page_url: lead.pageUrl ?? null,
      created_at: at,
      updated_at: at,
    })
    .execute()
  return id
}

/** What storing a lead leaves besides the lead: its pending delivery and its idempotency record. */
async function addCopies(app: App, lead: { id: string; teamId: string; campaignId: string }) {
  await app.db
    .insertInto('lead_outbox')
    .values({ id: newId(), lead_id: lead.id, team_id: lead.teamId, event: 'created' })
    .execute()
  await app.db
    .insertInto('lead_submissions')
    .values({
      campaign_id: lead.campaignId,
      idempotency_key: `key-${lead.id}`,
      lead_id: lead.id,
      request_hash: Buffer.alloc(32, 1),
    })
    .execute()
}

async function copiesOf(app: App, leadIds: string[]) {
  const { rows } = await sql<{ leads: number; outbox: number; submissions: number }>`SELECT
    (SELECT count(*)::int FROM leads WHERE id = ANY(${leadIds}::uuid[])) AS leads,
    (SELECT count(*)::int FROM lead_outbox WHERE lead_id = ANY(${leadIds}::uuid[])) AS outbox,
    (SELECT count(*)::int FROM lead_submissions WHERE lead_id = ANY(${leadIds}::uuid[])) AS submissions`.execute(
    app.db,
  )
  return rows[0]
}

/** RFC 4180, strictly: a line break outside quotes other than CRLF is an error. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quoted) {
      if (c !== '"') cell += c
      else if (text[i + 1] === '"') {
        cell += '"'
        i++
      } else quoted = false
    } else if (c === '"') {
      if (cell !== '') throw new Error(`quote inside an unquoted cell at ${i}`)
      quoted = true
    } else if (c === ',') {
      row.push(cell)
      cell = ''
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
      i++
    } else if (c === '\r' || c === '\n') {
      throw new Error(`bare line break outside quotes at ${i}`)
    } else cell += c
  }
  if (quoted) throw new Error('unterminated quote')
  if (cell !== '' || row.length > 0) throw new Error('last record not terminated by CRLF')
  return rows
}

/** The audit's keyed hash of an address, with the development AUDIT_HASH_KEY the tests run with. */
const hmac = (text: string) =>
  createHmac('sha256', 'development-only-audit-hash-key-change-me').update(text).digest('hex')

t.test('the list: newest first, cursor pages, filters by campaign, time and email text', async (t) => {
  const { app, owner, teamId, spring, exit } = await setup(t)
  const base = Date.parse('2026-11-01T10:00:00.000Z')
  const at = (minutes: number) => new Date(base + minutes * 60_000)
  const emails = [
    ['ann@example.com', spring],
    ['Bob.Smith@Example.com', spring],
    ['a_b@example.com', spring],
    ['axb@example.com', spring],
    ['per%cent@example.com', spring],
    ['ann@example.com', exit],
    ['carl@example.com', exit],
  ] as const
  const ids: string[] = []
  for (const [i, [email, campaignId]] of emails.entries()) {
    ids.push(
      await insertLead(app, {
        teamId,
        campaignId,
        email,
        createdAt: at(i),
        variantId: campaignId === exit ? 'main' : 'a',
        fields: { firstName: `Person ${i}` },
        consent: i % 2 === 0,
        consentVersion: '2025-03',
        country: 'DE',
        pageUrl: 'https://shop.example.com/',
      }),
    )
  }
  const newestFirst = [...ids].reverse()
  const list = async (query: string) => {
    const res = await app.inject({ url: `/v1/teams/${teamId}/leads?${query}`, headers: owner.headers })
    t.equal(res.statusCode, 200, `?${query}: ${res.body}`)
    return res.json() as { items: Array<Record<string, unknown> & { id: string }>; nextCursor: string | null }
  }
  const idsOf = async (query: string) => (await list(query)).items.map((item) => item.id)

  const all = await list('')
  t.same(
    all.items.map((item) => item.id),
    newestFirst,
    'every lead, newest first',
  )
  t.same(all.items[0], {
    id: ids[6],
    campaignId: exit,
    variantId: 'main',
    email: 'carl@example.com',
    fields: { firstName: 'Person 6' },
    consent: true,
    consentVersion: '2025-03',
    country: 'DE',
    pageUrl: 'https://shop.example.com/',
    createdAt: at(6).toISOString(),
    updatedAt: at(6).toISOString(),
  })
  t.equal(all.nextCursor, null)

  // Pages of 3: 3 + 3 + 1, no lead twice, none missed; a new lead meanwhile does not shift them.
  const paged: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const page = await list(`limit=3${cursor ? `&cursor=${cursor}` : ''}`)
    paged.push(...page.items.map((item) => item.id))
    cursor = page.nextCursor
    pages++
    if (pages === 1) {
      await insertLead(app, { teamId, campaignId: spring, email: 'late@example.com', createdAt: at(10) })
    }
  } while (cursor)
  t.equal(pages, 3)
  t.same(paged, newestFirst, 'the pages together are the list, in order')
  const bad = await app.inject({ url: `/v1/teams/${teamId}/leads?cursor=abc`, headers: owner.headers })
  t.equal(bad.json().code, 'INVALID_CURSOR')

  const late = (await idsOf('limit=1'))[0]
  t.same(await idsOf(`campaignId=${exit}`), [ids[6], ids[5]], 'one campaign')
  t.same(
    await idsOf(`from=${at(2).toISOString()}&to=${at(5).toISOString()}`),
    [ids[4], ids[3], ids[2]],
    'from is inclusive, to exclusive',
  )
  t.same(await idsOf(`from=${at(6).toISOString()}`), [late, ids[6]])
  t.same(await idsOf('search=SMITH%40example'), [ids[1]], 'search: any case, part of the email')
  t.same(await idsOf('search=a_b'), [ids[2]], '_ is a literal underscore (axb is not found)')
  t.same(await idsOf('search=%25'), [ids[4]], '% is a literal percent sign')
  t.same(await idsOf('search=%5C'), [], 'a backslash is literal too')
  t.same(await idsOf('search=ann'), [ids[5], ids[0]])
  t.same(await idsOf(`search=ann&campaignId=${spring}`), [ids[0]], 'filters combine')
  t.same(await idsOf(`search=ann&limit=1`), [ids[5]])

  for (const [query, field] of [
    ['search=ann%0A', 'querystring.search'],
    ['search=%00', 'querystring.search'],
    ['search=', 'querystring.search'],
    ['from=yesterday', 'querystring.from'],
    [`from=${at(5).toISOString()}&to=${at(1).toISOString()}`, 'querystring.to'],
    ['campaignId=42', 'querystring.campaignId'],
    ['limit=101', 'querystring.limit'],
  ]) {
    const res = await app.inject({ url: `/v1/teams/${teamId}/leads?${query}`, headers: owner.headers })
    t.equal(res.statusCode, 400, `?${query} refused`)
    t.equal(res.json().details?.[0]?.field, field, `?${query} names ${field}`)
  }
})

t.test('another team’s leads are never visible, exported or erased', async (t) => {
  const { app, owner, teamId, spring } = await setup(t)
  const leadId = await insertLead(app, { teamId, campaignId: spring, email: 'ann@example.com' })
  await addCopies(app, { id: leadId, teamId, campaignId: spring })
  const mallory = await signInAs(app, 'mallory@example.com')
  const theirs = await createTeam(app, mallory, 'Elsewhere')
  const as = (method: 'GET' | 'DELETE' | 'POST', url: string) =>
    app.inject({
      method,
      url,
      headers: mallory.headers,
      ...(method === 'POST' ? { payload: { email: 'ann@example.com' } } : {}),
    })

  for (const [method, url] of [
    ['GET', `/v1/teams/${teamId}/leads`],
    ['GET', `/v1/teams/${teamId}/leads/export`],
    ['DELETE', `/v1/teams/${teamId}/leads/${leadId}`],
    ['POST', `/v1/teams/${teamId}/leads/erase`],
  ] as const) {
    const res = await as(method, url)
    t.equal(res.statusCode, 404, `${method} ${url}: not a member, 404`)
    t.equal(res.json().code, 'NOT_FOUND')
  }
  // Through their own team, naming our ids.
  t.same((await as('GET', `/v1/teams/${theirs}/leads`)).json().items, [])
  t.same((await as('GET', `/v1/teams/${theirs}/leads?campaignId=${spring}`)).json().items, [])
  t.same((await as('GET', `/v1/teams/${theirs}/leads?search=ann`)).json().items, [])
  const exported = await as('GET', `/v1/teams/${theirs}/leads/export`)
  t.equal(exported.statusCode, 200)
  t.same(parseCsv(exported.body).length, 1, 'their export has the header only')
  t.notMatch(exported.body, /ann@/)
  const ofOurCampaign = await as('GET', `/v1/teams/${theirs}/leads/export?campaignId=${spring}`)
  t.equal(ofOurCampaign.statusCode, 404, 'exporting our campaign through their team: 404')
  t.match(ofOurCampaign.json(), { code: 'NOT_FOUND', message: 'Campaign not found' })
  const erased = await as('DELETE', `/v1/teams/${theirs}/leads/${leadId}`)
  t.equal(erased.statusCode, 404, 'erasing our lead through their team: 404')
  t.match((await as('POST', `/v1/teams/${theirs}/leads/erase`)).json(), { erased: 0 })
  t.same(await copiesOf(app, [leadId]), { leads: 1, outbox: 1, submissions: 1 }, 'our lead is untouched')

  const unknown = await app.inject({
    method: 'DELETE',
    url: `/v1/teams/${teamId}/leads/${newId()}`,
    headers: owner.headers,
  })
  t.equal(unknown.statusCode, 404, 'an unknown lead: 404')
  t.match(unknown.json(), { code: 'NOT_FOUND', message: 'Lead not found' })
  const unknownCampaign = await app.inject({
    url: `/v1/teams/${teamId}/leads/export?campaignId=${newId()}`,
    headers: owner.headers,
  })
  t.equal(unknownCampaign.statusCode, 404, 'exporting an unknown campaign: 404')
})

t.test('a viewer may neither list, export nor erase leads; an editor lists them', async (t) => {
  const { app, teamId, spring } = await setup(t)
  const leadId = await insertLead(app, { teamId, campaignId: spring, email: 'ann@example.com' })
  const viewer = await signInAs(app, 'viewer@example.com')
  await addMember(app, teamId, viewer.id, 'viewer')
  const editor = await signInAs(app, 'editor@example.com')
  await addMember(app, teamId, editor.id, 'editor')
  const as = (method: 'GET' | 'DELETE' | 'POST', url: string) =>
    app.inject({
      method,
      url,
      headers: viewer.headers,
      ...(method === 'POST' ? { payload: { email: 'ann@example.com' } } : {}),
    })

  const listed = await app.inject({ url: `/v1/teams/${teamId}/leads`, headers: editor.headers })
  t.equal(listed.statusCode, 200)
  t.same(
    listed.json().items.map((item: { id: string }) => item.id),
    [leadId],
  )
  for (const [method, url, action] of [
    ['GET', `/v1/teams/${teamId}/leads`, 'lead:read'],
    ['GET', `/v1/teams/${teamId}/leads?search=ann`, 'lead:read'],
    ['GET', `/v1/teams/${teamId}/leads/export`, 'lead:export'],
    ['DELETE', `/v1/teams/${teamId}/leads/${leadId}`, 'lead:delete'],
    ['POST', `/v1/teams/${teamId}/leads/erase`, 'lead:delete'],
  ] as const) {
    const res = await as(method, url)
    t.equal(res.statusCode, 403, `${method} ${url}: 403`)
    t.match(res.json(), { code: 'FORBIDDEN', message: new RegExp(action) })
  }
  t.same(await copiesOf(app, [leadId]), { leads: 1, outbox: 0, submissions: 0 }, 'still there')
})

t.test('CSV: header from the forms, RFC 4180 quoting, formula cells neutralised', async (t) => {
  const { app, owner, teamId, spring, exit } = await setup(t)
  const base = Date.parse('2026-11-02T08:00:00.000Z')
  await insertLead(app, {
    teamId,
    campaignId: spring,
    variantId: 'a',
    email: 'ann@example.com',
    fields: { firstName: 'Ann, "the boss"', company: 'Line one\nLine two\r\nLine three', newsletter: true },
    consent: true,
    consentVersion: '2025-03',
    country: 'DE',
    pageUrl: 'https://shop.example.com/?a=1,b=2',
    createdAt: new Date(base),
  })
  await insertLead(app, {
    teamId,
    campaignId: spring,
    variantId: 'b',
    email: '-2+3@example.com',
    fields: { firstName: "=cmd|' /C calc'!A0", phone: '+49 30 1234', mail: 'ignored@example.com' },
    createdAt: new Date(base + 1000),
  })
  await insertLead(app, {
    teamId,
    campaignId: spring,
    variantId: 'a',
    email: 'tab@example.com',
    fields: { firstName: '\tTabbed', company: '\rReturn', newsletter: false, unknown: 'dropped' },
    createdAt: new Date(base + 2000),
  })
  await insertLead(app, {
    teamId,
    campaignId: exit,
    variantId: 'main',
    email: 'zoe@example.com',
    fields: { size: 'M' },
    consent: true,
    createdAt: new Date(base + 3000),
  })
  await insertLead(app, {
    teamId,
    campaignId: spring,
    variantId: 'a',
    email: '@sum@example.com',
    fields: { firstName: 'Ünïcödé ✓', company: '=1+1' },
    createdAt: new Date(base + 4000),
  })

  const res = await app.inject({
    url: `/v1/teams/${teamId}/leads/export?campaignId=${spring}`,
    headers: owner.headers,
  })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.headers['content-type'], 'text/csv; charset=utf-8')
  t.match(res.headers['content-disposition'], /^attachment; filename="leads-\d{4}-\d{2}-\d{2}\.csv"$/)
  t.equal(res.headers['cache-control'], 'no-store')
  const rows = parseCsv(res.body)
  t.same(
    rows[0],
    [
      'email',
      'campaign',
      'variant',
      'created',
      'consent',
      'consent version',
      'country',
      'page',
      'firstName',
      'company',
      'newsletter',
      'phone',
    ],
    'fixed columns, then the form fields in form order, both variants’ (the lead’s email field is the email column)',
  )
  t.equal(rows.length, 5, 'header and the campaign’s four leads')
  t.same(rows[1], [
    "'@sum@example.com",
    'Spring sale',
    'Discount first',
    new Date(base + 4000).toISOString(),
    'no',
    '',
    '',
    '',
    'Ünïcödé ✓',
    "'=1+1",
    '',
    '',
  ])
  t.same(rows[2], [
    'tab@example.com',
    'Spring sale',
    'Discount first',
    new Date(base + 2000).toISOString(),
    'no',
    '',
    '',
    '',
    "'\tTabbed",
    "'\rReturn",
    'no',
    '',
  ])
  t.same(rows[3], [
    "'-2+3@example.com",
    'Spring sale',
    'Newsletter first',
    new Date(base + 1000).toISOString(),
    'no',
    '',
    '',
    '',
    "'=cmd|' /C calc'!A0",
    '',
    '',
    "'+49 30 1234",
  ])
  t.same(rows[4], [
    'ann@example.com',
    'Spring sale',
    'Discount first',
    new Date(base).toISOString(),
    'yes',
    '2025-03',
    'DE',
    'https://shop.example.com/?a=1,b=2',
    'Ann, "the boss"',
    'Line one\nLine two\r\nLine three',
    'yes',
    '',
  ])
  // The bytes as a spreadsheet sees them.
  t.ok(res.body.includes('"Ann, ""the boss"""'), 'a cell with a comma and quotes is quoted, quotes doubled')
  t.ok(res.body.includes('"Line one\nLine two\r\nLine three"'), 'line breaks stay inside the quotes')
  t.ok(res.body.includes('"https://shop.example.com/?a=1,b=2"'))
  t.ok(res.body.includes(`"'\rReturn"`), 'a leading carriage return: prefixed, and quoted')
  t.ok(
    res.body.startsWith(
      '"email","campaign","variant","created","consent","consent version","country","page",',
    ),
    'every cell quoted, the header’s too',
  )
  t.same(
    rows.flat().filter((value) => /^[=+\-@\t\r]/.test(value)),
    [],
    'no cell starts a formula',
  )
  t.notMatch(res.body, /ignored@example\.com|dropped/, 'values outside the form’s columns are not exported')

  const everything = parseCsv(
    (await app.inject({ url: `/v1/teams/${teamId}/leads/export`, headers: owner.headers })).body,
  )
  t.same(
    everything[0]?.slice(8),
    ['firstName', 'company', 'newsletter', 'phone', 'size'],
    'without a campaign: the fields of every campaign’s forms, each once',
  )
  t.same(
    everything.slice(1).map((row) => row[0]),
    ["'@sum@example.com", 'zoe@example.com', 'tab@example.com', "'-2+3@example.com", 'ann@example.com'],
  )
  t.same(everything[2], [
    'zoe@example.com',
    'Exit offer',
    'Only',
    new Date(base + 3000).toISOString(),
    'yes',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    'M',
  ])

  const filtered = parseCsv(
    (
      await app.inject({
        url: `/v1/teams/${teamId}/leads/export?search=EXAMPLE.com&from=${new Date(base + 1000).toISOString()}&to=${new Date(base + 3000).toISOString()}`,
        headers: owner.headers,
      })
    ).body,
  )
  t.same(
    filtered.slice(1).map((row) => row[0]),
    ['tab@example.com', "'-2+3@example.com"],
    'the list’s filters apply',
  )
})

/** Bytes and line feeds of a response body, counted as it arrives; nothing kept. */
async function download(response: Response) {
  let bytes = 0
  let lines = 0
  const reader = response.body!.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    bytes += value.byteLength
    for (let i = value.indexOf(10); i !== -1; i = value.indexOf(10, i + 1)) lines++
  }
  return { bytes, lines }
}

/** A garbage collection on demand (for a fair baseline), when V8 lets us have one. */
function collector(): () => void {
  try {
    setFlagsFromString('--expose-gc')
    return runInNewContext('gc') as () => void
  } catch {
    return () => {}
  }
}

async function exportBackends(app: App) {
  const { rows } = await sql<{ pid: number; state: string }>`SELECT pid, state FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND (query LIKE 'FETCH FORWARD%' OR query LIKE 'DECLARE lead_export%') AND state <> 'idle'`.execute(
    app.db,
  )
  return rows
}

async function until(what: () => Promise<boolean>, ms = 5000) {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await what()) return true
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return false
}

t.test('CSV export of 100,000 leads streams over HTTP in bounded memory', async (t) => {
  const logs = captureLogs()
  const app = await buildTestApp(
    t,
    { DATABASE_STATEMENT_TIMEOUT_MS: '60000', LOG_LEVEL: 'warn' },
    { logStream: logs.stream },
  )
  const owner = await signInAs(app, 'owner@example.com')
  const teamId = await createTeam(app, owner, 'Big shop')
  const site = await addSite(app, owner, teamId, 'big.example.com')
  const { id: campaignId } = await newCampaign(app, owner, teamId, {
    name: 'Spring sale',
    siteId: site.id,
    variants: [
      variant('a', 'A', 100, [
        emailField,
        { name: 'firstName', type: 'text', label: 'First name' },
        { name: 'message', type: 'text', label: 'Message' },
      ]),
    ],
  })
  const total = 100_000
  await sql`INSERT INTO leads (id, team_id, campaign_id, variant_id, email, fields, consent, consent_version,
      country, page_url, created_at, updated_at)
    SELECT gen_random_uuid(), ${teamId}, ${campaignId}, 'a', 'person' || i || '@example.com',
      jsonb_build_object('firstName', 'Person ' || i, 'message', repeat('lorem ipsum ', 33)),
      i % 2 = 0, '2025-03', 'DE', 'https://big.example.com/products/' || i,
      timestamptz '2026-11-01T00:00:00Z' + i * interval '1 millisecond',
      timestamptz '2026-11-01T00:00:00Z' + i * interval '1 millisecond'
    FROM generate_series(1, ${total}::int) AS i`.execute(app.db)
  await sql`ANALYZE leads`.execute(app.db)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const url = `http://127.0.0.1:${port}/v1/teams/${teamId}/leads/export`

  // Sampled on a timer, so the server's side is caught between its database reads too: the heap
  // and rss as they are (garbage V8 has not collected yet included), and every 100 ms the live
  // memory (heap and buffers outside it) right after a collection: what the export really holds.
  const gc = collector()
  gc()
  const before = process.memoryUsage()
  const MB = 1024 * 1024
  const mb = (n: number) => (n / MB).toFixed(1)
  const live = (m: NodeJS.MemoryUsage) => m.heapUsed + m.external
  const peak = { heap: before.heapUsed, rss: before.rss, live: live(before) }
  let ticks = 0
  const sampler = setInterval(() => {
    const now = process.memoryUsage()
    peak.heap = Math.max(peak.heap, now.heapUsed)
    peak.rss = Math.max(peak.rss, now.rss)
    if (++ticks % 10 !== 0) return
    gc()
    peak.live = Math.max(peak.live, live(process.memoryUsage()))
  }, 10)
  const started = Date.now()
  const response = await fetch(url, { headers: owner.headers })
  t.equal(response.status, 200)
  t.equal(response.headers.get('transfer-encoding'), 'chunked', 'streamed, not sent with a length')
  const { bytes, lines } = await download(response)
  clearInterval(sampler)
  const seconds = (Date.now() - started) / 1000
  const liveGrowth = peak.live - live(before)
  t.comment(
    `CSV ${mb(bytes)} MB, ${lines} lines in ${seconds.toFixed(1)} s (with a gc every 100 ms); ` +
      `live memory (heap + external, after gc) ${mb(live(before))} → peak ${mb(peak.live)} MB ` +
      `(+${mb(liveGrowth)}); heapUsed as sampled ${mb(before.heapUsed)} → peak ${mb(peak.heap)} MB ` +
      `(+${mb(peak.heap - before.heapUsed)}); rss ${mb(before.rss)} → peak ${mb(peak.rss)} MB ` +
      `(+${mb(peak.rss - before.rss)})`,
  )
  t.equal(lines, total + 1, 'the header and every lead arrived')
  t.ok(bytes > 45 * MB, `the CSV is big (${mb(bytes)} MB)`)
  t.ok(liveGrowth < 40 * MB, `live memory grew by ${mb(liveGrowth)} MB, far less than the CSV`)
  t.ok(
    await until(async () => (await exportBackends(app)).length === 0),
    'the cursor’s transaction ended with the download',
  )

  // A client that hangs up mid-download: the cursor goes, and its connection with it.
  const aborter = new AbortController()
  const partial = await fetch(url, { headers: owner.headers, signal: aborter.signal })
  const reader = partial.body!.getReader()
  let read = 0
  while (read < 1024 * 1024) read += (await reader.read()).value?.byteLength ?? 0
  t.equal((await exportBackends(app)).length, 1, 'while the client reads, one cursor is open')
  aborter.abort()
  t.ok(
    await until(async () => (await exportBackends(app)).length === 0),
    'the client hung up: the cursor’s transaction ended',
  )

  // A failure once the 200 and the header are sent: the download ends unfinished (no CSV that
  // looks complete) and the failure is logged.
  const cut = await fetch(url, { headers: owner.headers })
  const cutReader = cut.body!.getReader()
  let cutBytes = 0
  while (cutBytes < 1024 * 1024) cutBytes += (await cutReader.read()).value?.byteLength ?? 0
  const [backend] = await exportBackends(app)
  t.ok(backend, 'the export’s database session')
  await sql`SELECT pg_terminate_backend(${backend?.pid ?? 0}::int)`.execute(app.db)
  let failure: unknown
  try {
    for (;;) {
      const { done, value } = await cutReader.read()
      if (done) break
      cutBytes += value.byteLength
    }
  } catch (error) {
    failure = error
  }
  t.ok(failure, 'the client sees the download fail')
  t.ok(cutBytes < bytes, 'and it did not get the whole CSV')
  t.ok(
    await until(async () => logs.lines.some((line) => String(line.msg).startsWith('lead export failed'))),
    'the failure is logged',
  )
  // The API still exports after losing that connection.
  const again = await fetch(`${url}?search=person77777@`, { headers: owner.headers })
  t.equal((await again.text()).split('\r\n').length, 3, 'header, one lead, end')
})

t.test('erasing a person removes every copy across campaigns, and the audit keeps no email', async (t) => {
  const { app, owner, teamId, spring, exit } = await setup(t)
  const lead = async (campaignId: string, email: string, team = teamId) => {
    const id = await insertLead(app, { teamId: team, campaignId, email, variantId: 'a' })
    await addCopies(app, { id, teamId: team, campaignId })
    return id
  }
  const annSpring = await lead(spring, 'Ann@Example.com')
  const annExit = await lead(exit, 'ann@example.COM')
  const bob = await lead(spring, 'bob@example.com')
  const carl = await lead(exit, 'carl@example.com')
  // Ann also left her address with another team: theirs to erase, not ours.
  const other = await signInAs(app, 'other@example.com')
  const otherTeam = await createTeam(app, other, 'Other shop')
  const otherSite = await addSite(app, other, otherTeam, 'other.example.com')
  const otherCampaign = await newCampaign(app, other, otherTeam, {
    siteId: otherSite.id,
    variants: [variant('a', 'A', 100, [emailField])],
  })
  const annElsewhere = await lead(otherCampaign.id, 'ann@example.com', otherTeam)
  t.same(await copiesOf(app, [annSpring, annExit]), { leads: 2, outbox: 2, submissions: 2 })

  const missing = await app.inject({
    method: 'POST',
    url: `/v1/teams/${teamId}/leads/erase`,
    headers: owner.headers,
    payload: {},
  })
  t.equal(missing.statusCode, 400, 'no email: 400')
  t.equal(missing.json().details?.[0]?.field, 'body.email')

  const erased = await app.inject({
    method: 'POST',
    url: `/v1/teams/${teamId}/leads/erase`,
    headers: owner.headers,
    payload: { email: ' ANN@example.com ' },
  })
  t.equal(erased.statusCode, 200, erased.body)
  t.same(
    erased.json(),
    { erased: 2, integrationsTold: 0, statsKept: true },
    'her lead in each campaign, whatever the case',
  )
  t.same(
    await copiesOf(app, [annSpring, annExit]),
    { leads: 0, outbox: 0, submissions: 0 },
    'no lead, no pending delivery, no idempotency record left',
  )
  t.same(await copiesOf(app, [bob, carl]), { leads: 2, outbox: 2, submissions: 2 }, 'other people kept')
  t.same(await copiesOf(app, [annElsewhere]), { leads: 1, outbox: 1, submissions: 1 }, 'other teams kept')
  const listed = await app.inject({ url: `/v1/teams/${teamId}/leads?search=ann`, headers: owner.headers })
  t.same(listed.json().items, [])

  const again = await app.inject({
    method: 'POST',
    url: `/v1/teams/${teamId}/leads/erase`,
    headers: owner.headers,
    payload: { email: 'ann@example.com' },
  })
  t.match(again.json(), { erased: 0 }, 'erasing again finds nothing')

  const one = await app.inject({
    method: 'DELETE',
    url: `/v1/teams/${teamId}/leads/${bob}`,
    headers: owner.headers,
  })
  t.equal(one.statusCode, 204)
  t.equal(one.body, '')
  t.same(await copiesOf(app, [bob]), { leads: 0, outbox: 0, submissions: 0 })
  t.same(await copiesOf(app, [carl]), { leads: 1, outbox: 1, submissions: 1 })
  const twice = await app.inject({
    method: 'DELETE',
    url: `/v1/teams/${teamId}/leads/${bob}`,
    headers: owner.headers,
  })
  t.equal(twice.statusCode, 404, 'a lead erased is gone')

  const audit = await app.db
    .selectFrom('audit_events')
    .selectAll()
    .where('team_id', '=', teamId)
    .where('action', 'like', 'lead.%')
    .orderBy('created_at')
    .orderBy('id')
    .execute()
  t.match(
    audit.map((row) => ({ action: row.action, target: row.target_id, data: row.data, actor: row.actor_id })),
    [
      {
        action: 'lead.erased_by_email',
        target: null,
        actor: owner.id,
        data: {
          count: 2,
          emailHmac: hmac('ann@example.com'),
          leads: [{ id: String }, { id: String }],
        },
      },
      { action: 'lead.erased_by_email', data: { count: 0, emailHmac: hmac('ann@example.com') } },
      {
        action: 'lead.erased',
        target: bob,
        actor: owner.id,
        data: { campaignId: spring, emailHmac: hmac('bob@example.com') },
      },
    ],
    'audited: once per erasure, the person as a hash',
  )
  t.equal(audit.length, 3)
  const { rows } = await sql<{ text: string }>`SELECT string_agg(a::text, ' ') AS text FROM audit_events a
    WHERE action LIKE 'lead.%'`.execute(app.db)
  t.notMatch(rows[0]?.text ?? '', /ann|bob|@/i, 'no erasure’s audit row holds the email')
})
