import { contentEtag, createStorage, type StorageAdapter, StorageFailed } from '@nudge/storage'
import t, { type Test } from 'tap'
import { folderConfig, listed, type SeenRequest, s3Config, startS3Server, tempDir } from './helpers.ts'

/**
 * The same behaviour from both adapters, each against what really stores the objects: a temp
 * folder, and a real S3-compatible server on loopback driven by the AWS SDK.
 */
interface Subject {
  storage: StorageAdapter
  /** The S3 requests the server has seen (none for the folder). */
  requests: SeenRequest[]
}

const adapters: Record<string, (t: Test) => Promise<Subject>> = {
  folder: async (t) => {
    const storage = createStorage(folderConfig(await tempDir(t)))
    t.teardown(() => storage.close())
    return { storage, requests: [] }
  },
  s3: async (t) => {
    const server = await startS3Server(t)
    // Two keys a page, so any listing of three or more crosses pages.
    const storage = createStorage(s3Config(server.endpoint), { pageSize: 2 })
    t.teardown(() => storage.close())
    return { storage, requests: server.requests }
  },
}

const json = { contentType: 'application/json' }
const body = (value: unknown) => Buffer.from(JSON.stringify(value))

for (const [name, make] of Object.entries(adapters)) {
  t.test(`${name} adapter`, async (t) => {
    t.test('a put object has the MD5 of its bytes as etag; a missing one has none', async (t) => {
      const { storage } = await make(t)
      const content = body({ hostname: 'example.com', campaigns: [] })
      await storage.put('domains/example.com.json', content, json)
      t.equal(await storage.etag('domains/example.com.json'), contentEtag(content))
      t.match(contentEtag(content), /^[0-9a-f]{32}$/, 'lowercase hex, no quotes')
      t.equal(await storage.etag('domains/missing.example.json'), null, 'missing key')
      t.equal(await storage.etag('nowhere/at/all.json'), null, 'missing folder')
    })

    t.test('writing new content to a key changes its etag', async (t) => {
      const { storage } = await make(t)
      const first = body({ version: 1 })
      const second = body({ version: 2 })
      await storage.put('campaigns/production/c1.json', first, json)
      const before = await storage.etag('campaigns/production/c1.json')
      await storage.put('campaigns/production/c1.json', second, json)
      const after = await storage.etag('campaigns/production/c1.json')
      t.equal(before, contentEtag(first))
      t.equal(after, contentEtag(second))
      t.not(before, after)
      await storage.put('campaigns/production/c1.json', second, json)
      t.equal(await storage.etag('campaigns/production/c1.json'), after, 'same bytes, same etag')
    })

    t.test('list returns exactly the keys under a prefix, with their etags, across pages', async (t) => {
      const { storage, requests } = await make(t)
      const objects: Record<string, Buffer> = {
        'domains/a.example.json': body('a'),
        'domains/b.example.json': body('b'),
        'campaigns/production/c1.json': body(1),
        'campaigns/production/c2.json': body(2),
        'campaigns/production/c3.json': body(3),
        'campaigns/production/c4.json': body(4),
        'campaigns/production/c5.json': body(5),
        'campaigns/production-old/c9.json': body(9),
        'campaigns/test/c1.json': body('t1'),
      }
      for (const [key, content] of Object.entries(objects)) await storage.put(key, content, json)
      const expected = (prefix: string) =>
        Object.keys(objects)
          .filter((key) => key.startsWith(prefix))
          .sort()
          .map((key) => [key, contentEtag(objects[key] as Buffer)])

      requests.length = 0
      const production = await listed(storage.list('campaigns/production/'))
      t.same(production, expected('campaigns/production/'), 'the five live campaigns, not production-old')
      if (name === 's3') {
        const pages = requests.filter((r) => r.method === 'GET' && r.url.includes('list-type=2'))
        t.equal(pages.length, 3, 'five keys at two a page: three ListObjectsV2 requests')
      }
      t.same(await listed(storage.list('campaigns/prod')), expected('campaigns/prod'), 'a partial prefix')
      t.same(await listed(storage.list('domains/')), expected('domains/'))
      t.same(await listed(storage.list('')), expected(''), 'everything')
      t.same(await listed(storage.list('nothing/')), [], 'nothing under an unknown prefix')
    })

    t.test('delete removes the keys it names and ignores missing ones', async (t) => {
      const { storage } = await make(t)
      for (const key of ['campaigns/test/a.json', 'campaigns/test/b.json', 'campaigns/test/c.json'])
        await storage.put(key, body(key), json)
      await storage.delete([
        'campaigns/test/a.json',
        'campaigns/test/never-written.json',
        'campaigns/test/c.json',
      ])
      t.same(
        (await listed(storage.list('campaigns/'))).map(([key]) => key),
        ['campaigns/test/b.json'],
      )
      t.equal(await storage.etag('campaigns/test/a.json'), null)
      await storage.delete(['campaigns/test/a.json'])
      await storage.delete([])
      t.pass('deleting what is gone, or nothing, is not an error')
    })

    t.test('a bad key is a programming error, thrown before any I/O', async (t) => {
      const { storage, requests } = await make(t)
      const bad = [
        '',
        '/domains/example.com.json',
        'campaigns/../secrets.json',
        '..',
        'campaigns\\production\\x.json',
        'domains//example.com.json',
        'domains/',
        `domains/${'x'.repeat(1020)}.json`,
      ]
      for (const key of bad) {
        const label = JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key)
        for (const [operation, attempt] of [
          ['etag', () => storage.etag(key)],
          ['put', () => storage.put(key, body(1), json)],
          ['delete', () => storage.delete(['domains/ok.json', key])],
        ] as const) {
          const error = await attempt().then(
            () => undefined,
            (e: unknown) => e,
          )
          t.ok(
            error instanceof Error &&
              !(error instanceof StorageFailed) &&
              /^Invalid storage key/.test(error.message),
            `${operation} ${label} throws a plain Error`,
          )
        }
      }
      t.throws(() => storage.list('../'), /Invalid storage prefix/, 'a bad prefix')
      t.throws(() => storage.list('/domains/'), /Invalid storage prefix/)
      t.equal(await storage.etag('domains/ok.json'), null, 'a good key still works')
      t.equal(requests.length, name === 's3' ? 1 : 0, 'only the good key reached the storage')
    })
  })
}
