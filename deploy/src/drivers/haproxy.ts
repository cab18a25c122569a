import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { COLOURS, type Colour } from '../driver.ts'
import { sleep } from '../http.ts'
import { type Finished, run } from '../process.ts'
import { DeployError } from '../steps.ts'

/**
 * HAProxy (Debian's package) playing Cloudflare for the local driver: `api.<domain>` (and any other
 * Host) goes to the live colour, `blue.api.<domain>` and `green.api.<domain>` to their own colour.
 * A switch rewrites the config and reloads it gracefully: HAProxy runs in master-worker mode, the
 * new worker takes the listening socket over from the old one (no connection refused), and
 * `idle-close-on-response` makes the old worker answer the next request on each idle keep-alive
 * connection with `Connection: close` instead of dropping it (no request lost mid-reload).
 * HAProxy over nginx, whose reload closes idle keep-alive connections at once (a client sending on
 * one at that instant gets a reset), and over Caddy, which Debian ships at an older major version.
 */
export class LocalHaproxy {
  private readonly dir: string
  private readonly domain: string
  private readonly port: number
  private readonly servers: Record<Colour, number[]>
  private readonly configFile: string
  private readonly pidFile: string
  private readonly adminSocket: string

  constructor(dir: string, domain: string, port: number, servers: Record<Colour, number[]>) {
    this.dir = dir
    this.domain = domain
    this.port = port
    this.servers = servers
    this.configFile = path.join(dir, 'haproxy.cfg')
    this.pidFile = path.join(dir, 'haproxy.pid')
    this.adminSocket = path.join(dir, 'admin.sock')
  }

  config(live: Colour | null): string {
    const backends = COLOURS.map(
      (colour) => `backend ${colour}
    option redispatch 1
${this.servers[colour].map((port, i) => `    server ${colour}-${i + 1} 127.0.0.1:${port}`).join('\n')}
`,
    ).join('\n')
    return `# Written by npm run deploy (local driver); a switch rewrites it and reloads HAProxy.
global
    pidfile ${this.pidFile}
    stats socket ${this.adminSocket} mode 600 level admin expose-fd listeners
    hard-stop-after 60s
    maxconn 4096

defaults
    mode http
    timeout connect 3s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 30s
    option http-keep-alive
    option idle-close-on-response
    option forwardfor
    retries 3
    retry-on conn-failure empty-response

frontend api
    bind 127.0.0.1:${this.port}
    http-request set-var(txn.host) req.hdr(host),field(1,:),lower
    use_backend blue if { var(txn.host) -m str blue.api.${this.domain} }
    use_backend green if { var(txn.host) -m str green.api.${this.domain} }
    default_backend ${live ?? 'none'}

${backends}
backend none
    http-request return status 503 content-type text/plain string "no colour is live yet"
`
  }

  /** The master's pid when HAProxy runs, else null. */
  async pid(): Promise<number | null> {
    const pid = Number((await readFile(this.pidFile, 'utf8').catch(() => '')).trim())
    if (!(pid > 0)) return null
    try {
      process.kill(pid, 0)
      return pid
    } catch {
      return null
    }
  }

  /** Writes the config for `live`, checks it, then starts HAProxy or reloads it gracefully. */
  async apply(live: Colour | null): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    const next = `${this.configFile}.next`
    await writeFile(next, this.config(live))
    const check = await run('haproxy', ['-c', '-q', '-f', next], { timeoutMs: 10000 })
    if (check.code !== 0) throw new DeployError(`HAProxy refused the new config: ${haproxyProblem(check)}`)
    await rename(next, this.configFile)
    const pid = await this.pid()
    if (pid) {
      const before = await this.workerPid()
      process.kill(pid, 'SIGUSR2')
      // Reloaded once a new worker answers on the admin socket.
      const deadline = Date.now() + 10000
      while (Date.now() < deadline) {
        const now = await this.workerPid()
        if (now && now !== before) return
        await sleep(50)
      }
      throw new DeployError('HAProxy did not reload within 10 s')
    }
    const started = await run('haproxy', ['-W', '-D', '-f', this.configFile, '-p', this.pidFile], {
      timeoutMs: 10000,
    })
    if (started.code !== 0) throw new DeployError(`HAProxy did not start: ${haproxyProblem(started)}`)
    const deadline = Date.now() + 10000
    while (Date.now() < deadline) {
      if (await this.workerPid()) return
      await sleep(50)
    }
    throw new DeployError(`HAProxy started but does not answer on ${this.adminSocket}`)
  }

  private async workerPid(): Promise<number | null> {
    const info = await this.admin('show info').catch(() => '')
    const pid = Number(/^Pid: (\d+)$/m.exec(info)?.[1])
    return pid > 0 ? pid : null
  }

  /** One command on the admin socket (served by the current worker). */
  admin(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      if (!existsSync(this.adminSocket)) {
        reject(new Error('no admin socket'))
        return
      }
      const socket = net.connect(this.adminSocket)
      let out = ''
      socket.setTimeout(3000, () => socket.destroy(new Error('admin socket timed out')))
      socket.on('connect', () => socket.end(`${command}\n`))
      socket.on('data', (chunk) => {
        out += chunk
      })
      socket.on('end', () => resolve(out))
      socket.on('error', reject)
    })
  }

  /** Requests and 5xx answers per colour's backend, counted by the current worker since it started. */
  async traffic(colour: Colour): Promise<{ requests: number; errors: number }> {
    const csv = await this.admin('show stat')
    const [header = '', ...rows] = csv.replace(/^# /, '').trim().split('\n')
    const columns = header.split(',')
    const at = (row: string[], name: string) => Number(row[columns.indexOf(name)] ?? 0) || 0
    for (const line of rows) {
      const row = line.split(',')
      if (row[0] === colour && row[1] === 'BACKEND') {
        const requests = ['hrsp_1xx', 'hrsp_2xx', 'hrsp_3xx', 'hrsp_4xx', 'hrsp_5xx', 'hrsp_other'].reduce(
          (sum, name) => sum + at(row, name),
          0,
        )
        return { requests, errors: at(row, 'hrsp_5xx') + at(row, 'econ') + at(row, 'eresp') }
      }
    }
    return { requests: 0, errors: 0 }
  }

  /** Soft stop (in-flight requests finish), then a hard one after a few seconds. */
  async stop(): Promise<void> {
    const pid = await this.pid()
    if (!pid) return
    process.kill(pid, 'SIGUSR1')
    const deadline = Date.now() + 5000
    while (Date.now() < deadline) {
      if (!(await this.pid())) return
      await sleep(100)
    }
    try {
      process.kill(pid, 'SIGTERM')
    } catch {
      // gone
    }
  }
}

function haproxyProblem(finished: Finished): string {
  return finished.code === 127
    ? 'haproxy is not installed (apt-get install haproxy)'
    : `${finished.stdout}${finished.stderr}`.trim()
}
