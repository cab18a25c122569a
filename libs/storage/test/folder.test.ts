import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { contentEtag, createFolderStorage, StorageFailed } from '@nudge/storage'
import t from 'tap'
import { filesUnder, listed, tempDir } from './helpers.ts'

const json = { contentType: 'application/json' }
/** A body big enough that writing it takes a while, every byte telling which version it is. */
const big = (fill: string, megabytes = 16) => Buffer.alloc(megabytes * 1024 * 1024, fill)

t.test('the folder is STORAGE_DIR made absolute, and objects are plain files in it', async (t) => {
  const dir = await tempDir(t)
  const storage = createFolderStorage(path.relative(process.cwd(), dir))
  t.equal(storage.description, `folder ${dir}`)
  await storage.put('campaigns/production/c1.json', Buffer.from('{"id":"c1"}'), json)
  t.equal(await readFile(path.join(dir, 'campaigns/production/c1.json'), 'utf8'), '{"id":"c1"}')
  t.same(await filesUnder(dir), ['campaigns/production/c1.json'], 'nothing else left behind')
})

t.test('a folder that does not exist yet lists nothing and is created by the first put', async (t) => {
  const dir = path.join(await tempDir(t), 'not', 'yet')
  const storage = createFolderStorage(dir)
  t.same(await listed(storage.list('')), [])
  t.equal(await storage.etag('domains/example.com.json'), null)
  await storage.delete(['domains/example.com.json'])
  await storage.put('domains/example.com.json', Buffer.from('{}'), json)
  t.same(await filesUnder(dir), ['domains/example.com.json'])
})

t.test('a reader sees the old bytes or the new ones, never part of a write', async (t) => {
  const dir = await tempDir(t)
  const storage = createFolderStorage(dir)
  const versions = [big('a'), big('b')]
  const etags = versions.map(contentEtag)
  await storage.put('domains/example.com.json', versions[0] as Buffer, json)
  let writing = true
  let reads = 0
  const torn: number[] = []
  const reader = (async () => {
    while (writing) {
      const bytes = await readFile(path.join(dir, 'domains/example.com.json'))
      reads++
      if (!etags.includes(contentEtag(bytes))) torn.push(bytes.length)
    }
  })()
  let writes = 0
  while (writes < 30 && (writes < 4 || reads < 5))
    await storage.put('domains/example.com.json', versions[++writes % 2] as Buffer, json)
  writing = false
  await reader
  t.ok(reads >= 5, `${reads} reads during ${writes} writes`)
  t.same(torn, [], 'no read saw a partial file')
  t.same(await filesUnder(dir), ['domains/example.com.json'], 'no temporary file remains')
})

t.test('a failed write leaves the old object and no temporary file', async (t) => {
  const dir = await tempDir(t)
  const storage = createFolderStorage(dir)
  await storage.put('campaigns/test/c1.json', Buffer.from('{"old":true}'), json)
  // A folder where the file should go: the rename over it fails after the bytes are written.
  await storage.put('campaigns/test/c2.json/inner.json', Buffer.from('{}'), json)
  const error = await storage.put('campaigns/test/c2.json', big('n', 1), json).catch((e: unknown) => e)
  t.ok(error instanceof StorageFailed, 'StorageFailed')
  t.match(
    (error as Error).message,
    /^Publishing storage failed: put campaigns\/test\/c2\.json: the storage failed \(E[A-Z]+\)$/,
  )
  t.same(
    await filesUnder(dir),
    ['campaigns/test/c1.json', 'campaigns/test/c2.json/inner.json'],
    'no temporary file remains',
  )
  t.equal(await readFile(path.join(dir, 'campaigns/test/c1.json'), 'utf8'), '{"old":true}')
})

t.test(
  'a writer killed in the middle of a put leaves the old object whole, and the scrap unlisted',
  async (t) => {
    const dir = await tempDir(t)
    const storage = createFolderStorage(dir)
    const old = Buffer.from('{"version":1}')
    await storage.put('domains/example.com.json', old, json)
    const folder = path.join(dir, 'domains')

    const source = fileURLToPath(new URL('../src/index.ts', import.meta.url))
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { createFolderStorage } = await import(${JSON.stringify(source)})
       await createFolderStorage(${JSON.stringify(dir)}).put('domains/example.com.json', Buffer.alloc(256 * 1024 * 1024, 'x'), { contentType: 'application/json' })`,
      ],
      { stdio: 'ignore' },
    )
    const exited = once(child, 'exit')
    let interrupted = false
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline && child.exitCode === null) {
      if ((await readdir(folder)).some((name) => name.endsWith('.tmp'))) {
        child.kill('SIGKILL')
        interrupted = true
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    await exited
    t.ok(interrupted, 'the writer was killed while its temporary file existed')
    const now = await readFile(path.join(folder, 'example.com.json'))
    t.ok(now.equals(old), 'the final name still holds the old object, whole')
    t.same(
      await listed(storage.list('')),
      [['domains/example.com.json', contentEtag(old)]],
      'the scrap is not listed',
    )
    t.equal(await storage.etag('domains/example.com.json'), contentEtag(old))

    // The next publish replaces it as usual.
    await storage.put('domains/example.com.json', Buffer.from('{"version":2}'), json)
    t.equal(await readFile(path.join(folder, 'example.com.json'), 'utf8'), '{"version":2}')
  },
)

t.test("keys that would collide with the folder's temporary files are refused", async (t) => {
  const storage = createFolderStorage(await tempDir(t))
  await t.rejects(
    storage.put('domains/.x.json.0123456789abcdef.tmp', Buffer.from('{}'), json),
    /Invalid storage key/,
  )
})

t.test('files written outside the storage are listed too; folders under a key are not objects', async (t) => {
  const dir = await tempDir(t)
  await mkdir(path.join(dir, 'campaigns', 'test', 'empty'), { recursive: true })
  await writeFile(path.join(dir, 'campaigns', 'test', 'hand.json'), '{}')
  const storage = createFolderStorage(dir)
  t.same(await listed(storage.list('campaigns/')), [
    ['campaigns/test/hand.json', contentEtag(Buffer.from('{}'))],
  ])
})

t.test(
  'a key part longer than a file name may be (a 253-character hostname) works like any other',
  async (t) => {
    const dir = await tempDir(t)
    const storage = createFolderStorage(dir)
    const label = 'a'.repeat(63)
    const key = `domains/${label}.${label}.${label}.${'b'.repeat(57)}.com.json`
    const body = Buffer.from('{"long":true}')
    await storage.put(key, body, { contentType: 'application/json' })
    t.equal(await storage.etag(key), contentEtag(body))
    await storage.put('domains/short.example.json', body, { contentType: 'application/json' })
    t.same(await listed(storage.list('domains/')), [
      [key, contentEtag(body)],
      ['domains/short.example.json', contentEtag(body)],
    ])
    t.same(
      await listed(storage.list(`domains/${label}.`)),
      [[key, contentEtag(body)]],
      'a prefix inside the long part',
    )
    await storage.delete([key])
    t.equal(await storage.etag(key), null)
    await t.rejects(storage.put('domains/a~/b.json', body, { contentType: 'x' }), /ends with '~'/)
  },
)
