import { createHash, createHmac } from 'node:crypto'
import { startMailerliteStandIn } from '@nudge/mailerlite-stand-in'
import { sql } from 'kysely'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { depsOf } from '../src/deps.ts'
import { attemptDelivery } from '../src/modules/integrations/delivery-attempts.ts'
import { relayOutbox } from '../src/modules/integrations/outbox-relay.ts'
import { buildTestApp, captureLogs } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { eventually, startReceiver } from './helpers/receiver.ts'
import { signInAs } from './helpers/session.ts'

/*
 * Erasure and the personal data around it, attacked (issue 17, items 5–10 and 12). No job worker
 * runs here: the test relays the outbox and attempts deliveries itself, at the moments a race
 * needs them, with the functions the worker runs.
 */

const ORIGIN = 'https://shop.example'
const MAILERLITE_KEY = 'mlk-erasure-account-0123456789'
const AUDIT_HASH_KEY = 'a-test-audit-hash-key-that-is-long-enough'

const mailerlite = await startMailerliteStandIn({ apiKeys: [MAILERLITE_KEY] })
t.teardown(() => mailerlite.close())
const receiver = await startReceiver(t)
const logs = captureLogs()
const app = await buildTestApp(
  t,
  {
    OUTBOUND_ALLOW_LOOPBACK: 'true',
    MAILERLITE_API_URL: mailerlite.url,
    WEBHOOK_TIMEOUT_MS: '10000',
    LEAD_MIN_FILL_MS: '0',
    LOG_LEVEL: 'info',
    AUDIT_HASH_KEY,
  },
  { logStream: logs.stream },
)
await app.ready()
const deps = depsOf(app, 'integrations')
const ann = await signInAs(app, 'ann@example.com')
const teamId = await personalTeam(app, ann)
const site = await addSite(app, ann, teamId, 'shop.example')

const FORM_VARIANT = {
  id: 'a',
  name: 'Form',
  weight: 100,
  steps: [
    {
      blocks: [{ type: 'text', text: 'Join us' }],
      buttons: [{ label: 'Join', action: 'submit' }],
      form: {
        fields: [
          { name: 'email', type: 'email', label: 'Email', required: true },
          { name: 'firstName', type: 'text', label: 'First name' },
        ],
      },
    },
  ],
}

async function liveCampaign() {
  const c = await newCampaign(app, ann, teamId, { siteId: site.id, variants: [FORM_VARIANT] })
  await campaignApi(app, ann, teamId).walk(c.id, c.version, 'test', 'live')
  return c.id as string
}

function call(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  payload?: unknown,
  headers = ann.headers,
) {
  return app.inject({
    method,
    url,
    headers,
    ...(payload === undefined ? {} : { payload: payload as object }),
  })
}

function submit(campaignId: string, email: string, firstName = 'Ada') {
  return app.inject({
    method: 'POST',
    url: '/public/v1/leads',
    headers: { origin: ORIGIN },
    payload: {
      campaignId,
      variantId: 'a',
      email,
      fields: { firstName },
      consent: false,
      hp: '',
      fillMs: 5000,
    },
  })
}

async function submitLead(campaignId: string, email: string, firstName = 'Ada') {
  const res = await submit(campaignId, email, firstName)
  if (res.statusCode !== 202) throw new Error(`lead refused: ${res.statusCode} ${res.body}`)
  return app.db
    .selectFrom('leads')
    .select(['id', 'email'])
    .where('campaign_id', '=', campaignId)
    .where(sql`lower(email)`, '=', email.normalize('NFKC').toLowerCase())
    .executeTakeFirstOrThrow()
}

async function connectWebhook(campaignId: string) {
  const res = await call('POST', `/v1/teams/${teamId}/integrations`, {
    kind: 'webhook',
    name: 'CRM',
    url: receiver.url,
  })
  if (res.statusCode !== 201) throw new Error(`webhook not connected: ${res.body}`)
  const hook = res.json() as { id: string; secret: string }
  await call('PUT', `/v1/teams/${teamId}/campaigns/${campaignId}/integrations/${hook.id}`, {})
  return hook
}

async function connectMailerlite(campaignId: string) {
  const res = await call('POST', `/v1/teams/${teamId}/integrations`, {
    kind: 'mailerlite',
    name: 'Newsletter',
    apiKey: MAILERLITE_KEY,
  })
  if (res.statusCode !== 201) throw new Error(`Mailerlite not connected: ${res.body}`)
  const group = await mailerlite.state.createGroup(MAILERLITE_KEY, `Popup ${campaignId}`)
  const linked = await call(
    'PUT',
    `/v1/teams/${teamId}/campaigns/${campaignId}/integrations/${res.json().id}`,
    {
      groupId: String(group.id),
    },
  )
  if (linked.statusCode !== 200) throw new Error(`Mailerlite not linked: ${linked.body}`)
  return res.json() as { id: string }
}

function deliveriesOf(integrationId: string) {
  return app.db
    .selectFrom('integration_deliveries')
    .selectAll()
    .where('integration_id', '=', integrationId)
    .orderBy('created_at')
    .orderBy('id')
    .execute()
}

/** Runs every attempt that is due, as the worker would. */
async function attemptDue(integrationId: string) {
  for (const row of await deliveriesOf(integrationId)) {
    if (row.status === 'pending') await attemptDelivery(deps, { deliveryId: row.id, attempts: row.attempts })
  }
}

const bodiesFor = (email: string) => receiver.received.filter((r) => r.body.includes(email))

/** A transaction of another session holding a row lock until released. */
async function holdLock(statement: ReturnType<typeof sql>) {
  const held = Promise.withResolvers<void>()
  const release = Promise.withResolvers<void>()
  const done = app.db.transaction().execute(async (trx) => {
    await statement.execute(trx)
    held.resolve()
    await release.promise
  })
  done.catch((error: unknown) => held.reject(error))
  await held.promise
  return async () => {
    release.resolve()
    await done
  }
}

/** Sessions of this database waiting for a lock. */
async function waitingForLocks() {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(app.db)
  return rows[0]?.n ?? 0
}

t.test('item 5: a relay running while one lead is erased leaves no delivery with the person', async (t) => {
  const campaignId = await liveCampaign()
  const hook = await connectWebhook(campaignId)
  const lead = await submitLead(campaignId, 'race.lead@example.com')

  // Another session reading the lead (as a foreign-key check does) keeps the erasure waiting
  // part-way, long enough for the relay to run inside it: the window a busy database opens.
  const release = await holdLock(sql`SELECT 1 FROM leads WHERE id = ${lead.id} FOR KEY SHARE`)
  const erasing = call('DELETE', `/v1/teams/${teamId}/leads/${lead.id}`)
  await eventually(async () => (await waitingForLocks()) > 0, 5000, 'the erasure to wait for the lock')
  await relayOutbox(deps)
  await release()
  const erased = await erasing
  t.equal(erased.statusCode, 204, erased.body)

  await relayOutbox(deps)
  const rows = await deliveriesOf(hook.id)
  t.same(
    rows.filter((row) => row.payload !== null).map((row) => ({ status: row.status, leadId: row.lead_id })),
    [],
    'no delivery keeps the erased lead’s payload',
  )
  t.same(
    rows.filter((row) => row.status === 'pending' || row.status === 'retrying'),
    [],
    'nothing left to send',
  )
  await attemptDue(hook.id)
  t.equal(bodiesFor('race.lead@example.com').length, 0, 'the receiver never got the erased lead')
  const { rows: left } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM integration_deliveries
    WHERE payload LIKE '%race.lead@example.com%'`.execute(app.db)
  t.equal(left[0]?.n, 0, 'a later erasure has nothing to miss')
})

t.test(
  'item 6: a receiver answering after the erasure: no body kept, the delivery stays cancelled',
  async (t) => {
    const campaignId = await liveCampaign()
    const hook = await connectWebhook(campaignId)
    const lead = await submitLead(campaignId, 'in.flight@example.com', 'Echoed')
    await relayOutbox(deps)
    const [delivery] = await deliveriesOf(hook.id)
    if (!delivery) throw new Error('no delivery')

    // The receiver echoes the lead back, after a while.
    receiver.answer((request) => ({ status: 200, body: request.body, delayMs: 1500 }))
    t.teardown(() => receiver.answer(() => ({ status: 200, body: 'ok' })))
    const attempt = attemptDelivery(deps, { deliveryId: delivery.id, attempts: delivery.attempts })
    await eventually(async () => bodiesFor('in.flight@example.com').length > 0, 5000, 'the request to arrive')
    const erased = await call('DELETE', `/v1/teams/${teamId}/leads/${lead.id}`)
    t.equal(erased.statusCode, 204, erased.body)
    await attempt

    const row = await app.db
      .selectFrom('integration_deliveries')
      .selectAll()
      .where('id', '=', delivery.id)
      .executeTakeFirstOrThrow()
    t.equal(row.status, 'cancelled', 'the erasure’s cancel stands')
    t.equal(row.payload, null)
    const attempts = await app.db
      .selectFrom('integration_delivery_attempts')
      .selectAll()
      .where('delivery_id', '=', delivery.id)
      .execute()
    t.equal(attempts.length, 1, 'the attempt is logged')
    t.equal(attempts[0]?.response_status, 200)
    t.equal(attempts[0]?.response_body, null, 'without the answer, which echoed the lead')
    const shown = await call('GET', `/v1/teams/${teamId}/integrations/${hook.id}/deliveries/${delivery.id}`)
    t.equal(shown.json().status, 'cancelled')
    t.notMatch(shown.body, /in\.flight|Echoed/, 'the dashboard shows none of the person')
  },
)

t.test('item 7: addresses given to erasure and search never reach the logs', async (t) => {
  await liveCampaign()
  const before = logs.raw.length
  const erased = await call('POST', `/v1/teams/${teamId}/leads/erase`, { email: 'log.secret@example.com' })
  t.equal(erased.statusCode, 200, erased.body)
  const searched = await call('GET', `/v1/teams/${teamId}/leads?search=log.secret%40example.com`)
  t.equal(searched.statusCode, 200)
  const exported = await call('GET', `/v1/teams/${teamId}/leads/export?search=log.secret@example.com`)
  t.equal(exported.statusCode, 200)
  // The old form, with the address in the URL, is gone (and its 404 logs no address either).
  const old = await call('DELETE', `/v1/teams/${teamId}/leads?email=log.secret%40example.com`)
  t.equal(old.statusCode, 404)
  // Any route, even one that does not exist, with data in a parameter's name.
  await call('GET', `/v1/teams/${teamId}/nothing?log.secret%40example.com&q=log.secret`)

  const lines = logs.raw.slice(before)
  t.ok(
    lines.some((line) => line.includes('/leads?search=[redacted]')),
    'the request is logged, its query values are not',
  )
  t.same(
    lines.filter((line) => /log\.secret|log%2Esecret|%40example/i.test(line)),
    [],
    'no log line holds the address',
  )
})

t.test('item 8: erasure reaches Mailerlite and webhook receivers; the audit hash is keyed', async (t) => {
  const campaignId = await liveCampaign()
  const hook = await connectWebhook(campaignId)
  const ml = await connectMailerlite(campaignId)
  await submitLead(campaignId, 'Told.Everyone@example.com')
  await relayOutbox(deps)
  await attemptDue(hook.id)
  await attemptDue(ml.id)
  t.ok(mailerlite.state.subscriber(MAILERLITE_KEY, 'told.everyone@example.com'), 'subscribed at Mailerlite')
  t.equal(bodiesFor('Told.Everyone@example.com').length, 1, 'sent to the webhook')
  const { rows: counted } = await sql<{ leads: number }>`SELECT sum(leads)::int AS leads
    FROM campaign_stats_daily WHERE campaign_id = ${campaignId}`.execute(app.db)

  const erased = await call('POST', `/v1/teams/${teamId}/leads/erase`, { email: 'told.everyone@EXAMPLE.com' })
  t.equal(erased.statusCode, 200, erased.body)
  t.same(erased.json(), { erased: 1, integrationsTold: 2, statsKept: true })

  const erasures = [...(await deliveriesOf(hook.id)), ...(await deliveriesOf(ml.id))].filter(
    (row) => row.event === 'lead.erased',
  )
  t.equal(erasures.length, 2, 'one erasure delivery per integration that received the person')
  await attemptDue(hook.id)
  await attemptDue(ml.id)

  t.notOk(mailerlite.state.subscriber(MAILERLITE_KEY, 'told.everyone@example.com'), 'deleted at Mailerlite')
  const [told] = receiver.received.filter((r) => r.body.includes('"lead.erased"'))
  if (!told) throw new Error('the receiver was not told')
  const event = JSON.parse(told.body)
  t.equal(event.data.email, 'Told.Everyone@example.com')
  t.doesNotThrow(() => new Webhook(hook.secret).verify(told.body, told.headers), 'signed like the others')

  const after = await app.db
    .selectFrom('integration_deliveries')
    .select(['status', 'payload'])
    .where('event', '=', 'lead.erased')
    .where('integration_id', 'in', [hook.id, ml.id])
    .execute()
  t.same(
    after,
    [
      { status: 'succeeded', payload: null },
      { status: 'succeeded', payload: null },
    ],
    'done, and the address they carried is gone',
  )

  const audit = await app.db
    .selectFrom('audit_events')
    .select('data')
    .where('team_id', '=', teamId)
    .where('action', '=', 'lead.erased_by_email')
    .orderBy('created_at', 'desc')
    .executeTakeFirstOrThrow()
  const data = audit.data as Record<string, unknown>
  const plain = createHash('sha256').update('told.everyone@example.com').digest('hex')
  t.notOk(JSON.stringify(data).includes(plain), 'no unsalted SHA-256 of the address')
  t.equal(
    data.emailHmac,
    createHmac('sha256', AUDIT_HASH_KEY).update('told.everyone@example.com').digest('hex'),
    'an HMAC with the server’s key',
  )
  const { rows: still } = await sql<{ leads: number }>`SELECT sum(leads)::int AS leads
    FROM campaign_stats_daily WHERE campaign_id = ${campaignId}`.execute(app.db)
  t.same(still, counted, 'the campaign’s aggregate lead count is kept, as the answer says')
})

t.test('item 9: viewers get stats and campaigns, not leads nor what receivers echoed', async (t) => {
  const campaignId = await liveCampaign()
  const hook = await connectWebhook(campaignId)
  await submitLead(campaignId, 'private.person@example.com')
  await relayOutbox(deps)
  receiver.answer((request) => ({ status: 200, body: request.body }))
  t.teardown(() => receiver.answer(() => ({ status: 200, body: 'ok' })))
  await attemptDue(hook.id)
  const [delivery] = await deliveriesOf(hook.id)
  const viewer = await signInAs(app, 'viewer@example.com')
  const editor = await signInAs(app, 'editor@example.com')
  await sql`INSERT INTO team_members (team_id, user_id, role) VALUES (${teamId}, ${viewer.id}, 'viewer'),
    (${teamId}, ${editor.id}, 'editor')`.execute(app.db)

  for (const url of [
    `/v1/teams/${teamId}/leads`,
    `/v1/teams/${teamId}/leads?search=private`,
    `/v1/teams/${teamId}/leads?limit=100`,
    `/v1/teams/${teamId}/integrations/${hook.id}/deliveries/${delivery?.id}`,
  ]) {
    const res = await call('GET', url, undefined, viewer.headers)
    t.equal(res.statusCode, 403, `viewer: GET ${url}`)
    t.notMatch(res.body, /private\.person/)
  }
  t.equal(
    (await call('GET', `/v1/teams/${teamId}/campaigns/${campaignId}/stats`, undefined, viewer.headers))
      .statusCode,
    200,
    'stats stay',
  )
  t.equal(
    (await call('GET', `/v1/teams/${teamId}/campaigns`, undefined, viewer.headers)).statusCode,
    200,
    'campaigns stay',
  )
  const listed = await call('GET', `/v1/teams/${teamId}/leads?search=private`, undefined, editor.headers)
  t.equal(listed.statusCode, 200, 'editors work with leads')
  t.match(listed.body, /private\.person/)
  const shown = await call(
    'GET',
    `/v1/teams/${teamId}/integrations/${hook.id}/deliveries/${delivery?.id}`,
    undefined,
    editor.headers,
  )
  t.equal(shown.statusCode, 200)
})

t.test('item 10: invisible, bidi and full-width addresses are refused or folded, and erased', async (t) => {
  const campaignId = await liveCampaign()
  for (const [email, what] of [
    ['zero\u200Bwidth@example.com', 'U+200B zero-width space'],
    ['ada\u202Emoc.elpmaxe@example.com', 'U+202E right-to-left override'],
    ['\uFEFFbom@example.com', 'U+FEFF byte order mark'],
    ['soft\u00ADhyphen@example.com', 'U+00AD soft hyphen'],
  ] as const) {
    const res = await submit(campaignId, email)
    t.equal(res.statusCode, 400, `${what}: refused`)
    t.equal(res.json().details?.[0]?.field, 'body.email', `${what}: names body.email`)
  }
  const wide = await submitLead(campaignId, 'ｆｕｌｌ．ｗｉｄｔｈ＠ｅｘａｍｐｌｅ．ｃｏｍ')
  t.equal(wide.email, 'full.width@example.com', 'full-width letters are stored as the letters they show')
  const again = await submit(campaignId, 'FULL.width@example.com', 'Second')
  t.equal(again.statusCode, 202)
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM leads
    WHERE campaign_id = ${campaignId}`.execute(app.db)
  t.equal(rows[0]?.n, 1, 'the plain address is the same person')

  // A variant stored before intake refused them is erased by the plain address too.
  await sql`INSERT INTO leads (id, team_id, campaign_id, variant_id, email, fields, consent)
    SELECT gen_random_uuid(), team_id, id, 'a', ${'old\u200B.vari\u202Eant@ｅｘａｍｐｌｅ.com'}, '{}', false
    FROM campaigns WHERE id = ${campaignId}`.execute(app.db)
  const refused = await call('POST', `/v1/teams/${teamId}/leads/erase`, {
    email: 'full\u200B.width@example.com',
  })
  t.equal(refused.statusCode, 400, 'an erasure address with a format character: 400')
  t.equal(refused.json().details?.[0]?.field, 'body.email')
  const erased = await call('POST', `/v1/teams/${teamId}/leads/erase`, { email: 'full.width@example.com' })
  t.equal(erased.json().erased, 1)
  const legacy = await call('POST', `/v1/teams/${teamId}/leads/erase`, { email: 'OLD.variant@example.com' })
  t.equal(legacy.json().erased, 1, 'the stored variant with hidden characters is found')
  const { rows: left } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM leads
    WHERE campaign_id = ${campaignId}`.execute(app.db)
  t.equal(left[0]?.n, 0, 'nothing of either is left')
})

/**
 * CSV as Excel reads it in a locale whose list separator is `;`: a double quote anywhere switches
 * quoting on or off (a doubled one is a quote character), and `;` outside quotes ends a cell.
 */
function semicolonCells(text: string): string[] {
  const cells: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '"' && quoted && text[i + 1] === '"') {
      cell += '"'
      i++
    } else if (c === '"') quoted = !quoted
    else if (!quoted && (c === ';' || c === '\n')) {
      cells.push(cell.replace(/\r$/, ''))
      cell = ''
    } else cell += c
  }
  cells.push(cell)
  return cells
}

t.test('item 12: a `;` in a cell does not open a formula in semicolon locales', async (t) => {
  const campaignId = await liveCampaign()
  await submitLead(campaignId, 'semi@example.com', 'Ada;=1+1')
  await submitLead(campaignId, 'semi2@example.com', 'Bob;@SUM(A1);+2;-3')
  const res = await call('GET', `/v1/teams/${teamId}/leads/export?campaignId=${campaignId}`)
  t.equal(res.statusCode, 200)
  t.ok(res.body.includes('"Ada;=1+1"'), 'the cell is quoted')
  const formulas = semicolonCells(res.body).filter((cell) => /^[=+\-@]/.test(cell))
  t.same(formulas, [], 'split on `;`, no cell starts a formula')
})
