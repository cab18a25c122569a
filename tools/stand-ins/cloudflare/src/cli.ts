import { parseArgs } from 'node:util'
import { DEFAULT_TOKEN, DEFAULT_ZONE_ID, DEFAULT_ZONE_NAME, startCloudflareStandIn } from './index.ts'

const usage = `Usage: node tools/stand-ins/cloudflare/src/cli.ts [--port 8790] [--host 127.0.0.1]
         [--token ${DEFAULT_TOKEN}] [--zone-id ${DEFAULT_ZONE_ID}]
         [--zone-name ${DEFAULT_ZONE_NAME}]

Starts the in-memory Cloudflare API stand-in (zone cache purge, DNS records). It prints the
base URL to set as CLOUDFLARE_API_URL; set CLOUDFLARE_API_TOKEN and CLOUDFLARE_ZONE_ID to the
token and zone given here. The zone starts with no DNS records: add them with the API or with
POST /__stand-in/records. Development and tests only: it refuses to start when NODE_ENV=production.
`

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8790' },
      host: { type: 'string', default: '127.0.0.1' },
      token: { type: 'string', default: DEFAULT_TOKEN },
      'zone-id': { type: 'string', default: DEFAULT_ZONE_ID },
      'zone-name': { type: 'string', default: DEFAULT_ZONE_NAME },
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
  // stdout carries only the listening line (scripts wait for it); logs go to stderr at warn, so
  // a Cloudflare path the stand-in does not implement stands out.
  const standIn = await startCloudflareStandIn({
    port,
    host: values.host,
    token: values.token,
    zoneId: values['zone-id'],
    zoneName: values['zone-name'],
    logger: { level: 'warn', stream: process.stderr },
  })
  process.stdout.write(`Cloudflare API stand-in listening on ${standIn.url}\n`)

  let closing = false
  const shutdown = () => {
    if (closing) return
    closing = true
    standIn.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('Failed to close the Cloudflare API stand-in:', error)
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
