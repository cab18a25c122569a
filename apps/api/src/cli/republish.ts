/**
 * Rebuilds every published object (domains/, campaigns/) from the database and prints what
 * changed; a second run right after writes nothing. Same work as POST /internal/v1/republish.
 *   npm run republish            (development: the embedded PostgreSQL and the STORAGE_DIR folder)
 * env: DATABASE_URL, and S3_* / CLOUDFLARE_* as for the API
 */
import { loadConfigOrExit } from '@nudge/config'
import { loggerOptions } from '@nudge/logging'
import Fastify from 'fastify'
import { depsOf } from '../deps.ts'
import { registerLayers } from '../layers.ts'
import { toRepublishReport } from '../modules/publishing/schemas.ts'
import { republishAll } from '../modules/publishing/service.ts'

if (process.argv.includes('--help')) {
  process.stdout.write(`usage: npm run republish
Rebuilds every published object from the database, writes only what changed, deletes objects
nothing accounts for, purges changed URLs when Cloudflare is configured, and prints a report.
env: DATABASE_URL (development: the embedded PostgreSQL), S3_* or STORAGE_DIR, CLOUDFLARE_*
`)
  process.exit(0)
}

const env: NodeJS.ProcessEnv = { LOG_LEVEL: 'warn', ...process.env }
// The layers include the mailer, and a republish sends no email: outside production, without an
// SMTP_URL, the dev mailbox stands in (production has SMTP_URL, as config requires).
if (!env.SMTP_URL && env.NODE_ENV !== 'production') env.DEV_MAILBOX ??= 'true'
const config = loadConfigOrExit(env, { code: 2 })

// The app's layers (the same list, see layers.ts), without its plugins, routes or job handlers.
const app = Fastify(loggerOptions(config))
await registerLayers(app, { config, worker: false })
await app.ready()
let code = 0
try {
  const report = toRepublishReport(await republishAll(depsOf(app, 'publishing')))
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
} catch (error) {
  process.stderr.write(`republish failed: ${(error as Error).message}\n`)
  code = 1
} finally {
  await app.close()
}
process.exit(code)
