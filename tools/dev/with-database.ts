/**
 * Runs a command with DATABASE_URL set: the caller's, or else the development embedded
 * PostgreSQL (started for the command, or reused when `npm start` is already running it).
 *   node tools/dev/with-database.ts <command> [args...]
 */
import { spawn } from 'node:child_process'
import { DEV_DATABASE, DEV_POSTGRES_PORT, root, startEmbeddedPostgres } from './embedded-postgres.ts'

const [command, ...args] = process.argv.slice(2)
if (!command) {
  process.stderr.write('usage: with-database <command> [args...]\n')
  process.exit(2)
}
const env = { ...process.env }
let embedded: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined
if (!env.DATABASE_URL && command !== 'new' && !args.includes('new')) {
  embedded = await startEmbeddedPostgres({
    name: 'postgres',
    port: DEV_POSTGRES_PORT,
    database: DEV_DATABASE,
  })
  env.DATABASE_URL = embedded.url
}
const child = spawn(command, args, { cwd: root, env, stdio: 'inherit' })
const code: number = await new Promise((resolve) => child.on('exit', (status) => resolve(status ?? 1)))
await embedded?.stop()
process.exit(code)
