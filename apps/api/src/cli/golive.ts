/**
 * Go-Live: the old system's data into nudge (see deploy/README.md "Go-Live" for the release plan).
 *   npm run golive -- migrate --from <legacy DATABASE_URL> --auth0-export <file> [--since ISO] [--dry-run]
 *   npm run golive -- verify --from <legacy DATABASE_URL>
 *   npm run golive -- legacy-map --remove
 * env: DATABASE_URL (nudge's; development: the embedded PostgreSQL), SECRETS_ENCRYPTION_KEYS,
 * S3_* or STORAGE_DIR, CLOUDFLARE_* as for the API
 */
import { parseArgs } from 'node:util'
import { loadConfigOrExit } from '@nudge/config'
import { loggerOptions } from '@nudge/logging'
import Fastify from 'fastify'
import { depsOf } from '../deps.ts'
import { registerLayers } from '../layers.ts'
import { openLegacy } from '../modules/golive/legacy-repository.ts'
import { progressTo } from '../modules/golive/progress.ts'
import { summarise, writeReport } from '../modules/golive/report.ts'
import { migrate, removeLegacyMap } from '../modules/golive/service.ts'
import { importUser } from '../modules/golive/users.ts'
import { signInPlugin } from '../modules/users/sign-in.ts'
import { verifyCommand } from './golive-verify.ts'

const usage = `usage: npm run golive -- <command>
  migrate --from URL --auth0-export FILE   the old database (read only) and Auth0's user export
                                           (NDJSON) into nudge's database; idempotent: run it
                                           again to bring what the old system wrote since (delta)
      [--since ISO]          delta start (default: where the last finished run began reading)
      [--dry-run]            read, convert and report; write nothing
      [--report PATH]        the JSON report (default .data/golive/report-<time>.json); it holds
                             generated webhook secrets for their owners: mode 0600, hand them over once
      [--until ISO]          the legacy map's end (default LEGACY_IDS_UNTIL, else now + 14 days)
      [--batch-size N]       leads and stats rows per transaction (default 5000)
  verify --from URL [--json]               the old database against nudge's, by its own SQL
                                           (exit 1 on any difference); see verify --help
  legacy-map --remove      deletes legacy/map.json: old snippets' object names stop resolving
env: DATABASE_URL (development: the embedded PostgreSQL), SECRETS_ENCRYPTION_KEYS, S3_* or STORAGE_DIR
Progress goes to stderr, the summary to stdout. Exit 1 on failure (rerun to resume), 2 on bad usage.
`

// verify is its own program (it must not share the migration's code): handed its arguments.
if (process.argv[2] === 'verify') process.exit(await verifyCommand(process.argv.slice(3)))

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}`)
  process.exit(2)
}

let args: ReturnType<typeof parse>
function parse() {
  return parseArgs({
    allowPositionals: true,
    options: {
      from: { type: 'string' },
      'auth0-export': { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      report: { type: 'string' },
      'batch-size': { type: 'string' },
      remove: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  })
}
try {
  args = parse()
} catch (error) {
  fail((error as Error).message)
}
const { values, positionals } = args
if (values.help) {
  process.stdout.write(usage)
  process.exit(0)
}
const [command] = positionals
const date = (name: string, value: string | undefined) => {
  if (value === undefined) return null
  const parsed = new Date(value)
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(parsed.getTime()))
    fail(`--${name}: not an ISO date-time`)
  return parsed
}
if (command === 'migrate') {
  if (!values.from) fail('migrate: --from <legacy DATABASE_URL> is required')
  if (!/^postgres(ql)?:\/\//.test(values.from)) fail('--from: not a postgres:// URL')
} else if (command === 'legacy-map') {
  if (!values.remove) fail('legacy-map: only --remove is supported (migrate publishes the map)')
} else {
  fail(command ? `unknown command ${command}` : 'a command is required')
}
const since = date('since', values.since)
const until = date('until', values.until)
const batchSize = values['batch-size'] === undefined ? 5000 : Number(values['batch-size'])
if (!Number.isInteger(batchSize) || batchSize < 10 || batchSize > 20000) fail('--batch-size: 10 to 20000')

// A batch of thousands of rows takes longer than a visitor request may: a larger statement timeout.
const env: NodeJS.ProcessEnv = { LOG_LEVEL: 'warn', DATABASE_STATEMENT_TIMEOUT_MS: '120000', ...process.env }
// The layers include the mailer, and the migration sends no email: outside production, without
// an SMTP_URL, the dev mailbox stands in (production has SMTP_URL, as config requires).
if (!env.SMTP_URL && env.NODE_ENV !== 'production') env.DEV_MAILBOX ??= 'true'
const config = loadConfigOrExit(env, { code: 2 })

const app = Fastify(loggerOptions(config))
await registerLayers(app, { config, worker: false })
// importUser creates SuperTokens users: the auth layer, as the app wires it (none of its sign-in
// work runs for an import).
await app.register(signInPlugin)
await app.ready()
const deps = depsOf(app, 'golive')
let code = 0
try {
  if (command === 'legacy-map') {
    const existed = await removeLegacyMap(deps)
    process.stdout.write(existed ? 'legacy/map.json deleted\n' : 'legacy/map.json was not there\n')
  } else {
    const legacy = openLegacy(values.from as string)
    const file = values.report ?? `.data/golive/report-${new Date().toISOString().replace(/[:.]/g, '-')}.json`
    try {
      const report = await migrate(deps, {
        legacy,
        auth0Export: values['auth0-export'] ?? null,
        since,
        dryRun: values['dry-run'],
        legacyMapUntil: until ?? legacyIdsUntil(config),
        batchSize,
        importUser: (input) => importUser(app, input),
        progress: progressTo(process.stderr),
        saveReport: (report) => writeReport(file, report),
      })
      process.stdout.write(`${summarise(report)}report: ${file}\n`)
    } finally {
      await legacy.destroy()
    }
  }
} catch (error) {
  process.stderr.write(`golive ${command} failed: ${(error as Error).message}\n`)
  code = 1
} finally {
  await app.close()
}
process.exit(code)

/** The API's LEGACY_IDS_UNTIL (golegacymap's setting), when this build's config has it. */
function legacyIdsUntil(settings: object): Date | null {
  const value = (settings as { LEGACY_IDS_UNTIL?: string }).LEGACY_IDS_UNTIL
  return value ? new Date(value) : null
}
