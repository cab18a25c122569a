import { parseArgs } from 'node:util'
import { DEFAULT_API_KEY, startMailerliteStandIn } from './index.ts'

const usage = `Usage: node tools/stand-ins/mailerlite/src/cli.ts [--port 8791] [--host 127.0.0.1]
         [--api-key ${DEFAULT_API_KEY}] [--requests-per-minute 120]

Starts the in-memory Mailerlite API stand-in (groups, fields, subscribers, rate limit). It
prints the base URL to set as MAILERLITE_API_URL; the API key given here is the account's.
Controls: GET /__stand-in/subscribers, /__stand-in/requests; POST /__stand-in/fail
{"count","status","retryAfterSeconds"}, /__stand-in/down {"down"}, /__stand-in/keys {"add"|"revoke"},
/__stand-in/reset. Development and tests only: it refuses to start when NODE_ENV=production.
`

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8791' },
    host: { type: 'string', default: '127.0.0.1' },
    'api-key': { type: 'string', default: DEFAULT_API_KEY },
    'requests-per-minute': { type: 'string', default: '120' },
    help: { type: 'boolean', default: false },
  },
})
if (values.help) {
  process.stdout.write(usage)
  process.exit(0)
}
const port = Number(values.port)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`Invalid --port: ${values.port}`)
  process.exit(1)
}
try {
  const standIn = await startMailerliteStandIn({
    port,
    host: values.host,
    apiKeys: [values['api-key']],
    requestsPerMinute: Number(values['requests-per-minute']),
    logger: { level: 'warn', stream: process.stderr },
  })
  process.stdout.write(`Mailerlite API stand-in listening on ${standIn.url}\n`)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      standIn.close().finally(() => process.exit(0))
    })
  }
} catch (error) {
  console.error((error as Error).message)
  process.exit(1)
}
