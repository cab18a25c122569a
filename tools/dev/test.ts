/**
 * `npm test`: runs every project's tests through Nx. Tests need a PostgreSQL server: the one
 * in DATABASE_URL (CI sets it), or else an embedded one started here for the run.
 */
import { spawn } from 'node:child_process'
import { stripVTControlCharacters } from 'node:util'
import { root, startEmbeddedPostgres } from './embedded-postgres.ts'

const env: NodeJS.ProcessEnv = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' }
let embedded: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined
if (!env.DATABASE_URL) {
  process.stderr.write(
    'DATABASE_URL is not set: starting embedded PostgreSQL for the tests (.data/test-postgres)\n',
  )
  embedded = await startEmbeddedPostgres({ name: 'test-postgres', port: 54330, database: 'postgres' })
  env.DATABASE_URL = embedded.url
}

// Off a terminal (CI), the plain TAP reporter: every assertion, no progress animation.
const reporter = process.stdout.isTTY ? [] : ['--', '--reporter=tap']
const args = ['run-many', '-t', 'test', '--outputStyle=stream', ...process.argv.slice(2), ...reporter]
const child = spawn('nx', args, { cwd: root, env, stdio: ['inherit', 'pipe', 'inherit'] })
// Each project's tap run ends with "# { total: N, pass: N, fail: N, ... }"; add them up. Failed
// assertions are named again at the end, where a log cut to its tail (CI's) still shows them.
const totals = { pass: 0, fail: 0, skip: 0 }
const failures: string[] = []
let pending = ''
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk)
  pending += chunk.toString()
  const lines = pending.split('\n')
  pending = lines.pop() ?? ''
  for (const line of lines) {
    const plain = stripVTControlCharacters(line)
    if (/^\S+:\s+not ok \d+/.test(plain) && !/# (TODO|SKIP)/i.test(plain)) failures.push(plain.trimEnd())
    const summary = line.match(/# \{ total: \d+(.*)\}/)
    if (!summary?.[1]) continue
    for (const key of ['pass', 'fail', 'skip'] as const) {
      totals[key] += Number(summary[1].match(new RegExp(`${key}: (\\d+)`))?.[1] ?? 0)
    }
  }
})
const code: number = await new Promise((resolve) => child.on('exit', (status) => resolve(status ?? 1)))
await embedded?.stop()
if (failures.length > 0) {
  const shown = failures.slice(0, 60)
  const more = failures.length - shown.length
  process.stdout.write(
    `\nnot ok (each assertion, then the subtest and the file holding it):\n${shown.join('\n')}\n`,
  )
  if (more > 0) process.stdout.write(`… and ${more} more\n`)
}
process.stdout.write(
  `\n${totals.pass} passed, ${totals.fail} failed${totals.skip ? `, ${totals.skip} skipped` : ''}\n`,
)
process.exit(code === 0 && totals.fail > 0 ? 1 : code)
