/**
 * Operators change feature flags without a deploy (the same service as /internal/v1/flags):
 *   npm run flags -- list | get KEY | history KEY | set KEY --file def.json
 *                  | rollout KEY --percent N | enable KEY --team TEAM_ID | disable KEY
 * Every change is checked as flagd reads it, audited (cli:user@host, before, after) and reaches
 * every API and job worker within a second.
 * env: DATABASE_URL (development: the embedded PostgreSQL)
 */
import { readFile } from 'node:fs/promises'
import { hostname, userInfo } from 'node:os'
import { parseArgs } from 'node:util'
import { isUuid } from '@nudge/db'
import type { Flags } from '@nudge/flags'

const usage = `usage: npm run flags -- <command>
  list                          every flag definition
  get KEY                       one flag definition
  history KEY                   its changes: who, before, after (newest first)
  set KEY --file def.json       create or replace it with a flagd flag definition
  rollout KEY --percent N       on for N % of teams (whole teams; named teams keep it)
  enable KEY --team TEAM_ID     on for one more team
  disable KEY                   kill switch: off everywhere (the code's default)
Changes reach every worker within a second. env: DATABASE_URL
`

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}`)
  process.exit(2)
}

let parsed: ReturnType<typeof parse>
function parse() {
  return parseArgs({
    allowPositionals: true,
    options: {
      file: { type: 'string' },
      percent: { type: 'string' },
      team: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  })
}
try {
  parsed = parse()
} catch (error) {
  fail((error as Error).message)
}
const { values, positionals } = parsed
if (values.help) {
  process.stdout.write(usage)
  process.exit(0)
}
const [command, key, ...extra] = positionals
if (!command) fail('a command is required')
const COMMANDS = ['list', 'get', 'history', 'set', 'rollout', 'enable', 'disable']
if (!COMMANDS.includes(command)) fail(`unknown command: ${command}`)
if (extra.length > 0) fail(`unexpected arguments: ${extra.join(' ')}`)
const needsKey = command !== 'list'
if (needsKey && !key) fail(`${command} needs the flag's KEY`)

// What each command needs, checked before anything connects to the database.
let definition: unknown
let percent = 0
if (command === 'set') {
  if (!values.file) fail('set needs --file def.json (one flagd flag definition)')
  try {
    definition = JSON.parse(await readFile(values.file, 'utf8'))
  } catch (error) {
    fail(`--file ${values.file}: ${(error as Error).message}`)
  }
} else if (command === 'rollout') {
  percent = Number(values.percent)
  if (values.percent === undefined || !Number.isInteger(percent) || percent < 0 || percent > 100)
    fail('rollout needs --percent N, a whole number from 0 to 100')
} else if (command === 'enable') {
  if (!values.team || !isUuid(values.team)) fail('enable needs --team TEAM_ID (a team id, a UUID)')
}

// Loaded once the arguments are known to be usable: a mistyped command answers at once.
const { cachePlugin } = await import('@nudge/cache')
const { configPlugin, loadConfigOrExit } = await import('@nudge/config')
const { dbPlugin } = await import('@nudge/db')
const { loggerOptions, loggingPlugin } = await import('@nudge/logging')
const { default: Fastify } = await import('fastify')
const { depsOf } = await import('../deps.ts')
const { disableFlag, enableForTeam, flagChanges, getFlag, listFlags, rollOut, setFlag } = await import(
  '../modules/flags/service.ts'
)
const { toFlag, toFlagChange } = await import('../modules/flags/schemas.ts')

const config = loadConfigOrExit({ LOG_LEVEL: 'warn', ...process.env }, { code: 2, usage })

// Only the layers a change goes through: the database and the invalidation broadcast.
const app = Fastify(loggerOptions(config))
await app.register(configPlugin, { config })
await app.register(loggingPlugin)
await app.register(dbPlugin)
await app.register(cachePlugin)
await app.ready()
// This process evaluates nothing (it has no flags layer to reload): the workers reload on the broadcast.
const flags = { reload: () => Promise.resolve() } as Pick<Flags, 'reload'> as Flags
const deps = { ...depsOf(app, 'flags'), flags }
const actor = `cli:${userInfo().username}@${hostname()}`
const flagKey = key ?? ''

async function run(): Promise<unknown> {
  switch (command) {
    case 'list':
      return { flags: (await listFlags(deps)).map(toFlag) }
    case 'get':
      return toFlag(await getFlag(deps, { key: flagKey }))
    case 'history':
      return { changes: (await flagChanges(deps, { key: flagKey })).map(toFlagChange) }
    case 'set':
      return toFlag(await setFlag(deps, { key: flagKey, definition, actor }))
    case 'rollout':
      return toFlag(await rollOut(deps, { key: flagKey, percent, actor }))
    case 'enable':
      return toFlag(await enableForTeam(deps, { key: flagKey, teamId: values.team ?? '', actor }))
    default:
      return toFlag(await disableFlag(deps, { key: flagKey, actor }))
  }
}

let code = 0
try {
  process.stdout.write(`${JSON.stringify(await run(), null, 2)}\n`)
} catch (error) {
  const { code: errorCode, message } = error as { code?: string; message: string }
  process.stderr.write(`flags ${command} failed: ${errorCode ? `${errorCode}: ` : ''}${message}\n`)
  code = 1
} finally {
  await app.close()
}
process.exit(code)
