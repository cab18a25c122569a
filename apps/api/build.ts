/**
 * `npm run build -w apps/api`: the release artifact's JavaScript, in apps/api/dist/.
 *
 * Each entry (main.js, worker.js and the CLIs under cli/) is one ESM bundle of our own code (the
 * app and the workspace libs) with source maps; packages from node_modules stay imports, resolved
 * at run time from the release's node_modules. Why: a process that runs plain JavaScript never
 * loads Node's type stripper (~17 MB of RSS each), and one bundle loads faster than 200 files.
 * Migrations are not bundled: they are loaded from migrations/ by the migrate CLI, which is
 * short-lived (its memory does not matter) and must see exactly the files of the release.
 *
 * Only esbuild is needed (no node_modules of the app): the deploy tool runs it on a bare checkout.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { build, type Plugin } from 'esbuild'

const { values } = parseArgs({ options: { help: { type: 'boolean', default: false } } })
if (values.help) {
  process.stdout.write(`usage: npm run build -w apps/api
Bundles apps/api/src/main.ts, worker.ts and cli/*.ts (with the workspace libs) into apps/api/dist/
as plain JavaScript with source maps; node_modules packages stay external. ecosystem.config.js runs
dist/ when it exists (a release always has it); npm start runs the TypeScript sources.
`)
  process.exit(0)
}

const api = import.meta.dirname
const root = path.resolve(api, '../..')
const outdir = path.join(api, 'dist')

/** Workspace packages (`@nudge/*`) by name: their `exports` map, resolved to source files. */
function workspacePackages(): Map<string, { dir: string; exports: Record<string, string> }> {
  const found = new Map<string, { dir: string; exports: Record<string, string> }>()
  for (const parent of ['libs', 'apps', 'tools', 'tools/stand-ins']) {
    for (const entry of readdirSync(path.join(root, parent), { withFileTypes: true })) {
      if (!entry.isDirectory()) continue
      const dir = path.join(root, parent, entry.name)
      let manifest: { name?: string; exports?: Record<string, string> }
      try {
        manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'))
      } catch {
        continue
      }
      if (manifest.name && manifest.exports) found.set(manifest.name, { dir, exports: manifest.exports })
    }
  }
  return found
}

/**
 * Where `name` resolves from `dir`: the nearest node_modules folder holding it, up to the root's.
 * Undefined for a Node built-in or a package installed nowhere.
 */
function installedAt(dir: string, name: string): string | undefined {
  for (let at = dir; at.startsWith(root); at = path.dirname(at)) {
    if (existsSync(path.join(at, 'node_modules', name))) return at
    if (at === root) return undefined
  }
  return undefined
}

/**
 * Our own packages are bundled from their sources, and so is a package a lib installs a version of
 * its own of (libs/db's uuid 13, where the root has uuid 8): from dist/ it would resolve to the
 * root's. Every other package stays an import of the root's node_modules.
 */
function externals(): Plugin {
  const workspace = workspacePackages()
  return {
    name: 'workspace-bundled-packages-external',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        const match = args.path.match(/^(@nudge\/[^/]+)(\/.*)?$/)
        if (!match) {
          const name = args.path.match(/^(@[^/]+\/[^/]+|[^/]+)/)?.[1] ?? args.path
          const at = installedAt(args.resolveDir, name)
          return at && at !== root ? undefined : { external: true }
        }
        const pkg = workspace.get(match[1]!)
        const target = pkg?.exports[`.${match[2] ?? ''}`]
        if (!pkg || !target) return { errors: [{ text: `${args.path}: no such workspace export` }] }
        return { path: path.join(pkg.dir, target) }
      })
    },
  }
}

const cliDir = path.join(api, 'src/cli')
const entryPoints = [
  { in: path.join(api, 'src/main.ts'), out: 'main' },
  { in: path.join(api, 'src/worker.ts'), out: 'worker' },
  ...readdirSync(cliDir)
    .filter((name) => name.endsWith('.ts'))
    .map((name) => ({ in: path.join(cliDir, name), out: `cli/${name.slice(0, -3)}` })),
]

rmSync(outdir, { recursive: true, force: true })
const started = performance.now()
const result = await build({
  entryPoints,
  outdir,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  sourcemap: 'linked',
  // Shared code between entries goes to chunks: one copy of the app for main, worker and the CLIs.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.js' },
  // Names kept: stack traces, pino's and fastify's plugin names (fastify-plugin's `name`) read them.
  keepNames: true,
  metafile: true,
  logLevel: 'warning',
  plugins: [externals()],
})
// dist/ is ESM whatever package.json above it says.
writeFileSync(path.join(outdir, 'package.json'), `${JSON.stringify({ type: 'module' })}\n`)
const bytes = Object.entries(result.metafile.outputs)
  .filter(([file]) => file.endsWith('.js'))
  .reduce((sum, [, output]) => sum + output.bytes, 0)
process.stdout.write(
  `built ${entryPoints.length} entries into ${path.relative(root, outdir)}/ (${(bytes / 1024).toFixed(0)} KB of JavaScript) in ${Math.round(performance.now() - started)} ms\n`,
)
