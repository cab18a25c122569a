import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify, stripVTControlCharacters } from 'node:util'
import t from 'tap'
import { EMBED_DIST, SCRIPT_FIXTURE } from '../build/worker.ts'
import { startApi, startEdge } from './harness.ts'

const wrangler = createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js')
const root = fileURLToPath(new URL('..', import.meta.url))
const embedPackage = JSON.parse(await readFile(join(root, '../embed/package.json'), 'utf8')) as {
  scripts?: Record<string, string>
}
// The real popup script when apps/embed can be built here; else the fixture, copied as it would be.
const embedBuilds = Boolean(embedPackage.scripts?.build)

t.test(
  'the dry-run deploy builds the Worker offline, and what it builds serves objects and the script',
  async (t) => {
    const outdir = await mkdtemp(join(tmpdir(), 'edge-build-'))
    t.teardown(() => rm(outdir, { recursive: true, force: true }))
    const { stdout: printed } = await promisify(execFile)(
      process.execPath,
      [wrangler, 'deploy', '--dry-run', '--outdir', outdir],
      // No account, no token, no telemetry: it must not need the network.
      {
        cwd: root,
        env: {
          ...process.env,
          WRANGLER_SEND_METRICS: 'false',
          CLOUDFLARE_API_TOKEN: '',
          NO_COLOR: '1',
          ...(embedBuilds ? {} : { EDGE_SCRIPT_FILE: SCRIPT_FIXTURE }),
        },
        timeout: 120_000,
      },
    )
    // Colours, when the runner forces them (Nx under CI does), are not part of what is said.
    const stdout = stripVTControlCharacters(printed)
    t.match(stdout, /env\.OBJECTS \(nudge-objects\)\s+R2 Bucket/)
    t.match(stdout, /env\.API_ORIGIN/)
    t.match(stdout, /--dry-run: exiting now/)
    const scriptBytes = await readFile(embedBuilds ? EMBED_DIST : SCRIPT_FIXTURE)
    const hash = createHash('sha256').update(scriptBytes).digest('hex').slice(0, 10)
    t.match(stdout, `bundled: /nudge.js and /nudge.${hash}.js`, 'the custom build says what it bundled')

    // The script is a Text module of its own next to the Worker, as wrangler uploads it.
    const files = await readdir(outdir)
    const text = files.find((file) => file.endsWith('-nudge.js'))
    t.ok(text, `a text module in ${files.join(', ')}`)
    const api = await startApi()
    const { mf, bucket } = await startEdge(api.origin, {
      modules: {
        root: outdir,
        modules: [
          { type: 'ESModule', path: join(outdir, 'index.js') },
          { type: 'Text', path: join(outdir, text ?? 'missing') },
        ],
      },
    })
    t.teardown(async () => {
      await mf.dispose()
      await api.close()
    })
    await bucket.put('domains/shop.example.com.json', '{"site":"s"}')
    const response = await mf.dispatchFetch('http://edge.test/domains/shop.example.com.json')
    t.equal(response.status, 200)
    t.equal(await response.text(), '{"site":"s"}')
    t.equal(response.headers.get('x-nudge-country'), 'DE')
    const script = await mf.dispatchFetch(`http://edge.test/nudge.${hash}.js`)
    t.equal(script.status, 200)
    t.same(Buffer.from(await script.arrayBuffer()), scriptBytes, 'the bundled script, byte for byte')
  },
)

t.test(
  'without a popup script to bundle, the build stops and names the command that makes one',
  async (t) => {
    const run = promisify(execFile)(process.execPath, [join(root, 'build/embed.ts')], {
      cwd: root,
      env: { ...process.env, EDGE_SCRIPT_FILE: join(root, 'test/fixtures/no-such-script.js') },
    })
    await t.rejects(run, { code: 1, stderr: /run `npm run build -w apps\/embed`/ })
  },
)
