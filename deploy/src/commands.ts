import { signServiceToken } from '@nudge/auth'
import { DEV_SERVICE_JWT_SECRET } from '@nudge/config'
import { buildArtifact, resolveCommit } from './artifact.ts'
import type { DeployConfig } from './config.ts'
import { COLOURS, type Colour, type Driver, type HostRun, otherColour } from './driver.ts'
import { hostAnswer, hostScript, installScript } from './host-scripts.ts'
import { get, releaseAt, sleep, type Target } from './http.ts'
import { DeployError, type Steps } from './steps.ts'

export interface Context {
  config: DeployConfig
  driver: Driver
  steps: Steps
  repository: string
  /** Where artifacts are built and cached on this machine. */
  workDir: string
  write: (line: string) => void
  /**
   * Provisions what the driver needs to act (the local driver starts HAProxy). Commands call it
   * once their arguments and preconditions are checked, so a wrong ref or nothing to roll back is
   * said without touching any host or proxy.
   */
  prepare: () => Promise<void>
}

interface HostStatus {
  host: string
  release: string | null
  port?: number
  processes: Array<{ name: string; status?: string; restarts?: number }>
  ready: boolean
}

/** Fails unless every host succeeded; returns each host's JSON answer. */
function expectAll<T>(what: string, runs: HostRun[]): T[] {
  if (runs.length === 0) throw new DeployError(`${what}: no hosts`)
  const failed = runs.filter((run) => run.exitCode !== 0)
  if (failed.length > 0) {
    const detail = failed
      .map(
        (run) =>
          `${run.host} (exit ${run.exitCode}): ${(run.stderr || run.stdout).trim().split('\n').slice(-12).join('\n    ')}`,
      )
      .join('\n  ')
    throw new DeployError(`${what} failed on ${failed.length} of ${runs.length} hosts:\n  ${detail}`)
  }
  return runs.map((run) => {
    const answer = hostAnswer<T>(run.stdout)
    if (!answer) throw new DeployError(`${what}: ${run.host} printed no answer`)
    return answer
  })
}

async function hostStatuses(ctx: Context, colour: Colour): Promise<HostStatus[]> {
  const runs = await ctx.driver.run(colour, hostScript(ctx.config.DEPLOY_HOST_ROOT, ['status']), {
    timeoutSeconds: 60,
  })
  return runs.map(
    (run) =>
      hostAnswer<HostStatus>(run.stdout) ?? {
        host: run.host,
        release: null,
        processes: [],
        ready: false,
      },
  )
}

/** The one release every host of a colour runs and serves as ready, or a DeployError saying what is off. */
async function runningRelease(ctx: Context, colour: Colour): Promise<string> {
  const statuses = await hostStatuses(ctx, colour)
  if (statuses.length === 0) throw new DeployError(`${colour} has no hosts`)
  const releases = new Set(statuses.map((s) => s.release))
  const release = statuses[0]?.release
  if (!release || releases.size !== 1) {
    throw new DeployError(
      `${colour} does not run one release: ${statuses.map((s) => `${s.host} ${s.release ?? 'none'}`).join(', ')}`,
    )
  }
  const down = statuses.filter((s) => !s.ready || s.processes.some((p) => p.status !== 'online'))
  if (down.length > 0) {
    throw new DeployError(
      `${colour} is not ready on ${down.map((s) => `${s.host} (${s.processes.map((p) => `${p.name} ${p.status}`).join(', ') || 'no processes'})`).join(', ')}`,
    )
  }
  return release
}

function releaseIdOf(sha: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)
  return `${stamp}Z-${sha.slice(0, 7)}`
}

async function serviceToken(ctx: Context): Promise<string> {
  const secret = (await ctx.driver.secret('SERVICE_JWT_SECRET')) ?? DEV_SERVICE_JWT_SECRET
  return signServiceToken(secret, 'cron', 60)
}

/** Gates through a colour's subdomain: latency, then what clients use (site document, JWKS, a service read). */
async function gates(ctx: Context, colour: Colour, release: string): Promise<void> {
  const target = ctx.driver.colourTarget(colour)
  const { steps, config } = ctx
  await steps.run(`gate: ${target.name} serves release ${release}`, async () => {
    const reported = await releaseAt(target)
    if (reported !== release) throw new DeployError(`${target.name}/health reports ${reported ?? 'nothing'}`)
    return ''
  })
  await steps.run(
    `gate: ${target.name}/health/timing under ${config.DEPLOY_TIMING_LIMIT_MS} ms`,
    async () => {
      const totals: number[] = []
      for (let i = 0; i < 5; i++) {
        const answer = await get(target, '/health/timing')
        if (answer.status !== 200) throw new DeployError(`/health/timing answered ${answer.status}`)
        totals.push((JSON.parse(answer.body) as { totalMs: number }).totalMs)
      }
      totals.sort((a, b) => a - b)
      const median = totals[2] ?? Number.POSITIVE_INFINITY
      if (median > config.DEPLOY_TIMING_LIMIT_MS)
        throw new DeployError(`median totalMs ${median.toFixed(1)} ms`)
      return `median ${median.toFixed(1)} ms`
    },
  )
  await steps.run(`smoke: ${target.name} through its subdomain`, async () => {
    const checks: string[] = []
    if (config.DEPLOY_CANARY_HOSTNAME) {
      const document = await get(
        target,
        `/public/v1/sites/${encodeURIComponent(config.DEPLOY_CANARY_HOSTNAME)}`,
      )
      if (
        document.status !== 200 ||
        !document.body.includes(`"hostname":"${config.DEPLOY_CANARY_HOSTNAME}"`)
      ) {
        throw new DeployError(
          `the site document of ${config.DEPLOY_CANARY_HOSTNAME} answered ${document.status}`,
        )
      }
      checks.push(`site document ${document.status}`)
    } else {
      checks.push('site document skipped (DEPLOY_CANARY_HOSTNAME unset)')
    }
    const jwks = await get(target, '/auth/jwt/jwks.json')
    const keys = jwks.status === 200 ? ((JSON.parse(jwks.body) as { keys?: unknown[] }).keys ?? []) : []
    if (keys.length === 0) throw new DeployError(`JWKS answered ${jwks.status} with ${keys.length} keys`)
    checks.push(`JWKS ${keys.length} keys`)
    const jobs = await get(target, '/internal/v1/jobs', {
      headers: { authorization: `Bearer ${await serviceToken(ctx)}` },
    })
    if (jobs.status !== 200)
      throw new DeployError(`GET /internal/v1/jobs with a service token answered ${jobs.status}`)
    checks.push(`service read ${jobs.status}`)
    return checks.join(', ')
  })
}

export async function status(ctx: Context): Promise<void> {
  const { driver, write } = ctx
  await ctx.prepare()
  write(`driver ${driver.describe()}`)
  const live = await driver.live()
  write(live ? `live: ${live.colour} since ${live.since.toISOString()}` : 'live: none (no switch yet)')
  const stable = await releaseAt(driver.stableTarget())
  write(`${driver.stableTarget().name} serves ${stable ?? 'nothing'}`)
  for (const colour of COLOURS) {
    const statuses = await hostStatuses(ctx, colour)
    const reported = await releaseAt(driver.colourTarget(colour))
    write(
      `${colour}${live?.colour === colour ? ' (live)' : ''}: ${driver.colourTarget(colour).name} serves ${reported ?? 'nothing'}`,
    )
    for (const s of statuses) {
      const processes = s.processes
        .map((p) => `${p.name}:${p.status}${p.restarts ? `(${p.restarts} restarts)` : ''}`)
        .join(' ')
      write(
        `  ${s.host}: release ${s.release ?? 'none'}, ${s.ready ? 'ready' : 'not ready'}${processes ? `, ${processes}` : ''}`,
      )
    }
  }
}

export async function release(ctx: Context, ref: string, options: { switch: boolean }): Promise<void> {
  const { steps, driver, config } = ctx
  const sha = await steps.read(`resolve ${ref}`, () => resolveCommit(ctx.repository, ref))
  await ctx.prepare()
  const live = await steps.read('find the live colour', () => driver.live())
  const idle = live ? otherColour(live.colour) : 'blue'
  const hosts = await steps.read(`find ${idle}'s hosts`, () => driver.hosts(idle))
  if (hosts.length === 0) throw new DeployError(`${idle} has no hosts`)
  const releaseId = releaseIdOf(sha)
  steps.say(
    `release ${releaseId} (${sha.slice(0, 12)}) to ${idle} [${hosts.join(', ')}]; ${live ? `${live.colour} stays live until a switch` : 'nothing is live yet'}`,
  )
  // The idle colour is what a rollback goes back to: say when this release takes that away.
  const replaced = live
    ? await steps.read(`check what ${idle} runs`, () => runningRelease(ctx, idle).catch(() => null))
    : null
  if (replaced)
    steps.say(`${idle} still runs ${replaced}: after this release, a rollback goes to ${releaseId} instead`)
  const artifact = await steps.run(`build the artifact of ${sha.slice(0, 12)}`, () =>
    buildArtifact({
      repository: ctx.repository,
      sha,
      dir: ctx.workDir,
      say: (line) => steps.say(`  ${line}`),
    }),
  )
  const stored = await steps.run('upload the artifact', async () => {
    if (!artifact) return undefined
    return driver.storeArtifact(releaseId, artifact.file, artifact.sha256)
  })
  const timeoutSeconds = config.DEPLOY_COMMAND_TIMEOUT_SECONDS
  await steps.run(`install on ${idle}`, async () => {
    if (!stored) return ''
    const script = installScript({
      hostRoot: config.DEPLOY_HOST_ROOT,
      releaseId,
      artifact: stored,
      secrets: driver.secretsSource(),
    })
    expectAll('install', await driver.run(idle, script, { timeoutSeconds }))
    return `${hosts.length} hosts, artifact ${artifact ? `${(artifact.bytes / 1e6).toFixed(0)} MB${artifact.reused ? ', reused' : ''}` : ''}`
  })
  await steps.run('apply expand migrations (once, under the migrator lock)', async () => {
    const script = hostScript(
      config.DEPLOY_HOST_ROOT,
      ['migrate', '--release', releaseId, '--phase', 'expand'],
      releaseId,
    )
    const [answer] = expectAll<{ applied: string[]; pending: Array<{ name: string; kind: string }> }>(
      'migrate',
      await driver.run(idle, script, { timeoutSeconds, only: hosts.slice(0, 1) }),
    )
    const waiting = answer?.pending.filter((p) => p.kind === 'contract').map((p) => p.name) ?? []
    return `applied ${answer?.applied.length ?? 0}${answer?.applied.length ? ` (${answer.applied.join(', ')})` : ''}${waiting.length ? `; contract migrations waiting for finish: ${waiting.join(', ')}` : ''}`
  })
  await steps.run(`start ${releaseId} on ${idle}`, async () => {
    const script = hostScript(
      config.DEPLOY_HOST_ROOT,
      [
        'start',
        '--release',
        releaseId,
        '--keep',
        String(config.DEPLOY_KEEP_RELEASES),
        '--ready-timeout',
        String(config.DEPLOY_READY_TIMEOUT_SECONDS),
      ],
      releaseId,
    )
    const answers = expectAll<{ host: string; processes: Array<{ name: string }> }>(
      'start',
      await driver.run(idle, script, { timeoutSeconds }),
    )
    return answers.map((a) => `${a.host}: ${a.processes.length} processes`).join(', ')
  })
  await steps.run(`gate: /health/ready on every ${idle} host`, async () => {
    const running = await runningRelease(ctx, idle)
    if (running !== releaseId) throw new DeployError(`${idle} runs ${running}, not ${releaseId}`)
    return `${hosts.length} of ${hosts.length} ready`
  })
  if (steps.dryRun) {
    ctx.write(
      `  plan: gates through ${driver.colourTarget(idle).name} (timing, site document, JWKS, service read)`,
    )
    if (options.switch)
      ctx.write(`  plan: switch ${driver.stableTarget().name} to ${idle}, then watch both colours`)
    return
  }
  await gates(ctx, idle, releaseId)
  steps.say(`released ${releaseId} to ${idle}${live ? `; ${live.colour} still live` : ''}`)
  if (options.switch) await switchColour(ctx)
}

/** Points api.<domain> at `to` and waits until the stable name serves its release; returns the seconds it took. */
async function moveTraffic(ctx: Context, to: Colour, release: string, note: string): Promise<number> {
  const t0 = performance.now()
  await ctx.driver.pointApiAt(to, note)
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if ((await releaseAt(ctx.driver.stableTarget())) === release) return (performance.now() - t0) / 1000
    await sleep(200)
  }
  throw new DeployError(
    `${ctx.driver.stableTarget().name} still does not serve ${release} 60 s after the DNS edit`,
  )
}

export async function switchColour(ctx: Context): Promise<void> {
  const { steps, driver, config } = ctx
  await ctx.prepare()
  const live = await steps.read('find the live colour', () => driver.live())
  const to = live ? otherColour(live.colour) : 'blue'
  const release = await steps.read(`check ${to} (every host ready, one release)`, () =>
    runningRelease(ctx, to),
  )
  const previous = live
    ? await steps.read(`check ${live.colour}`, () => runningRelease(ctx, live.colour).catch(() => null))
    : null
  await steps.run(
    `check ${driver.colourTarget(to).name} serves ${release}`,
    async () => {
      const reported = await releaseAt(driver.colourTarget(to))
      if (reported !== release)
        throw new DeployError(`${driver.colourTarget(to).name}/health reports ${reported ?? 'nothing'}`)
      return ''
    },
    { readOnly: true },
  )
  await steps.run(`switch ${driver.stableTarget().name} to ${to}`, async () => {
    const seconds = await moveTraffic(ctx, to, release, `switch to ${release}`)
    return `traffic on ${to} after ${seconds.toFixed(1)}s`
  })
  if (steps.dryRun || config.DEPLOY_WATCH_SECONDS === 0) return
  let watched: { rate: number; summary: string } | undefined
  await steps.run(`watch both colours for ${config.DEPLOY_WATCH_SECONDS}s`, async () => {
    watched = await watch(ctx, to, live?.colour, config.DEPLOY_WATCH_SECONDS)
    return watched.summary
  })
  if (!watched || watched.rate <= config.DEPLOY_WATCH_MAX_ERROR_RATE) return
  if (!live || !previous) {
    // Nothing to go back to (the first deploy, or the other colour is down): say so, loudly.
    throw new DeployError(
      `${to} failed the watch (error rate ${(watched.rate * 100).toFixed(1)} %) and no other colour is ready to take the traffic back: ${to} stays live`,
    )
  }
  const rate = (watched.rate * 100).toFixed(1)
  await steps.run(`roll back to ${live.colour}: ${to}'s error rate ${rate} %`, async () => {
    const seconds = await moveTraffic(ctx, live.colour, previous, `automatic rollback from ${release}`)
    return `traffic on ${live.colour} after ${seconds.toFixed(1)}s`
  })
  throw new DeployError(`${to} failed the watch and traffic is back on ${live.colour}`)
}

/** Probes every second; the new colour's error rate is its failed probes plus real traffic's 5xx where visible. */
async function watch(ctx: Context, live: Colour, old: Colour | undefined, seconds: number) {
  const { driver } = ctx
  const probes = new Map<string, { ok: number; failed: number }>()
  const count = async (target: Target, path: string, good: (status: number) => boolean) => {
    const entry = probes.get(target.name) ?? { ok: 0, failed: 0 }
    probes.set(target.name, entry)
    try {
      const answer = await get(target, path, { timeoutMs: 3000 })
      if (good(answer.status)) entry.ok++
      else entry.failed++
    } catch {
      entry.failed++
    }
  }
  const before = await driver.trafficErrors?.(live).catch(() => undefined)
  const deadline = Date.now() + seconds * 1000
  while (Date.now() < deadline) {
    const round = sleep(1000)
    await Promise.all([
      count(driver.stableTarget(), '/health', (s) => s === 200),
      count(driver.colourTarget(live), '/health/ready', (s) => s === 200),
      ...(old ? [count(driver.colourTarget(old), '/health/ready', (s) => s === 200)] : []),
    ])
    await round
  }
  const after = await driver.trafficErrors?.(live).catch(() => undefined)
  const mine = probes.get(driver.colourTarget(live).name) ?? { ok: 0, failed: 0 }
  const stable = probes.get(driver.stableTarget().name) ?? { ok: 0, failed: 0 }
  const traffic =
    before && after
      ? { requests: after.requests - before.requests, errors: after.errors - before.errors }
      : undefined
  const failed = mine.failed + stable.failed + (traffic?.errors ?? 0)
  const total = mine.ok + mine.failed + stable.ok + stable.failed + (traffic?.requests ?? 0)
  const rate = total > 0 ? failed / total : 0
  const parts = [...probes].map(([name, p]) => `${name} ${p.ok}/${p.ok + p.failed} probes ok`)
  if (traffic) parts.push(`${live} traffic ${traffic.errors} errors in ${traffic.requests} requests`)
  else parts.push('traffic errors: not visible to this driver (see NewRelic)')
  return { rate, summary: `${parts.join('; ')}; error rate ${(rate * 100).toFixed(2)} %` }
}

export async function rollback(ctx: Context): Promise<void> {
  const { steps, driver } = ctx
  const live = await steps.read('find the live colour', () => driver.live())
  if (!live) throw new DeployError('nothing is live: there is nothing to roll back')
  await ctx.prepare()
  const to = otherColour(live.colour)
  const release = await steps.read(`check ${to} still runs its release`, () =>
    runningRelease(ctx, to).catch((error: Error) => {
      throw new DeployError(
        `cannot roll back to ${to}: ${error.message} (after finish the old colour is stopped; release to it instead)`,
      )
    }),
  )
  await steps.run(`roll ${driver.stableTarget().name} back to ${to} (${release})`, async () => {
    const seconds = await moveTraffic(ctx, to, release, `rollback to ${release}`)
    return `traffic on ${to} after ${seconds.toFixed(1)}s`
  })
  steps.say(`rollback: ${steps.total().toFixed(1)}s from the command to traffic moved`)
}

export async function finish(ctx: Context, options: { now: boolean }): Promise<void> {
  const { steps, driver, config } = ctx
  const live = await steps.read('find the live colour', () => driver.live())
  if (!live) throw new DeployError('nothing is live: nothing to finish')
  const old = otherColour(live.colour)
  const liveMinutes = (Date.now() - live.since.getTime()) / 60000
  if (liveMinutes < config.DEPLOY_FINISH_AFTER_MINUTES && !options.now) {
    throw new DeployError(
      `${live.colour} has been live for ${liveMinutes.toFixed(1)} minutes, less than DEPLOY_FINISH_AFTER_MINUTES (${config.DEPLOY_FINISH_AFTER_MINUTES}); wait, or pass --now`,
    )
  }
  await ctx.prepare()
  const release = await steps.read(`check ${live.colour} (every host ready)`, () =>
    runningRelease(ctx, live.colour),
  )
  const hosts = await driver.hosts(live.colour)
  // The old colour stops first: its processes (API and job workers) may use what the contract migrations remove.
  await steps.run(`stop ${old}'s processes (hosts kept for the next release)`, async () => {
    const answers = expectAll<{ stopped: string | null }>(
      'stop',
      await driver.run(old, hostScript(config.DEPLOY_HOST_ROOT, ['stop']), { timeoutSeconds: 300 }),
    )
    return answers.map((a) => `${a.stopped ?? 'nothing running'}`).join(', ')
  })
  await steps.run('apply contract migrations', async () => {
    const script = hostScript(
      config.DEPLOY_HOST_ROOT,
      ['migrate', '--release', release, '--phase', 'all'],
      release,
    )
    const [answer] = expectAll<{ applied: string[] }>(
      'migrate',
      await driver.run(live.colour, script, {
        timeoutSeconds: config.DEPLOY_COMMAND_TIMEOUT_SECONDS,
        only: hosts.slice(0, 1),
      }),
    )
    return answer?.applied.length ? `applied ${answer.applied.join(', ')}` : 'none pending'
  })
  steps.say(`finished: ${live.colour} runs ${release}; ${old} is stopped and ready for the next release`)
}
