/**
 * Checks the Nx project graph (apps depend on libs, libs never on apps, no cycles; a lib's tests may
 * use tools/, such as the Chromium launcher in tools/dev/browser.ts) and,
 * inside the API, that the layering points one way: modules may import plugins and libs, but
 * `apps/api/src/plugins` imports no module (a plugin is registered before every module); and
 * that every query of the API is in a repository (`repository.ts` or `*-repository.ts`).
 *   node tools/dev/check-graph.ts
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { root } from './paths.ts'

const file = path.join(mkdtempSync(path.join(tmpdir(), 'nx-graph-')), 'graph.json')
execFileSync(path.join(root, 'node_modules/.bin/nx'), ['graph', `--file=${file}`], {
  cwd: root,
  env: { ...process.env, NX_DAEMON: 'false' },
  stdio: 'ignore',
})
const { graph } = JSON.parse(readFileSync(file, 'utf8')) as {
  graph: {
    nodes: Record<string, { data: { root: string } }>
    dependencies: Record<string, Array<{ target: string }>>
  }
}
const kind = (name: string) => graph.nodes[name]?.data.root.split('/')[0] ?? 'external'
const problems: string[] = []
const edges = (name: string) =>
  (graph.dependencies[name] ?? []).map((d) => d.target).filter((t) => t in graph.nodes)

for (const name of Object.keys(graph.nodes)) {
  for (const target of edges(name)) {
    if (kind(name) === 'libs' && kind(target) === 'apps')
      problems.push(`${name} (a lib) depends on ${target}`)
  }
}
const state = new Map<string, 'visiting' | 'done'>()
function visit(name: string, trail: string[]) {
  if (state.get(name) === 'done') return
  if (state.get(name) === 'visiting') {
    problems.push(`cycle: ${[...trail.slice(trail.indexOf(name)), name].join(' -> ')}`)
    return
  }
  state.set(name, 'visiting')
  for (const target of edges(name)) visit(target, [...trail, name])
  state.set(name, 'done')
}
for (const name of Object.keys(graph.nodes)) visit(name, [])

const pluginsDir = path.join(root, 'apps/api/src/plugins')
const modulesDir = path.join(root, 'apps/api/src/modules')
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm
for (const file of readdirSync(pluginsDir, { recursive: true, encoding: 'utf8' })) {
  if (!file.endsWith('.ts')) continue
  const source = readFileSync(path.join(pluginsDir, file), 'utf8')
  for (const [, specifier] of source.matchAll(IMPORT)) {
    if (!specifier?.startsWith('.')) continue
    const target = path.resolve(path.dirname(path.join(pluginsDir, file)), specifier)
    if (target.startsWith(`${modulesDir}${path.sep}`)) {
      problems.push(
        `apps/api/src/plugins/${file} imports ${path.relative(root, target)} (plugins import no module)`,
      )
    }
  }
}

for (const name of Object.keys(graph.nodes).sort()) {
  process.stdout.write(`${name} -> ${edges(name).sort().join(', ') || '(none)'}\n`)
}
// A query is Kysely's builder or raw `sql`; pagination.ts builds the one keyset condition.
const QUERY =
  /\.(?:selectFrom|insertInto|updateTable|deleteFrom|replaceInto|mergeInto)\(|\bsql(?:<[^>]*>)?`|\.transaction\(\)/
const apiSrc = path.join(root, 'apps/api/src')
for (const file of readdirSync(apiSrc, { recursive: true, encoding: 'utf8' })) {
  if (!file.endsWith('.ts') || /(^|[/-])repository\.ts$/.test(file) || file === 'pagination.ts') continue
  const lines = readFileSync(path.join(apiSrc, file), 'utf8').split('\n')
  lines.forEach((line, index) => {
    if (QUERY.test(line) && !line.trimStart().startsWith('*') && !line.trimStart().startsWith('//')) {
      problems.push(`apps/api/src/${file}:${index + 1} runs a query outside a repository`)
    }
  })
}

if (problems.length) {
  process.stderr.write(`project graph problems:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`)
  process.exit(1)
}
process.stdout.write(
  'project graph: apps -> libs, no cycles; api plugins import no module, queries only in repositories\n',
)
