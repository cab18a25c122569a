/**
 * Runs ON A HOST, from a release directory, with that release's own Node (both drivers send the
 * same shell scripts, see ../host-scripts.ts, which end by calling this file):
 *
 *   host.ts install --root R --release ID --secrets ssm:/nudge/production/ | file:/path/release.env
 *   host.ts migrate --root R --release ID --phase expand|all|status
 *   host.ts start   --root R --release ID --keep N --ready-timeout S
 *   host.ts stop    --root R
 *   host.ts status  --root R
 *
 * The host was provisioned once with R/host.env (PORT, PM2_INSTANCES, NODE_ENV, ...: what differs
 * per host). The release environment (DATABASE_URL, secrets) is rendered into
 * R/releases/ID/release-env.json (mode 0600) at install and never printed. Every command prints one
 * JSON line on stdout for the deploy tool; diagnostics go to stderr.
 */
import { existsSync } from 'node:fs'
import { chmod, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseArgs, parseEnv } from 'node:util'
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm'
import { run } from '../process.ts'

const ENV_NAME = /^[A-Z][A-Z0-9_]*$/

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    root: { type: 'string' },
    release: { type: 'string' },
    secrets: { type: 'string' },
    phase: { type: 'string' },
    keep: { type: 'string', default: '3' },
    'ready-timeout': { type: 'string', default: '120' },
  },
})
const [command] = positionals
const root = values.root ?? '/opt/nudge'
const releaseId = values.release
if (releaseId !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(releaseId)) fail(`bad release id ${releaseId}`)
const releaseDir = (id: string) => path.join(root, 'releases', id)
const hostName = process.env.NUDGE_HOST_NAME ?? os.hostname()

function fail(message: string): never {
  process.stderr.write(`host ${hostName}: ${message}\n`)
  process.exit(1)
}

function answer(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ host: hostName, ...result })}\n`)
}

async function hostEnv(): Promise<Record<string, string>> {
  const file = path.join(root, 'host.env')
  const text = await readFile(file, 'utf8').catch(() => fail(`${file} is missing: provision the host first`))
  return parseEnv(text) as Record<string, string>
}

/** The release environment from Parameter Store (one parameter per variable) or a dotenv file. */
async function readSecrets(source: string): Promise<Record<string, string>> {
  if (source.startsWith('file:')) {
    const file = source.slice('file:'.length)
    return parseEnv(await readFile(file, 'utf8').catch(() => fail(`cannot read ${file}`))) as Record<
      string,
      string
    >
  }
  if (!source.startsWith('ssm:'))
    fail(`--secrets must be ssm:/path/ or file:/path (got ${source.split(':')[0]}:…)`)
  const prefix = source.slice('ssm:'.length)
  // The instance profile's credentials (the SDK's default chain); AWS_ENDPOINT_URL_SSM points tests at a stand-in.
  const client = new SSMClient({})
  const found: Record<string, string> = {}
  let NextToken: string | undefined
  try {
    do {
      const page = await client.send(
        new GetParametersByPathCommand({ Path: prefix, Recursive: true, WithDecryption: true, NextToken }),
      )
      for (const parameter of page.Parameters ?? []) {
        const name = parameter.Name?.slice(prefix.length) ?? ''
        if (ENV_NAME.test(name) && parameter.Value !== undefined) found[name] = parameter.Value
        else
          process.stderr.write(
            `host ${hostName}: skipped parameter ${parameter.Name} (not an env variable name)\n`,
          )
      }
      NextToken = page.NextToken
    } while (NextToken)
  } catch (error) {
    fail(`Parameter Store ${prefix}: ${(error as Error).name}: ${(error as Error).message}`)
  } finally {
    client.destroy()
  }
  if (Object.keys(found).length === 0) fail(`Parameter Store has no parameters under ${prefix}`)
  return found
}

async function releaseEnv(id: string): Promise<Record<string, string>> {
  const file = path.join(releaseDir(id), 'release-env.json')
  const secrets = JSON.parse(await readFile(file, 'utf8').catch(() => fail(`release ${id} is not installed`)))
  // Host settings win: they are what differs between hosts of one release.
  return { ...secrets, ...(await hostEnv()), RELEASE_ID: id }
}

function processEnv(id: string, env: Record<string, string>): NodeJS.ProcessEnv {
  const dir = releaseDir(id)
  return {
    ...env,
    // The release's own Node and PM2, whatever the host has.
    PATH: `${path.join(dir, 'node_modules/.bin')}:/usr/local/bin:/usr/bin:/bin`,
    HOME: process.env.HOME ?? root,
    PM2_HOME: path.join(root, 'pm2'),
  }
}

async function pm2(id: string, env: NodeJS.ProcessEnv, args: string[], timeoutMs = 60000) {
  const finished = await run(path.join(releaseDir(id), 'node_modules/.bin/pm2'), args, {
    cwd: releaseDir(id),
    env,
    timeoutMs,
  })
  return { code: finished.code, output: `${finished.stdout}${finished.stderr}` }
}

interface Pm2Process {
  name: string
  pid: number
  pm2_env?: { status?: string; restart_time?: number }
}

async function processes(id: string, env: NodeJS.ProcessEnv): Promise<Pm2Process[]> {
  const list = await pm2(id, env, ['jlist'], 15000)
  const start = list.output.indexOf('[')
  if (list.code !== 0 || start < 0) return []
  try {
    return JSON.parse(list.output.slice(start)) as Pm2Process[]
  } catch {
    return []
  }
}

async function currentRelease(): Promise<string | null> {
  try {
    return path.basename(await readlink(path.join(root, 'current')))
  } catch {
    return null
  }
}

async function health(port: string, pathname: string): Promise<{ status: number; body: string } | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${pathname}`, { signal: AbortSignal.timeout(3000) })
    return { status: response.status, body: await response.text() }
  } catch {
    return null
  }
}

async function install(): Promise<void> {
  if (!releaseId || !values.secrets) fail('install needs --release and --secrets')
  const host = await hostEnv()
  if (!host.PORT) fail('host.env has no PORT')
  const secrets = await readSecrets(values.secrets)
  const file = path.join(releaseDir(releaseId), 'release-env.json')
  await writeFile(file, JSON.stringify(secrets), { mode: 0o600 })
  await chmod(file, 0o600)
  answer({ installed: releaseId, variables: Object.keys(secrets).length })
}

async function migrate(): Promise<void> {
  if (!releaseId) fail('migrate needs --release')
  const phase = values.phase ?? 'expand'
  if (phase !== 'expand' && phase !== 'all' && phase !== 'status')
    fail('--phase must be expand, all or status')
  const env = await releaseEnv(releaseId)
  if (!env.DATABASE_URL) fail('the release environment has no DATABASE_URL')
  // The release's own migrator and migrations (this file runs from that release).
  const { createDb, createPool, migrateToLatest, pendingMigrations } = await import('@nudge/db')
  const db = createDb(
    createPool({
      DATABASE_URL: env.DATABASE_URL,
      DATABASE_POOL_MAX: 2,
      DATABASE_STATEMENT_TIMEOUT_MS: 600000,
    }),
  )
  try {
    if (phase === 'status') {
      answer({ pending: await pendingMigrations(db) })
      return
    }
    const { error, results = [] } = await migrateToLatest(db, phase)
    const applied = results.filter((r) => r.status === 'Success').map((r) => r.migrationName)
    if (error) {
      const failed = results.find((r) => r.status === 'Error')?.migrationName
      fail(
        `migration ${failed ?? ''} failed: ${(error as Error).message} (applied before it: ${applied.join(', ') || 'none'})`,
      )
    }
    answer({ phase, applied, pending: await pendingMigrations(db) })
  } finally {
    await db.destroy()
  }
}

async function start(): Promise<void> {
  if (!releaseId) fail('start needs --release')
  // The daemon's own environment is what the API's cluster workers start with: the release's malloc
  // settings (ecosystem.config.js, `mallocEnv`) must be in it, glibc reads them only at a start.
  const { mallocEnv } = (await import(path.join(releaseDir(releaseId), 'ecosystem.config.js'))) as {
    mallocEnv?: Record<string, string>
  }
  const env = { ...processEnv(releaseId, await releaseEnv(releaseId)), ...mallocEnv }
  const port = env.PORT ?? fail('host.env has no PORT')
  // The colour being started takes no traffic: its old processes (and PM2 daemon, which may come
  // from an older release's directory) go, so the new release runs under its own PM2.
  await pm2(releaseId, env, ['kill'], 60000)
  const started = await pm2(releaseId, env, ['start', 'ecosystem.config.js'], 120000)
  if (started.code !== 0) fail(`pm2 start failed (${started.code}):\n${started.output.slice(-4000)}`)
  const deadline = Date.now() + Number(values['ready-timeout']) * 1000
  let last = 'no answer'
  while (Date.now() < deadline) {
    const ready = await health(port, '/health/ready')
    const alive = await health(port, '/health')
    const reported =
      alive?.status === 200 ? (JSON.parse(alive.body) as { release?: string }).release : undefined
    if (ready?.status === 200 && reported === releaseId) {
      const listed = await processes(releaseId, env)
      if (listed.length > 0 && listed.every((p) => p.pm2_env?.status === 'online')) break
      last = `processes: ${listed.map((p) => `${p.name} ${p.pm2_env?.status}`).join(', ')}`
    } else {
      last = ready
        ? `/health/ready ${ready.status}, /health reports ${reported ?? 'nothing'}`
        : 'no answer on its port'
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  if (Date.now() >= deadline) {
    const logs = await pm2(releaseId, env, ['logs', '--nostream', '--lines', '30'], 15000)
    fail(
      `release ${releaseId} not ready on port ${port} within ${values['ready-timeout']}s (${last})\n${logs.output.slice(-4000)}`,
    )
  }
  await pm2(releaseId, env, ['save', '--force'], 30000)
  const link = path.join(root, 'current')
  await rm(`${link}.next`, { force: true })
  await symlink(path.join('releases', releaseId), `${link}.next`)
  await rename(`${link}.next`, link)
  const removed = await prune(releaseId, Number(values.keep))
  const listed = await processes(releaseId, env)
  answer({
    started: releaseId,
    port: Number(port),
    processes: listed.map((p) => ({ name: p.name, status: p.pm2_env?.status, pid: p.pid })),
    removed,
  })
}

/** Keeps the `keep` newest release directories (and the running one); the rest go. */
async function prune(running: string, keep: number): Promise<string[]> {
  const dir = path.join(root, 'releases')
  const entries = await readdir(dir)
  const releases = await Promise.all(
    entries.map(async (name) => ({ name, mtime: (await stat(path.join(dir, name))).mtimeMs })),
  )
  const stale = releases
    .filter((r) => r.name.startsWith('.incoming-') && Date.now() - r.mtime > 3600_000)
    .map((r) => r.name)
  const kept = releases
    .filter((r) => !r.name.startsWith('.'))
    .sort((a, b) => b.mtime - a.mtime)
    .map((r) => r.name)
  const old = kept.filter((name, index) => index >= keep && name !== running)
  for (const name of [...old, ...stale]) await rm(path.join(dir, name), { recursive: true, force: true })
  return old
}

async function stop(): Promise<void> {
  const id = await currentRelease()
  if (!id || !existsSync(releaseDir(id))) {
    answer({ stopped: null })
    return
  }
  const env = processEnv(id, await hostEnv())
  // Graceful: each process drains and finishes in-flight requests and jobs (kill_timeout).
  await pm2(id, env, ['stop', 'all'], 120000)
  await pm2(id, env, ['kill'], 60000)
  answer({ stopped: id })
}

async function status(): Promise<void> {
  const id = await currentRelease()
  const host = await hostEnv()
  if (!id || !existsSync(releaseDir(id))) {
    answer({ release: null, processes: [], ready: false, port: Number(host.PORT) })
    return
  }
  const listed = await processes(id, processEnv(id, host))
  const ready = host.PORT ? await health(host.PORT, '/health/ready') : null
  answer({
    release: id,
    port: Number(host.PORT),
    processes: listed.map((p) => ({
      name: p.name,
      status: p.pm2_env?.status,
      restarts: p.pm2_env?.restart_time,
    })),
    ready: ready?.status === 200,
  })
}

const commands: Record<string, () => Promise<void>> = { install, migrate, start, stop, status }
const chosen = command ? commands[command] : undefined
if (!chosen) fail(`unknown command ${command ?? '(none)'}: install | migrate | start | stop | status`)
await chosen()
