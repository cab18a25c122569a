import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify, stripVTControlCharacters } from 'node:util'
import t from 'tap'
import { startApi, startEdge } from './harness.ts'

const wrangler = createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js')
const root = fileURLToPath(new URL('..', import.meta.url))

t.test('the dry-run deploy builds the Worker offline, and what it builds serves objects', async (t) => {
  const outdir = await mkdtemp(join(tmpdir(), 'edge-build-'))
  t.teardown(() => rm(outdir, { recursive: true, force: true }))
  const { stdout: printed } = await promisify(execFile)(
    process.execPath,
    [wrangler, 'deploy', '--dry-run', '--outdir', outdir],
    // No account, no token, no telemetry: it must not need the network.
    {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_API_TOKEN: '', NO_COLOR: '1' },
      timeout: 60_000,
    },
  )
  // Colours, when the runner forces them (Nx under CI does), are not part of what is said.
  const stdout = stripVTControlCharacters(printed)
  t.match(stdout, /env\.OBJECTS \(nudge-objects\)\s+R2 Bucket/)
  t.match(stdout, /env\.API_ORIGIN/)
  t.match(stdout, /--dry-run: exiting now/)

  const script = await readFile(join(outdir, 'index.js'), 'utf8')
  const api = await startApi()
  const { mf, bucket } = await startEdge(api.origin, { script })
  t.teardown(async () => {
    await mf.dispose()
    await api.close()
  })
  await bucket.put('domains/shop.example.com.json', '{"site":"s"}')
  const response = await mf.dispatchFetch('http://edge.test/domains/shop.example.com.json')
  t.equal(response.status, 200)
  t.equal(await response.text(), '{"site":"s"}')
  t.equal(response.headers.get('x-nudge-country'), 'DE')
})
