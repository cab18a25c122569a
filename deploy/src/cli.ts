/**
 * `npm run deploy -- <command>`: blue-green releases through subdomains, SSH-free. See deploy/README.md.
 */
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { ConfigError } from '@nudge/config'
import { type Context, finish, release, rollback, status, switchColour } from './commands.ts'
import { loadDeployConfig, repositoryRoot } from './config.ts'
import { createDriver } from './drivers/index.ts'
import { deployEdge, missingEdgeCredentials } from './edge.ts'
import { DeployError, Steps } from './steps.ts'

const usage = `usage: npm run deploy -- <command> [options]

  status              which colour is live, which release each colour runs, their health
  release [REF]       build REF (default HEAD), install it on the idle colour, apply expand
                      migrations, start it and run the gates; the live colour is untouched
    --switch          then switch to it (as the switch command)
  switch              point api.<domain> at the idle colour, then watch both colours for
                      DEPLOY_WATCH_SECONDS (rolled back at once if the new colour fails)
  rollback            point api.<domain> back at the other colour, still running its release
  finish              after DEPLOY_FINISH_AFTER_MINUTES live: run contract migrations, stop the
                      old colour's processes (its hosts stay for the next release)
    --now             do not wait for DEPLOY_FINISH_AFTER_MINUTES
  edge                publish the edge Worker (apps/edge/wrangler.jsonc) with wrangler: builds
                      the popup script first; needs CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID
                      (--dry-run: build apps/edge/dist offline, deploy nothing, need neither)

  --dry-run           print the plan: read-only steps run, changes are only listed
  --help

Settings come from the environment: DEPLOY_DRIVER=local|aws and the rest in deploy/README.md.
Every step prints its time; any failure stops with a non-zero exit and says what was changed.
`

function parse() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        'dry-run': { type: 'boolean', default: false },
        switch: { type: 'boolean', default: false },
        now: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    })
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${usage}`)
    process.exit(2)
  }
}

const { values, positionals } = parse()
const [command, ...rest] = positionals
if (values.help || !command) {
  process.stdout.write(usage)
  process.exit(values.help ? 0 : 2)
}
const known = ['status', 'release', 'switch', 'rollback', 'finish', 'edge']
if (!known.includes(command) || rest.length > (command === 'release' ? 1 : 0)) {
  process.stderr.write(`unknown command or argument: ${positionals.join(' ')}\n\n${usage}`)
  process.exit(2)
}

// The Worker is Cloudflare's to run: no colours, no driver, none of the API's settings.
if (command === 'edge') {
  const missing = values['dry-run'] ? [] : missingEdgeCredentials(process.env)
  if (missing.length > 0) {
    process.stderr.write(`deploy edge:\n${missing.map((line) => `  - ${line}`).join('\n')}\n`)
    process.exit(2)
  }
  const code = await deployEdge({ dryRun: values['dry-run'], env: process.env })
  process.stderr.write(
    code === 0
      ? values['dry-run']
        ? 'deploy edge --dry-run: built into apps/edge/dist, nothing deployed\n'
        : 'deploy edge: done\n'
      : `deploy edge: wrangler failed (${code}), see above\n`,
  )
  process.exit(code === 0 ? 0 : 1)
}

let config: ReturnType<typeof loadDeployConfig>
try {
  config = loadDeployConfig(process.env)
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  process.stderr.write(`${error.message}\n`)
  process.exit(2)
}

const write = (line: string) => process.stdout.write(`${line}\n`)
const driver = await createDriver(config)
const steps = new Steps(write, values['dry-run'])
let prepared: Promise<void> | undefined
const ctx: Context = {
  config,
  driver,
  steps,
  repository: repositoryRoot,
  workDir: path.join(repositoryRoot, '.data/deploy-build'),
  write,
  prepare: () => {
    prepared ??= steps.read(`prepare the ${driver.name} driver`, () => driver.prepare())
    return prepared
  },
}

let code = 0
let unlock: (() => Promise<void>) | undefined
try {
  if (values['dry-run']) write(`dry run of ${command} (${driver.name}): nothing is changed`)
  if (command !== 'status' && !values['dry-run']) {
    unlock = await driver.lock(`${os.userInfo().username}@${os.hostname()} ${command}`)
  }
  if (command === 'status') await status(ctx)
  else if (command === 'release') await release(ctx, rest[0] ?? 'HEAD', { switch: values.switch })
  else if (command === 'switch') await switchColour(ctx)
  else if (command === 'rollback') await rollback(ctx)
  else if (command === 'finish') await finish(ctx, { now: values.now })
  steps.say(`${command} done in ${steps.total().toFixed(1)}s`)
} catch (error) {
  code = 1
  if (error instanceof DeployError || error instanceof ConfigError)
    process.stderr.write(`deploy ${command}: ${error.message}\n`)
  else process.stderr.write(`deploy ${command}: ${(error as Error).stack ?? error}\n`)
  const live = await driver.live().catch(() => null)
  process.stderr.write(`api.${config.DEPLOY_DOMAIN} points at ${live?.colour ?? 'nothing'}\n`)
} finally {
  await unlock?.()
  await driver.close()
}
process.exit(code)
