/**
 * `npm test`: runs every project's tests through Nx. Tests need a PostgreSQL server: the one
 * in DATABASE_URL (CI sets it), or else an embedded one started here for the run.
 */
import { spawn } from 'node:child_process'
import { root, startEmbeddedPostgres } from './embedded-postgres.ts'

const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' }
let embedded: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined
if (!env.DATABASE_URL) {
  process.stderr.write(
    'DATABASE_URL is not set: starting embedded PostgreSQL for the tests (.data/test-postgres)\n',
  )
  embedded = await startEmbeddedPostgres({ name: 'test-postgres', port: 54330, database: 'postgres' })
  env.DATABASE_URL = embedded.url
}

const args = ['run-many', '-t', 'test', '--outputStyle=stream', ...process.argv.slice(2)]
const child = spawn('nx', args, { cwd: root, env, stdio: 'inherit' })
const code: number = await new Promise((resolve) => child.on('exit', (status) => resolve(status ?? 1)))
await embedded?.stop()
process.exit(code)
