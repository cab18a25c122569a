/**
 * `npm run deploy:rehearse`: the whole release cycle with the local driver, under steady load
 * through the proxy, on this machine:
 *
 *   first deploy (blue, before the load) → release to green → switch → release a second commit
 *   to blue → switch → rollback → finish
 *
 * The load (autocannon) reads the public site document of a canary site and an authenticated
 * GET /v1/me through api.<domain> the whole time. Fails unless every step passed, no request
 * failed, the rollback moved traffic in under 60 s, and the second commit's contract migration ran
 * only at finish. Everything it starts (PM2 hosts, HAProxy, the SuperTokens core stand-in, a
 * database) is its own and is stopped at the end; bounded by a watchdog.
 *
 * The second commit is HEAD plus two migrations (an expand one adding a table with a column, a
 * contract one dropping the column), made with git commit-tree: no branch or working file changes.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { dropDatabase, freePort, freshDatabase } from '@nudge/dev-tools/database.ts'
import { signInByMagicLink } from '@nudge/dev-tools/sign-in.ts'
import { startSuperTokensCore } from '@nudge/supertokens-core'
import autocannon from 'autocannon'
import pg from 'pg'
import { loadDeployConfig, repositoryRoot } from './config.ts'
import { LocalDriver } from './drivers/local.ts'
import { releaseAt } from './http.ts'
import { mustRun } from './process.ts'

if (process.argv.includes('--help')) {
  process.stdout.write(`usage: npm run deploy:rehearse
Rehearses first deploy, release, switch, second release, switch, rollback and finish with the
local driver under load through HAProxy (apt-get install haproxy). Database: a fresh
nudge_rehearsal on DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/postgres).
`)
  process.exit(0)
}

const WATCHDOG_MS = 15 * 60_000
const CANARY = 'canary.rehearsal.test'
const server = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const database = 'nudge_rehearsal'
const dir = path.join(repositoryRoot, '.data/rehearsal')
const started = performance.now()
const say = (line: string) =>
  process.stdout.write(
    `[rehearse ${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}\n`,
  )

const [proxyPort, bluePort, greenPort] = [await freePort(), await freePort(), await freePort()]
const deployEnv: Record<string, string> = {
  DEPLOY_DRIVER: 'local',
  DEPLOY_DOMAIN: 'nudge.localhost',
  DEPLOY_LOCAL_DIR: dir,
  DEPLOY_LOCAL_PROXY_PORT: String(proxyPort),
  DEPLOY_LOCAL_BLUE_PORT: String(bluePort),
  DEPLOY_LOCAL_GREEN_PORT: String(greenPort),
  DEPLOY_CANARY_HOSTNAME: CANARY,
  DEPLOY_WATCH_SECONDS: '5',
  DEPLOY_FINISH_AFTER_MINUTES: '0',
}
const config = loadDeployConfig(deployEnv)
const driver = new LocalDriver(config)
const stableUrl = `http://127.0.0.1:${proxyPort}`

let core: Awaited<ReturnType<typeof startSuperTokensCore>> | undefined
const loads: autocannon.Instance[] = []
let cleaning: Promise<void> | undefined
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const load of loads) load.stop()
    await driver.teardown().catch((error) => say(`teardown: ${(error as Error).message}`))
    await core?.close().catch(() => {})
    await dropDatabase(server, database).catch(() => {})
  })()
  return cleaning
}
const watchdog = setTimeout(() => {
  say(`still running after ${WATCHDOG_MS / 60000} minutes: giving up`)
  cleanup().finally(() => process.exit(1))
}, WATCHDOG_MS)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping`)
    cleanup().finally(() => process.exit(130))
  })
}

/** Runs `npm run deploy -- <args>` as an operator would; resolves with its exit code and seconds. */
function deploy(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; seconds: number; output: string }> {
  const t0 = performance.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(repositoryRoot, 'deploy/src/cli.ts'), ...args], {
      cwd: repositoryRoot,
      env: { ...process.env, ...deployEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    const relay = (chunk: Buffer) => {
      output += chunk
      for (const line of chunk.toString().split('\n').filter(Boolean)) process.stdout.write(`    | ${line}\n`)
    }
    child.stdout.on('data', relay)
    child.stderr.on('data', relay)
    child.on('close', (code) =>
      resolve({ code: code ?? 1, seconds: (performance.now() - t0) / 1000, output }),
    )
  })
}

async function git(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<string> {
  return (await mustRun('git', args, { cwd: repositoryRoot, env: { ...process.env, ...env }, input })).trim()
}

/**
 * The rehearsal's two commits, as commit objects no branch points at: HEAD plus an expand migration
 * (a table with columns legacy and replaced) and a contract one (dropping legacy); then that plus
 * another expand (adding column added) and contract (dropping replaced) migration.
 */
async function rehearsalCommits(): Promise<[string, string]> {
  const env = {
    GIT_INDEX_FILE: path.join(dir, 'rehearsal.index'),
    GIT_AUTHOR_NAME: 'deploy rehearsal',
    GIT_AUTHOR_EMAIL: 'rehearsal@nudge.localhost',
    GIT_COMMITTER_NAME: 'deploy rehearsal',
    GIT_COMMITTER_EMAIL: 'rehearsal@nudge.localhost',
  }
  const migration = (statement: string) => `import { type Kysely, sql } from 'kysely'

// Added by npm run deploy:rehearse to its own commits only.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql\`${statement}\`.execute(db)
}

export async function down(): Promise<void> {}
`
  const commit = async (parent: string, files: Array<[string, string]>, message: string) => {
    await git(['read-tree', parent], env)
    for (const [file, statement] of files) {
      const blob = await git(['hash-object', '-w', '--stdin'], env, migration(statement))
      await git(['update-index', '--add', '--cacheinfo', `100644,${blob},migrations/${file}`], env)
    }
    const tree = await git(['write-tree'], env)
    return git(['commit-tree', tree, '-p', parent, '-m', message], env)
  }
  const first = await commit(
    'HEAD',
    [
      [
        '2099-12-31T00-00-00_rehearsal_marker.ts',
        'CREATE TABLE rehearsal_marker (id int, legacy text, replaced text)',
      ],
      [
        '2099-12-31T00-00-01_rehearsal_drop_legacy.contract.ts',
        'ALTER TABLE rehearsal_marker DROP COLUMN legacy',
      ],
    ],
    'deploy rehearsal, first commit: HEAD plus an expand and a contract migration',
  )
  const second = await commit(
    first,
    [
      ['2099-12-31T00-00-02_rehearsal_add.ts', 'ALTER TABLE rehearsal_marker ADD COLUMN added text'],
      [
        '2099-12-31T00-00-03_rehearsal_drop_replaced.contract.ts',
        'ALTER TABLE rehearsal_marker DROP COLUMN replaced',
      ],
    ],
    'deploy rehearsal, second commit: one more expand and contract migration',
  )
  return [first, second]
}

async function columns(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'rehearsal_marker' ORDER BY 1`,
    )
    return rows.map((row) => row.column_name)
  } finally {
    await client.end()
  }
}

interface LoadTally {
  requests: number
  ok: number
  statuses: Map<number, number>
  errors: Map<string, number>
  /** What the load saw during each step: response times in ms. */
  latency: Map<string, number[]>
  step: string
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0
}

/** Steady load through api.<domain>: resolves with what it saw once stopped. */
function startLoad(name: string, options: autocannon.Options, tally: LoadTally): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon({ duration: WATCHDOG_MS / 1000, timeout: 10, ...options }, (error, result) =>
      error ? reject(error) : resolve(result),
    )
    instance.on('response', (_client, status, _bytes, responseTime) => {
      tally.requests++
      const during = tally.latency.get(tally.step) ?? []
      during.push(responseTime)
      tally.latency.set(tally.step, during)
      if (status >= 200 && status < 300) tally.ok++
      else tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + 1)
    })
    instance.on('reqError', (error: Error & { code?: string }) => {
      const key = `${name}: ${error.code ?? error.message}`
      tally.errors.set(key, (tally.errors.get(key) ?? 0) + 1)
    })
    loads.push(instance)
  })
}

/** The API workers (dist/main.js) of the releases under the rehearsal's folder, with their start environment. */
async function releasedApiWorkers(): Promise<Array<{ pid: string; environ: string[] }>> {
  const found: Array<{ pid: string; environ: string[] }> = []
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
    if (!cmdline.includes(dir) || !cmdline.includes('dist/main.js')) continue
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '')
    found.push({ pid, environ: environ.split('\0') })
  }
  return found
}

async function main(): Promise<number> {
  const problems: string[] = []
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  const databaseUrl = await freshDatabase(server, database)
  core = await startSuperTokensCore({ port: await freePort() })
  const serviceSecret = randomBytes(32).toString('base64url')
  const releaseEnv = [
    'NODE_ENV=development',
    `DATABASE_URL=${databaseUrl}`,
    `SUPERTOKENS_CONNECTION_URI=${core.url}`,
    'DEV_MAILBOX=true',
    `STORAGE_DIR=${path.join(dir, 'published')}`,
    'LOG_LEVEL=warn',
    `SERVICE_JWT_SECRET=${serviceSecret}`,
    'RATE_LIMIT_MAX=100000000',
    'VISITOR_LIMIT_PER_CLIENT_PER_MINUTE=100000000',
    'VISITOR_LIMIT_PER_SITE_PER_MINUTE=100000000',
    'HEALTH_TIMING_LIMIT_PER_MINUTE=100000',
    ...(process.env.MEMCACHED_SERVERS
      ? [`MEMCACHED_SERVERS=${process.env.MEMCACHED_SERVERS}`, `CACHE_KEY_PREFIX=${database}`]
      : []),
  ]
  await writeFile(path.join(dir, 'release.env'), `${releaseEnv.join('\n')}\n`, { mode: 0o600 })
  const [head, second] = await rehearsalCommits()
  say(
    `first commit ${head.slice(0, 12)} (HEAD + rehearsal migrations), second ${second.slice(0, 12)} (+ more)`,
  )
  say(
    `HAProxy on ${stableUrl} as api.nudge.localhost; blue on ${bluePort}, green on ${greenPort}; database ${database}`,
  )

  // The canary site is created through the first release, so its smoke check waits for the next.
  say('first deploy: release the first commit to blue and switch (before the load, no canary site yet)')
  const first = await deploy(['release', head, '--switch'], { DEPLOY_CANARY_HOSTNAME: '' })
  if (first.code !== 0) throw new Error('the first deploy failed')
  const expect = async (when: string, wanted: string) => {
    const found = (await columns(databaseUrl)).join(',')
    if (found !== wanted)
      problems.push(`${when}: rehearsal_marker has columns [${found}], expected [${wanted}]`)
    else say(`${when}: rehearsal_marker has [${found}] as expected`)
  }
  await expect('after the first deploy (contract migration held back)', 'id,legacy,replaced')
  // PM2 forks the API's cluster workers with its daemon's environment: the host's `start` must give
  // the daemon the release's malloc settings (ecosystem.config.js `mallocEnv`), or glibc never sees them.
  const workers = await releasedApiWorkers()
  const without = workers.filter((worker) => !worker.environ.includes('MALLOC_ARENA_MAX=2'))
  if (workers.length === 0) problems.push('no API worker of the release found in /proc')
  else if (without.length > 0)
    problems.push(
      `API workers started without the malloc settings: pids ${without.map((w) => w.pid).join(', ')}`,
    )
  else say(`${workers.length} API workers started with the release's malloc settings`)

  // What the load reads: a canary site's public document and a signed-in user's profile.
  const token = await signInByMagicLink(stableUrl, `rehearsal-${Date.now()}@example.com`)
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const teams = (await (await fetch(`${stableUrl}/v1/teams`, { headers: auth })).json()) as {
    items: Array<{ id: string }>
  }
  const team = teams.items[0]?.id
  const site = await fetch(`${stableUrl}/v1/teams/${team}/sites`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ hostname: CANARY }),
  })
  if (site.status !== 201)
    throw new Error(`creating the canary site answered ${site.status}: ${await site.text()}`)

  const tally: LoadTally = {
    requests: 0,
    ok: 0,
    statuses: new Map(),
    errors: new Map(),
    latency: new Map(),
    step: 'between steps',
  }
  const results = Promise.all([
    startLoad(
      'site document',
      { url: `${stableUrl}/public/v1/sites/${CANARY}`, connections: 4, overallRate: 150 },
      tally,
    ),
    startLoad(
      'GET /v1/me',
      {
        url: `${stableUrl}/v1/me`,
        headers: { authorization: `Bearer ${token}` },
        connections: 4,
        overallRate: 150,
      },
      tally,
    ),
  ])
  say('load running: 2 × 150 req/s over 8 keep-alive connections through HAProxy')
  // The load generator's own stalls show in its response times: measured, to tell them apart.
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  await new Promise((resolve) => setTimeout(resolve, 3000))

  const timings: Array<{ step: string; seconds: number }> = []
  const expectServes = async (release: string | undefined, step: string) => {
    const serving = await releaseAt(driver.stableTarget())
    if (!release || serving !== release)
      problems.push(`after ${step}, api serves ${serving ?? 'nothing'} (expected ${release})`)
  }
  const releaseOf = async (colour: 'blue' | 'green') => releaseAt(driver.colourTarget(colour))
  const step = async (name: string, args: string[]) => {
    say(`step: ${name} (npm run deploy -- ${args.join(' ')})`)
    tally.step = name
    const run = await deploy(args)
    tally.step = 'between steps'
    timings.push({ step: name, seconds: run.seconds })
    if (run.code !== 0) problems.push(`${name}: npm run deploy -- ${args.join(' ')} exited ${run.code}`)
    return run
  }

  const blueFirst = await releaseOf('blue')
  await step('release the first commit to green', ['release', head])
  const greenFirst = await releaseOf('green')
  await step('switch to green', ['switch'])
  await expectServes(greenFirst, 'the switch to green')
  await step('release the second commit to blue', ['release', second])
  const blueSecond = await releaseOf('blue')
  if (blueSecond === blueFirst) problems.push('blue still runs its first release after the second one')
  await expect('after the second release (its expand migration only)', 'added,id,legacy,replaced')
  await step('switch to blue', ['switch'])
  await expectServes(blueSecond, 'the switch to blue')
  const rollback = await step('rollback to green', ['rollback'])
  await expectServes(greenFirst, 'the rollback')
  const moved = Number(
    /rollback: ([\d.]+)s from the command to traffic moved/.exec(rollback.output)?.[1] ?? Number.NaN,
  )
  if (!(moved < 60)) problems.push(`rollback took ${moved}s to move traffic (limit 60 s)`)
  await step('finish', ['finish'])
  // Finish runs the live (first) release's contract migration, never the rolled-back one's.
  await expect('after finish', 'added,id,replaced')
  if (await releaseOf('blue')) problems.push('blue still answers after finish stopped it')
  await expectServes(greenFirst, 'finish')

  await new Promise((resolve) => setTimeout(resolve, 2000))
  for (const load of loads) load.stop()
  loop.disable()
  const [documentResult, meResult] = await results
  const everyResponse = [...tally.latency.values()].flat()
  const failed = [...tally.statuses.values(), ...tally.errors.values()].reduce((a, b) => a + b, 0)
  const timeouts = documentResult.timeouts + meResult.timeouts
  const lines = [
    '',
    'step                                   seconds   load: requests  p50 ms  p99 ms',
    ...timings.map(({ step, seconds }) => {
      const seen = tally.latency.get(step) ?? []
      const load = `${String(seen.length).padStart(16)} ${percentile(seen, 50).toFixed(0).padStart(7)} ${percentile(seen, 99).toFixed(0).padStart(7)}`
      return `${step.padEnd(38)} ${seconds.toFixed(1).padStart(7)} ${load}`
    }),
    `rollback: traffic moved ${moved.toFixed(1)}s after the command`,
    `the load generator's event loop: delay p99 ${(loop.percentile(99) / 1e6).toFixed(0)} ms, max ${(loop.max / 1e6).toFixed(0)} ms`,
    '',
    `load through api.nudge.localhost: ${tally.requests} requests, ${tally.ok} 2xx, ${failed} failed, ${timeouts} timeouts`,
    // Response times as autocannon reports them. Under overallRate, once a switch has closed the
    // keep-alive connections, one request per connection shows ~900 ms every second (a rate-window
    // effect of autocannon's, by all signs: it is gone without overallRate, where a switch costs one
    // hiccup of ~250 ms for the requests in flight).
    `  site document ${documentResult.requests.total} requests, GET /v1/me ${meResult.requests.total}; response times p50 ${Math.round(percentile(everyResponse, 50))} ms, p99 ${Math.round(percentile(everyResponse, 99))} ms`,
    ...(tally.statuses.size ? [`  non-2xx: ${JSON.stringify(Object.fromEntries(tally.statuses))}`] : []),
    ...(tally.errors.size ? [`  errors: ${JSON.stringify(Object.fromEntries(tally.errors))}`] : []),
    '',
  ]
  process.stdout.write(lines.join('\n'))
  if (failed > 0 || timeouts > 0) problems.push(`${failed + timeouts} requests failed under the load`)
  if (tally.ok === 0) problems.push('the load got no answer at all')
  for (const problem of problems) say(`PROBLEM: ${problem}`)
  return problems.length === 0 ? 0 : 1
}

let code = 1
try {
  code = await main()
} catch (error) {
  say(`failed: ${(error as Error).stack ?? error}`)
}
clearTimeout(watchdog)
await cleanup()
// Its hosts' releases take about a gigabyte; kept after a failure, for its PM2 logs.
if (code === 0) await rm(dir, { recursive: true, force: true })
else say(`hosts, PM2 logs and the proxy's config kept in ${dir}`)
say(code === 0 ? 'PASS' : 'FAIL')
process.exit(code)
