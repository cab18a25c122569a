/**
 * Wrangler's custom build (wrangler.jsonc `build.command`), before every `wrangler deploy` and
 * its `--dry-run`: builds the popup script (`npm run build -w apps/embed`) and copies it to
 * apps/edge/bundled/nudge.js, the Text module src/script.ts imports. The copy keeps the Worker's
 * imports inside apps/edge (Nx sees no dependency of the Worker on the embed project).
 *   node build/embed.ts
 * EDGE_SCRIPT_FILE=<file> copies that file instead of building (the dry-run build's test, when
 * apps/embed cannot be built here).
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFile, mkdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { EMBED_DIST } from './worker.ts'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const target = fileURLToPath(new URL('../bundled/nudge.js', import.meta.url))

function fail(message: string): never {
  process.stderr.write(`[edge] ${message}\n`)
  process.exit(1)
}

let source = process.env.EDGE_SCRIPT_FILE
if (!source) {
  const embed = JSON.parse(await readFile(path.join(root, 'apps/embed/package.json'), 'utf8')) as {
    scripts?: Record<string, string>
  }
  if (!embed.scripts?.build) {
    fail(
      'the Worker serves the popup script, which `npm run build -w apps/embed` writes to apps/embed/dist/nudge.js, and apps/embed has no build script yet',
    )
  }
  try {
    execFileSync('npm', ['run', 'build', '-w', 'apps/embed'], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
    })
  } catch {
    fail('`npm run build -w apps/embed` failed (above): the Worker has no popup script to serve')
  }
  source = EMBED_DIST
}
const bytes = await readFile(source).catch(() =>
  fail(`${source} does not exist: run \`npm run build -w apps/embed\``),
)
await mkdir(path.dirname(target), { recursive: true })
await copyFile(source, target)
const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 10)
process.stdout.write(
  `[edge] popup script ${path.relative(root, source)} (${bytes.length} bytes) bundled: /nudge.js and /nudge.${hash}.js\n`,
)
