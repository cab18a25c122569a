import { parseArgs } from 'node:util'
import { DEFAULT_API_KEY, DEFAULT_REQUESTS_PER_MINUTE, startMailerliteStandIn } from './index.ts'

const usage = `Usage: node tools/stand-ins/mailerlite/src/cli.ts [--port 8791] [--host 127.0.0.1]
         [--api-key ${DEFAULT_API_KEY}]... [--requests-per-minute ${DEFAULT_REQUESTS_PER_MINUTE}]

Starts the in-memory Mailerlite API stand-in (groups, fields, subscribers, rate limit). It
prints the base URL to set as MAILERLITE_API_URL (the API is under /api); each --api-key is
an account of its own (MAILERLITE_API_KEY). Controls, under /__stand-in: GET subscribers[?key=],
GET requests[?key=], GET groups?key=, POST groups {"key","name"}, POST fail {"count","status",
"retryAfterSeconds"}, POST down {"down"}, POST keys {"add"|"revoke"}, POST reset.
Development and tests only: it refuses to start when NODE_ENV=production.
`

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8791' },
      host: { type: 'string', default: '127.0.0.1' },
      'api-key': { type: 'string', multiple: true, default: [DEFAULT_API_KEY] },
      'requests-per-minute': { type: 'string', default: String(DEFAULT_REQUESTS_PER_MINUTE) },
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
  const requestsPerMinute = Number(values['requests-per-minute'])
  if (!Number.isInteger(requestsPerMinute) || requestsPerMinute < 1) {
    console.error(`Invalid --requests-per-minute: ${values['requests-per-minute']}`)
    process.exit(1)
  }
  // stdout carries only the listening line (scripts wait for it); logs go to stderr at warn, so
  // a Mailerlite path the stand-in does not implement stands out.
  const standIn = await startMailerliteStandIn({
    port,
    host: values.host,
    apiKeys: values['api-key'],
    requestsPerMinute,
    logger: { level: 'warn', stream: process.stderr },
  })
  process.stdout.write(`Mailerlite API stand-in listening on ${standIn.url}\n`)

  let closing = false
  const shutdown = () => {
    if (closing) return
    closing = true
    standIn.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('Failed to close the Mailerlite API stand-in:', error)
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
