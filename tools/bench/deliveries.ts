/**
 * `npm run bench:deliveries`: how fast lead deliveries drain. Queues N webhook deliveries
 * (default 10,000) for a local receiver on 127.0.0.1, starts W job worker processes (default 2,
 * apps/api/src/worker.ts, as PM2 runs them) and reports deliveries per second and the time to
 * drain the queue. Informational only: never a CI gate.
 *
 * Database: `nudge_bench_deliveries` on DATABASE_URL's server, or postgres://postgres@127.0.0.1:5432.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { attemptJob, DELIVERY_JOB } from '@nudge/api/src/modules/integrations/delivery-attempts.ts'
import {
  DEV_SECRETS_KEYRING,
  encryptSecret,
  parseKeyring,
} from '@nudge/api/src/modules/integrations/secrets.ts'
import { generateWebhookSecret } from '@nudge/api/src/modules/integrations/webhook-signing.ts'
import { buildApp } from '@nudge/api/src/server.ts'
import { loadConfig } from '@nudge/config'
import { newId } from '@nudge/db'
import { sql } from 'kysely'
import { prepareDatabase } from '../dev/database.ts'

const { values } = parseArgs({
  options: {
    deliveries: { type: 'string', default: '10000' },
    workers: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '10' },
    help: { type: 'boolean', default: false },
  },
})
if (values.help) {
  process.stdout.write(`usage: npm run bench:deliveries -- [--deliveries 10000] [--workers 2] [--concurrency 10]
Queues webhook deliveries for a local receiver, runs job worker processes, reports deliveries/s.
`)
  process.exit(0)
}
const COUNT = Number(values.deliveries)
const WORKERS = Number(values.workers)
const root = path.resolve(import.meta.dirname, '../..')
const server = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const DATABASE_URL = await prepareDatabase(server, 'nudge_bench_deliveries')

// A receiver that answers at once, as a healthy customer endpoint would.
let received = 0
const receiver = createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    received++
    res.end('ok')
  })
})
receiver.listen(0, '127.0.0.1')
await once(receiver, 'listening')
const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`

const env = {
  NODE_ENV: 'development',
  DATABASE_URL,
  DEV_MAILBOX: 'true',
  LOG_LEVEL: 'warn',
  OUTBOUND_ALLOW_LOOPBACK: 'true',
  LOAD_SHED_EVENT_LOOP_DELAY_MS: '0',
  WORKER_CONCURRENCY: values.concurrency,
  JOBS_POLL_SECONDS: '0.5',
  SUPERTOKENS_CONNECTION_URI: 'http://127.0.0.1:1',
}
const config = loadConfig(env)
const app = await buildApp(config)
await app.ready()
await sql`TRUNCATE integration_deliveries, integrations CASCADE`.execute(app.db)
await app.jobs.ready
await app.jobs.boss.deleteAllJobs(DELIVERY_JOB)
const team = await app.db
  .insertInto('teams')
  .values({ id: newId(), name: 'bench' } as never)
  .returning('id')
  .executeTakeFirstOrThrow()
const keyring = parseKeyring(DEV_SECRETS_KEYRING)
const integration = await app.db
  .insertInto('integrations')
  .values({
    id: newId(),
    team_id: team.id,
    kind: 'webhook',
    name: 'bench receiver',
    url,
    secret: encryptSecret(keyring, JSON.stringify({ current: generateWebhookSecret() })),
    secret_last4: 'xxxx',
  })
  .returning('id')
  .executeTakeFirstOrThrow()
const payload = JSON.stringify({
  type: 'lead.created',
  timestamp: new Date().toISOString(),
  data: { email: 'x@example.com' },
})
for (let offset = 0; offset < COUNT; offset += 1000) {
  const rows = Array.from({ length: Math.min(1000, COUNT - offset) }, () => ({
    id: newId(),
    team_id: team.id,
    integration_id: integration.id,
    event: 'lead.created' as const,
    status: 'pending' as const,
    payload,
  }))
  await app.db.insertInto('integration_deliveries').values(rows).execute()
  await app.jobs.insert(
    DELIVERY_JOB,
    rows.map((row) => attemptJob({ id: row.id, attempts: 0 })),
  )
}
process.stdout.write(`queued ${COUNT} deliveries for ${url}; starting ${WORKERS} worker process(es)\n`)

const started = performance.now()
const workers: ChildProcess[] = []
for (let i = 0; i < WORKERS; i++) {
  const child = spawn(process.execPath, [path.join(root, 'apps/api/src/worker.ts')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  workers.push(child)
}
const deadline = Date.now() + 10 * 60 * 1000
let done = 0
while (Date.now() < deadline) {
  const row = await app.db
    .selectFrom('integration_deliveries')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('status', '=', 'succeeded')
    .executeTakeFirstOrThrow()
  done = row.n
  if (done >= COUNT) break
  await new Promise((resolve) => setTimeout(resolve, 200))
}
const seconds = (performance.now() - started) / 1000
for (const child of workers) child.kill('SIGTERM')
await Promise.all(workers.map((child) => once(child, 'exit')))
await app.close()
receiver.close()
process.stdout.write(
  `${done}/${COUNT} delivered in ${seconds.toFixed(1)} s (workers started included): ` +
    `${(done / seconds).toFixed(0)} deliveries/s with ${WORKERS} worker process(es), ` +
    `concurrency ${values.concurrency} each; receiver saw ${received} requests\n`,
)
process.exit(done >= COUNT ? 0 : 1)
