import Cloudflare from 'cloudflare'
import t, { type Test } from 'tap'
import { type CloudflareStandIn, type DnsRecordSeed, startCloudflareStandIn } from '../src/index.ts'

const TOKEN = 'Jq8n3-dns-test-token_0123456789abcdefghij'
const ZONE = 'c0ffee00c0ffee00c0ffee00c0ffee00'
const OTHER_ZONE = 'dead0000dead0000dead0000dead0000'
const UNKNOWN_RECORD = 'abcdef0123456789abcdef0123456789'

/** The records a blue-green release starts from: both colours, and the stable name on blue. */
const COLOURS: DnsRecordSeed[] = [
  { type: 'CNAME', name: 'blue.api', content: 'ec2-blue.eu-west-1.compute.example' },
  { type: 'CNAME', name: 'green.api', content: 'ec2-green.eu-west-1.compute.example' },
  { type: 'CNAME', name: 'api', content: 'blue.api.nudge.example', proxied: true, comment: 'live colour' },
]

async function standIn(t: Test, records: DnsRecordSeed[] = []): Promise<CloudflareStandIn> {
  const started = await startCloudflareStandIn({ token: TOKEN, zoneId: ZONE, records })
  t.teardown(() => started.close())
  return started
}

/** The real SDK as the deploy tool configures it; `requests` sees every URL it sends. */
function sdk(url: string, options: { token?: string; maxRetries?: number; requests?: URL[] } = {}) {
  return new Cloudflare({
    apiToken: options.token ?? TOKEN,
    apiKey: null,
    apiEmail: null,
    userServiceKey: null,
    baseURL: url,
    maxRetries: options.maxRetries ?? 0,
    timeout: 5000,
    logLevel: 'off',
    fetch: (input: string | URL | Request, init?: RequestInit) => {
      options.requests?.push(new URL(input instanceof Request ? input.url : input))
      return fetch(input, init)
    },
  })
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail')
    },
    (error: unknown) => error,
  )
}

function byName(cf: CloudflareStandIn, name: string) {
  const record = cf.records.find((r) => r.name === name)
  if (record === undefined) throw new Error(`no record ${name}`)
  return record
}

t.test(
  'create a proxied CNAME: a relative name becomes fully qualified, the answer is the SDK shape',
  async (t) => {
    const cf = await standIn(t)
    const client = sdk(cf.url)
    const before = Date.now()
    const record = await client.dns.records.create({
      zone_id: ZONE,
      type: 'CNAME',
      name: 'api',
      content: 'Blue.API.nudge.example.',
      ttl: 1,
      proxied: true,
      comment: 'live colour',
      tags: ['release:1'],
    })
    t.match(record, {
      id: /^[0-9a-f]{32}$/,
      name: 'api.nudge.example',
      type: 'CNAME',
      content: 'blue.api.nudge.example',
      proxied: true,
      proxiable: true,
      ttl: 1,
      settings: {},
      meta: {},
      comment: 'live colour',
      tags: ['release:1'],
    })
    t.ok(Date.parse(record.created_on) >= before - 1000, 'created_on is when it was made')
    t.equal(record.modified_on, record.created_on)
    t.equal(record.comment_modified_on, record.created_on)
    t.equal(record.tags_modified_on, record.created_on)
    t.same(await client.dns.records.get(record.id, { zone_id: ZONE }), record, 'get answers the same record')
    t.same(cf.records, [record], 'the handle lists it as the API answers it')
    t.match(cf.dnsChanges, [
      { action: 'create', id: record.id, before: null, after: record, at: record.created_on },
    ])

    const plain = await client.dns.records.create({
      zone_id: ZONE,
      type: 'TXT',
      name: '_nudge-verify.nudge.example',
      content: 'token=abc',
      ttl: 300,
    })
    t.match(plain, { proxied: false, proxiable: false, ttl: 300, comment: null, tags: [] })
    t.notOk('comment_modified_on' in plain, 'no comment_modified_on without a comment')
    const apex = await client.dns.records.create({
      zone_id: ZONE,
      type: 'A',
      name: '@',
      content: '192.0.2.1',
      ttl: 1,
    })
    t.equal(apex.name, 'nudge.example', '@ is the apex')
    const outside = await client.dns.records.create({
      zone_id: ZONE,
      type: 'AAAA',
      name: 'api.other.example',
      content: '2001:db8::1',
      ttl: 1,
    })
    t.equal(outside.name, 'api.other.example.nudge.example', 'a name outside the zone is taken as relative')
  },
)

t.test('find the stable name by name and type, through the SDK and the plain query', async (t) => {
  const cf = await standIn(t, [...COLOURS, { type: 'TXT', name: 'api', content: 'owner=deploy' }])
  const client = sdk(cf.url)
  const found = []
  for await (const record of client.dns.records.list({
    zone_id: ZONE,
    type: 'CNAME',
    name: { exact: 'API.nudge.example' },
  }))
    found.push(record)
  t.same(
    found.map((r) => [r.name, r.type, r.content]),
    [['api.nudge.example', 'CNAME', 'blue.api.nudge.example']],
    'name filters are case-insensitive, and both filters apply',
  )

  const query = async (search: string) => {
    const res = await fetch(`${cf.url}/zones/${ZONE}/dns_records?${search}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    return {
      status: res.status,
      body: (await res.json()) as { result: Array<{ name: string; type: string }> },
    }
  }
  const plain = await query('name=api.nudge.example')
  t.equal(plain.status, 200)
  t.same(plain.body.result.map((r) => r.type).sort(), ['CNAME', 'TXT'], 'name= is the exact name, every type')
  t.match(plain.body, {
    success: true,
    errors: [],
    messages: [],
    result_info: { page: 1, per_page: 100, count: 2, total_count: 2, total_pages: 1 },
  })
  const content = await query('content.exact=BLUE.api.nudge.example')
  t.same(
    content.body.result.map((r) => r.name),
    ['api.nudge.example'],
  )
  const any = await query('match=any&name=blue.api.nudge.example&content=blue.api.nudge.example')
  t.same(any.body.result.map((r) => r.name).sort(), ['api.nudge.example', 'blue.api.nudge.example'])
  const none = await query('name.exact=api')
  t.same(none.body.result, [], 'filters take names as given: a relative name matches nothing')
  t.equal((await query('type=BOGUS')).status, 400)
})

t.test('the switch: editing the content keeps the proxied flag, and the history says when', async (t) => {
  const cf = await standIn(t, COLOURS)
  const client = sdk(cf.url)
  const [live] = await client.dns.records
    .list({ zone_id: ZONE, type: 'CNAME', name: { exact: 'api.nudge.example' } })
    .then((page) => page.result)
  if (live === undefined) throw new Error('the seeded record is not listed')
  t.equal(cf.dnsChanges.length, 0, 'seeded records are not changes')

  await new Promise((resolve) => setTimeout(resolve, 5))
  const before = Date.now()
  const switched = await client.dns.records.edit(live.id, {
    zone_id: ZONE,
    type: 'CNAME',
    name: 'api.nudge.example',
    ttl: 1,
    content: 'green.api.nudge.example',
  })
  const after = Date.now()
  t.match(switched, {
    id: live.id,
    content: 'green.api.nudge.example',
    proxied: true,
    comment: 'live colour',
    created_on: live.created_on,
  })
  t.not(switched.modified_on, live.modified_on, 'modified_on moves')
  t.equal(switched.comment_modified_on, live.comment_modified_on, 'the comment did not change')
  t.equal(byName(cf, 'api.nudge.example').content, 'green.api.nudge.example')

  const [change] = cf.dnsChanges
  t.equal(cf.dnsChanges.length, 1)
  t.match(change, {
    action: 'edit',
    id: live.id,
    before: { content: 'blue.api.nudge.example', proxied: true },
    after: { content: 'green.api.nudge.example', proxied: true },
  })
  const at = Date.parse(change?.at ?? '')
  t.ok(at >= before && at <= after, `the change happened during the call (${change?.at})`)

  const rollback = await client.dns.records.update(live.id, {
    zone_id: ZONE,
    type: 'CNAME',
    name: 'api',
    ttl: 300,
    content: 'blue.api.nudge.example',
  })
  t.match(rollback, { content: 'blue.api.nudge.example', proxied: false, ttl: 300, comment: null })
  t.notOk('comment_modified_on' in rollback)
  t.match(cf.dnsChanges[1], { action: 'overwrite', before: { proxied: true }, after: { proxied: false } })
})

t.test('paging: the SDK iterator walks every page; result_info counts them', async (t) => {
  const seeds = Array.from({ length: 25 }, (_, i) => ({
    type: 'TXT' as const,
    name: `host-${String(i).padStart(2, '0')}`,
    content: `n=${i}`,
  }))
  const cf = await standIn(t, seeds)
  const requests: URL[] = []
  const client = sdk(cf.url, { requests })

  const first = await client.dns.records.list({ zone_id: ZONE, per_page: 10 })
  t.equal(first.result.length, 10)
  t.same(first.result_info, { page: 1, per_page: 10, count: 10, total_count: 25, total_pages: 3 })

  requests.length = 0
  const names: string[] = []
  for await (const record of client.dns.records.list({ zone_id: ZONE, per_page: 10 })) names.push(record.name)
  t.same(
    names,
    seeds.map((s) => `${s.name}.nudge.example`).sort(),
    'every record once, ordered by type then name',
  )
  t.same(
    requests.map((url) => url.searchParams.get('page')),
    [null, '2', '3', '4'],
    'the SDK asks for the next page until one comes back empty',
  )

  const last = await client.dns.records.list({ zone_id: ZONE, per_page: 10, page: 3 })
  t.same(last.result_info, { page: 3, per_page: 10, count: 5, total_count: 25, total_pages: 3 })
  const past = await client.dns.records.list({ zone_id: ZONE, per_page: 10, page: 9 })
  t.same(past.result, [])

  const desc = await client.dns.records.list({ zone_id: ZONE, order: 'name', direction: 'desc', per_page: 2 })
  t.same(
    desc.result.map((r) => r.name),
    ['host-24.nudge.example', 'host-23.nudge.example'],
  )
  const all = await client.dns.records.list({ zone_id: ZONE })
  t.equal(all.result.length, 25, '100 a page unless asked')

  const tooMany = await rejection(client.dns.records.list({ zone_id: ZONE, per_page: 5_000_001 }))
  t.ok(tooMany instanceof Cloudflare.BadRequestError, `got ${String(tooMany)}`)
  t.match(tooMany, { status: 400, errors: [{ code: 99002, message: /per_page/ }] })
  t.match(await rejection(client.dns.records.list({ zone_id: ZONE, page: 0 })), { status: 400 })
})

t.test('records sharing a name: 81053, 81054, 81058; nothing changes', async (t) => {
  const cf = await standIn(t, [...COLOURS, { type: 'A', name: 'www', content: '192.0.2.10' }])
  const client = sdk(cf.url)
  const cname = await rejection(
    client.dns.records.create({
      zone_id: ZONE,
      type: 'CNAME',
      name: 'www',
      content: 'blue.api.nudge.example',
      ttl: 1,
    }),
  )
  t.ok(cname instanceof Cloudflare.BadRequestError, `got ${String(cname)}`)
  t.match(cname, {
    status: 400,
    errors: [{ code: 81053, message: /^An A, AAAA, or CNAME record with that host already exists\./ }],
  })
  const second = await rejection(
    client.dns.records.create({
      zone_id: ZONE,
      type: 'CNAME',
      name: 'api',
      content: 'green.api.nudge.example',
      ttl: 1,
    }),
  )
  t.match(second, { status: 400, errors: [{ code: 81053 }] }, 'two CNAMEs cannot share a name')
  const address = await rejection(
    client.dns.records.create({ zone_id: ZONE, type: 'AAAA', name: 'api', content: '2001:db8::1', ttl: 1 }),
  )
  t.match(address, { status: 400, errors: [{ code: 81054, message: /^A CNAME record with that host/ }] })
  const twin = await rejection(
    client.dns.records.create({ zone_id: ZONE, type: 'A', name: 'www', content: '192.0.2.10', ttl: 1 }),
  )
  t.match(twin, { status: 400, errors: [{ code: 81058, message: 'An identical record already exists.' }] })
  await client.dns.records.create({ zone_id: ZONE, type: 'A', name: 'www', content: '192.0.2.11', ttl: 1 })
  await client.dns.records.create({
    zone_id: ZONE,
    type: 'TXT',
    name: 'api',
    content: 'owner=deploy',
    ttl: 1,
  })

  const green = byName(cf, 'green.api.nudge.example')
  const rename = await rejection(
    client.dns.records.edit(green.id, { zone_id: ZONE, type: 'CNAME', name: 'www', ttl: 1 }),
  )
  t.match(rename, { status: 400, errors: [{ code: 81053 }] }, 'an edit is checked like a create')
  t.equal(byName(cf, 'green.api.nudge.example'), green, 'the refused edit left the record as it was')
  t.same(
    cf.dnsChanges.map((c) => c.action),
    ['create', 'create'],
    'only the two accepted creates are changes',
  )
})

t.test('an unknown record id: NotFoundError 404, code 81044; not an id: 400, code 7003', async (t) => {
  const cf = await standIn(t, COLOURS)
  const client = sdk(cf.url)
  for (const call of [
    () => client.dns.records.get(UNKNOWN_RECORD, { zone_id: ZONE }),
    () =>
      client.dns.records.edit(UNKNOWN_RECORD, {
        zone_id: ZONE,
        type: 'CNAME',
        name: 'api',
        ttl: 1,
        content: 'green.api.nudge.example',
      }),
    () =>
      client.dns.records.update(UNKNOWN_RECORD, {
        zone_id: ZONE,
        type: 'CNAME',
        name: 'api2',
        ttl: 1,
        content: 'green.api.nudge.example',
      }),
    () => client.dns.records.delete(UNKNOWN_RECORD, { zone_id: ZONE }),
  ]) {
    const error = await rejection(call())
    t.ok(error instanceof Cloudflare.NotFoundError, `got ${String(error)}`)
    t.match(error, { status: 404, errors: [{ code: 81044, message: 'Record does not exist.' }] })
  }
  const notAnId = await rejection(client.dns.records.get('api.nudge.example', { zone_id: ZONE }))
  t.match(notAnId, {
    status: 400,
    errors: [
      {
        code: 7003,
        message: `Could not route to /zones/${ZONE}/dns_records/api.nudge.example, perhaps your object identifier is invalid?`,
      },
    ],
  })
  t.equal(cf.dnsChanges.length, 0)
})

t.test('delete answers the id, and the record is gone', async (t) => {
  const cf = await standIn(t, COLOURS)
  const client = sdk(cf.url)
  const green = byName(cf, 'green.api.nudge.example')
  t.same(await client.dns.records.delete(green.id, { zone_id: ZONE }), { id: green.id })
  t.equal(cf.records.length, 2)
  t.match(cf.dnsChanges, [{ action: 'delete', id: green.id, before: green, after: null }])
  t.match(await rejection(client.dns.records.get(green.id, { zone_id: ZONE })), { status: 404 })
})

t.test(
  'TTL: 1 or 60 to 86400, else 1004 with 9021 in its chain; a proxied record is automatic',
  async (t) => {
    const cf = await standIn(t)
    const client = sdk(cf.url)
    const create = (ttl: number, proxied = false) =>
      client.dns.records.create({
        zone_id: ZONE,
        type: 'A',
        name: `ttl-${ttl}`,
        content: '192.0.2.1',
        ttl,
        proxied,
      })
    for (const ttl of [0, 30, 59, 86401, 60.5]) {
      const error = await rejection(create(ttl))
      t.ok(error instanceof Cloudflare.BadRequestError, `ttl ${ttl}: got ${String(error)}`)
      t.match(error, {
        status: 400,
        errors: [
          {
            code: 1004,
            message: 'DNS Validation Error',
            error_chain: [
              { code: 9021, message: 'TTL must be between 60 and 86400 seconds, or 1 for Automatic.' },
            ],
          },
        ],
      })
    }
    for (const ttl of [1, 60, 86400]) t.equal((await create(ttl)).ttl, ttl)
    t.equal((await create(3600, true)).ttl, 1, 'proxied: ttl 1 whatever was asked')
    t.equal(cf.records.length, 4)
  },
)

t.test('content, names and proxying are checked as the real API does', async (t) => {
  const cf = await standIn(t)
  const client = sdk(cf.url)
  const create = (body: {
    type: 'A' | 'AAAA' | 'CNAME' | 'TXT'
    name: string
    content: string
    proxied?: boolean
  }) => rejection(client.dns.records.create({ zone_id: ZONE, ttl: 1, ...body }))

  t.match(await create({ type: 'A', name: 'api', content: 'blue.api.nudge.example' }), {
    status: 400,
    errors: [{ code: 9005, message: 'Content for A record must be a valid IPv4 address.' }],
  })
  t.match(await create({ type: 'AAAA', name: 'api', content: '192.0.2.1' }), {
    errors: [{ code: 9006, message: 'Content for AAAA record must be a valid IPv6 address.' }],
  })
  t.match(await create({ type: 'CNAME', name: 'api', content: '192.0.2.1' }), {
    errors: [{ code: 1004, error_chain: [{ code: 9007, message: 'Content for CNAME record is invalid.' }] }],
  })
  t.match(await create({ type: 'CNAME', name: 'api', content: 'api.nudge.example' }), {
    errors: [{ code: 1004, error_chain: [{ code: 9007 }] }],
  })
  t.match(await create({ type: 'A', name: 'bad name', content: '192.0.2.1' }), {
    errors: [{ code: 9000, message: 'DNS name is invalid.' }],
  })
  t.match(await create({ type: 'A', name: 'api..x', content: '192.0.2.1' }), { errors: [{ code: 9000 }] })
  t.match(await create({ type: 'TXT', name: 'api', content: 'v=1', proxied: true }), {
    errors: [{ code: 9004, message: 'This record type cannot be proxied.' }],
  })
  t.match(await create({ type: 'A', name: 'db', content: '10.0.0.5', proxied: true }), {
    errors: [{ code: 9003, message: 'Target 10.0.0.5 is not allowed for a proxied record.' }],
  })
  const internal = await client.dns.records.create({
    zone_id: ZONE,
    type: 'A',
    name: 'db',
    content: '10.0.0.5',
    ttl: 1,
  })
  t.equal(internal.proxiable, false, 'a private address is not proxiable')
  const unicode = await client.dns.records.create({
    zone_id: ZONE,
    type: 'A',
    name: 'bücher',
    content: '192.0.2.7',
    ttl: 1,
  })
  t.equal(unicode.name, 'xn--bcher-kva.nudge.example', 'names are stored in Punycode')
  t.equal(cf.records.length, 2, 'only the two valid records were created')
})

t.test(
  "bodies the SDK's types would refuse get the real API's 9207; other types are not served",
  async (t) => {
    const cf = await standIn(t)
    const send = async (method: string, body: string, path = '') => {
      const res = await fetch(`${cf.url}/zones/${ZONE}/dns_records${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body,
      })
      return { status: res.status, body: await res.json() }
    }
    const invalid = {
      status: 400,
      body: { success: false, result: null, errors: [{ code: 9207, message: 'Request body is invalid.' }] },
    }
    t.match(await send('POST', '{"type": "A", "name": "api", "content": "192.0.2.1",'), invalid, 'not JSON')
    t.match(
      await send('POST', '{"type": "A", "name": "api", "content": ["192.0.2.1"]}'),
      invalid,
      'content a list',
    )
    t.match(
      await send('POST', '{"type": "A", "name": "api", "content": "192.0.2.1", "proxied": "yes"}'),
      invalid,
    )
    t.match(await send('POST', '{"type": "A", "name": "api", "content": "192.0.2.1", "ttl": "300"}'), invalid)
    t.match(await send('POST', '{"name": "api", "content": "192.0.2.1"}'), invalid, 'no type')
    t.match(await send('POST', '{"type": "A", "content": "192.0.2.1"}'), invalid, 'no name')
    t.match(await send('POST', '{"type": "BOGUS", "name": "api", "content": "x"}'), invalid, 'no such type')
    t.match(
      await send('POST', '{"type": "MX", "name": "@", "content": "mx.nudge.example", "priority": 10}'),
      {
        status: 400,
        body: { errors: [{ code: 99001, message: /does not serve MX records/ }] },
      },
    )
    const created = await send('POST', '{"type": "A", "name": "api", "content": "192.0.2.1"}')
    t.match(
      created,
      { status: 200, body: { result: { ttl: 1, proxied: false } } },
      'ttl and proxied have defaults',
    )
    const id = (created.body as { result: { id: string } }).result.id
    t.match(await send('PATCH', '{"content": "192.0.2.2"}', `/${id}`), {
      status: 200,
      body: { result: { content: '192.0.2.2', name: 'api.nudge.example' } },
    })
    t.match(
      await send('PUT', '{"content": "192.0.2.3"}', `/${id}`),
      invalid,
      'an overwrite needs type and name',
    )
    const exported = await fetch(`${cf.url}/zones/${ZONE}/dns_records/export`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    t.equal(exported.status, 404, 'sub-resources it does not serve are 7000, not an id error')
    t.match(await exported.json(), { errors: [{ code: 7000 }] })
  },
)

t.test("the credential and zone checks are the purge route's", async (t) => {
  const cf = await standIn(t, COLOURS)
  const wrong = sdk(cf.url, { token: 'not-the-token' })
  const live = byName(cf, 'api.nudge.example')
  for (const call of [
    () => wrong.dns.records.list({ zone_id: ZONE }),
    () =>
      wrong.dns.records.edit(live.id, {
        zone_id: ZONE,
        type: 'CNAME',
        name: 'api',
        ttl: 1,
        content: 'green.api.nudge.example',
      }),
  ]) {
    const error = await rejection(call())
    t.ok(error instanceof Cloudflare.AuthenticationError, `got ${String(error)}`)
    t.match(error, { status: 401, errors: [{ code: 10000, message: 'Authentication error' }] })
  }
  const client = sdk(cf.url)
  const forbidden = await rejection(client.dns.records.list({ zone_id: OTHER_ZONE }))
  t.ok(forbidden instanceof Cloudflare.PermissionDeniedError, `got ${String(forbidden)}`)
  t.match(forbidden, { status: 403, errors: [{ code: 10000 }] })
  const otherZone = await rejection(client.dns.records.get(live.id, { zone_id: OTHER_ZONE }))
  t.match(otherZone, { status: 403 }, 'a record id does not open another zone')
  t.match(await rejection(client.dns.records.list({ zone_id: 'nudge.example' })), {
    status: 400,
    errors: [{ code: 7003, message: /\/zones\/nudge\.example\/dns_records,/ }],
  })
  const missing = await fetch(`${cf.url}/zones/${ZONE}/dns_records`)
  t.match(await missing.json(), { errors: [{ code: 9106 }] })
  t.equal(byName(cf, 'api.nudge.example').content, 'blue.api.nudge.example', 'nothing was switched')
  t.equal(cf.dnsChanges.length, 0)
})

t.test('failNext: the SDK retries a 5xx, and the edit lands once', async (t) => {
  const cf = await standIn(t, COLOURS)
  const live = byName(cf, 'api.nudge.example')
  const edit = {
    zone_id: ZONE,
    type: 'CNAME' as const,
    name: 'api',
    ttl: 1 as const,
    content: 'green.api.nudge.example',
  }

  cf.failNext(1, 503)
  const error = await rejection(sdk(cf.url).dns.records.edit(live.id, edit))
  t.ok(error instanceof Cloudflare.InternalServerError, `got ${String(error)}`)
  t.match(error, { status: 503, errors: [{ code: 10001 }] })
  t.equal(cf.dnsChanges.length, 0, 'without retries, nothing changed')

  cf.failNext(1, 503)
  const requests: URL[] = []
  const switched = await sdk(cf.url, { maxRetries: 1, requests }).dns.records.edit(live.id, edit)
  t.equal(switched.content, 'green.api.nudge.example')
  t.equal(requests.length, 2, 'one failure, then the retry')
  t.equal(cf.dnsChanges.length, 1, 'one change for the one edit that landed')
})

t.test('HTTP controls and reset', async (t) => {
  const cf = await standIn(t, COLOURS)
  const control = (path: string, init?: RequestInit) => fetch(`${cf.origin}/__stand-in${path}`, init)
  const json = { 'content-type': 'application/json' }

  const listed = (await (await control('/records')).json()) as { records: Array<{ name: string }> }
  t.same(
    listed.records.map((r) => r.name),
    ['blue.api.nudge.example', 'green.api.nudge.example', 'api.nudge.example'],
  )
  const seeded = await control('/records', {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ records: [{ type: 'A', name: 'www', content: '192.0.2.1', id: UNKNOWN_RECORD }] }),
  })
  t.equal(seeded.status, 201)
  t.match(await seeded.json(), { records: [{ id: UNKNOWN_RECORD, name: 'www.nudge.example' }] })
  const refused = await control('/records', {
    method: 'POST',
    headers: json,
    body: JSON.stringify({
      records: [
        { type: 'A', name: 'x', content: '192.0.2.9' },
        { type: 'A', name: 'y', content: 'nope' },
      ],
    }),
  })
  t.equal(refused.status, 400)
  t.match(await refused.json(), { message: /record 1 .*9005 Content for A record/ })
  t.equal(cf.records.length, 4, 'a refused batch adds none of its records')

  await sdk(cf.url).dns.records.edit(byName(cf, 'api.nudge.example').id, {
    zone_id: ZONE,
    type: 'CNAME',
    name: 'api',
    ttl: 1,
    content: 'green.api.nudge.example',
  })
  const changes = (await (await control('/dns-changes')).json()) as { changes: unknown[] }
  t.match(changes, {
    changes: [{ action: 'edit', at: String, after: { content: 'green.api.nudge.example' } }],
  })

  t.equal((await control('/purges', { method: 'DELETE' })).status, 204)
  t.equal(cf.records.length, 4, 'forgetting purges leaves the records')
  t.equal((await control('/records', { method: 'DELETE' })).status, 204)
  t.same([cf.records, cf.dnsChanges], [[], []])

  cf.seedRecords(COLOURS)
  cf.failNext(1)
  cf.reset()
  t.same([cf.records, cf.dnsChanges, cf.purges], [[], [], []], 'reset forgets records, seeded ones too')
  t.equal((await sdk(cf.url).dns.records.list({ zone_id: ZONE })).result.length, 0, 'and the pending failure')
  t.throws(
    () => cf.seedRecords([{ type: 'CNAME', name: 'a', content: 'a.nudge.example' }]),
    /record 0 .*9007/,
  )
  t.equal((await control('/reset', { method: 'POST' })).status, 204)
})

t.test('start options: zoneName, seeds checked at start', async (t) => {
  const cf = await startCloudflareStandIn({
    zoneId: ZONE,
    token: TOKEN,
    zoneName: 'Example.COM.',
    records: [{ type: 'CNAME', name: 'api', content: 'blue.api.example.com', proxied: true }],
  })
  t.teardown(() => cf.close())
  t.equal(cf.zoneName, 'example.com')
  t.equal(cf.records[0]?.name, 'api.example.com')
  await t.rejects(
    startCloudflareStandIn({ records: [{ type: 'A', name: 'api', content: '192.0.2.1', ttl: 5 }] }),
    /cannot seed record 0 .*9021/,
  )
  await t.rejects(startCloudflareStandIn({ zoneName: 'localhost' }), /zoneName must be a domain name/)
})
