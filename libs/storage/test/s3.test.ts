import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3'
import { contentEtag, createStorage, type StorageAdapter, StorageFailed } from '@nudge/storage'
import t, { type Test } from 'tap'
import {
  ACCESS_KEY_ID,
  BUCKET,
  closedPort,
  listed,
  SECRET_ACCESS_KEY,
  s3Config,
  silentServer,
  startS3Server,
} from './helpers.ts'

function s3Storage(t: Test, endpoint: string, overrides: Record<string, string> = {}): StorageAdapter {
  const storage = createStorage(s3Config(endpoint, overrides))
  t.teardown(() => storage.close())
  return storage
}

/** What an operation rejected with, and how long it took. */
async function failure(attempt: () => Promise<unknown>) {
  const started = performance.now()
  const error = await attempt().then(
    () => undefined,
    (e: unknown) => e,
  )
  return {
    error: error as (Error & { statusCode?: number; code?: string }) | undefined,
    ms: performance.now() - started,
  }
}

t.test('content type and cache control are stored with the object', async (t) => {
  const server = await startS3Server(t)
  const storage = s3Storage(t, server.endpoint)
  const content = Buffer.from('{"hostname":"example.com"}')
  await storage.put('domains/example.com.json', content, {
    contentType: 'application/json; charset=utf-8',
    cacheControl: 'public, max-age=60',
  })
  const object = await server.client.send(
    new GetObjectCommand({ Bucket: BUCKET, Key: 'domains/example.com.json' }),
  )
  t.equal(object.ContentType, 'application/json; charset=utf-8')
  t.equal(object.CacheControl, 'public, max-age=60')
  t.equal(await object.Body?.transformToString(), content.toString(), 'the bytes')
  t.equal(object.ETag, `"${contentEtag(content)}"`, 'the server stored the MD5 the adapter reports')

  await storage.put('campaigns/test/c1.json', content, { contentType: 'application/json' })
  const head = await server.client.send(
    new HeadObjectCommand({ Bucket: BUCKET, Key: 'campaigns/test/c1.json' }),
  )
  t.equal(head.ContentType, 'application/json')
  t.equal(head.CacheControl, undefined, 'no cache control unless asked')
})

t.test('requests are signed with the configured access key, path style, in the bucket', async (t) => {
  const server = await startS3Server(t)
  const storage = s3Storage(t, server.endpoint)
  await storage.put('domains/example.com.json', Buffer.from('{}'), { contentType: 'application/json' })
  await storage.etag('domains/example.com.json')
  t.equal(server.requests.length, 2)
  for (const request of server.requests) {
    t.match(
      request.authorization,
      new RegExp(`^AWS4-HMAC-SHA256 Credential=${ACCESS_KEY_ID}/\\d{8}/auto/s3/`),
    )
    t.match(request.url, /^\/nudge-edge\/domains\/example\.com\.json/)
  }
  t.notOk(
    server.requests.some((r) => r.authorization.includes(SECRET_ACCESS_KEY)),
    'the secret itself never travels',
  )
})

t.test('delete sends at most 1000 keys a request', async (t) => {
  const server = await startS3Server(t)
  const storage = s3Storage(t, server.endpoint)
  const keys = Array.from({ length: 1203 }, (_, i) => `campaigns/test/${String(i).padStart(4, '0')}.json`)
  const content = Buffer.from('{}')
  for (let i = 0; i < keys.length; i += 100)
    await Promise.all(
      keys.slice(i, i + 100).map((key) => storage.put(key, content, { contentType: 'application/json' })),
    )
  t.equal(
    (await listed(storage.list('campaigns/test/'))).length,
    keys.length,
    'all written (two pages of 1000)',
  )
  server.requests.length = 0
  await storage.delete([...keys, 'campaigns/test/never-written.json'])
  const deletes = server.requests.filter((r) => r.method === 'POST' && r.url.includes('delete'))
  t.equal(deletes.length, 2, '1204 keys: a request of 1000 and one of 204')
  t.same(await listed(storage.list('campaigns/')), [], 'all gone')
})

t.test(
  'a storage that is down fails fast with StorageFailed, naming the operation, never a secret',
  async (t) => {
    const port = await closedPort()
    const storage = s3Storage(t, `http://127.0.0.1:${port}`)
    const attempts: Array<[string, () => Promise<unknown>, string]> = [
      ['etag', () => storage.etag('domains/example.com.json'), 'etag domains/example.com.json'],
      [
        'put',
        () =>
          storage.put('campaigns/production/c1.json', Buffer.from('{}'), { contentType: 'application/json' }),
        'put campaigns/production/c1.json',
      ],
      ['list', () => listed(storage.list('campaigns/')), 'list campaigns/'],
      [
        'delete',
        () => storage.delete(['campaigns/test/a.json', 'campaigns/test/b.json']),
        'delete campaigns/test/a.json and 1 more',
      ],
    ]
    for (const [operation, attempt, named] of attempts) {
      const { error, ms } = await failure(attempt)
      t.ok(error instanceof StorageFailed, `${operation}: StorageFailed`)
      t.equal(error?.statusCode, 502)
      t.equal(error?.code, 'STORAGE_FAILED')
      t.equal(
        error?.message,
        `Publishing storage failed: ${named}: the storage could not be reached (ECONNREFUSED)`,
      )
      t.ok(ms < 5000, `${operation} failed in ${Math.round(ms)} ms`)
      t.notOk(error?.message.includes(SECRET_ACCESS_KEY), 'no secret key in the message')
      t.notOk(error?.message.includes(String(port)), 'no address in the message')
      t.ok((error as Error & { cause?: unknown }).cause, 'the original error is the cause, for the log')
    }
  },
)

t.test('a storage that accepts connections and never answers fails within seconds', async (t) => {
  const port = await silentServer(t)
  const storage = s3Storage(t, `http://127.0.0.1:${port}`)
  const { error, ms } = await failure(() => storage.etag('domains/example.com.json'))
  t.ok(error instanceof StorageFailed)
  t.equal(
    error?.message,
    'Publishing storage failed: etag domains/example.com.json: the storage did not answer in time',
  )
  t.ok(ms < 10_000, `gave up after ${Math.round(ms)} ms (3 s of silence, one retry)`)
})

/**
 * A storage that answers, but badly: 503 SlowDown to everything, except DeleteObjects, which
 * reports a per-key AccessDenied inside a 200 (as S3 and R2 do). Only what fauxqs cannot do.
 */
async function troubledStorage(t: Test) {
  const seen: string[] = []
  const server = createServer((request: IncomingMessage, response) => {
    seen.push(`${request.method} ${request.url}`)
    request.resume()
    request.on('end', () => {
      if (request.method === 'POST' && request.url?.includes('delete')) {
        response.writeHead(200, { 'content-type': 'application/xml' })
        response.end(
          '<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
            '<Error><Key>campaigns/test/b.json</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>' +
            '<Error><Key>campaigns/test/gone.json</Key><Code>NoSuchKey</Code><Message>gone</Message></Error>' +
            '</DeleteResult>',
        )
        return
      }
      response.writeHead(503, { 'content-type': 'application/xml' })
      response.end(
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
      )
    })
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise((resolve) => server.close(resolve))
  })
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

t.test('a 5xx is retried once, then StorageFailed', async (t) => {
  const troubled = await troubledStorage(t)
  const storage = s3Storage(t, troubled.endpoint)
  const { error, ms } = await failure(() =>
    storage.put('domains/example.com.json', Buffer.from('{}'), { contentType: 'application/json' }),
  )
  t.ok(error instanceof StorageFailed)
  t.equal(
    error?.message,
    'Publishing storage failed: put domains/example.com.json: the storage answered 503 SlowDown',
  )
  t.equal(troubled.seen.length, 2, 'two attempts, no more')
  t.ok(ms < 5000, `in ${Math.round(ms)} ms`)
})

t.test('a key DeleteObjects reports as failed fails the delete; one already gone does not', async (t) => {
  const troubled = await troubledStorage(t)
  const storage = s3Storage(t, troubled.endpoint)
  const { error } = await failure(() =>
    storage.delete(['campaigns/test/a.json', 'campaigns/test/b.json', 'campaigns/test/gone.json']),
  )
  t.ok(error instanceof StorageFailed)
  t.equal(error?.statusCode, 502)
  t.equal(
    error?.message,
    'Publishing storage failed: delete campaigns/test/b.json: the storage refused (AccessDenied)',
  )
})

t.test('a bucket that does not exist is a StorageFailed that says so', async (t) => {
  const server = await startS3Server(t)
  const storage = s3Storage(t, server.endpoint, { S3_BUCKET: 'no-such-bucket' })
  const { error } = await failure(() =>
    storage.put('domains/example.com.json', Buffer.from('{}'), { contentType: 'application/json' }),
  )
  t.ok(error instanceof StorageFailed)
  t.equal(
    error?.message,
    'Publishing storage failed: put domains/example.com.json: the bucket does not exist',
  )
})
