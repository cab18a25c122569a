import { parseArgs } from 'node:util'
import { startSuperTokensCore } from './index.ts'

const usage = `Usage: node tools/supertokens-core/src/cli.ts [--port 3567] [--host 127.0.0.1] [--code-lifetime-minutes 15]

Starts the in-memory SuperTokens core stand-in (CDI 5.4 subset for Passwordless and
Session). Development and tests only: it refuses to start when NODE_ENV=production.
`

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '3567' },
      host: { type: 'string', default: '127.0.0.1' },
      'code-lifetime-minutes': { type: 'string', default: '15' },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(usage)
    return
  }
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`Invalid --port: ${values.port}`)
    process.exit(1)
  }
  const lifetime = Number(values['code-lifetime-minutes'])
  if (!Number.isInteger(lifetime) || lifetime < 1) {
    console.error(`Invalid --code-lifetime-minutes: ${values['code-lifetime-minutes']}`)
    process.exit(1)
  }
  // stdout carries only the listening line (scripts wait for it); logs go to stderr,
  // at warn so unimplemented core paths stand out from routine traffic.
  const core = await startSuperTokensCore({
    port,
    host: values.host,
    passwordlessCodeLifetimeMs: lifetime * 60_000,
    logger: { level: 'warn', stream: process.stderr },
  })
  process.stdout.write(`SuperTokens core stand-in listening on ${core.url}\n`)

  let closing = false
  const shutdown = () => {
    if (closing) return
    closing = true
    core.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('Failed to close the SuperTokens core stand-in:', error)
        process.exit(1)
      },
    )
  }
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
})
