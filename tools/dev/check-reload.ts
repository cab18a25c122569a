/**
 * `npm run check:reload`: proves `pm2 reload` drops no request. Starts the API under PM2 in
 * cluster mode (2 workers, the root ecosystem.config.js) with a private PM2_HOME, drives steady
 * keep-alive load at GET /health with autocannon, reloads three times during the load, then
 * fails unless every request got a 2xx and every worker was replaced.
 *
 * Database: DATABASE_URL, or else `nudge_reload_check` on postgres://postgres@127.0.0.1:5432
 * (created and migrated when missing). All traffic goes to 127.0.0.1.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { startSuperTokensCore } from '@nudge/supertokens-core'
import autocannon from 'autocannon'
import { freePort, prepareDatabase } from './database.ts'

const root = path.resolve(import.meta.dirname, '../..')
const DEFAULT_SERVER = 'postgres://postgres@127.0.0.1:5432/postgres'
const CHECK_DATABASE = 'nudge_reload_check'
const INSTANCES = 2
const RELOADS = 3
const LOAD_SECONDS = 20
const CONNECTIONS = 20
/** The whole check, cleanup included, stays under ~90 s. */
const WATCHDOG_MS = 85000

const started = Date.now()
const pm2Home = await mkdtemp(path.join(os.tmpdir(), 'nudge-pm2-'))
const port = await freePort()
const baseUrl = `http://127.0.0.1:${port}`
let stopCore: (() => Promise<void>) | undefined
// The malloc settings PM2's daemon passes on to the cluster workers it forks (as deploy and npm start).
const { mallocEnv } = (await import(path.join(root, 'ecosystem.config.js'))) as {
  mallocEnv: Record<string, string>
}
const env: NodeJS.ProcessEnv = {
  ...process.env,
  ...mallocEnv,
  // PM2's CLI, daemon and workers then all run on the repository's Node 24.
  PATH: `${path.join(root, 'node_modules/.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
  PM2_HOME: pm2Home,
  PM2_INSTANCES: String(INSTANCES),
  // What is checked out, never a stale build in apps/api/dist/.
  NUDGE_RUN_SOURCE: 'true',
  NODE_ENV: 'development',
  HOST: '127.0.0.1',
  PORT: String(port),
  LOG_LEVEL: 'warn',
  DEV_MAILBOX: process.env.SMTP_URL ? undefined : 'true',
}

let cleaning: Promise<void> | undefined
let load: autocannon.Instance | undefined

const watchdog = setTimeout(() => {
  process.stderr.write(`check:reload: still running after ${WATCHDOG_MS / 1000}s, giving up\n`)
  load?.stop()
  cleanup().finally(() => process.exit(1))
}, WATCHDOG_MS)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping\n`)
    load?.stop()
    cleanup().finally(() => process.exit(130))
  })
}

let code = 1
try {
  code = await main()
} catch (error) {
  process.stderr.write(`check:reload failed: ${(error as Error).stack ?? error}\n`)
}
clearTimeout(watchdog)
await cleanup()
process.stdout.write(`${code === 0 ? 'PASS' : 'FAIL'} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`)
process.exit(code)

async function main(): Promise<number> {
  env.DATABASE_URL = process.env.DATABASE_URL || (await prepareDatabase(DEFAULT_SERVER, CHECK_DATABASE))
  if (!process.env.SUPERTOKENS_CONNECTION_URI) {
    // The API needs a SuperTokens core to start; the stand-in runs inside this script.
    const core = await startSuperTokensCore({ port: 0 })
    stopCore = core.close
    env.SUPERTOKENS_CONNECTION_URI = core.url
  }
  log(`node ${process.version}; PM2_HOME ${pm2Home}; API on ${baseUrl}, ${INSTANCES} workers`)

  const start = await pm2(['start', path.join(root, 'ecosystem.config.js'), '--only', 'api'], 30000)
  if (start.code !== 0) throw new Error(`pm2 start failed (${start.code}):\n${start.output}`)
  await waitForHealth(20000)
  const before = await workerPids()
  log(`workers before: ${before.join(', ')}`)

  const errors = new Map<string, number>()
  const statuses = new Map<number, number>()
  const result = new Promise<autocannon.Result>((resolve, reject) => {
    load = autocannon(
      {
        url: `${baseUrl}/health`,
        connections: CONNECTIONS,
        pipelining: 1,
        duration: LOAD_SECONDS,
        timeout: 10,
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    )
    load.on('reqError', (error: Error & { code?: string }) => {
      const key = error.code ?? error.message
      errors.set(key, (errors.get(key) ?? 0) + 1)
    })
    load.on('response', (_client, status) => {
      if (status < 200 || status > 299) statuses.set(status, (statuses.get(status) ?? 0) + 1)
    })
  })

  // Reload while the load runs: one after another, a few seconds apart, all inside the window.
  let reloads = 0
  await sleep(3000)
  for (let i = 1; i <= RELOADS; i++) {
    const t0 = Date.now()
    const reload = await pm2(['reload', 'api'], 25000)
    const seconds = ((Date.now() - t0) / 1000).toFixed(1)
    if (reload.code === 0) {
      reloads++
      log(
        `reload ${i}/${RELOADS} done in ${seconds}s at t+${elapsed()}s; workers: ${(await workerPids()).join(', ')}`,
      )
    } else {
      log(`reload ${i}/${RELOADS} FAILED (exit ${reload.code}) after ${seconds}s:\n${reload.output}`)
    }
    if (i < RELOADS) await sleep(2000)
  }
  const totals = await result
  load = undefined
  const after = await workerPids()

  const replaced = after.length === INSTANCES && after.every((pid) => !before.includes(pid))
  const lines = [
    '',
    `requests:  ${totals.requests.total} in ${totals.duration.toFixed(1)}s (${CONNECTIONS} keep-alive connections)`,
    `2xx:       ${totals['2xx']}`,
    `non-2xx:   ${totals.non2xx}${statuses.size > 0 ? ` ${JSON.stringify(Object.fromEntries(statuses))}` : ''}`,
    `errors:    ${totals.errors}${errors.size > 0 ? ` ${JSON.stringify(Object.fromEntries(errors))}` : ''}`,
    `timeouts:  ${totals.timeouts}`,
    `reloads:   ${reloads}/${RELOADS}`,
    `workers:   before ${before.join(', ')} -> after ${after.join(', ')} (${replaced ? 'all replaced' : 'NOT replaced'})`,
    '',
  ]
  process.stdout.write(lines.join('\n'))
  const ok =
    totals.non2xx === 0 &&
    totals.errors === 0 &&
    totals.timeouts === 0 &&
    totals['2xx'] > 0 &&
    reloads === RELOADS &&
    replaced
  return ok ? 0 : 1
}

interface Pm2Result {
  code: number
  output: string
}

/** Runs the repository's pm2 binary against the private daemon, killed after `timeoutMs`. */
function pm2(args: string[], timeoutMs: number): Promise<Pm2Result> {
  return new Promise((resolve) => {
    const child = spawn(path.join(root, 'node_modules/.bin/pm2'), args, {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk
    })
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk
    })
    const timer = setTimeout(() => {
      output += `\n(pm2 ${args[0]} killed after ${timeoutMs}ms)`
      child.kill('SIGKILL')
    }, timeoutMs)
    child.once('error', (error) => {
      clearTimeout(timer)
      resolve({ code: 1, output: `${output}\n${error.message}` })
    })
    child.once('close', (status) => {
      clearTimeout(timer)
      resolve({ code: status ?? 1, output })
    })
  })
}

async function workerPids(): Promise<number[]> {
  const list = await pm2(['jlist'], 10000)
  if (list.code !== 0) throw new Error(`pm2 jlist failed:\n${list.output}`)
  // jlist prints JSON, possibly after some PM2 banner lines.
  const json = list.output.slice(list.output.indexOf('['))
  const processes = JSON.parse(json) as Array<{ name: string; pid: number; pm2_env?: { status?: string } }>
  return processes
    .filter((p) => p.name === 'api' && p.pm2_env?.status === 'online')
    .map((p) => p.pid)
    .sort((a, b) => a - b)
}

async function waitForHealth(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1000) })
      await response.arrayBuffer()
      if (response.status === 200) return
    } catch {
      // not listening yet
    }
    await sleep(200)
  }
  const logs = await pm2(['logs', 'api', '--nostream', '--lines', '40'], 10000)
  throw new Error(`GET ${baseUrl}/health did not answer 200 within ${timeoutMs}ms\n${logs.output}`)
}

/** Stops the private PM2 daemon (bounded), then removes its home. Safe to call more than once. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopCore?.().catch(() => {})
    const kill = await pm2(['kill'], 15000)
    if (kill.code !== 0) {
      // The daemon did not answer: end it (and so its workers) by the pid it wrote in our PM2_HOME.
      const pid = Number(await readFile(path.join(pm2Home, 'pm2.pid'), 'utf8').catch(() => ''))
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
    }
    await rm(pm2Home, { recursive: true, force: true })
  })()
  return cleaning
}

function elapsed(): string {
  return ((Date.now() - started) / 1000).toFixed(1)
}

function log(message: string): void {
  process.stdout.write(`${message}\n`)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
