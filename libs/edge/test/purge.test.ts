import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { once } from 'node:events'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { cachePlugin } from '@nudge/cache'
import { configPlugin, loadConfig } from '@nudge/config'
import { loggingPlugin } from '@nudge/logging'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { edgePlugin, PurgeFailed } from '../src/index.ts'

const TOKEN = 'edge-purge-test-token-never-in-messages'
const ZONE = '5eed0000c0ffee005eed0000c0ffee00'
const EDGE_URL = 'https://edge.nudge.example'

/*
 * Libs may not depend on tools (npm run check:graph), so the Cloudflare stand-in runs here as what
 * it stands in for: a separate process this lib reaches over HTTP, started through its CLI and
 * driven through its test controls (/__stand-in/...).
 */
const standInCli = fileURLToPath(new URL('../../../tools/stand-ins/cloudflare/src/cli.ts', import.meta.url))

interface Recorded {
  zoneId: string
  files?: unknown[]
  at: string
}

async function startStandIn(t: Test) {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    [standInCli, '--port', '0', '--token', TOKEN, '--zone-id', ZONE],
    { env: { ...process.env, NODE_ENV: 'test' } },
  )
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = once(child, 'exit')
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await exited
    }
  })
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const match = /listening on (http:\/\/\S+)\n/.exec(stdout)
      if (match?.[1] !== undefined) resolve(match[1])
    })
    child.once('exit', () => reject(new Error(`the Cloudflare stand-in did not start: ${stderr}`)))
  })
  const origin = new URL(url).origin
  return {
    url,
    async purges(): Promise<Recorded[]> {
      const res = await fetch(`${origin}/__stand-in/purges`)
      return ((await res.json()) as { purges: Recorded[] }).purges
    },
    async failNext(count: number, status: number) {
      const res = await fetch(`${origin}/__stand-in/fail-next`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ count, status }),
      })
      if (res.status !== 204) throw new Error(`fail-next answered ${res.status}`)
    },
    async stop() {
      child.kill('SIGTERM')
      await exited
    },
  }
}

/** A bare Fastify with what the edge layer needs (config, logging, cache), logs kept for reading. */
async function buildEdge(t: Test, env: Record<string, string | undefined>) {
  const logs: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString())
      done()
    },
  })
  const app: FastifyInstance = Fastify({ logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  await app.register(configPlugin, { config: loadConfig({ NODE_ENV: 'test', EDGE_URL, ...env }) })
  await app.register(loggingPlugin)
  await app.register(cachePlugin)
  await app.register(edgePlugin)
  await app.ready()
  return { app, logs }
}

const configured = (url: string) => ({
  CLOUDFLARE_API_URL: url,
  CLOUDFLARE_API_TOKEN: TOKEN,
  CLOUDFLARE_ZONE_ID: ZONE,
})

const objectUrls = (count: number) =>
  Array.from({ length: count }, (_, i) => `${EDGE_URL}/campaigns/production/campaign-${i}.json`)

async function failure(promise: Promise<unknown>): Promise<InstanceType<typeof PurgeFailed>> {
  return promise.then(
    () => {
      throw new Error('purge resolved, expected PurgeFailed')
    },
    (error: unknown) => error as InstanceType<typeof PurgeFailed>,
  )
}

t.test('45 URLs go to Cloudflare in two calls, 30 then 15, exactly those URLs', async (t) => {
  const cf = await startStandIn(t)
  const { app } = await buildEdge(t, configured(cf.url))
  t.equal(app.edgeCache.enabled, true)
  const urls = objectUrls(45)
  await app.edgeCache.purge(urls)
  const purges = await cf.purges()
  t.equal(purges.length, 2, 'two API calls')
  t.same(
    purges.map((p) => p.files?.length),
    [30, 15],
  )
  t.same(purges[0]?.files, urls.slice(0, 30), 'the first 30, in order')
  t.same(purges[1]?.files, urls.slice(30), 'then the other 15')
  t.ok(
    purges.every((p) => p.zoneId === ZONE),
    'on the configured zone',
  )
})

t.test('an empty list makes no call; a URL listed twice is purged once', async (t) => {
  const cf = await startStandIn(t)
  const { app } = await buildEdge(t, configured(cf.url))
  await app.edgeCache.purge([])
  t.same(await cf.purges(), [], 'nothing sent for nothing to purge')
  const [a, b] = objectUrls(2) as [string, string]
  await app.edgeCache.purge([a, b, a])
  t.same(
    (await cf.purges()).map((p) => p.files),
    [[a, b]],
  )
})

t.test('urlOf: the public URL of an object key under EDGE_URL', async (t) => {
  const { app } = await buildEdge(t, {})
  t.equal(
    app.edgeCache.urlOf('domains/example.com.json'),
    'https://edge.nudge.example/domains/example.com.json',
  )
  t.equal(
    app.edgeCache.urlOf('campaigns/production/0196f2c4-7c3a-7d1e-9a6b-2f4c8e1d3a5b.json'),
    'https://edge.nudge.example/campaigns/production/0196f2c4-7c3a-7d1e-9a6b-2f4c8e1d3a5b.json',
  )
  t.equal(
    app.edgeCache.urlOf('campaigns/test/a b#c.json'),
    'https://edge.nudge.example/campaigns/test/a%20b%23c.json',
    'segments are escaped as a browser would request them, slashes kept',
  )
})

t.test('not configured: enabled is false and purge sends nothing', async (t) => {
  const cf = await startStandIn(t)
  // The API URL alone does not turn purging on: the token and zone do.
  const { app } = await buildEdge(t, { CLOUDFLARE_API_URL: cf.url })
  t.equal(app.edgeCache.enabled, false)
  await app.edgeCache.purge(objectUrls(3))
  t.same(await cf.purges(), [])
})

t.test('Cloudflare failing with 5xx: PurgeFailed 502 after the retries, in bounded time', async (t) => {
  const cf = await startStandIn(t)
  const { app, logs } = await buildEdge(t, configured(cf.url))
  await cf.failNext(3, 503) // the first attempt and both retries
  const started = performance.now()
  const error = await failure(app.edgeCache.purge(objectUrls(10)))
  const took = performance.now() - started
  t.ok(error instanceof PurgeFailed, `got ${String(error)}`)
  t.equal(error.statusCode, 502)
  t.equal(error.code, 'PURGE_FAILED')
  t.match(error.message, /10 URLs/, 'names how many URLs were not purged')
  t.match(error.message, /HTTP 503/, "and Cloudflare's answer")
  t.notOk(error.message.includes(TOKEN), 'never the token')
  t.ok(took < 20_000, `failed in ${Math.round(took)} ms`)
  t.same(await cf.purges(), [])
  t.notOk(logs.join('').includes(TOKEN), 'nor do the logs carry it')

  await app.edgeCache.purge(objectUrls(1))
  t.equal((await cf.purges()).length, 1, 'once Cloudflare recovers, purges go through again')
})

t.test('a retry that lands within the retries is a success', async (t) => {
  const cf = await startStandIn(t)
  const { app } = await buildEdge(t, configured(cf.url))
  await cf.failNext(2, 502)
  await app.edgeCache.purge(objectUrls(2))
  t.equal((await cf.purges()).length, 1)
})

t.test('Cloudflare refusing the token: PurgeFailed naming its error code, not the token', async (t) => {
  const cf = await startStandIn(t)
  const wrong = 'a-revoked-token-that-must-not-leak'
  const { app, logs } = await buildEdge(t, { ...configured(cf.url), CLOUDFLARE_API_TOKEN: wrong })
  const error = await failure(app.edgeCache.purge(objectUrls(45)))
  t.ok(error instanceof PurgeFailed)
  t.equal(error.statusCode, 502)
  t.match(error.message, /45 URLs/)
  t.match(error.message, /HTTP 401, 10000 Authentication error/)
  t.notOk(error.message.includes(wrong), 'the message does not carry the token')
  t.notOk(logs.join('').includes(wrong), 'nor do the logs')
  t.same(await cf.purges(), [], 'and the second batch was not sent after the first failed')
})

t.test('Cloudflare down (closed port): PurgeFailed 502 in bounded time', async (t) => {
  const cf = await startStandIn(t)
  const { app, logs } = await buildEdge(t, configured(cf.url))
  await cf.stop()
  const started = performance.now()
  const error = await failure(app.edgeCache.purge(objectUrls(3)))
  const took = performance.now() - started
  t.ok(error instanceof PurgeFailed, `got ${String(error)}`)
  t.equal(error.statusCode, 502)
  t.match(error.message, /3 URLs: Cloudflare could not be reached/)
  t.notOk(error.message.includes(TOKEN))
  t.notOk(logs.join('').includes(TOKEN))
  t.ok(took < 20_000, `failed in ${Math.round(took)} ms`)
})
