/**
 * `npm run measure -w apps/dashboard`: builds the dashboard for production, then prints
 * - the bundle's size: every JS and CSS file of dist/assets, raw and gzip (level 9), and what every
 *   first visit loads before its page's own chunk (index.html's entry, its CSS, their static imports);
 * - the first load time of the built assets served by `vite preview`, in Chromium with a cold
 *   cache: DOMContentLoaded and load of /signin, median (and min, max) of 10.
 * A measurement, not a test: it never fails on a number.
 */
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { chromium } from 'playwright-core'
import { build, preview } from 'vite'
import { CHROMIUM_PATH } from '../../../tools/dev/browser.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dist = path.join(root, 'dist')
const RUNS = 10
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`

await build({ root, configFile: path.join(root, 'vite.config.ts'), logLevel: 'warn' })

const assets = path.join(dist, 'assets')
const files = (await readdir(assets)).filter((file) => file.endsWith('.js') || file.endsWith('.css'))
const sizes = new Map<string, { raw: number; gzip: number }>()
for (const file of files) {
  const content = await readFile(path.join(assets, file))
  sizes.set(file, { raw: content.length, gzip: gzipSync(content, { level: 9 }).length })
}
const sum = (names: Iterable<string>) => {
  let raw = 0
  let gzip = 0
  for (const name of names) {
    raw += sizes.get(name)?.raw ?? 0
    gzip += sizes.get(name)?.gzip ?? 0
  }
  return { raw, gzip }
}

// What the first page loads: index.html's script and stylesheet, and the chunks they import statically.
const html = await readFile(path.join(dist, 'index.html'), 'utf8')
const initial = new Set([...html.matchAll(/\/assets\/([^"']+\.(?:js|css))/g)].map((m) => m[1] as string))
for (const name of [...initial]) {
  if (!name.endsWith('.js')) continue
  const source = await readFile(path.join(assets, name), 'utf8')
  for (const [, imported] of source.matchAll(
    /(?:^|[;\s])import\s*(?:[^'"()]*?from\s*)?["']\.\/([^"']+\.js)["']/g,
  )) {
    if (imported) initial.add(imported)
  }
}

const total = sum(sizes.keys())
const first = sum(initial)
const js = sum([...sizes.keys()].filter((name) => name.endsWith('.js')))
const css = sum([...sizes.keys()].filter((name) => name.endsWith('.css')))
process.stdout.write('Dashboard production bundle (apps/dashboard/dist/assets)\n')
process.stdout.write(`  all JS + CSS: ${kb(total.gzip)} gzip (${kb(total.raw)} raw) in ${sizes.size} files\n`)
process.stdout.write(`    JS ${kb(js.gzip)} gzip, CSS ${kb(css.gzip)} gzip\n`)
process.stdout.write(
  `  first page (entry + CSS + static imports): ${kb(first.gzip)} gzip (${kb(first.raw)} raw) in ${initial.size} files\n`,
)
const largest = [...sizes.entries()].sort((a, b) => b[1].gzip - a[1].gzip).slice(0, 5)
for (const [name, size] of largest) process.stdout.write(`    ${name}: ${kb(size.gzip)} gzip\n`)

if (!existsSync(CHROMIUM_PATH)) {
  process.stdout.write(
    `First load: not measured, Chromium not found at ${CHROMIUM_PATH} (apt-get install chromium)\n`,
  )
  process.exit(0)
}
const server = await preview({
  root,
  configFile: path.join(root, 'vite.config.ts'),
  logLevel: 'warn',
  preview: { port: 0, strictPort: false, host: '127.0.0.1' },
})
const address = server.httpServer.address()
const port = typeof address === 'object' && address ? address.port : 4173
const browser = await chromium.launch({
  executablePath: CHROMIUM_PATH,
  args: ['--no-sandbox', '--disable-gpu'],
})
const dcl: number[] = []
const load: number[] = []
for (let run = 0; run < RUNS; run++) {
  // A new context each time: an empty cache, as a first visit.
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`http://127.0.0.1:${port}/signin`, { waitUntil: 'load' })
  await page.getByRole('heading', { name: 'Sign in' }).waitFor()
  const timing = await page.evaluate(() => {
    const [entry] = performance.getEntriesByType('navigation') as PerformanceNavigationTiming[]
    return { dcl: entry?.domContentLoadedEventEnd ?? Number.NaN, load: entry?.loadEventEnd ?? Number.NaN }
  })
  dcl.push(timing.dcl)
  load.push(timing.load)
  await context.close()
}
await browser.close()
await new Promise<void>((resolve) => server.httpServer.close(() => resolve()))

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}
const ms = (value: number) => `${value.toFixed(0)} ms`
const line = (name: string, values: number[]) =>
  `  ${name}: median ${ms(median(values))} (min ${ms(Math.min(...values))}, max ${ms(Math.max(...values))})\n`
process.stdout.write(
  `First load of /signin from vite preview (loopback, cold cache, Chromium, ${RUNS} runs)\n`,
)
process.stdout.write(line('DOMContentLoaded', dcl))
process.stdout.write(line('load', load))
process.exit(0)
