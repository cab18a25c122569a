import { type ChildProcess, spawn } from 'node:child_process'
import path from 'node:path'
import t from 'tap'
import { buildTestApp, storageDir, superTokensCore, testConfig } from './helpers/app.ts'
import { addSite, liveLeadCampaign, personalTeam } from './helpers/campaigns.ts'
import { migratedDatabase } from './helpers/database.ts'
import { eventually, startReceiver } from './helpers/receiver.ts'
import { signInAs } from './helpers/session.ts'

// Worker processes killed with SIGKILL in the middle of deliveries: nothing is lost, and no
// webhook-id is ever delivered with two different payloads.
const LEADS = 30
const root = path.resolve(import.meta.dirname, '../../..')
const DATABASE_URL = await migratedDatabase(t)
const receiver = await startReceiver(t)
const app = await buildTestApp(t, { DATABASE_URL, OUTBOUND_ALLOW_LOOPBACK: 'true', LEAD_MIN_FILL_MS: '0' })
await app.ready()
const ann = await signInAs(app, 'ann@example.com')
const teamId = await personalTeam(app, ann)
const site = await addSite(app, ann, teamId, 'shop.example')
const campaign = await liveLeadCampaign(app, ann, teamId, site.id)
const hook = await app.inject({
  method: 'POST',
  url: `/v1/teams/${teamId}/integrations`,
  headers: ann.headers,
  payload: { kind: 'webhook', name: 'Slow receiver', url: receiver.url },
})
await app.inject({
  method: 'PUT',
  url: `/v1/teams/${teamId}/campaigns/${campaign.id}/integrations/${hook.json().id}`,
  headers: ann.headers,
  payload: {},
})

/** Starts `apps/api/src/worker.ts` as its own process, on the test's database. */
async function startWorker(): Promise<ChildProcess> {
  const config = testConfig({
    DATABASE_URL,
    STORAGE_DIR: await storageDir(t),
    SUPERTOKENS_CONNECTION_URI: await superTokensCore(),
  })
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...Object.fromEntries(
      Object.entries(config).flatMap(([k, v]) =>
        v === undefined ? [] : [[k, typeof v === 'string' ? v : String(v)]],
      ),
    ),
    OUTBOUND_ALLOW_LOOPBACK: 'true',
    WEBHOOK_TIMEOUT_MS: '1000',
    JOBS_SUPERVISE_SECONDS: '1',
    JOBS_POLL_SECONDS: '0.5',
    DELIVERY_RETRY_SCHEDULE: '500ms,500ms,500ms,500ms,500ms',
    LOG_LEVEL: 'warn',
  }
  const child = spawn(process.execPath, [path.join(root, 'apps/api/src/worker.ts')], {
    env,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve())
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready`)))
  })
  return child
}

t.test('a worker SIGKILLed mid-delivery: every lead arrives, each webhook-id with one payload', async (t) => {
  // Slow answers keep deliveries in flight when the worker dies.
  receiver.answer(() => ({ status: 200, delayMs: 300 }))
  for (let n = 0; n < LEADS; n++) {
    const res = await app.inject({
      method: 'POST',
      url: '/public/v1/leads',
      headers: { origin: 'https://shop.example' },
      payload: {
        campaignId: campaign.id,
        variantId: 'a',
        email: `lead${n}@example.com`,
        fields: {},
        hp: '',
        fillMs: 5000,
      },
    })
    t.equal(res.statusCode, 202)
  }
  const first = await startWorker()
  await eventually(async () => receiver.received.length >= 5, 20000, 'the first deliveries')
  first.kill('SIGKILL')
  await new Promise((resolve) => first.once('exit', resolve))
  const orphaned = await app.db
    .selectFrom('integration_deliveries')
    .select('id')
    .where('status', '=', 'delivering')
    .execute()
  t.ok(orphaned.length > 0, `the worker died with ${orphaned.length} deliveries in flight`)
  const second = await startWorker()
  const emails = (body: string) => (JSON.parse(body) as { data: { email: string } }).data.email
  await eventually(
    async () => new Set(receiver.received.map((r) => emails(r.body))).size === LEADS,
    45000,
    `all ${LEADS} leads at the receiver`,
  )
  const rows = await app.db.selectFrom('integration_deliveries').select('status').execute()
  await eventually(
    async () =>
      (
        await app.db
          .selectFrom('integration_deliveries')
          .select('status')
          .where('status', '=', 'succeeded')
          .execute()
      ).length === LEADS,
    20000,
    'every delivery recorded as succeeded',
  )
  t.equal(rows.length, LEADS)
  const byId = new Map<string, Set<string>>()
  for (const request of receiver.received) {
    const id = request.headers['webhook-id'] ?? ''
    byId.set(id, (byId.get(id) ?? new Set()).add(request.body))
  }
  t.equal(byId.size, LEADS, 'one webhook-id per lead')
  const repeated = [...byId.keys()].filter(
    (id) => receiver.received.filter((r) => r.headers['webhook-id'] === id).length > 1,
  )
  t.ok(repeated.length > 0, 'the deliveries in flight were sent again, with the same id')
  t.ok(
    [...byId.values()].every((bodies) => bodies.size === 1),
    'no webhook-id with two different payloads',
  )
  second.kill('SIGTERM')
  await new Promise((resolve) => second.once('exit', resolve))
})

t.test('a worker stopped (pm2 stop/reload) finishes the deliveries in flight before it exits', async (t) => {
  receiver.received.length = 0
  // Slow, but within the worker's WEBHOOK_TIMEOUT_MS (1000).
  receiver.answer(() => ({ status: 200, delayMs: 800 }))
  for (let n = 0; n < 5; n++) {
    await app.inject({
      method: 'POST',
      url: '/public/v1/leads',
      headers: { origin: 'https://shop.example' },
      payload: {
        campaignId: campaign.id,
        variantId: 'a',
        email: `graceful${n}@example.com`,
        fields: {},
        fillMs: 5000,
      },
    })
  }
  const worker = await startWorker()
  await eventually(async () => receiver.received.length >= 1, 20000, 'deliveries in flight')
  worker.kill('SIGTERM')
  await new Promise((resolve) => worker.once('exit', resolve))
  const rows = await app.db
    .selectFrom('integration_deliveries')
    .innerJoin('leads', 'leads.id', 'integration_deliveries.lead_id')
    .select(['integration_deliveries.id', 'integration_deliveries.status'])
    .where('leads.email', 'like', 'graceful%')
    .execute()
  t.equal(rows.filter((row) => row.status === 'delivering').length, 0, 'nothing left half done')
  const sent = new Set(receiver.received.map((r) => r.headers['webhook-id']))
  t.ok(sent.size >= 1)
  t.ok(
    rows.filter((row) => sent.has(`msg_${row.id}`)).every((row) => row.status === 'succeeded'),
    'every delivery that was sent is recorded as delivered',
  )
  const next = await startWorker()
  await eventually(
    async () =>
      (
        await app.db
          .selectFrom('integration_deliveries')
          .innerJoin('leads', 'leads.id', 'integration_deliveries.lead_id')
          .select('integration_deliveries.status')
          .where('leads.email', 'like', 'graceful%')
          .where('integration_deliveries.status', '=', 'succeeded')
          .execute()
      ).length === 5,
    20000,
    'the rest delivered by the next worker',
  )
  t.equal(receiver.received.length, 5, 'each lead sent once: nothing lost, nothing repeated')
  next.kill('SIGTERM')
  await new Promise((resolve) => next.once('exit', resolve))
})
