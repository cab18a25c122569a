import Cloudflare from 'cloudflare'
import t, { type Test } from 'tap'
import { type CloudflareStandIn, startCloudflareStandIn } from '../src/index.ts'

const TOKEN = 'Jq8n3-sdk-test-token_0123456789abcdefghij'
const ZONE = 'c0ffee00c0ffee00c0ffee00c0ffee00'
const OTHER_ZONE = 'dead0000dead0000dead0000dead0000'

async function standIn(t: Test): Promise<CloudflareStandIn> {
  const started = await startCloudflareStandIn({ token: TOKEN, zoneId: ZONE })
  t.teardown(() => started.close())
  return started
}

/** The real SDK, configured as the edge layer configures it (explicit credentials and base URL). */
function sdk(url: string, options: { token?: string; maxRetries?: number } = {}) {
  return new Cloudflare({
    apiToken: options.token ?? TOKEN,
    apiKey: null,
    apiEmail: null,
    userServiceKey: null,
    baseURL: url,
    maxRetries: options.maxRetries ?? 0,
    timeout: 5000,
    logLevel: 'off',
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

const urls = (count: number) =>
  Array.from({ length: count }, (_, i) => `https://edge.nudge.example/campaigns/production/${i}.json`)

t.test('an accepted purge by URL answers its id and is recorded', async (t) => {
  const cf = await standIn(t)
  const before = Date.now()
  const result = await sdk(cf.url).cache.purge({ zone_id: ZONE, files: urls(3) })
  t.match(result, { id: /^[0-9a-f]{32}$/ })
  t.equal(cf.purges.length, 1)
  const [purge] = cf.purges
  t.equal(purge?.id, result?.id, 'the record carries the id the API answered')
  t.equal(purge?.zoneId, ZONE)
  t.same(purge?.files, urls(3))
  t.ok(Date.parse(purge?.at ?? '') >= before - 1000, 'with when it arrived')
})

t.test('files with the headers of their cache key, and purge everything, are accepted', async (t) => {
  const cf = await standIn(t)
  const client = sdk(cf.url)
  const file = {
    url: 'https://edge.nudge.example/domains/example.com.json',
    headers: { 'CF-IPCountry': 'FR' },
  }
  await client.cache.purge({ zone_id: ZONE, files: [file] })
  await client.cache.purge({ zone_id: ZONE, purge_everything: true })
  await client.cache.purge({ zone_id: ZONE, tags: ['site-1'] })
  t.same(
    cf.purges.map(({ files, purgeEverything, tags }) => ({ files, purgeEverything, tags })),
    [
      { files: [file], purgeEverything: undefined, tags: undefined },
      { files: undefined, purgeEverything: true, tags: undefined },
      { files: undefined, purgeEverything: undefined, tags: ['site-1'] },
    ],
  )
})

t.test('a token Cloudflare does not know: AuthenticationError 401, code 10000, nothing purged', async (t) => {
  const cf = await standIn(t)
  const error = await rejection(
    sdk(cf.url, { token: 'not-the-token' }).cache.purge({ zone_id: ZONE, files: urls(1) }),
  )
  t.ok(error instanceof Cloudflare.AuthenticationError, `got ${String(error)}`)
  t.match(error, { status: 401, errors: [{ code: 10000, message: 'Authentication error' }] })
  t.equal(cf.purges.length, 0)
})

t.test('a zone the token cannot purge: PermissionDeniedError 403, code 10000', async (t) => {
  const cf = await standIn(t)
  const error = await rejection(sdk(cf.url).cache.purge({ zone_id: OTHER_ZONE, files: urls(1) }))
  t.ok(error instanceof Cloudflare.PermissionDeniedError, `got ${String(error)}`)
  t.match(error, { status: 403, errors: [{ code: 10000 }] })
  t.equal(cf.purges.length, 0)
})

t.test('a zone id that is not an id: BadRequestError, code 7003', async (t) => {
  const cf = await standIn(t)
  const error = await rejection(sdk(cf.url).cache.purge({ zone_id: 'example.com', files: urls(1) }))
  t.ok(error instanceof Cloudflare.BadRequestError, `got ${String(error)}`)
  t.match(error, { status: 400, errors: [{ code: 7003, message: /\/zones\/example\.com\/purge_cache/ }] })
})

t.test('30 files pass, 31 are refused with BadRequestError naming the limit', async (t) => {
  const cf = await standIn(t)
  const client = sdk(cf.url)
  await client.cache.purge({ zone_id: ZONE, files: urls(30) })
  const error = await rejection(client.cache.purge({ zone_id: ZONE, files: urls(31) }))
  t.ok(error instanceof Cloudflare.BadRequestError, `got ${String(error)}`)
  t.match(error, { status: 400, errors: [{ message: /up to 30 files/ }] })
  t.equal(cf.purges.length, 1, 'only the 30 were purged')
  t.equal(cf.purges[0]?.files?.length, 30)
})

t.test(
  'failNext: 5xx with the error envelope; the SDK retries it, and a retry that lands is recorded once',
  async (t) => {
    const cf = await standIn(t)
    cf.failNext(1, 503)
    const error = await rejection(sdk(cf.url).cache.purge({ zone_id: ZONE, files: urls(1) }))
    t.ok(error instanceof Cloudflare.InternalServerError, `got ${String(error)}`)
    t.match(error, { status: 503, errors: [{ code: Number }] })
    t.equal(cf.purges.length, 0)

    cf.failNext(2, 502)
    await sdk(cf.url, { maxRetries: 2 }).cache.purge({ zone_id: ZONE, files: urls(2) })
    t.equal(cf.purges.length, 1, 'two failures, then the third attempt purged')

    t.throws(() => cf.failNext(1, 404), /5xx/)
  },
)

t.test('closed: the SDK raises APIConnectionError', async (t) => {
  const cf = await startCloudflareStandIn({ token: TOKEN, zoneId: ZONE })
  await cf.close()
  const error = await rejection(sdk(cf.url).cache.purge({ zone_id: ZONE, files: urls(1) }))
  t.ok(error instanceof Cloudflare.APIConnectionError, `got ${String(error)}`)
})

t.test("requests the SDK does not send get Cloudflare's answers", async (t) => {
  const cf = await standIn(t)
  const purgeUrl = `${cf.url}/zones/${ZONE}/purge_cache`
  const send = async (
    body: string,
    headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
  ) => {
    const res = await fetch(purgeUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }
  const files = JSON.stringify({ files: urls(1) })

  t.match(await send(files, {}), {
    status: 400,
    body: { success: false, result: null, messages: [], errors: [{ code: 9106 }] },
  })
  t.match(await send(files, { authorization: TOKEN }), {
    status: 400,
    body: { errors: [{ code: 6003, error_chain: [{ code: 6111 }] }] },
  })
  t.match(await send('{"files": ['), { status: 400, body: { errors: [{ code: 6007 }] } })
  t.match(await send('{}'), { status: 400, body: { errors: [{ code: 1012 }] } })
  t.match(await send('{"files": "https://edge.nudge.example/a.json"}'), {
    status: 400,
    body: { errors: [{ code: 1014 }] },
  })
  t.match(await send('{"files": [{"headers": {"Origin": "https://a.example"}}]}'), {
    status: 400,
    body: { errors: [{ code: 1012 }] },
  })
  t.match(await send(JSON.stringify({ files: urls(1), purge_everything: true })), {
    status: 400,
    body: { errors: [{ code: 1012 }] },
  })
  const unknown = await fetch(`${cf.url}/zones/${ZONE}/settings`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  })
  t.equal(unknown.status, 404)
  t.match(await unknown.json(), { success: false, errors: [{ code: 7000 }] })
  t.equal(cf.purges.length, 0, 'none of them purged anything')
})

t.test('refuses to start in production', async (t) => {
  const before = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  t.teardown(() => {
    process.env.NODE_ENV = before
  })
  await t.rejects(startCloudflareStandIn(), /development and tests only/)
})
