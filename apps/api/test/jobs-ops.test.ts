import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { signServiceToken } from '@nudge/auth'
import { DEV_SERVICE_JWT_SECRET } from '@nudge/config'
import { newId } from '@nudge/db'
import t from 'tap'
import { depsOf } from '../src/deps.ts'
import { decryptSecret, encryptSecret, keyIdOf, parseKeyring } from '../src/modules/integrations/secrets.ts'
import { reencryptSecrets } from '../src/modules/integrations/secrets-rotation.ts'
import { buildTestApp } from './helpers/app.ts'

const run = promisify(execFile)
const cli = path.resolve(import.meta.dirname, '../src/cli/jobs.ts')
const K1 = `k1:${Buffer.alloc(32, 1).toString('base64')}`
const K2 = `k2:${Buffer.alloc(32, 2).toString('base64')}`
const app = await buildTestApp(t, { SECRETS_ENCRYPTION_KEYS: `${K2},${K1}` })
await app.ready()
await app.jobs.ready
const env = { ...process.env, DATABASE_URL: app.config.DATABASE_URL, LOG_LEVEL: 'warn' }

t.test('GET /internal/v1/jobs: each queue for a service token, nothing for anyone else', async (t) => {
  await app.jobs.send('integrations.notice', { integrationId: newId(), status: 'paused', reason: 'x' })
  const res = await app.inject({
    url: '/internal/v1/jobs',
    headers: { authorization: `Bearer ${signServiceToken(DEV_SERVICE_JWT_SECRET, 'cron', 60)}` },
  })
  t.equal(res.statusCode, 200)
  const notice = res.json().queues.find((q: { name: string }) => q.name === 'integrations.notice')
  t.match(notice, { waiting: 1, deadLetter: 'integrations.notice.dead' })
  t.ok(
    res.json().queues.some((q: { name: string }) => q.name === 'deliveries.attempt.dead'),
    'dead letters listed',
  )
  t.equal((await app.inject({ url: '/internal/v1/jobs' })).statusCode, 401)
})

t.test(
  'the database down since start-up: a fast 503, never a request hanging behind the queue',
  async (t) => {
    const cut = await buildTestApp(t, { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nudge' })
    await cut.ready()
    const started = Date.now()
    const res = await cut.inject({
      url: '/internal/v1/jobs',
      headers: { authorization: `Bearer ${signServiceToken(DEV_SERVICE_JWT_SECRET, 'cron', 60)}` },
    })
    t.equal(res.statusCode, 503)
    t.equal(res.json().code, 'JOBS_UNAVAILABLE')
    t.ok(Date.now() - started < 3000, `answered in ${Date.now() - started} ms`)
  },
)

t.test('npm run jobs: list, failed, retry, redrive', async (t) => {
  const listed = await run(process.execPath, [cli, 'list'], { env })
  t.match(listed.stdout, /deliveries\.attempt\s+0/)
  t.match(listed.stdout, /integrations\.notice\s+1/)
  const help = await run(process.execPath, [cli, '--help'], { env })
  t.match(help.stdout, /redrive/)
  // A job out of retries lands in its dead-letter queue; redrive moves it back.
  const id = await app.jobs.boss.send('integrations.notice.dead', { integrationId: 'x' })
  t.ok(id)
  const redrove = await run(process.execPath, [cli, 'redrive', 'integrations.notice.dead'], { env })
  t.match(redrove.stdout, /redrove \d+ job/)
  const wrong = await run(process.execPath, [cli, 'redrive', 'integrations.notice'], { env }).catch(
    (error: { code: number; stderr: string }) => error,
  )
  t.match(wrong, { code: 1, stderr: /not a dead-letter queue/ })
  const unknown = await run(process.execPath, [cli, 'explode'], { env }).catch(
    (error: { code: number }) => error,
  )
  t.equal((unknown as { code: number }).code, 2)
})

t.test('a new encryption key: stored secrets move to it and stay readable', async (t) => {
  const team = await app.db
    .insertInto('teams')
    .values({ id: newId(), name: 'keys' } as never)
    .returning('id')
    .executeTakeFirstOrThrow()
  const old = parseKeyring(K1)
  const id = newId()
  await app.db
    .insertInto('integrations')
    .values({
      id,
      team_id: team.id,
      kind: 'mailerlite',
      name: 'old key',
      secret: encryptSecret(old, 'the-api-key'),
      secret_last4: '-key',
    })
    .execute()
  const deps = depsOf(app, 'integrations')
  t.equal(await reencryptSecrets(deps), 1)
  const row = await app.db
    .selectFrom('integrations')
    .select('secret')
    .where('id', '=', id)
    .executeTakeFirstOrThrow()
  t.equal(keyIdOf(row.secret), 'k2')
  t.equal(decryptSecret(parseKeyring(K2), row.secret), 'the-api-key', 'readable with the new key alone')
  t.equal(await reencryptSecrets(deps), 0, 'nothing left to move')
})
