/**
 * npm run legacy:generate -- --accounts N [--database-url URL] [--seed S] [--export FILE]
 * npm run legacy:generate -- --delta [--leads N] [--database-url URL] [--seed S]
 */
import path from 'node:path'
import { parseArgs } from 'node:util'
import { appendLegacyDelta, ensureLegacyDatabase, generateLegacy } from './generate.ts'

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/nudge_legacy'
const DEFAULT_EXPORT = '.data/legacy/auth0-export.ndjson'

const HELP = `Writes the old system's database and its Auth0 user export, from a seed (tools/legacy/README.md).

  npm run legacy:generate -- --accounts N [options]    (re)creates the old schema and fills it
  npm run legacy:generate -- --delta [--leads N]        adds what arrived after the snapshot

Options:
  --accounts N         accounts to generate (about 5 campaigns, 500 leads, 500 stats rows each)
  --database-url URL   the legacy database (default ${DEFAULT_DATABASE_URL}; created if missing;
                       its old tables are dropped first)
  --seed S             the seed (default 1): the same seed and size give the same data
  --export FILE        where the Auth0 export goes (default ${DEFAULT_EXPORT})
  --delta              instead: new leads, today's stats, a new campaign and an edited one,
                       written now (after the snapshot); prints the --since time to migrate them
  --leads N            with --delta: how many new leads (default 10000)
  --help               this text

Prints a JSON summary: the counts, and the ids of each awkward case made on purpose.`

function fail(message: string): never {
  console.error(`legacy:generate: ${message}\n\n${HELP}`)
  process.exit(2)
}

function positiveInteger(name: string, value: string | undefined, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) fail(`--${name} is required`)
    return fallback
  }
  if (!/^[0-9]+$/.test(value) || Number(value) < 1)
    fail(`--${name} must be a whole number of at least 1 (got "${value}")`)
  return Number(value)
}

let parsed: ReturnType<typeof parse>
function parse() {
  return parseArgs({
    options: {
      accounts: { type: 'string' },
      'database-url': { type: 'string' },
      seed: { type: 'string' },
      export: { type: 'string' },
      delta: { type: 'boolean' },
      leads: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  })
}
try {
  parsed = parse()
} catch (error) {
  fail((error as Error).message)
}
const { values } = parsed
if (values.help) {
  process.stdout.write(`${HELP}\n`)
  process.exit(0)
}
const databaseUrl = values['database-url'] ?? DEFAULT_DATABASE_URL
try {
  new URL(databaseUrl)
} catch {
  fail(`--database-url is not a URL (postgres://user@host:port/database)`)
}
const seed = positiveInteger('seed', values.seed, 1)
const started = performance.now()
try {
  await ensureLegacyDatabase(databaseUrl)
  if (values.delta) {
    if (values.accounts !== undefined) fail('--delta adds to an existing database: leave out --accounts')
    const delta = await appendLegacyDelta({
      databaseUrl,
      seed,
      leads: positiveInteger('leads', values.leads, 10_000),
    })
    const { leadIds, ...rest } = delta
    process.stdout.write(`${JSON.stringify({ ...rest, leads: leadIds.length }, null, 2)}\n`)
  } else {
    const accounts = positiveInteger('accounts', values.accounts)
    const exportPath = path.resolve(values.export ?? DEFAULT_EXPORT)
    const summary = await generateLegacy({ databaseUrl, accounts, seed, exportPath })
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
  }
  console.error(`legacy:generate: done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
} catch (error) {
  const code = (error as { code?: string }).code
  fail(
    code === 'ECONNREFUSED'
      ? `cannot reach PostgreSQL at ${new URL(databaseUrl).host}`
      : (error as Error).message,
  )
}
