import path from 'node:path'
import { GetObjectCommand } from '@aws-sdk/client-s3'
import { configPlugin } from '@nudge/config'
import { loggingPlugin } from '@nudge/logging'
import { type ObjectStorage, storagePlugin } from '@nudge/storage'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import { BUCKET, folderConfig, s3Config, startS3Server } from './helpers.ts'

async function appWith(t: Test, config: ReturnType<typeof folderConfig>) {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(configPlugin, { config })
  await app.register(loggingPlugin)
  await app.register(storagePlugin)
  await app.ready()
  return app
}

t.test(
  'the default config publishes to the STORAGE_DIR folder, resolved against the working directory',
  async (t) => {
    const app = await appWith(t, folderConfig('.data/published'))
    t.equal(app.storage.description, `folder ${path.resolve(process.cwd(), '.data/published')}`)
  },
)

t.test('with S3_BUCKET set, app.storage is that bucket, and writes reach it', async (t) => {
  const server = await startS3Server(t)
  const app = await appWith(t, s3Config(server.endpoint))
  const storage: ObjectStorage = app.storage
  t.equal(storage.description, `s3 bucket ${BUCKET} at ${server.endpoint}`)
  await storage.put('domains/example.com.json', Buffer.from('{"ok":true}'), {
    contentType: 'application/json',
  })
  const object = await server.client.send(
    new GetObjectCommand({ Bucket: BUCKET, Key: 'domains/example.com.json' }),
  )
  t.equal(await object.Body?.transformToString(), '{"ok":true}')
  await app.close()
  t.pass('the app closes with the storage client')
})

t.test('the description never carries credentials, even ones written into the endpoint', async (t) => {
  const app = await appWith(
    t,
    s3Config('https://key-in-url:secret-in-url@account.eu.r2.cloudflarestorage.com', {
      S3_FORCE_PATH_STYLE: 'false',
    }),
  )
  t.equal(app.storage.description, `s3 bucket ${BUCKET} at https://account.eu.r2.cloudflarestorage.com`)
})

t.test('the plugin needs config and logging registered first', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(configPlugin, { config: folderConfig('.data/published') })
  await t.rejects(async () => {
    await app.register(storagePlugin)
    await app.ready()
  }, /logging/)
})
