import { parseArgs } from 'node:util'
import { DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET, startStripeStandIn } from './index.ts'

const usage = `Usage: node tools/stand-ins/stripe/src/cli.ts [--port 12111] [--host 127.0.0.1]
         [--api-key ${DEFAULT_API_KEY}] [--webhook-secret ${DEFAULT_WEBHOOK_SECRET}]
         [--webhook-url http://127.0.0.1:3000/webhooks/stripe]

Starts the in-memory Stripe API stand-in. It prints the origin to set as STRIPE_API_URL; set
STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET to the key and secret given here. Complete a
checkout (and send its signed events to the webhook URL):
  curl -X POST <origin>/__stand-in/checkout/<session id>/complete
Development and tests only: it refuses to start when NODE_ENV=production.
`

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '12111' },
    host: { type: 'string', default: '127.0.0.1' },
    'api-key': { type: 'string', default: DEFAULT_API_KEY },
    'webhook-secret': { type: 'string', default: DEFAULT_WEBHOOK_SECRET },
    'webhook-url': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
})
if (values.help) {
  process.stdout.write(usage)
  process.exit(0)
}
try {
  const standIn = await startStripeStandIn({
    port: Number(values.port),
    host: values.host,
    apiKey: values['api-key'],
    webhookSecret: values['webhook-secret'],
    ...(values['webhook-url'] ? { webhookUrl: values['webhook-url'] } : {}),
    logger: { level: 'warn', stream: process.stderr },
  })
  process.stdout.write(`Stripe API stand-in listening on ${standIn.url}\n`)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      standIn.close().finally(() => process.exit(0))
    })
  }
} catch (error) {
  console.error((error as Error).message)
  process.exit(1)
}
