/**
 * The development PostgreSQL as a process of its own: prints `ready <url>` once it accepts
 * connections and stops PostgreSQL cleanly on SIGINT/SIGTERM. `npm start` runs it in its own
 * process group, so the terminal's Ctrl-C reaches the API first and the database last.
 *   node tools/dev/postgres.ts
 */
import { DEV_DATABASE, DEV_POSTGRES_PORT, startEmbeddedPostgres } from './embedded-postgres.ts'

const postgres = await startEmbeddedPostgres({
  name: 'postgres',
  port: DEV_POSTGRES_PORT,
  database: DEV_DATABASE,
})
process.stdout.write(`ready ${postgres.url}\n`)
// embedded-postgres stops its server on SIGINT/SIGTERM (async-exit-hook); keep the process alive until then.
setInterval(() => {}, 1 << 30)
