import { startMailerliteStandIn } from '@nudge/mailerlite-stand-in'
import { sql } from 'kysely'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { buildTestApp, captureLogs } from './helpers/app.ts'
import { addSite, campaignApi, newCampaign, personalTeam } from './helpers/campaigns.ts'
import { eventually, startReceiver } from './helpers/receiver.ts'
import { signInAs } from './helpers/session.ts'

const ORIGIN = 'https://shop.example'
const MAILERLITE_KEY = 'mlk-test-account-one-0123456789'

const mailerlite = await startMailerliteStandIn({ apiKeys: [MAILERLITE_KEY] })
t.teardown(() => mailerlite.close())
const receiver = await startReceiver(t)
const logs = captureLogs()

// The worker runs in this process: deliveries happen while the test waits for them. The retry
// schedule is compressed from hours to fractions of a second.
const app = await buildTestApp(
  t,
  {
    OUTBOUND_ALLOW_LOOPBACK: 'true',
    MAILERLITE_API_URL: mailerlite.url,
    DELIVERY_RETRY_SCHEDULE: '300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms',
    DELIVERY_PAUSE_AFTER_FAILED_LEADS: '3',
    WEBHOOK_TIMEOUT_MS: '2000',
    JOBS_POLL_SECONDS: '0.5',
    LEAD_MIN_FILL_MS: '0',
    LOG_LEVEL: 'info',
  },
  { worker: true, logStream: logs.stream },
)
await app.ready()
const ann = await signInAs(app, 'ann@example.com')
const teamId = await personalTeam(app, ann)
const site = await addSite(app, ann, teamId, 'shop.example')
const campaigns = campaignApi(app, ann, teamId)

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
  await campaigns.walk(c.id, c.version, 'test', 'live')
  return c.id
}

function call(method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload?: unknown) {
  return app.inject({
    method,
    url,
    headers: ann.headers,
    ...(payload === undefined ? {} : { payload: payload as object }),
  })
}

async function submitLead(campaignId: string, email: string, firstName = 'Ada') {
  const res = await app.inject({
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
  if (res.statusCode !== 202) throw new Error(`lead refused: ${res.statusCode} ${res.body}`)
}

async function connectWebhook(name = 'CRM') {
  const res = await call('POST', `/v1/teams/${teamId}/integrations`, {
    kind: 'webhook',
    name,
    url: receiver.url,
  })
  if (res.statusCode !== 201) throw new Error(`webhook not connected: ${res.body}`)
  return res.json() as { id: string; secret: string; secretLast4: string; status: string }
}

async function deliveriesOf(integrationId: string, status?: string) {
  const res = await call(
    'GET',
    `/v1/teams/${teamId}/integrations/${integrationId}/deliveries?limit=100${status ? `&status=${status}` : ''}`,
  )
  return res.json().items as Array<{ id: string; status: string; attempts: number; leadId: string | null }>
}

const bodiesFor = (email: string) => receiver.received.filter((r) => r.body.includes(`"email":"${email}"`))

t.test('a lead reaches a signed webhook and Mailerlite; secrets are never shown again', async (t) => {
  const campaignId = await liveCampaign()
  const hook = await connectWebhook()
  t.match(hook.secret, /^whsec_[A-Za-z0-9+/]+=*$/, 'the generated secret is shown once')
  t.equal(hook.secretLast4, hook.secret.slice(-4))

  const badKey = await call('POST', `/v1/teams/${teamId}/integrations`, {
    kind: 'mailerlite',
    name: 'Newsletter',
    apiKey: 'not-a-key-of-any-account',
  })
  t.equal(badKey.statusCode, 400, 'a key Mailerlite refuses is a 400')
  t.equal(badKey.json().details[0].field, 'body.apiKey')

  const ml = await call('POST', `/v1/teams/${teamId}/integrations`, {
    kind: 'mailerlite',
    name: 'Newsletter',
    apiKey: MAILERLITE_KEY,
  })
  t.equal(ml.statusCode, 201, ml.body)
  t.notOk(JSON.stringify(ml.json()).includes(MAILERLITE_KEY), 'the API key is not answered back')
  t.equal(ml.json().secretLast4, MAILERLITE_KEY.slice(-4))

  const groups = await call('GET', `/v1/teams/${teamId}/integrations/${ml.json().id}/groups`)
  t.equal(groups.statusCode, 200, groups.body)
  const created = await mailerlite.state.createGroup(MAILERLITE_KEY, 'Popup leads')
  const listed = (await call('GET', `/v1/teams/${teamId}/integrations/${ml.json().id}/groups`)).json()
  t.ok(
    listed.items.some((g: { id: string; name: string }) => g.id === String(created.id)),
    'the account’s groups are listed',
  )

  const noGroup = await call(
    'PUT',
    `/v1/teams/${teamId}/campaigns/${campaignId}/integrations/${ml.json().id}`,
    {},
  )
  t.equal(noGroup.statusCode, 400)
  t.equal(noGroup.json().details[0].field, 'body.groupId')
  const linked = await call(
    'PUT',
    `/v1/teams/${teamId}/campaigns/${campaignId}/integrations/${ml.json().id}`,
    {
      groupId: String(created.id),
      fieldMap: { firstName: 'name' },
    },
  )
  t.equal(linked.statusCode, 200, linked.body)
  t.equal(
    (await call('PUT', `/v1/teams/${teamId}/campaigns/${campaignId}/integrations/${hook.id}`, {})).statusCode,
    200,
  )

  await submitLead(campaignId, 'ada@example.com')
  const [request] = await eventually(
    async () => bodiesFor('ada@example.com').length > 0 && bodiesFor('ada@example.com'),
  )
  const body = JSON.parse(request?.body ?? '{}')
  t.equal(body.type, 'lead.created')
  t.equal(body.data.fields.firstName, 'Ada')
  t.doesNotThrow(
    () => new Webhook(hook.secret).verify(request?.body ?? '', request?.headers ?? {}),
    'signature verifies',
  )
  t.match(request?.headers['webhook-id'], /^msg_/)

  const subscriber = await eventually(async () =>
    mailerlite.state.subscriber(MAILERLITE_KEY, 'ada@example.com'),
  )
  t.same(subscriber.groups, [String(created.id)], 'the subscriber joined the chosen group')
  t.equal(subscriber.fields.name, 'Ada', 'form fields mapped to Mailerlite fields')

  // The receiver has the request before the worker records the answer: wait for the record.
  await eventually(
    async () => (await deliveriesOf(hook.id, 'succeeded')).length === 1,
    15000,
    'the delivery recorded as succeeded',
  )
  const log = await deliveriesOf(hook.id)
  t.equal(log[0]?.status, 'succeeded')
  const listing = JSON.stringify((await call('GET', `/v1/teams/${teamId}/integrations`)).json())
  t.notOk(listing.includes(hook.secret) || listing.includes(MAILERLITE_KEY), 'no secret in the list')
  t.notOk(
    logs.raw.some((line) => line.includes(hook.secret) || line.includes(MAILERLITE_KEY)),
    'no secret in the logs',
  )
  await call('DELETE', `/v1/teams/${teamId}/campaigns/${campaignId}/integrations/${ml.json().id}`)
})

t.test('the receiver down for a while: every lead arrives once it is back', async (t) => {
  const campaignId = await liveCampaign()
  const hook = await connectWebhook('Flaky')
  await call('PUT', `/v1/teams/${teamId}/campaigns/${campaignId}/integrations/${hook.id}`, {})
  receiver.answer(() => ({ status: 503, body: 'down for maintenance' }))
  for (const n of [1, 2]) await submitLead(campaignId, `down${n}@example.com`)
  await eventually(
    async () => (await deliveriesOf(hook.id, 'retrying')).length === 2,
    10000,
    'retrying deliveries',
  )
  const failedLog = (
    await call(
      'GET',
      `/v1/teams/${teamId}/integrations/${hook.id}/deliveries/${(await deliveriesOf(hook.id))[0]?.id}`,
    )
  ).json()
  t.equal(failedLog.attemptLog[0].responseStatus, 503, 'the log shows what the receiver answered')
  t.equal(failedLog.attemptLog[0].responseBody, 'down for maintenance')
  receiver.answer(() => ({ status: 204 }))
  await eventually(async () => (await deliveriesOf(hook.id, 'succeeded')).length === 2, 15000, 'deliveries')
  for (const n of [1, 2]) {
    const got = bodiesFor(`down${n}@example.com`)
    t.ok(got.length >= 2, 'tried while down, then delivered')
    t.equal(new Set(got.map((r) => r.headers['webhook-id'])).size, 1, 'one webhook-id across retries')
    t.equal(new Set(got.map((r) => r.body)).size, 1, 'the same payload every time')
  }
})

t.test('429 with Retry-After is honoured; 410 disables the integration and tells the owners', async (t) => {
  const campaignId = await liveCampaign()
  const hook = await connectWebhook('Limited')
  await call('PUT', `/v1/teams/${teamId}/campaigns/${campaignId}/integrations/${hook.id}`, {})
  let calls = 0
  receiver.answer((request) => {
    if (!request.body.includes('limited@example.com')) return { status: 200 }
    calls++
    return calls === 1 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 }
  })
  await submitLead(campaignId, 'limited@example.com')
  await eventually(async () => bodiesFor('limited@example.com').length >= 2, 15000, 'the retry')
  const [first, second] = bodiesFor('limited@example.com')
  t.ok(
    (second?.at ?? 0) - (first?.at ?? 0) >= 1900,
    'the retry waited for Retry-After (2 s), not the 300 ms schedule',
  )

  receiver.answer((request) =>
    request.body.includes('gone@example.com') ? { status: 410 } : { status: 200 },
  )
  await submitLead(campaignId, 'gone@example.com')
  const disabled = await eventually(async () => {
    const row = (await call('GET', `/v1/teams/${teamId}/integrations/${hook.id}`)).json()
    return row.status === 'disabled' && row
  })
  t.match(disabled.statusReason, /410/)
  const mail = await eventually(async () => {
    const box = (await app.inject({ method: 'GET', url: '/dev/mailbox?to=ann%40example.com' })).json()
    return (box.messages as Array<{ subject: string }>).find((m) =>
      m.subject.includes('"Limited" was disabled'),
    )
  })
  t.ok(mail, 'the owner is emailed')
  receiver.answer(() => ({ status: 200 }))
  await submitLead(campaignId, 'after-gone@example.com')
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal(bodiesFor('after-gone@example.com').length, 0, 'a disabled integration gets nothing')
})

t.test('N leads failing in a row pause the integration; resuming delivers what piled up', async (t) => {
  const campaignId = await liveCampaign()
  const hook = await connectWebhook('Pausable')
  await call('PUT', `/v1/teams/${teamId}/campaigns/${campaignId}/integrations/${hook.id}`, {})
  receiver.answer((request) => (request.body.includes('pile') ? { status: 500 } : { status: 200 }))
  for (const n of [1, 2, 3]) await submitLead(campaignId, `pile${n}@example.com`)
  await eventually(
    async () => (await call('GET', `/v1/teams/${teamId}/integrations/${hook.id}`)).json().status === 'paused',
  )
  await submitLead(campaignId, 'pile4@example.com')
  await eventually(async () => (await deliveriesOf(hook.id, 'held')).length === 4, 10000, 'held deliveries')
  t.equal(
    (await call('POST', `/v1/teams/${teamId}/integrations/${hook.id}/redeliver-failed`)).statusCode,
    409,
    'nothing is redelivered to a paused integration',
  )
  receiver.answer(() => ({ status: 200 }))
  const resumed = await call('PATCH', `/v1/teams/${teamId}/integrations/${hook.id}`, { status: 'active' })
  t.equal(resumed.json().status, 'active')
  await eventually(
    async () => (await deliveriesOf(hook.id, 'succeeded')).length === 4,
    15000,
    'delivered after resume',
  )
})

t.test('redeliver sends the same webhook-id and payload; rotation signs with both secrets', async (t) => {
  const campaignId = await liveCampaign()
  const hook = await connectWebhook('Replay')
  await call('PUT', `/v1/teams/${teamId}/campaigns/${campaignId}/integrations/${hook.id}`, {})
  receiver.answer(() => ({ status: 200 }))
  await submitLead(campaignId, 'replay@example.com')
  const [delivery] = await eventually(async () => {
    const done = await deliveriesOf(hook.id, 'succeeded')
    return done.length === 1 && done
  })
  const rotated = await call('POST', `/v1/teams/${teamId}/integrations/${hook.id}/rotate-secret`, {
    overlapHours: 1,
  })
  t.equal(rotated.statusCode, 200, rotated.body)
  const newSecret = rotated.json().secret as string
  t.not(newSecret, hook.secret)
  t.ok(rotated.json().secretOverlapUntil, 'the overlap is shown')
  const again = await call(
    'POST',
    `/v1/teams/${teamId}/integrations/${hook.id}/deliveries/${delivery?.id}/redeliver`,
  )
  t.equal(again.statusCode, 202, again.body)
  await eventually(async () => bodiesFor('replay@example.com').length === 2)
  const [one, two] = bodiesFor('replay@example.com')
  t.equal(two?.headers['webhook-id'], one?.headers['webhook-id'])
  t.equal(two?.body, one?.body)
  t.equal(two?.headers['webhook-signature']?.split(' ').length, 2, 'two signatures during the overlap')
  for (const secret of [hook.secret, newSecret]) {
    t.doesNotThrow(
      () => new Webhook(secret).verify(two?.body ?? '', two?.headers ?? {}),
      'each secret verifies',
    )
  }
})

t.test(
  'Mailerlite refusing the key pauses the integration, holds the lead and tells the owners',
  async (t) => {
    const key = 'mlk-test-account-two-0123456789'
    mailerlite.state.addKey(key)
    const campaignId = await liveCampaign()
    const ml = (
      await call('POST', `/v1/teams/${teamId}/integrations`, {
        kind: 'mailerlite',
        name: 'Revoked',
        apiKey: key,
      })
    ).json()
    const group = await mailerlite.state.createGroup(key, 'Leads')
    await call('PUT', `/v1/teams/${teamId}/campaigns/${campaignId}/integrations/${ml.id}`, {
      groupId: String(group.id),
    })
    mailerlite.state.revokeKey(key)
    await submitLead(campaignId, 'revoked@example.com')
    const paused = await eventually(async () => {
      const row = (await call('GET', `/v1/teams/${teamId}/integrations/${ml.id}`)).json()
      return row.status === 'paused' && row
    })
    t.match(paused.statusReason, /API key/)
    t.equal((await deliveriesOf(ml.id, 'held')).length, 1, 'the lead waits')
    const groups = await call('GET', `/v1/teams/${teamId}/integrations/${ml.id}/groups`)
    t.equal(groups.statusCode, 409, 'the dashboard learns the stored key is refused')
  },
)

t.test('erasing a lead cancels its pending deliveries and clears their payloads', async (t) => {
  const campaignId = await liveCampaign()
  const hook = await connectWebhook('Erasure')
  await call('PUT', `/v1/teams/${teamId}/campaigns/${campaignId}/integrations/${hook.id}`, {})
  await call('PATCH', `/v1/teams/${teamId}/integrations/${hook.id}`, { status: 'paused' })
  await submitLead(campaignId, 'erase.me@example.com')
  const [held] = await eventually(async () => {
    const rows = await deliveriesOf(hook.id, 'held')
    return rows.length === 1 && rows
  })
  const erased = await call('POST', `/v1/teams/${teamId}/leads/erase`, { email: 'ERASE.me@example.com' })
  t.equal(erased.statusCode, 200, erased.body)
  const row = await app.db
    .selectFrom('integration_deliveries')
    .selectAll()
    .where('id', '=', held?.id ?? '')
    .executeTakeFirstOrThrow()
  t.equal(row.status, 'cancelled')
  t.equal(row.payload, null, 'the person’s data is gone from the log')
  receiver.answer(() => ({ status: 200 }))
  await call('PATCH', `/v1/teams/${teamId}/integrations/${hook.id}`, { status: 'active' })
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal(bodiesFor('erase.me@example.com').length, 0, 'never sent')
})

t.test('test delivery, outbound refusals, another team’s ids', async (t) => {
  const hook = await connectWebhook('Tested')
  receiver.answer(() => ({ status: 202, body: 'thanks' }))
  const tested = await call('POST', `/v1/teams/${teamId}/integrations/${hook.id}/test`)
  t.equal(tested.statusCode, 200, tested.body)
  t.equal(tested.json().status, 'succeeded')
  t.equal(tested.json().attemptLog[0].responseBody, 'thanks')

  for (const url of [
    'http://10.0.0.8/hook',
    'http://169.254.169.254/latest/meta-data',
    'ftp://example.com/x',
    'http://[fd00::1]/',
  ]) {
    const refused = await call('POST', `/v1/teams/${teamId}/integrations`, {
      kind: 'webhook',
      name: 'x',
      url,
    })
    t.equal(refused.statusCode, 400, url)
    t.equal(refused.json().details?.[0]?.field, 'body.url', url)
  }

  const bob = await signInAs(app, 'bob@example.com')
  const bobTeam = await personalTeam(app, bob)
  for (const [method, url] of [
    ['GET', `/v1/teams/${bobTeam}/integrations/${hook.id}`],
    ['GET', `/v1/teams/${teamId}/integrations/${hook.id}`],
  ] as const) {
    const res = await app.inject({ method, url, headers: bob.headers })
    t.equal(res.statusCode, 404, `${method} ${url} as another team`)
  }
})

t.test('a job sent in a transaction that rolls back never exists; a committed one does', async (t) => {
  const marker = `rollback-${Date.now()}`
  await app.db
    .transaction()
    .execute(async (trx) => {
      await app.jobs.send(
        'integrations.notice',
        { integrationId: marker, status: 'paused', reason: 'x' },
        { db: trx, startAfter: 3600 },
      )
      throw new Error('roll back')
    })
    .catch(() => {})
  await app.db.transaction().execute(async (trx) => {
    await app.jobs.send(
      'integrations.notice',
      { integrationId: `${marker}-kept`, status: 'paused', reason: 'x' },
      { db: trx, startAfter: 3600 },
    )
  })
  const { rows } = await sql<{ id: string }>`
    SELECT data->>'integrationId' AS id FROM pgboss.job WHERE data->>'integrationId' LIKE ${`${marker}%`}`.execute(
    app.db,
  )
  t.same(
    rows.map((row) => row.id),
    [`${marker}-kept`],
  )
})
