import { existsSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseEnv } from 'node:util'
import type { DeployConfig } from '../config.ts'
import { COLOURS, type Colour, type Driver, type HostRun, type LiveColour } from '../driver.ts'
import type { Target } from '../http.ts'
import { run } from '../process.ts'
import { DeployError } from '../steps.ts'
import { LocalHaproxy } from './haproxy.ts'

/**
 * This machine plays both colours and the edge. A host is a directory under
 * DEPLOY_LOCAL_DIR/hosts (its own host.env, releases/, current and PM2 daemon), each colour's hosts
 * listen on their own ports, and HAProxy plays api.<domain> and the colour subdomains. Scripts run
 * with bash in the host's directory with a bare environment, as SSM would run them on a real host.
 */
export class LocalDriver implements Driver {
  readonly name = 'local' as const
  private readonly dir: string
  private readonly proxy: LocalHaproxy
  private readonly envFile: string
  private readonly config: DeployConfig

  constructor(config: DeployConfig) {
    this.config = config
    this.dir = path.resolve(config.DEPLOY_LOCAL_DIR)
    this.envFile = path.resolve(config.DEPLOY_LOCAL_ENV_FILE ?? path.join(this.dir, 'release.env'))
    this.proxy = new LocalHaproxy(
      path.join(this.dir, 'proxy'),
      config.DEPLOY_DOMAIN,
      config.DEPLOY_LOCAL_PROXY_PORT,
      {
        blue: this.ports('blue'),
        green: this.ports('green'),
      },
    )
  }

  private ports(colour: Colour): number[] {
    const first = colour === 'blue' ? this.config.DEPLOY_LOCAL_BLUE_PORT : this.config.DEPLOY_LOCAL_GREEN_PORT
    return Array.from({ length: this.config.DEPLOY_LOCAL_HOSTS }, (_, i) => first + i)
  }

  describe(): string {
    return `local: hosts in ${this.dir}/hosts, HAProxy on 127.0.0.1:${this.config.DEPLOY_LOCAL_PROXY_PORT}, release environment ${this.envFile}`
  }

  async hosts(colour: Colour): Promise<string[]> {
    return this.ports(colour).map((_, i) => `${colour}-${i + 1}`)
  }

  /** Provisions the local hosts (what the runbook does once for EC2) and starts the proxy. */
  async prepare(): Promise<void> {
    for (const colour of COLOURS) {
      for (const [i, port] of this.ports(colour).entries()) {
        const root = path.join(this.dir, 'hosts', `${colour}-${i + 1}`)
        await mkdir(root, { recursive: true })
        const hostEnv = `# Written by the local driver: what differs per host.
PORT=${port}
HOST=127.0.0.1
PM2_INSTANCES=${process.env.DEPLOY_LOCAL_PM2_INSTANCES ?? '2'}
PM2_WORKER_INSTANCES=1
`
        await writeFile(path.join(root, 'host.env'), hostEnv)
      }
    }
    if (!(await this.proxy.pid())) await this.proxy.apply((await this.live())?.colour ?? null)
  }

  run(
    colour: Colour,
    script: string,
    options: { timeoutSeconds: number; only?: string[] },
  ): Promise<HostRun[]> {
    return this.hosts(colour).then((hosts) =>
      Promise.all(
        hosts
          .filter((host) => !options.only || options.only.includes(host))
          .map((host) => this.runOn(host, script, options.timeoutSeconds)),
      ),
    )
  }

  private async runOn(host: string, script: string, timeoutSeconds: number): Promise<HostRun> {
    const root = path.join(this.dir, 'hosts', host)
    const finished = await run('bash', ['-c', script], {
      cwd: root,
      // What a host has: no operator environment (DATABASE_URL and friends come from the release environment).
      env: {
        PATH: '/usr/local/bin:/usr/bin:/bin',
        HOME: root,
        LANG: 'C.UTF-8',
        NUDGE_HOST_ROOT: root,
        NUDGE_HOST_NAME: host,
      },
      timeoutMs: timeoutSeconds * 1000,
    })
    return { host, exitCode: finished.code, stdout: finished.stdout, stderr: finished.stderr }
  }

  async storeArtifact(_releaseId: string, file: string, sha256: string) {
    return { url: pathToFileURL(file).href, sha256 }
  }

  secretsSource(): string {
    return `file:${this.envFile}`
  }

  async secret(name: string): Promise<string | undefined> {
    if (!existsSync(this.envFile))
      throw new DeployError(`the release environment ${this.envFile} does not exist`)
    return (parseEnv(await readFile(this.envFile, 'utf8')) as Record<string, string>)[name]
  }

  private get liveFile() {
    return path.join(this.dir, 'proxy', 'live.json')
  }

  async live(): Promise<LiveColour | null> {
    const text = await readFile(this.liveFile, 'utf8').catch(() => '')
    if (!text) return null
    const { colour, since } = JSON.parse(text) as { colour: Colour; since: string }
    return { colour, since: new Date(since) }
  }

  async pointApiAt(colour: Colour, note: string): Promise<void> {
    await this.proxy.apply(colour)
    await writeFile(this.liveFile, `${JSON.stringify({ colour, since: new Date().toISOString(), note })}\n`)
  }

  colourTarget(colour: Colour): Target {
    const name = `${colour}.api.${this.config.DEPLOY_DOMAIN}`
    return { name, url: `http://127.0.0.1:${this.config.DEPLOY_LOCAL_PROXY_PORT}`, host: name }
  }

  stableTarget(): Target {
    const name = `api.${this.config.DEPLOY_DOMAIN}`
    return { name, url: `http://127.0.0.1:${this.config.DEPLOY_LOCAL_PROXY_PORT}`, host: name }
  }

  trafficErrors(colour: Colour) {
    return this.proxy.traffic(colour)
  }

  async lock(owner: string): Promise<() => Promise<void>> {
    await mkdir(this.dir, { recursive: true })
    const file = path.join(this.dir, 'deploy.lock')
    const body = JSON.stringify({ owner, pid: process.pid, at: new Date().toISOString() })
    try {
      await writeFile(file, body, { flag: 'wx' })
    } catch {
      const held = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as {
        owner?: string
        pid?: number
        at?: string
      }
      let alive = false
      try {
        if (held.pid) process.kill(held.pid, 0)
        alive = Boolean(held.pid)
      } catch {
        alive = false
      }
      if (alive)
        throw new DeployError(
          `another deploy holds the lock: ${held.owner} since ${held.at} (pid ${held.pid})`,
        )
      await writeFile(file, body) // its process is gone: take it over
    }
    return () => rm(file, { force: true })
  }

  /** Stops every local host's processes and the proxy (the rehearsal's cleanup). */
  async teardown(): Promise<void> {
    const stop = `R="$NUDGE_HOST_ROOT"; REL="$(readlink -f "$R/current" 2>/dev/null || true)"
if [ -n "$REL" ] && [ -x "$REL/node_modules/.bin/pm2" ]; then PM2_HOME="$R/pm2" PATH="$REL/node_modules/.bin:$PATH" pm2 kill >/dev/null 2>&1 || true; fi`
    for (const colour of COLOURS) await this.run(colour, stop, { timeoutSeconds: 60 })
    await this.proxy.stop()
  }

  async close(): Promise<void> {}
}
