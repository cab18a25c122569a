/**
 * `npm run golive -- verify --from <legacy DATABASE_URL>`: the old database against nudge's
 * (modules/golive/verify.ts); golive.ts hands the `verify` command here. Runs on its own too:
 *   node apps/api/src/cli/golive-verify.ts --from <legacy DATABASE_URL>
 * env: DATABASE_URL (nudge's; development: the embedded PostgreSQL), S3_* or STORAGE_DIR
 */
import { parseArgs } from 'node:util'
import { loadConfigOrExit } from '@nudge/config'
import { loggerOptions } from '@nudge/logging'
import Fastify from 'fastify'
import { registerLayers } from '../layers.ts'
import { formatVerifyReport, verifyGoLive } from '../modules/golive/verify.ts'

export const verifyUsage = `usage: npm run golive -- verify --from URL [--json]
  Compares the old database (URL, read only) with nudge's, independently of the migration's
  code: per account the teams, sites, campaigns, leads and integrations; per campaign the lead
  emails (sha256 of the sorted addresses) and the stats sums; every live campaign's object, its
  site's document and legacy/map.json in storage. Rows the migration leaves out or folds by rule
  (orphan leads, duplicate addresses, a hostname owned twice, …) are listed as accounted for.
  Prints ids and counts, never an email. Exit 0: no difference; 1: differences (each printed), or
  a database it cannot read (named); 2: bad usage.
      [--json]    the report as JSON instead of text
env: DATABASE_URL (development: the embedded PostgreSQL), S3_* or STORAGE_DIR
`

/** Runs `verify` with its arguments (after the command name); resolves to the exit code. */
export async function verifyCommand(argv: string[]): Promise<number> {
  let values: { from?: string; json?: boolean; help?: boolean }
  try {
    values = parseArgs({
      args: argv,
      options: { from: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
      strict: true,
    }).values
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${verifyUsage}`)
    return 2
  }
  if (values.help) {
    process.stdout.write(verifyUsage)
    return 0
  }
  if (!values.from || !/^postgres(ql)?:\/\//.test(values.from)) {
    process.stderr.write(`verify: --from <legacy postgres:// URL> is required\n${verifyUsage}`)
    return 2
  }

  const env: NodeJS.ProcessEnv = {
    LOG_LEVEL: 'warn',
    DATABASE_STATEMENT_TIMEOUT_MS: '300000',
    ...process.env,
  }
  // The layers include the mailer; verify sends nothing (see republish.ts).
  if (!env.SMTP_URL && env.NODE_ENV !== 'production') env.DEV_MAILBOX ??= 'true'
  const config = loadConfigOrExit(env, { code: 2 })
  const app = Fastify(loggerOptions(config))
  await registerLayers(app, { config, worker: false })
  await app.ready()
  try {
    const report = await verifyGoLive({
      legacyDatabaseUrl: values.from,
      db: app.db,
      storage: app.storage,
      log: (line) => process.stderr.write(`${line}\n`),
    })
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatVerifyReport(report))
    return report.ok ? 0 : 1
  } catch (error) {
    process.stderr.write(`golive verify failed: ${(error as Error).message}\n`)
    return 1
  } finally {
    await app.close()
  }
}

if (import.meta.main) {
  const argv = process.argv.slice(2)
  process.exit(await verifyCommand(argv[0] === 'verify' ? argv.slice(1) : argv))
}
