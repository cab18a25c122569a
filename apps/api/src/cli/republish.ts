/**
 * Rebuilds every published object (domains/, campaigns/) from the database and prints what
 * changed; a second run right after writes nothing. Same work as POST /internal/v1/republish.
 *   npm run republish            (development: the embedded PostgreSQL and the STORAGE_DIR folder)
 * env: DATABASE_URL, and S3_* / CLOUDFLARE_* as for the API
 */
import { cachePlugin } from '@nudge/cache'
import { configPlugin, loadConfigOrExit } from '@nudge/config'
import { dbPlugin } from '@nudge/db'
import { edgePlugin } from '@nudge/edge'
import { flagsPlugin } from '@nudge/flags'
import { loggerOptions, loggingPlugin } from '@nudge/logging'
import { storagePlugin } from '@nudge/storage'
import Fastify from 'fastify'
import { publishDeps, republishAll } from '../modules/publishing/publisher.ts'
import { toReport } from '../modules/publishing/routes.ts'

if (process.argv.includes('--help')) {
  process.stdout.write(`usage: npm run republish
Rebuilds every published object from the database, writes only what changed, deletes objects
nothing accounts for, purges changed URLs when Cloudflare is configured, and prints a report.
env: DATABASE_URL (development: the embedded PostgreSQL), S3_* or STORAGE_DIR, CLOUDFLARE_*
`)
  process.exit(0)
}

const config = loadConfigOrExit({ LOG_LEVEL: 'warn', ...process.env }, { code: 2 })

// Only the layers a publish goes through: no routes, no sign-in, no mailer.
const app = Fastify(loggerOptions(config))
await app.register(configPlugin, { config })
await app.register(loggingPlugin)
await app.register(dbPlugin)
await app.register(cachePlugin)
// Site documents list the features released to their team.
await app.register(flagsPlugin)
await app.register(edgePlugin)
await app.register(storagePlugin)
await app.ready()
let code = 0
try {
  const report = toReport(await republishAll(publishDeps(app)))
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
} catch (error) {
  process.stderr.write(`republish failed: ${(error as Error).message}\n`)
  code = 1
} finally {
  await app.close()
}
process.exit(code)
