import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { createMailerliteClient, MailerliteError } from '../../../../libs/marketing/src/mailerlite.ts'
import { CONTROL_PATH, DEFAULT_API_KEY, startMailerliteStandIn } from '../src/index.ts'

const KEY = 'mlsk-test-0123456789'
const OTHER_KEY = 'mlsk-test-other-account'

async function standIn(t: Test, requestsPerMinute = 120) {
  const running = await startMailerliteStandIn({ apiKeys: [KEY, OTHER_KEY], requestsPerMinute })
  t.teardown(() => running.close())
  return {
    ...running,
    client: createMailerliteClient({ apiKey: KEY, baseUrl: running.url, timeoutMs: 2000 }),
  }
}

async function refusal(promise: Promise<unknown>): Promise<MailerliteError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof MailerliteError) return error
    throw error
  }
  throw new Error('expected a MailerliteError')
}

/** A raw call, to see Mailerlite's exact bodies and headers. */
async function raw(url: string, path: string, init: RequestInit & { key?: string | null } = {}) {
  const { key = KEY, ...rest } = init
  const res = await fetch(`${url}${path}`, {
    ...rest,
    headers: {
      accept: 'application/json',
      'content-type': 'application/json',
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
    },
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) }
}

t.test('groups: listed in Mailerlite’s shape, created, filtered, sorted, paged', async (t) => {
  const { client, url } = await standIn(t)
  t.same(await client.listGroups(), [])
  const leads = await client.createGroup('Popup leads')
  t.match(leads, {
    id: /^\d+$/,
    name: 'Popup leads',
    active_count: 0,
    sent_count: 0,
    opens_count: 0,
    open_rate: { float: 0, string: '0%' },
    clicks_count: 0,
    click_rate: { float: 0, string: '0%' },
    unsubscribed_count: 0,
    unconfirmed_count: 0,
    bounced_count: 0,
    junk_count: 0,
    created_at: /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/,
  })
  const customers = await client.findOrCreateGroup('Customers')
  t.equal((await client.findOrCreateGroup('Customers')).id, customers.id, 'found, not created twice')
  await client.createGroup('Leads from ads')
  t.same(
    (await client.listGroups()).map((g) => g.name),
    ['Customers', 'Leads from ads', 'Popup leads'],
    'by name by default',
  )
  t.same(
    (await client.listGroups({ name: 'leads' })).map((g) => g.name),
    ['Leads from ads', 'Popup leads'],
    'filter[name] matches part of the name',
  )
  t.equal(
    (await client.findOrCreateGroup('Leads')).name,
    'Leads',
    'a group whose name only contains the name is not taken for it',
  )
  t.same(
    (await client.listGroups({ limit: 2, page: 2 })).map((g) => g.name),
    ['Leads from ads', 'Popup leads'],
  )

  const page = await raw(url, '/api/groups?limit=2&page=1&sort=-name')
  t.equal(page.status, 200)
  t.same(
    page.body.data.map((g: { name: string }) => g.name),
    ['Popup leads', 'Leads from ads'],
  )
  t.match(page.body, {
    links: { first: /page=1$/, last: /page=2$/, prev: null, next: /page=2$/ },
    meta: { current_page: 1, from: 1, last_page: 2, per_page: 2, to: 2, total: 4, path: /\/api\/groups$/ },
  })
  t.match(await raw(url, '/api/groups?sort=colour'), { status: 422, body: { errors: { sort: [String] } } })
  t.match(await raw(url, '/api/groups', { method: 'POST', body: '{}' }), {
    status: 422,
    body: { message: 'The name field is required.', errors: { name: ['The name field is required.'] } },
  })
})

t.test('upsert: 201 created, then 200 with fields merged and groups added', async (t) => {
  const { client, state } = await standIn(t)
  const a = await client.createGroup('Leads')
  const b = await client.createGroup('Customers')
  const first = await client.upsertSubscriber({
    email: 'Ada@Example.com',
    fields: { name: 'Ada', company: 'Analytical' },
    groups: [a.id],
  })
  t.equal(first.created, true)
  t.match(first.subscriber, {
    id: /^\d+$/,
    email: 'Ada@Example.com',
    status: 'active',
    source: 'api',
    fields: { name: 'Ada', company: 'Analytical', last_name: null, z_i_p: null },
    groups: [{ id: a.id, name: 'Leads', active_count: 1 }],
    created_at: /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/,
    updated_at: String,
  })
  const second = await client.upsertSubscriber({
    email: 'ada@example.com',
    fields: { company: 'Babbage & co', last_name: 'Lovelace' },
    groups: [b.id],
  })
  t.equal(second.created, false, 'the same address (any case) is updated')
  t.equal(second.subscriber.id, first.subscriber.id)
  t.match(second.subscriber.fields, { name: 'Ada', company: 'Babbage & co', last_name: 'Lovelace' })
  t.same(second.subscriber.groups.map((g) => g.id).sort(), [a.id, b.id].sort(), 'groups merged')
  t.same(state.subscriber(KEY, 'ADA@example.com')?.groups, [a.id, b.id])

  t.equal((await client.getSubscriber('ada@example.com'))?.id, first.subscriber.id, 'by email')
  t.equal((await client.getSubscriber(first.subscriber.id))?.email, 'Ada@Example.com', 'by id')
  t.equal(await client.getSubscriber('nobody@example.com'), null)
  t.equal(await client.deleteSubscriber(first.subscriber.id), true)
  t.equal(await client.getSubscriber('ada@example.com'), null)
  t.equal(await client.deleteSubscriber(first.subscriber.id), false, '404 when already gone')
  t.same(state.subscribersOf(KEY), [])
})

t.test('fields: the default ones and created ones, for a field-mapping picker', async (t) => {
  const { client } = await standIn(t)
  const fields = await client.listFields()
  t.same(
    fields.map((f) => f.key),
    ['name', 'last_name', 'company', 'country', 'city', 'phone', 'state', 'z_i_p'],
  )
  t.match(fields[0], { id: /^\d+$/, name: 'Name', key: 'name', type: 'text' })
  const plan = await client.findOrCreateField('plan')
  t.match(plan, { key: 'plan', name: 'plan', type: 'text' })
  t.equal((await client.findOrCreateField('plan')).id, plan.id, 'found the second time')
  t.ok((await client.listFields()).some((f) => f.key === 'plan'))
  const { subscriber } = await client.upsertSubscriber({ email: 'p@example.com', fields: { plan: 'pro' } })
  t.equal(subscriber.fields.plan, 'pro')
})

t.test('accounts are apart: each key sees its own groups and subscribers', async (t) => {
  const { client, url, state } = await standIn(t)
  const other = createMailerliteClient({ apiKey: OTHER_KEY, baseUrl: url })
  const group = await client.createGroup('Mine')
  await client.upsertSubscriber({ email: 'mine@example.com', groups: [group.id] })
  t.same(await other.listGroups(), [])
  t.equal(await other.getSubscriber('mine@example.com'), null)
  const invalid = await refusal(other.upsertSubscriber({ email: 'x@example.com', groups: [group.id] }))
  t.same(invalid.fieldErrors, { 'groups.0': ['The selected groups.0 is invalid.'] }, 'nor use its groups')
  t.equal(state.subscribersOf(KEY).length, 1)
  t.equal(state.subscribersOf(OTHER_KEY).length, 0)
})

t.test(
  '401 Unauthenticated. for no key, a wrong key and a revoked key; the key is never in the error',
  async (t) => {
    const { url, state, client } = await standIn(t)
    const missing = await raw(url, '/api/groups', { key: null })
    t.equal(missing.status, 401)
    t.same(missing.body, { message: 'Unauthenticated.' })
    const wrong = createMailerliteClient({ apiKey: 'not-a-key-at-all', baseUrl: url })
    const unauthenticated = await refusal(wrong.listGroups())
    t.match(unauthenticated, { status: 401, code: 'unauthenticated', message: 'Unauthenticated.' })
    t.notOk(JSON.stringify({ ...unauthenticated, m: unauthenticated.message }).includes('not-a-key'))
    t.ok(unauthenticated.latencyMs >= 0)

    await client.listGroups()
    state.revokeKey(KEY)
    const revoked = await refusal(client.listGroups())
    t.match(revoked, { status: 401, code: 'unauthenticated' }, 'a revoked key is refused')
    t.notOk(revoked.message.includes(KEY))
    state.addKey(KEY)
    t.same(await client.listGroups(), [], 'and accepted again once re-added')
  },
)

t.test(
  '422 with Mailerlite’s field errors: bad email, unknown group, unknown field, bad status',
  async (t) => {
    const { client, url } = await standIn(t)
    const invalid = await refusal(
      client.upsertSubscriber({ email: 'not an email', groups: ['999'], fields: { favourite: 'x' } }),
    )
    t.match(invalid, {
      status: 422,
      code: 'validation',
      message: 'The email must be a valid email address. (and 2 more errors)',
      fieldErrors: {
        email: ['The email must be a valid email address.'],
        'groups.0': ['The selected groups.0 is invalid.'],
        'fields.favourite': ['The selected fields.favourite is invalid.'],
      },
    })
    const one = await raw(url, '/api/subscribers', { method: 'POST', body: JSON.stringify({ email: 'a@b' }) })
    t.same(one.body, {
      message: 'The email must be a valid email address.',
      errors: { email: ['The email must be a valid email address.'] },
    })
    t.match(await raw(url, '/api/subscribers', { method: 'POST', body: '{}' }), {
      status: 422,
      body: { errors: { email: ['The email field is required.'] } },
    })
    t.match(await raw(url, '/api/subscribers', { method: 'POST', body: 'not json' }), {
      status: 422,
      body: { errors: { email: ['The email field is required.'] } },
    })
    const status = await refusal(
      client.upsertSubscriber({ email: 'a@example.com', status: 'gone' as 'junk' }),
    )
    t.same(status.fieldErrors, { status: ['The selected status is invalid.'] })
    const missing = await raw(url, '/api/subscribers/12345')
    t.equal(missing.status, 404)
    t.same(missing.body, { message: 'Resource not found.' })
  },
)

t.test('rate limit: remaining counts down, then 429 Too Many Attempts. with Retry-After', async (t) => {
  const { client, url } = await standIn(t, 3)
  const first = await raw(url, '/api/groups')
  t.equal(first.headers.get('x-ratelimit-limit'), '3')
  t.equal(first.headers.get('x-ratelimit-remaining'), '2')
  await client.listGroups()
  t.equal(client.rateLimitRemaining, 1, 'the client exposes what it last saw')
  await client.listFields()
  t.equal(client.rateLimitRemaining, 0)
  const limited = await refusal(client.listGroups())
  t.match(limited, { status: 429, code: 'rate_limited', message: 'Too Many Attempts.' })
  t.ok(
    (limited.retryAfterSeconds ?? 0) >= 1 && (limited.retryAfterSeconds ?? 0) <= 60,
    `Retry-After until the next minute (${limited.retryAfterSeconds})`,
  )
  const over = await raw(url, '/api/groups')
  t.equal(over.status, 429)
  t.same(over.body, { message: 'Too Many Attempts.' })
  t.equal(over.headers.get('x-ratelimit-limit'), '3')
  t.equal(over.headers.get('x-ratelimit-remaining'), '0')
  t.match(over.headers.get('retry-after'), /^\d+$/)

  const other = createMailerliteClient({ apiKey: OTHER_KEY, baseUrl: url })
  await other.listGroups()
  t.equal(other.rateLimitRemaining, 2, 'per key: another account has its own minute')
})

t.test('failNext: 503, 500 and 429 in Mailerlite’s shapes, then back to normal', async (t) => {
  const { client, url, state } = await standIn(t)
  state.failNext(1, 503, 7)
  const down = await refusal(client.listGroups())
  t.match(down, { status: 503, code: 'unavailable', message: 'Service Unavailable', retryAfterSeconds: 7 })
  state.failNext(1, 500)
  const broken = await refusal(client.listGroups())
  t.match(broken, { status: 500, code: 'unavailable', message: 'Server Error', retryAfterSeconds: undefined })
  state.failNext(1, 429)
  const limited = await raw(url, '/api/groups')
  t.equal(limited.status, 429)
  t.same(limited.body, { message: 'Too Many Attempts.' })
  t.equal(limited.headers.get('retry-after'), '60')
  t.equal(limited.headers.get('x-ratelimit-remaining'), '0')
  t.same(await client.listGroups(), [], 'only the next ones fail')
  t.throws(() => state.failNext(1, 404), /429 or a 5xx/)
})

t.test('down: 503 to every API request until it is up again', async (t) => {
  const { client, state } = await standIn(t)
  state.setDown(true)
  t.match(await refusal(client.listGroups()), { status: 503, code: 'unavailable' })
  t.match(await refusal(client.upsertSubscriber({ email: 'a@example.com' })), { status: 503 })
  t.same(state.subscribersOf(KEY), [])
  state.setDown(false)
  t.same(await client.listGroups(), [])
})

t.test('closed: code network, status 0', async (t) => {
  const running = await startMailerliteStandIn({ apiKeys: [KEY] })
  await running.close()
  const error = await refusal(createMailerliteClient({ apiKey: KEY, baseUrl: running.url }).listGroups())
  t.match(error, { status: 0, code: 'network', message: 'Mailerlite could not be reached' })
  t.notOk(error.message.includes(KEY))
})

t.test('a Mailerlite that never answers: the client gives up at its timeout', async (t) => {
  const silent = createServer(() => {})
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    silent.closeAllConnections()
    silent.close()
  })
  const client = createMailerliteClient({
    apiKey: KEY,
    baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
    timeoutMs: 300,
  })
  const started = Date.now()
  const error = await refusal(client.listGroups())
  const elapsed = Date.now() - started
  t.match(error, { code: 'network', status: 0, message: /did not answer within 300 ms/ })
  t.ok(elapsed >= 250 && elapsed < 2000, `gave up at the timeout (${elapsed} ms)`)
  t.ok(error.latencyMs >= 250)
})

t.test('a 2xx that is not JSON is not a success', async (t) => {
  const html = createServer((_req, res) => res.end('<html>maintenance</html>'))
  await new Promise<void>((resolve) => html.listen(0, '127.0.0.1', resolve))
  t.teardown(() => html.close())
  const client = createMailerliteClient({
    apiKey: KEY,
    baseUrl: `http://127.0.0.1:${(html.address() as AddressInfo).port}/api/`,
  })
  t.match(await refusal(client.listGroups()), { status: 200, code: 'unavailable' })
})

t.test('requests are recorded; reset forgets everything', async (t) => {
  const { client, url, state } = await standIn(t)
  await client.createGroup('Leads')
  await raw(url, '/api/groups', { key: 'nope' })
  t.match(state.requests, [
    { method: 'POST', path: '/api/groups', key: KEY, status: 201, at: String },
    { method: 'GET', path: '/api/groups', key: 'nope', status: 401 },
  ])
  t.equal(state.requestsOf(KEY).length, 1)
  state.revokeKey(OTHER_KEY)
  state.failNext(2, 503)
  state.setDown(true)
  state.reset()
  t.same(state.requests, [])
  t.same(state.groupsOf(KEY), [])
  t.same(await client.listGroups(), [])
  t.same(await createMailerliteClient({ apiKey: OTHER_KEY, baseUrl: url }).listGroups(), [])
})

t.test('the HTTP controls, for a stand-in in another process', async (t) => {
  const { client, url } = await standIn(t)
  const control = async (path: string, body?: unknown) => {
    const res = await fetch(`${url}${CONTROL_PATH}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }
  const made = await control('/groups', { key: KEY, name: 'Seeded' })
  t.equal(made.status, 201)
  const groupId = (made.body.group as { id: string }).id
  await client.upsertSubscriber({ email: 'ctl@example.com', groups: [groupId] })
  t.match(await control(`/subscribers?key=${KEY}`), {
    status: 200,
    body: { subscribers: [{ email: 'ctl@example.com', groups: [groupId] }] },
  })
  t.match(await control('/subscribers'), {
    body: { accounts: [{ key: KEY, subscribers: [{ email: 'ctl@example.com' }] }, { key: OTHER_KEY }] },
  })
  t.match(await control(`/requests?key=${KEY}`), {
    body: { requests: [{ method: 'POST', path: '/api/subscribers', status: 201 }] },
  })

  t.match(await control('/fail', { count: 1, status: 503, retryAfterSeconds: 3 }), { status: 200 })
  t.match(await refusal(client.listGroups()), { status: 503, retryAfterSeconds: 3 })
  t.equal((await control('/fail', { status: 404 })).status, 400)

  await control('/down', { down: true })
  t.match(await refusal(client.listGroups()), { status: 503 })
  await control('/down', { down: false })

  await control('/keys', { add: 'mlsk-added' })
  const added = createMailerliteClient({ apiKey: 'mlsk-added', baseUrl: url })
  t.same(await added.listGroups(), [], 'a new account')
  await control('/keys', { revoke: 'mlsk-added' })
  t.match(await refusal(added.listGroups()), { status: 401 })

  await control('/reset', {})
  t.same((await control(`/subscribers?key=${KEY}`)).body, { subscribers: [] })
})

t.test('defaults: the dev key, 120 a minute; refuses to start in production', async (t) => {
  const running = await startMailerliteStandIn()
  t.teardown(() => running.close())
  const res = await raw(running.url, '/api/groups', { key: DEFAULT_API_KEY })
  t.equal(res.status, 200)
  t.equal(res.headers.get('x-ratelimit-limit'), '120')
  t.equal(res.headers.get('x-ratelimit-remaining'), '119')

  const before = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  t.teardown(() => {
    process.env.NODE_ENV = before
  })
  await t.rejects(startMailerliteStandIn(), /development and tests only/)
})
