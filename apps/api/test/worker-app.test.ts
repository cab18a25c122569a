import t from 'tap'
import { buildWorker } from '../src/worker-app.ts'
import { buildTestApp, storageDir, superTokensCore, testConfig } from './helpers/app.ts'
import { migratedDatabase } from './helpers/database.ts'

// The job worker process builds the layers and the job plugins only (worker-app.ts), not the
// API. A job a module defines in the API but the worker does not would wait in its queue forever.
const DATABASE_URL = await migratedDatabase(t)
const api = await buildTestApp(t, { DATABASE_URL })
const worker = await buildWorker(
  testConfig({
    DATABASE_URL,
    STORAGE_DIR: await storageDir(t),
    SUPERTOKENS_CONNECTION_URI: await superTokensCore(),
  }),
)
t.teardown(() => worker.close())

t.test('the worker runs every job the API defines', async (t) => {
  t.ok(api.jobs.names.length > 0)
  t.same([...worker.jobs.names].sort(), [...api.jobs.names].sort())
})

t.test('the worker serves nothing: no routes, no sign-in', async (t) => {
  await worker.ready()
  const answer = await worker.inject({ method: 'GET', url: '/health' })
  t.equal(answer.statusCode, 404)
  t.notOk(worker.hasDecorator('authenticate'))
})
