/**
 * `npm run bench`: autocannon against a bare Fastify hello-world (tools/bench/baseline.ts) and
 * the real API (apps/api/src/main.ts), each in its own child process, one measurement at a
 * time, and prints a table with every endpoint's throughput relative to the baseline.
 *
 * To measure another endpoint, append it to `endpoints` below. Informational only: never a CI gate.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { newId } from '@nudge/db'
import autocannon from 'autocannon'
import pg from 'pg'
import { impressionKey } from '../../apps/api/src/modules/visitors/event-ids.ts'
import { dropDatabase, freePort, prepareDatabase } from '../dev/database.ts'
import { signInByMagicLink } from '../dev/sign-in.ts'
import { summariseProfiles } from './profile.ts'
import { measureRss, type ProcessFile, stopPm2 } from './rss.ts'

/** Which process a row measures: the bare Fastify baseline, the API, or the API with memcached. */
type Target = 'baseline' | 'app' | 'memcached'

/**
 * A row's goal (issue 21): its req/s at least `ratio` of the reference's, `baseline` (GET /) or
 * `echo` (POST /echo of the baseline, for the write rows), and p99 under `p99Ms` when given.
 */
interface Goal {
  ratio: number
  of: 'baseline' | 'echo'
  p99Ms?: number
}

interface SetupContext {
  /** e.g. http://127.0.0.1:40123 */
  baseUrl: string
  databaseUrl: string
}

interface Endpoint {
  name: string
  target: Target
  path: string
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  headers?: Record<string, string>
  body?: string
  /**
   * A new body for every request (events and leads must not be de-duplicated into no-ops), with
   * the keys of what it stores (event ids, lead emails), for `durable`.
   */
  makeBody?: () => { body: string; keys?: string[] }
  goal?: Goal
  /** Items per request, for rows that report items/s too (events per batch). */
  itemsPerRequest?: number
  /**
   * Counts how many of the keys of requests answered 2xx (warm-up included) the database holds
   * once the row is measured: "accepted" must mean "stored".
   */
  durable?: {
    noun: string
    count: (db: pg.Client, keys: string[]) => Promise<number>
    /**
     * The transaction ids (`xmin`, as `x`) of the rows that hold keys `$1`: each group-commit
     * statement is one transaction, so their number is how many statements stored what was accepted.
     */
    statements?: string
  }
  /** Runs once before the warm-up, e.g. to create a user and return its auth header. */
  setup?: (
    context: SetupContext,
  ) => Promise<Partial<Pick<Endpoint, 'path' | 'headers' | 'body' | 'makeBody' | 'durable'>> | undefined>
}

/** A batch of 10 new events for the campaign (the events row's body, and the POST echo's). */
function eventsBody(campaignId: string, variantId: string): { body: string; keys: string[] } {
  const types = ['impression', 'impression', 'impression', 'close', 'conversion'] as const
  const events = Array.from({ length: 10 }, (_, i) => ({
    eventId: newId(),
    pageViewId: newId(),
    campaignId,
    variantId,
    type: types[i % types.length],
  }))
  // An impression is stored under its campaign and page view's key, any other event under its id.
  const keys = events.map((event) =>
    event.type === 'impression' ? impressionKey(event.campaignId, event.pageViewId) : event.eventId,
  )
  return { body: JSON.stringify({ events }), keys }
}

/** The team reads, measured on the API without and with memcached. */
function teamReads(target: 'app' | 'memcached'): Endpoint[] {
  const suffix = target === 'memcached' ? ' [memcached]' : ''
  return [
    {
      name: `app GET /v1/me (app.authenticate)${suffix}`,
      target,
      path: '/v1/me',
      goal: { ratio: 0.6, of: 'baseline' },
      setup: async ({ baseUrl }) => ({
        headers: {
          authorization: `Bearer ${await signInByMagicLink(baseUrl, `bench-${Date.now()}@example.com`)}`,
        },
      }),
    },
    {
      name: `app GET /v1/teams/:teamId/members${suffix}`,
      target,
      path: '/v1/teams/:teamId/members',
      goal: { ratio: 0.4, of: 'baseline' },
      // The permission hook (one cached membership read) plus one query.
      setup: async ({ baseUrl }) => {
        const authorization = `Bearer ${await signInByMagicLink(baseUrl, `bench-${Date.now()}@example.com`)}`
        const teams = (await (await fetch(`${baseUrl}/v1/teams`, { headers: { authorization } })).json()) as {
          items: Array<{ id: string }>
        }
        const teamId = teams.items[0]?.id
        if (!teamId) throw new Error('the signed-in user has no team')
        return { path: `/v1/teams/${teamId}/members`, headers: { authorization } }
      },
    },
    {
      name: `app GET /v1/teams/:teamId/campaigns (50)${suffix}`,
      target,
      path: '/v1/teams/:teamId/campaigns',
      goal: { ratio: 0.4, of: 'baseline' },
      // The permission hook plus one keyset query of 50 summaries, out of 60 campaigns.
      setup: async ({ baseUrl }) => {
        const team = await teamWithSite(baseUrl)
        for (let i = 0; i < 60; i++) await team.campaign(`Bench campaign ${i}`)
        return { path: `/v1/teams/${team.teamId}/campaigns?limit=50`, headers: team.headers }
      },
    },
  ]
}

/**
 * What is measured, in this order. `baseline GET /` is the 1.00x reference of every row;
 * `baseline POST /echo` the second reference of the write rows.
 */
const endpoints: Endpoint[] = [
  { name: 'baseline GET /', target: 'baseline', path: '/' },
  { name: "baseline GET /headers (the API's 5 response headers)", target: 'baseline', path: '/headers' },
  {
    name: 'baseline POST /echo (an events batch)',
    target: 'baseline',
    path: '/echo',
    method: 'POST',
    // The same bodies as the events row, built the same way: what a bare Fastify does with them.
    headers: { 'content-type': 'application/json' },
    makeBody: () => eventsBody(newId(), newId()),
  },
  { name: 'app GET /health', target: 'app', path: '/health', goal: { ratio: 0.85, of: 'baseline' } },
  { name: 'app GET /health/timing', target: 'app', path: '/health/timing' },
  ...teamReads('app'),
  {
    name: 'app GET /public/v1/sites/:hostname',
    target: 'app',
    path: '/public/v1/sites/:hostname',
    goal: { ratio: 0.7, of: 'baseline', p99Ms: 5 },
    // What a visitor's browser fetches on an edge miss: ready bytes from the cache, no query.
    setup: async ({ baseUrl }) => {
      const visitor = await liveCampaignSite(baseUrl)
      return { path: `/public/v1/sites/${visitor.hostname}`, headers: { origin: visitor.origin } }
    },
  },
  {
    name: 'app POST /public/v1/events (10 per batch)',
    target: 'app',
    path: '/public/v1/events',
    method: 'POST',
    itemsPerRequest: 10,
    goal: { ratio: 0.3, of: 'echo' },
    // Every request carries 10 new events, each of its own page view (UUIDv7 ids, as the popup
    // script makes them): each is written (group commit), none de-duplicated.
    setup: async ({ baseUrl }) => {
      const visitor = await liveCampaignSite(baseUrl)
      return {
        headers: { origin: visitor.origin, 'content-type': 'application/json' },
        makeBody: () => eventsBody(visitor.campaignId, visitor.variantId),
        // An event is stored when its raw row is: the same statement counts it.
        durable: {
          noun: 'accepted events',
          count: (db, keys) =>
            countIn(
              db,
              keys,
              'SELECT count(*)::int AS n FROM visitor_events WHERE event_id = ANY($1::uuid[])',
            ),
          statements: 'SELECT DISTINCT xmin::text AS x FROM visitor_events WHERE event_id = ANY($1::uuid[])',
        },
      }
    },
  },
  {
    name: 'app POST /public/v1/leads',
    target: 'app',
    path: '/public/v1/leads',
    method: 'POST',
    goal: { ratio: 0.25, of: 'echo' },
    // Every request is a new person: a new lead, its outbox row and its count, in one transaction.
    setup: async ({ baseUrl }) => {
      const visitor = await liveCampaignSite(baseUrl)
      return {
        headers: { origin: visitor.origin, 'content-type': 'application/json' },
        makeBody: () => {
          const email = `visitor-${randomUUID()}@example.com`
          const body = JSON.stringify({
            campaignId: visitor.campaignId,
            variantId: visitor.variantId,
            email,
            fields: { name: 'Bench Visitor' },
            consent: true,
            fillMs: 5000,
          })
          return { body, keys: [email] }
        },
        // A lead is stored with its outbox row, in one statement: both are counted.
        durable: {
          noun: 'accepted leads',
          count: (db, keys) =>
            countIn(
              db,
              keys,
              `SELECT count(*)::int AS n FROM leads l WHERE l.campaign_id = '${visitor.campaignId}'
                 AND lower(l.email) = ANY($1::text[])
                 AND EXISTS (SELECT 1 FROM lead_outbox o WHERE o.lead_id = l.id)`,
            ),
          statements: `SELECT DISTINCT xmin::text AS x FROM leads
            WHERE campaign_id = '${visitor.campaignId}' AND lower(email) = ANY($1::text[])`,
        },
      }
    },
  },
  {
    name: 'app GET /v1/me + a flag evaluated (bench/me-flag)',
    target: 'app',
    path: '/bench/me-flag',
    // The flag has a targeting rule on the user, so every request runs flagd's evaluator; the
    // notification makes the running API reload its definitions, as a change through the CLI would.
    setup: async ({ baseUrl, databaseUrl }) => {
      const definition = {
        state: 'ENABLED',
        variants: { on: true, off: false },
        defaultVariant: 'off',
        targeting: { if: [{ in: [{ var: 'userId' }, [randomUUID()]] }, 'on', 'off'] },
      }
      const db = new pg.Client({ connectionString: databaseUrl })
      await db.connect()
      try {
        await db.query(
          `INSERT INTO feature_flags (key, definition, updated_by) VALUES ('bench-me-flag', $1, 'bench')
           ON CONFLICT (key) DO UPDATE SET definition = EXCLUDED.definition`,
          [JSON.stringify(definition)],
        )
        await db.query(`SELECT pg_notify('nudge_cache_invalidate', 'flags:definitions')`)
      } finally {
        await db.end()
      }
      return {
        headers: {
          authorization: `Bearer ${await signInByMagicLink(baseUrl, `bench-${Date.now()}@example.com`)}`,
        },
      }
    },
  },
  {
    name: 'app GET /v1/me (SDK verifySession)',
    target: 'app',
    path: '/bench/me-sdk',
    setup: async ({ baseUrl }) => ({
      headers: {
        authorization: `Bearer ${await signInByMagicLink(baseUrl, `bench-${Date.now()}@example.com`)}`,
      },
    }),
  },
  ...teamReads('memcached'),
]

/** Rows of `query` (one $1 array parameter, counting) over all keys, a slice at a time. */
async function countIn(db: pg.Client, keys: string[], query: string): Promise<number> {
  let found = 0
  for (let start = 0; start < keys.length; start += 10_000) {
    const { rows } = await db.query<{ n: number }>(query, [keys.slice(start, start + 10_000)])
    found += rows[0]?.n ?? 0
  }
  return found
}

/** A signed-in user's personal team with a new site, and a way to add campaigns to it. */
async function teamWithSite(baseUrl: string) {
  const authorization = `Bearer ${await signInByMagicLink(baseUrl, `bench-${Date.now()}@example.com`)}`
  const headers = { authorization }
  const call = async (method: string, url: string, body?: unknown, extra: Record<string, string> = {}) => {
    const response = await fetch(`${baseUrl}${url}`, {
      method,
      headers: {
        ...headers,
        ...extra,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`)
    return response.json() as Promise<Record<string, unknown> & { id: string; version: number }>
  }
  const teams = (await call('GET', '/v1/teams')) as unknown as { items: Array<{ id: string }> }
  const teamId = teams.items[0]?.id
  if (!teamId) throw new Error('the signed-in user has no team')
  const hostname = `bench-${Date.now()}-${randomUUID().slice(0, 8)}.example`
  const site = await call('POST', `/v1/teams/${teamId}/sites`, { hostname })
  return {
    teamId,
    siteId: site.id,
    hostname,
    headers,
    call,
    campaign: (name: string) =>
      call('POST', `/v1/teams/${teamId}/campaigns`, { name, type: 'modal', siteId: site.id }),
    status: (id: string, version: number, status: string) =>
      call('POST', `/v1/teams/${teamId}/campaigns/${id}/status`, { status }, { 'if-match': `"${version}"` }),
  }
}

/** A site with one live campaign whose variant has a lead form, as a visitor's page sees it. */
async function liveCampaignSite(baseUrl: string) {
  const team = await teamWithSite(baseUrl)
  const created = await team.call('POST', `/v1/teams/${team.teamId}/campaigns`, {
    name: 'Bench lead form',
    type: 'modal',
    siteId: team.siteId,
    variants: [
      {
        name: 'A',
        weight: 100,
        steps: [
          {
            blocks: [{ type: 'text', text: 'Join the list' }],
            form: {
              fields: [
                { name: 'email', type: 'email', label: 'Email', required: true },
                { name: 'name', type: 'text', label: 'Name' },
              ],
            },
            buttons: [{ label: 'Join', action: 'submit' }],
          },
        ],
      },
    ],
  })
  const tested = await team.status(created.id, created.version, 'test')
  const live = await team.status(created.id, tested.version, 'live')
  const variants = live.variants as Array<{ id: string }>
  return {
    hostname: team.hostname,
    origin: `https://${team.hostname}`,
    campaignId: live.id,
    variantId: variants[0]?.id ?? '',
  }
}

/**
 * Publishing is not a throughput path: it is timed one at a time. A site with 50 live campaigns;
 * one of them is edited while live, which rewrites its production object and the site's document.
 */
async function measurePublish(baseUrl: string, storage: string, rounds = 30): Promise<string> {
  const team = await teamWithSite(baseUrl)
  const live: Array<{ id: string; version: number }> = []
  for (let i = 0; i < 50; i++) {
    const created = await team.campaign(`Live ${i}`)
    const tested = await team.status(created.id, created.version, 'test')
    live.push(await team.status(created.id, tested.version, 'live'))
  }
  const target = live[0]!
  let version = target.version
  const times: number[] = []
  for (let i = 0; i < rounds; i++) {
    const started = performance.now()
    const edited = await team.call(
      'PATCH',
      `/v1/teams/${team.teamId}/campaigns/${target.id}`,
      { name: `Live 0, edit ${i}` },
      { 'if-match': `"${version}"` },
    )
    times.push(performance.now() - started)
    version = edited.version
  }
  times.sort((a, b) => a - b)
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(1)
  return `publish one campaign on a site with 50 live campaigns (${storage}, ${rounds} edits while live, one at a time): median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms`
}

const usage = `Usage: npm run bench -- [options]

Benchmarks a bare Fastify (GET / and POST /echo) and the API side by side with autocannon, and
prints each row's req/s, p50 and p99, its ratio to the baseline (and to POST /echo for the write
rows) and its goal with ✓ or ✗. With --rss, measures memory instead (see below).

Options:
  --duration N       seconds to measure each endpoint (default 10)
  --connections N    concurrent connections (default 50)
  --warmup N         seconds of warm-up before each measurement (default 2)
  --rounds N         turns each API row takes with its reference (GET /, or POST /echo for the
                     write rows): N slices of duration/N seconds each, alternating (default 5)
  --only TEXT[,TEXT] measure only the rows whose name contains one of the TEXTs (and the baselines)
  --profile          CPU-profile the API (node --cpu-prof) and print where its time went
  --node-args=ARGS   node options for the API and the bare Fastify (default: the API's node_args
                     in ecosystem.config.js, as a release runs), e.g. --node-args=--max-semi-space-size=2
                     (with "=": a value starting with "--" is otherwise read as an option)
  --rss              memory instead of throughput: builds apps/api/dist, starts it under PM2 with
                     ecosystem.config.js (private PM2_HOME), prints each process's RSS (pm2 jlist),
                     private memory and V8 heap spaces after a 10 s settle and after 10 s of load
                     (--duration) on /health, /public/v1/sites/:hostname and /v1/me; goal <= 100 MB;
                     beside them a bare Fastify under the same PM2 and node options, loaded as long
  --heap             with --rss: then a V8 heap snapshot of each process (dev only), summarised by
                     constructor, by package and by largest retainer (tools/bench/heap.ts)
  --help             print this help

Environment:
  DATABASE_URL        database for the API (default: a nudge_bench_<pid> database on
                      postgres://postgres@127.0.0.1:5432, made afresh and dropped after the run)
  MEMCACHED_SERVERS   memcached of the [memcached] rows (default 127.0.0.1:11211; a row says
                      "skipped" when it does not answer). The other rows use the in-process cache.
  PM2_INSTANCES       API workers under PM2 with --rss (default 2, as npm start)
`

const root = path.resolve(import.meta.dirname, '../..')
const DEFAULT_SERVER = 'postgres://postgres@127.0.0.1:5432/postgres'
// One database per run: two benches at once (two engineers on one machine) must not drop each other's.
const BENCH_DATABASE = `nudge_bench_${process.pid}`

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '5' },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'node-args': { type: 'string', default: '' },
    rss: { type: 'boolean', default: false },
    heap: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
})
if (flags.help) {
  process.stdout.write(usage)
  process.exit(0)
}
const duration = positiveInteger('duration', flags.duration)
const connections = positiveInteger('connections', flags.connections)
const rounds = positiveInteger('rounds', flags.rounds)
const warmup = Number(flags.warmup)
if (!Number.isFinite(warmup) || warmup < 0) fail('--warmup must be a number >= 0')
// The API and the bare Fastify run as a release runs the API (ecosystem.config.js): its node options
// (the young generation's size weighs on every row), unless --node-args, and glibc's malloc settings.
const processFile = (await import(path.join(root, 'ecosystem.config.js'))) as ProcessFile
const releaseNodeArgs = processFile['module.exports'].apps
  .find((app) => app.name === 'api')!
  .node_args.filter((arg) => !arg.includes('newrelic'))
const nodeArgs = flags['node-args'] ? flags['node-args'].split(/\s+/).filter(Boolean) : releaseNodeArgs
for (const arg of nodeArgs) if (!arg.startsWith('--')) fail(`--node-args takes node options (got ${arg})`)
const memcachedServers = process.env.MEMCACHED_SERVERS || '127.0.0.1:11211'

const children = new Set<ChildProcess>()
/** The server process behind each base URL, for its CPU time per request. */
const pids = new Map<string, number>()
let objects: string | undefined
let current: autocannon.Instance | undefined
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping\n`)
    current?.stop()
    stopChildren().finally(() => process.exit(130))
  })
}

const profileDir = flags.profile ? await mkdtemp(path.join(os.tmpdir(), 'nudge-bench-profile-')) : undefined

try {
  await main()
  await stopChildren()
  if (profileDir) {
    // Written by the API as it exits (SIGTERM closes it gracefully).
    process.stdout.write(`\n${await summariseProfiles(profileDir)}\n`)
    await rm(profileDir, { recursive: true, force: true })
  }
  process.exit(0)
} catch (error) {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`)
  await stopChildren()
  process.exit(1)
}

async function main(): Promise<void> {
  // A fresh bench database each run: rows left by earlier runs (a million events after a few)
  // would slow the write rows of every later run, and two runs could not be compared.
  if (!process.env.DATABASE_URL) await dropDatabase(DEFAULT_SERVER, BENCH_DATABASE)
  const databaseUrl = process.env.DATABASE_URL || (await prepareDatabase(DEFAULT_SERVER, BENCH_DATABASE))
  const cpus = os.cpus()
  out(`node ${process.version} (${process.execPath})\n`)
  out(`machine: ${os.availableParallelism()} cores, ${cpus[0]?.model ?? 'unknown cpu'}, ${os.platform()}\n`)
  out(
    flags.rss
      ? `autocannon: ${connections} connections, ${duration}s of load\ndatabase: ${redactUrl(databaseUrl)}\n`
      : `autocannon: ${connections} connections, ${duration}s per endpoint after ${warmup}s warm-up, one at a time\n` +
          `database: ${redactUrl(databaseUrl)}; memcached (the [memcached] rows): ${memcachedServers}${nodeArgs.length ? `; node args of the API and the bare Fastify: ${nodeArgs.join(' ')}` : ''}\n`,
  )
  out(
    `load: ${os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')} (1, 5, 15 min) before the run\n\n`,
  )

  if (flags.rss) {
    const supertokens = process.env.SUPERTOKENS_CONNECTION_URI || (await startCore())
    const report = await measureRss({
      root,
      env: { ...appEnvironment(databaseUrl, supertokens, await objectsFolder()), NODE_ENV: 'development' },
      duration,
      connections,
      prepare: async (baseUrl) => {
        const visitor = await liveCampaignSite(baseUrl)
        const token = await signInByMagicLink(baseUrl, `bench-${Date.now()}@example.com`)
        return {
          sitePath: `/public/v1/sites/${visitor.hostname}`,
          origin: visitor.origin,
          authorization: `Bearer ${token}`,
        }
      },
      say: (line) => process.stderr.write(`rss: ${line}\n`),
      heap: flags.heap,
      processFile,
    })
    out(`${report}\n`)
    return
  }

  const selected = endpoints.filter(
    (endpoint) =>
      endpoint.target === 'baseline' ||
      !flags.only ||
      flags.only.split(',').some((text) => endpoint.name.includes(text)),
  )
  const needed = new Set(selected.map((endpoint) => endpoint.target))
  const baseUrls: Partial<Record<Target, string>> = {}
  if (needed.has('baseline')) {
    baseUrls.baseline = await startServer(
      'baseline',
      path.join(import.meta.dirname, 'baseline.ts'),
      {},
      nodeArgs,
    )
  }
  const app = (extra: Record<string, string>) =>
    startServer('app', path.join(import.meta.dirname, 'app.ts'), { ...appEnv, ...extra }, [
      ...nodeArgs,
      ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
    ])
  let appEnv: Record<string, string> = {}
  if (needed.has('app') || needed.has('memcached')) {
    // The SuperTokens core the app talks to: the stand-in unless SUPERTOKENS_CONNECTION_URI is set.
    const supertokens = process.env.SUPERTOKENS_CONNECTION_URI || (await startCore())
    appEnv = appEnvironment(databaseUrl, supertokens, await objectsFolder())
  }
  // `app` is the in-process cache alone; `memcached` the same API with memcached as the shared level.
  if (needed.has('app')) baseUrls.app = await app({ MEMCACHED_SERVERS: '' })
  let memcachedSkipped: string | undefined
  if (needed.has('memcached')) {
    if (await memcachedAnswers(memcachedServers)) {
      baseUrls.memcached = await app({ MEMCACHED_SERVERS: memcachedServers })
    } else memcachedSkipped = `skipped: memcached not reachable (${memcachedServers})`
  }

  const rows: Row[] = []
  const durability: string[] = []
  // The references each app row is measured against, slice by slice (see `rounds`).
  const references: Partial<Record<Goal['of'], { options: autocannon.Options; pid: number | undefined }>> = {}
  for (const endpoint of selected) {
    const baseUrl = baseUrls[endpoint.target]
    if (!baseUrl) {
      rows.push({ ...emptyRow(endpoint), skipped: memcachedSkipped ?? 'skipped' })
      continue
    }
    const extra = (await endpoint.setup?.({ baseUrl, databaseUrl })) ?? {}
    const request = { ...endpoint, ...extra }
    // Keys of the requests answered 2xx. With one request in flight per connection (pipelining
    // 1), the connection's context at the response is the one its request was built with.
    const accepted: string[] = []
    const options = cannonOptions(
      `${baseUrl}${request.path}`,
      request,
      request.durable ? accepted : undefined,
    )
    if (endpoint.target === 'baseline') {
      const of = endpoint.name.startsWith('baseline POST /echo')
        ? 'echo'
        : endpoint.name === 'baseline GET /'
          ? 'baseline'
          : undefined
      if (of) references[of] = { options, pid: pids.get(baseUrl) }
    }
    // An app row is paired with the reference of its goal (POST echo for the write rows, GET /
    // otherwise), measured in turns with it: on a machine whose speed swings from one minute to
    // the next (other tenants, other work), both see the same swings, and their ratio holds.
    const paired = endpoint.target === 'baseline' ? undefined : references[endpoint.goal?.of ?? 'baseline']
    process.stderr.write(
      `${endpoint.name}: warm-up ${warmup}s, then ${duration}s${paired ? ` in ${rounds} turns with its reference` : ''}...\n`,
    )
    if (warmup > 0) await cannon({ ...options, duration: warmup })
    const slices = paired ? rounds : 1
    const measured: autocannon.Result[] = []
    const referenceResults: autocannon.Result[] = []
    let cpu = 0
    for (let round = 0; round < slices; round++) {
      const cpuBefore = await cpuSeconds(pids.get(baseUrl))
      measured.push(await cannon({ ...options, duration: duration / slices }))
      const cpuAfter = await cpuSeconds(pids.get(baseUrl))
      cpu += cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : Number.NaN
      if (paired) referenceResults.push(await cannon({ ...paired.options, duration: duration / slices }))
    }
    if (request.durable)
      durability.push(
        await checkDurable(databaseUrl, endpoint.name, request.durable, accepted, warmup + duration),
      )
    const total = sum(measured, (result) => result.requests.total)
    rows.push({
      ...emptyRow(endpoint),
      rps: total / duration,
      ...(paired ? { pairedRps: sum(referenceResults, (result) => result.requests.total) / duration } : {}),
      // What one request costs the server in CPU: unlike req/s, barely moved by other load on the machine.
      ...(Number.isFinite(cpu) && total > 0 ? { cpuUs: (cpu / total) * 1e6 } : {}),
      // Per slice: the median of the slices' medians, the worst of their p99s.
      p50: median(measured.map((result) => result.latency.p50)),
      p99: Math.max(...measured.map((result) => result.latency.p99)),
      non2xx: sum(measured, (result) => result.non2xx),
      statusCodes: mergedStatusCodes(measured),
      errors: sum(measured, (result) => result.errors),
      timeouts: sum(measured, (result) => result.timeouts),
    })
  }
  out(`\n${table(rows)}\n`)
  for (const row of rows.filter((r) => r.non2xx > 0)) {
    const statuses = Object.entries(row.statusCodes)
      .map(([status, stat]) => `${status}: ${stat?.count ?? 0}`)
      .join(', ')
    out(`WARNING ${row.name}: ${row.non2xx} answers were not 2xx (${statuses}); the row measures failures\n`)
  }
  for (const row of rows.filter((r) => r.itemsPerRequest)) {
    out(`${row.name}: ${(row.rps * (row.itemsPerRequest ?? 1)).toFixed(0)} items/s\n`)
  }
  for (const line of durability) out(`${line}\n`)
  if (baseUrls.app && !flags.only) out(`\n${await measurePublish(baseUrls.app, 'folder adapter')}\n`)
}

/** What the API runs with in the bench: development stand-ins, limits out of the measurement's way. */
function appEnvironment(
  databaseUrl: string,
  supertokens: string,
  storageDir: string,
): Record<string, string> {
  return {
    SUPERTOKENS_CONNECTION_URI: supertokens,
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl,
    // The bench comes from one client address: keep the rate limiter out of the measurement.
    RATE_LIMIT_MAX: '1000000000',
    HEALTH_TIMING_LIMIT_PER_MINUTE: '1000000000',
    VISITOR_LIMIT_PER_CLIENT_PER_MINUTE: '1000000000',
    VISITOR_IMPRESSIONS_PER_CLIENT_PER_HOUR: '1000000000',
    // Every row signs in afresh from 127.0.0.1: keep the sign-in link limits out of the way too.
    AUTH_LINK_LIMIT_PER_IP: '1000000',
    VISITOR_LIMIT_PER_SITE_PER_MINUTE: '1000000000',
    DEV_MAILBOX: 'true',
    // Published objects go to a folder of this run's own (the folder adapter).
    STORAGE_DIR: storageDir,
  }
}

/**
 * After a row: how many of what was answered 2xx is in the database. Requests still in flight when
 * autocannon stopped are not counted as accepted (their answer never came), whatever was stored.
 */
async function checkDurable(
  databaseUrl: string,
  name: string,
  durable: NonNullable<Endpoint['durable']>,
  accepted: string[],
  seconds: number,
): Promise<string> {
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  try {
    const found = await durable.count(db, accepted)
    const verdict = found === accepted.length ? 'every one durable' : `${accepted.length - found} MISSING`
    const line = `${name}: durable: ${found} of ${accepted.length} ${durable.noun} (${verdict})`
    if (!durable.statements) return line
    // Informational: how well group commit grouped them (warm-up included, as in `accepted`).
    const transactions = new Set<string>()
    for (let start = 0; start < accepted.length; start += 10_000) {
      const { rows } = await db.query<{ x: string }>(durable.statements, [
        accepted.slice(start, start + 10_000),
      ])
      for (const row of rows) transactions.add(row.x)
    }
    const statements = transactions.size
    const perStatement = statements > 0 ? (found / statements).toFixed(1) : 'n/a'
    return `${line}\n${name}: ${statements} statements stored them, ${perStatement} per statement, ${(statements / seconds).toFixed(0)} statements/s`
  } finally {
    await db.end()
  }
}

interface Row {
  name: string
  target: Target
  goal?: Goal
  /** Why the row was not measured. */
  skipped?: string
  rps: number
  /**
   * The req/s of the row's reference (GET /, or POST echo for the write rows) over the slices it
   * was measured in, in turns with the row: what its goal's ratio divides by.
   */
  pairedRps?: number
  /** The server's CPU time (user + system) per request, in microseconds (Linux only). */
  cpuUs?: number
  p50: number
  p99: number
  non2xx: number
  /** How many answers of each status: says what a row with non-2xx answers measured instead. */
  statusCodes: Partial<Record<string, { count?: number | undefined }>>
  errors: number
  timeouts: number
  itemsPerRequest?: number
}

function emptyRow(endpoint: Endpoint): Row {
  return {
    name: endpoint.name,
    target: endpoint.target,
    ...(endpoint.goal ? { goal: endpoint.goal } : {}),
    ...(endpoint.itemsPerRequest ? { itemsPerRequest: endpoint.itemsPerRequest } : {}),
    rps: 0,
    p50: 0,
    p99: 0,
    non2xx: 0,
    statusCodes: {},
    errors: 0,
    timeouts: 0,
  }
}

/**
 * The req/s a row's ratio to `of` divides by: the reference it was measured in turns with when that
 * is `of` (its goal's), else `of`'s own row.
 */
function referenceRps(row: Row, of: Goal['of'], references: Record<Goal['of'], number | undefined>) {
  return row.pairedRps !== undefined && (row.goal?.of ?? 'baseline') === of ? row.pairedRps : references[of]
}

/** The row's goal and whether this run met it: `>=0.85 ✓`, `>=0.70 p99<5ms ✗`. */
function verdict(row: Row, references: Record<Goal['of'], number | undefined>): string {
  const goal = row.goal
  if (!goal) return ''
  const text = `>=${goal.ratio.toFixed(2)}${goal.of === 'echo' ? ' of echo' : ''}${goal.p99Ms ? ` p99<${goal.p99Ms}ms` : ''}`
  const reference = referenceRps(row, goal.of, references)
  if (row.skipped || !reference) return `${text} ?`
  const met = row.rps / reference >= goal.ratio && (!goal.p99Ms || row.p99 < goal.p99Ms) && row.non2xx === 0
  return `${text} ${met ? '✓' : '✗'}`
}

function table(rows: Row[]): string {
  const references = {
    baseline: rows.find((row) => row.target === 'baseline' && !row.skipped)?.rps,
    echo: rows.find((row) => row.name.startsWith('baseline POST /echo') && !row.skipped)?.rps,
  }
  const ratio = (row: Row, of: Goal['of']) => {
    const reference = referenceRps(row, of, references)
    return reference ? `${(row.rps / reference).toFixed(2)}x` : 'n/a'
  }
  const header = [
    'endpoint',
    'req/s',
    'CPU µs/req',
    'p50 ms',
    'p99 ms',
    'non-2xx',
    'errors',
    'vs baseline',
    'vs POST echo',
    'goal',
  ]
  const measured = rows.filter((row) => !row.skipped)
  const lines = measured.map((row) => [
    row.name,
    row.rps.toFixed(0),
    row.cpuUs === undefined ? 'n/a' : row.cpuUs.toFixed(0),
    row.p50.toFixed(2),
    row.p99.toFixed(2),
    String(row.non2xx),
    row.timeouts > 0 ? `${row.errors} (${row.timeouts} timeouts)` : String(row.errors),
    ratio(row, 'baseline'),
    row.goal?.of === 'echo' ? ratio(row, 'echo') : '',
    verdict(row, references),
  ])
  const widths = header.map((title, i) =>
    Math.max(
      title.length,
      ...lines.map((line) => line[i]!.length),
      ...(i === 0 ? rows.map((r) => r.name.length) : []),
    ),
  )
  const format = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')
  // In the run's order; a skipped row says why in place of its numbers.
  const body = rows.map((row) =>
    row.skipped ? `${row.name.padEnd(widths[0]!)}  ${row.skipped}` : format(lines[measured.indexOf(row)]!),
  )
  return [format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body].join('\n')
}

function cannon(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    current = autocannon(options, (error, result) => {
      current = undefined
      if (error) reject(error)
      else resolve(result)
    })
  })
}

/** What autocannon is given for a row: its URL, method, headers, and bodies (counting their keys). */
function cannonOptions(
  url: string,
  request: Pick<Endpoint, 'method' | 'headers' | 'body' | 'makeBody'>,
  /** Where the keys of bodies answered 2xx go, for rows that check them (`durable`). */
  accepted: string[] | undefined,
): autocannon.Options {
  return {
    url,
    method: request.method ?? 'GET',
    connections,
    pipelining: 1,
    ...(request.headers ? { headers: request.headers } : {}),
    ...(request.body !== undefined ? { body: request.body } : {}),
    ...(request.makeBody
      ? {
          requests: [
            {
              setupRequest: (req: autocannon.Request, context: { keys?: string[] }) => {
                const made = request.makeBody?.()
                context.keys = made?.keys
                return { ...req, body: made?.body }
              },
              onResponse: (status: number, _body: string, context: { keys?: string[] }) => {
                const keys = context.keys
                if (status >= 200 && status < 300 && keys) accepted?.push(...keys)
              },
            },
          ],
        }
      : {}),
  }
}

function sum<T>(items: T[], of: (item: T) => number): number {
  return items.reduce((total, item) => total + of(item), 0)
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

function mergedStatusCodes(results: autocannon.Result[]): Row['statusCodes'] {
  const merged: Record<string, { count: number }> = {}
  for (const result of results)
    for (const [status, stat] of Object.entries(result.statusCodeStats ?? {}))
      merged[status] = { count: (merged[status]?.count ?? 0) + (stat?.count ?? 0) }
  return merged
}

/** CPU seconds (user + system) a process has used so far, from /proc (undefined elsewhere). */
async function cpuSeconds(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ')
  if (!fields) return undefined
  // In Linux's USER_HZ, 100 ticks a second.
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** Whether the first memcached of `servers` answers `version` within a second. */
function memcachedAnswers(servers: string): Promise<boolean> {
  const [host, port] = (servers.split(',')[0] ?? '').split(':')
  return new Promise((resolve) => {
    const socket = net.connect({ host: host || '127.0.0.1', port: Number(port || 11211) })
    const done = (answer: boolean) => {
      socket.destroy()
      resolve(answer)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('version\r\n'))
    socket.once('data', (chunk: Buffer) => done(chunk.toString().startsWith('VERSION')))
  })
}

/** Starts the SuperTokens core stand-in in its own process; resolves with its URL. */
async function startCore(): Promise<string> {
  const port = await freePort()
  const child = spawn(
    process.execPath,
    [path.join(root, 'tools/supertokens-core/src/cli.ts'), '--port', String(port)],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  children.add(child)
  child.once('exit', () => children.delete(child))
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = out.match(/listening on (\S+)/)
      if (match?.[1]) resolve(match[1])
    })
    child.once('exit', (code) => reject(new Error(`SuperTokens core stand-in exited (${code})`)))
  })
}

/** Starts a server script on a free port of 127.0.0.1 and resolves with its base URL once it answers. */
async function startServer(
  name: string,
  script: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<string> {
  const port = await freePort()
  const child = spawn(process.execPath, [...nodeArgs, script], {
    cwd: root,
    env: { ...process.env, ...processFile.mallocEnv, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  children.add(child)
  child.once('exit', () => children.delete(child))
  // Warnings and errors only (LOG_LEVEL=warn); kept off stdout so the table stays clean.
  const forward = (chunk: Buffer) => process.stderr.write(prefixLines(`[${name}] `, chunk.toString()))
  child.stdout!.on('data', forward)
  child.stderr!.on('data', forward)
  const baseUrl = `http://127.0.0.1:${port}`
  await waitForHttp(`${baseUrl}${name === 'app' ? '/health' : '/'}`, child, 20000)
  process.stderr.write(`${name}: pid ${child.pid} listening on ${baseUrl}\n`)
  pids.set(baseUrl, child.pid!)
  return baseUrl
}

async function waitForHttp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${url}: server exited (${child.exitCode ?? child.signalCode}) before answering`)
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) })
      await response.arrayBuffer()
      if (response.ok) return
    } catch {
      // not listening yet
    }
    await sleep(100)
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs}ms`)
}

/** A folder for the published objects of this run, removed when the run ends. */
async function objectsFolder(): Promise<string> {
  objects = await mkdtemp(path.join(os.tmpdir(), 'nudge-bench-objects-'))
  return objects
}

/** Everything this run started: PM2 (--rss), child processes, then its folder and database. */
async function stopChildren(): Promise<void> {
  await stopPm2(root)
  if (objects) await rm(objects, { recursive: true, force: true })
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve()
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
          child.once('exit', () => {
            clearTimeout(timer)
            resolve()
          })
          child.kill('SIGTERM')
        }),
    ),
  )
  if (!process.env.DATABASE_URL) await dropDatabase(DEFAULT_SERVER, BENCH_DATABASE).catch(() => {})
}

function positiveInteger(name: string, value: string): number {
  const number = Number(value)
  if (!Number.isInteger(number) || number < 1) fail(`--${name} must be a positive integer (got ${value})`)
  return number
}

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${usage}`)
  process.exit(2)
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '[unparseable]'
  }
}

function prefixLines(prefix: string, text: string): string {
  return text.replace(/^(?=.)/gm, prefix)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function out(text: string): void {
  process.stdout.write(text)
}
