/**
 * `npm run bench -- --rss`: the memory of each PM2 process, started the way production starts
 * them: `npm run build -w apps/api`, then `pm2 start ecosystem.config.js` (so apps/api/dist/ and
 * the process file's node_args), with a private PM2_HOME that is killed whatever happens.
 *
 * For each process, after a 10 s settle (idle) and after load: RSS as `pm2 jlist` reports it,
 * private memory (the pages no other process shares: the node binary's pages are shared by every
 * process of a host, so RSS counts them once per process) and PSS from /proc, and V8's heap spaces
 * as the process itself reports them over PM2's IPC channel (apps/api/src/memory-report.ts).
 *
 * Beside them, the yardstick: the bench's bare Fastify (baseline.ts, built to plain JavaScript as
 * dist is) started by the same PM2 as one more cluster worker with the API's node_args and env,
 * loaded with its hello-world for as long: what any Fastify process costs on this host.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import autocannon from 'autocannon'
import { build } from 'esbuild'
import { MEMORY_REPORT_TOPIC } from '../../apps/api/src/memory-report.ts'
import { freePort } from '../dev/database.ts'

/** The goal of issue 21: every PM2 process of a 1 GiB micro instance at most this, idle and loaded. */
const GOAL_MB = 100
const SETTLE_MS = 10_000
/** The PM2 name of the bare Fastify measured beside the API's processes. */
const BASELINE = 'bare-fastify'

export interface RssOptions {
  root: string
  /** Environment for the API (database, SuperTokens core, limits, storage...). */
  env: Record<string, string>
  duration: number
  connections: number
  /** Prepares what the load asks for once the API runs: a site's document and a session. */
  prepare(baseUrl: string): Promise<{ sitePath: string; origin: string; authorization: string }>
  say(line: string): void
  /** After the load, a V8 heap snapshot of each process, summarised by tools/bench/heap.ts. */
  heap?: boolean
  /** ecosystem.config.js, as the bench read it. */
  processFile: ProcessFile
}

/** What the bench reads of ecosystem.config.js. */
export interface ProcessFile {
  mallocEnv: Record<string, string>
  'module.exports': { apps: Array<{ name: string; node_args: string[]; env?: Record<string, string> }> }
}

interface Sample {
  name: string
  pmId: number
  pid: number
  rssMb: number
  privateMb?: number
  pssMb?: number
  heap?: {
    snapshot?: string
    heapUsedMb: number
    spaces: Array<{ name: string; sizeMb: number; usedMb: number }>
  }
}

const mb = (bytes: number) => bytes / 1048576

let pm2Home: string | undefined
let pm2Env: NodeJS.ProcessEnv | undefined

/** Kills the PM2 daemon this module started (and its processes), and removes its home. */
export async function stopPm2(root: string): Promise<void> {
  if (!pm2Home || !pm2Env) return
  const home = pm2Home
  pm2Home = undefined
  await run(path.join(root, 'node_modules/.bin/pm2'), ['kill'], pm2Env, 30_000).catch(() => {})
  await rm(home, { recursive: true, force: true })
}

export async function measureRss(options: RssOptions): Promise<string> {
  const { root, say } = options
  say('building apps/api/dist (npm run build -w apps/api)')
  await run(process.execPath, [path.join(root, 'apps/api/build.ts')], process.env, 120_000)

  pm2Home = await mkdtemp(path.join(os.tmpdir(), 'nudge-bench-pm2-'))
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  // The daemon's environment is what PM2's cluster workers start with, so the process file's malloc
  // settings go to it, as the deploy host and `npm start` pass them.
  const { processFile } = options
  const { mallocEnv } = processFile
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...mallocEnv,
    ...options.env,
    // PM2's CLI, daemon and processes all run on the repository's Node.
    PATH: `${path.join(root, 'node_modules/.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
    PM2_HOME: pm2Home,
    PM2_INSTANCES: process.env.PM2_INSTANCES ?? '2',
    PORT: String(port),
    HOST: '127.0.0.1',
  }
  // The build, as a release runs it.
  delete env.NUDGE_RUN_SOURCE
  pm2Env = env
  const pm2 = path.join(root, 'node_modules/.bin/pm2')
  say(
    `pm2 start ecosystem.config.js (PM2_HOME ${pm2Home}, ${env.PM2_INSTANCES} API workers and the job worker)`,
  )
  await run(pm2, ['start', path.join(root, 'ecosystem.config.js')], env, 120_000)
  await waitReady(`${baseUrl}/health/ready`, 60_000)
  const apiApp = processFile['module.exports'].apps.find((app) => app.name === 'api')!
  const baselineUrl = await startBaseline(root, apiApp, pm2Home, env, pm2)
  const processes = JSON.parse(await run(pm2, ['jlist'], env, 30_000)) as Array<{
    pm2_env?: { pm_exec_path?: string; node_args?: string[] }
  }>
  const script = processes.map((p) => `${p.pm2_env?.pm_exec_path} ${(p.pm2_env?.node_args ?? []).join(' ')}`)

  say(`settling ${SETTLE_MS / 1000} s`)
  await sleep(SETTLE_MS)
  const idle = await sample(env, pm2)
  const mallocReached = await Promise.all(
    idle.map(async (p) => {
      const environ = await readFile(`/proc/${p.pid}/environ`, 'utf8').catch(() => '')
      const set = Object.entries(mallocEnv).every(([key, value]) =>
        environ.split('\0').includes(`${key}=${value}`),
      )
      return `${p.name} #${p.pmId} ${set ? '✓' : '✗'}`
    }),
  )

  const prepared = await options.prepare(baseUrl)
  say(`load: ${options.duration} s, ${options.connections} connections, /health + site document + /v1/me`)
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    autocannon(
      {
        url: baseUrl,
        connections: options.connections,
        duration: options.duration,
        requests: [
          { method: 'GET', path: '/health' },
          { method: 'GET', path: prepared.sitePath, headers: { origin: prepared.origin } },
          { method: 'GET', path: '/v1/me', headers: { authorization: prepared.authorization } },
        ],
      },
      (error, output) => (error ? reject(error) : resolve(output)),
    )
  })
  const apiLoaded = await sample(env, pm2)
  say(`load: ${options.duration} s, ${options.connections} connections, the bare Fastify's GET /`)
  await new Promise<autocannon.Result>((resolve, reject) => {
    autocannon(
      { url: baselineUrl, connections: options.connections, duration: options.duration },
      (error, output) => (error ? reject(error) : resolve(output)),
    )
  })
  // The API's processes as they were after their load; the baseline's after its own.
  const loaded = [
    ...apiLoaded.filter((s) => s.name !== BASELINE),
    ...(await sample(env, pm2)).filter((s) => s.name === BASELINE),
  ]
  const snapshots: string[] = []
  if (options.heap) {
    say('heap snapshots (a few seconds per process)')
    const list = JSON.parse(await run(pm2, ['jlist'], env, 30_000)) as Array<{ name: string; pm_id: number }>
    const reports = await heapReports(
      env,
      list.map((p) => p.pm_id),
      { heapSnapshot: true },
      180_000,
    )
    const { summarise } = await import('./heap.ts')
    for (const p of list) {
      const file = reports.get(p.pm_id)?.snapshot
      snapshots.push(
        `${p.name} #${p.pm_id}: ${file ? `${summarise(file)}` : 'no snapshot (an older build?)'}`,
      )
    }
  }

  const lines = [
    `processes: ${[...new Set(script)].join('; ')}`,
    `malloc settings (ecosystem.config.js mallocEnv) in the environment each process started with: ${mallocReached.join(', ')}`,
    `load: ${result.requests.total} requests in ${options.duration} s (${result.non2xx} non-2xx, ${result.errors} errors), p99 ${result.latency.p99} ms`,
    '',
    memoryTable(idle, loaded),
    '',
    'V8 heap spaces, MB used / size (idle → after load):',
    heapTable(idle, loaded),
    '',
    'RSS counts the node binary pages every process shares; private is what each process alone adds',
    '(its own heap and native memory); PSS shares the shared pages out among the processes.',
    ...snapshots.flatMap((summary) => ['', summary]),
  ]
  return lines.join('\n')
}

/**
 * Builds baseline.ts to plain JavaScript under node_modules/.cache (so `fastify` resolves as from
 * dist) and starts it with PM2 as the API is started: cluster mode, the API app's node_args and env.
 */
async function startBaseline(
  root: string,
  api: ProcessFile['module.exports']['apps'][number],
  home: string,
  env: NodeJS.ProcessEnv,
  pm2: string,
): Promise<string> {
  const script = path.join(root, 'node_modules/.cache/nudge-bench/baseline.mjs')
  await build({
    entryPoints: [path.join(import.meta.dirname, 'baseline.ts')],
    outfile: script,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    logLevel: 'warning',
  })
  const port = await freePort()
  const file = path.join(home, 'baseline.json')
  await writeFile(
    file,
    JSON.stringify({
      apps: [
        {
          ...api,
          name: BASELINE,
          script,
          instances: 1,
          env: { ...api.env, PORT: String(port), HOST: '127.0.0.1' },
        },
      ],
    }),
  )
  await run(pm2, ['start', file], env, 60_000)
  const url = `http://127.0.0.1:${port}`
  await waitReady(`${url}/`, 30_000)
  return url
}

function memoryTable(idle: Sample[], loaded: Sample[]): string {
  const header = [
    'process',
    'pid',
    'RSS idle',
    'RSS loaded',
    'private idle',
    'private loaded',
    'PSS loaded',
    'RSS loaded vs bare',
    'goal',
  ]
  const cell = (value: number | undefined) => (value === undefined ? 'n/a' : `${value.toFixed(1)} MB`)
  const bare = loaded.find((s) => s.name === BASELINE)?.rssMb
  const rows = idle.map((before) => {
    const after = loaded.find((s) => s.pmId === before.pmId)
    const worst = Math.max(before.rssMb, after?.rssMb ?? Number.POSITIVE_INFINITY)
    const isBaseline = before.name === BASELINE
    return [
      `${before.name} #${before.pmId}`,
      String(before.pid),
      cell(before.rssMb),
      cell(after?.rssMb),
      cell(before.privateMb),
      cell(after?.privateMb),
      cell(after?.pssMb),
      bare && after ? `${(after.rssMb / bare).toFixed(2)}x` : 'n/a',
      isBaseline ? '(yardstick)' : `<=${GOAL_MB} MB ${worst <= GOAL_MB ? '✓' : '✗'}`,
    ]
  })
  return align([header, ...rows])
}

function heapTable(idle: Sample[], loaded: Sample[]): string {
  const names = [
    ...new Set(
      [...idle, ...loaded].flatMap(
        (s) => s.heap?.spaces.filter((x) => x.sizeMb > 0).map((x) => x.name) ?? [],
      ),
    ),
  ]
  const header = ['process', 'heap used', ...names]
  const rows = idle.map((before) => {
    const after = loaded.find((s) => s.pmId === before.pmId)
    const pair = (a: number | undefined, b: number | undefined) =>
      `${a === undefined ? '?' : a.toFixed(1)} → ${b === undefined ? '?' : b.toFixed(1)}`
    const space = (s: Sample | undefined, name: string) => s?.heap?.spaces.find((x) => x.name === name)
    return [
      `${before.name} #${before.pmId}`,
      pair(before.heap?.heapUsedMb, after?.heap?.heapUsedMb),
      ...names.map((name) => {
        const a = space(before, name)
        const b = space(after, name)
        return `${a ? `${a.usedMb.toFixed(1)}/${a.sizeMb.toFixed(1)}` : '?'} → ${b ? `${b.usedMb.toFixed(1)}/${b.sizeMb.toFixed(1)}` : '?'}`
      }),
    ]
  })
  return align([header, ...rows])
}

function align(table: string[][]): string {
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)))
  const line = (row: string[]) =>
    row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  return [line(table[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...table.slice(1).map(line)].join(
    '\n',
  )
}

/** Every process: RSS from `pm2 jlist`, private memory and PSS from /proc, heap spaces from itself. */
async function sample(env: NodeJS.ProcessEnv, pm2: string): Promise<Sample[]> {
  const list = JSON.parse(await run(pm2, ['jlist'], env, 30_000)) as Array<{
    name: string
    pm_id: number
    pid: number
    monit?: { memory?: number }
  }>
  const heaps = await heapReports(
    env,
    list.map((p) => p.pm_id),
  )
  return Promise.all(
    list.map(async (p) => {
      const proc = await smapsRollup(p.pid)
      const heap = heaps.get(p.pm_id)
      return {
        name: p.name,
        pmId: p.pm_id,
        pid: p.pid,
        rssMb: mb(p.monit?.memory ?? 0),
        ...proc,
        ...(heap ? { heap } : {}),
      }
    }),
  )
}

/** Linux only: private (clean + dirty) and proportional memory of a process, in MB. */
async function smapsRollup(pid: number): Promise<{ privateMb?: number; pssMb?: number }> {
  const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '')
  const kb = (field: string) =>
    Number(text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? Number.NaN)
  const privateKb = kb('Private_Clean') + kb('Private_Dirty')
  const pssKb = kb('Pss')
  return {
    ...(Number.isFinite(privateKb) ? { privateMb: privateKb / 1024 } : {}),
    ...(Number.isFinite(pssKb) ? { pssMb: pssKb / 1024 } : {}),
  }
}

/**
 * Asks each process for its memory over PM2's bus (pm2 sendDataToProcessId → process:msg).
 * PM2's API reads PM2_HOME when it is loaded, so it is imported once that is set.
 */
async function heapReports(
  env: NodeJS.ProcessEnv,
  ids: number[],
  request: { heapSnapshot?: boolean } = {},
  timeoutMs = 5000,
): Promise<Map<number, NonNullable<Sample['heap']>>> {
  process.env.PM2_HOME = env.PM2_HOME
  const { default: pm2 } = await import('pm2')
  const reports = new Map<number, NonNullable<Sample['heap']>>()
  await new Promise<void>((resolve, reject) => pm2.connect((error) => (error ? reject(error) : resolve())))
  try {
    const bus = await new Promise<{
      on(event: string, listener: (packet: unknown) => void): void
      close?(): void
    }>((resolve, reject) => pm2.launchBus((error, b) => (error ? reject(error) : resolve(b as never))))
    const answered = new Promise<void>((resolve) => {
      bus.on('process:msg', (packet) => {
        const { process: from, data } = packet as {
          process?: { pm_id?: number }
          data?: {
            topic?: string
            heapSnapshot?: string
            memory?: NodeJS.MemoryUsage
            spaces?: Array<{ name: string; size: number; used: number }>
          }
        }
        if (data?.topic !== MEMORY_REPORT_TOPIC || from?.pm_id === undefined || !data.memory) return
        reports.set(from.pm_id, {
          ...(data.heapSnapshot ? { snapshot: data.heapSnapshot } : {}),
          heapUsedMb: mb(data.memory.heapUsed),
          spaces: (data.spaces ?? []).map((s) => ({ name: s.name, sizeMb: mb(s.size), usedMb: mb(s.used) })),
        })
        if (reports.size === ids.length) resolve()
      })
    })
    for (const id of ids) {
      await new Promise<void>((resolve) =>
        pm2.sendDataToProcessId(
          id,
          { id, type: 'process:msg', topic: MEMORY_REPORT_TOPIC, data: request },
          () => resolve(),
        ),
      )
    }
    // A process that does not answer (an older build) leaves its heap columns at '?'.
    await Promise.race([answered, sleep(timeoutMs)])
    bus.close?.()
  } finally {
    pm2.disconnect()
  }
  return reports
}

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) })
      .then(async (response) => {
        await response.arrayBuffer()
        return response.ok
      })
      .catch(() => false)
    if (ok) return
    await sleep(250)
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`)
}

/** Runs a command to its end; resolves with its stdout, rejects with its output on failure. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(stdout)
      else
        reject(
          new Error(
            `${path.basename(command)} ${args.join(' ')}: ${signal ?? `exit ${code}`}\n${(stdout + stderr).slice(-4000)}`,
          ),
        )
    })
  })
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
