import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import {
  DEFAULT_ACCESS_KEY_ID,
  DEFAULT_REGION,
  DEFAULT_SECRET_ACCESS_KEY,
  type InstanceConfig,
  type ParameterSeed,
  startAwsStandIn,
} from './index.ts'

const usage = `Usage: node tools/stand-ins/aws/src/cli.ts [--port 4583] [--host 127.0.0.1]
         [--region ${DEFAULT_REGION}] [--access-key-id ${DEFAULT_ACCESS_KEY_ID}]
         [--secret-access-key ${DEFAULT_SECRET_ACCESS_KEY}]
         [--instances instances.json] [--parameters parameters.json]
         [--output-s3-endpoint http://127.0.0.1:4566] [--output-s3-region <region>]
         [--output-s3-access-key-id <id>] [--output-s3-secret-access-key <secret>]
         [--offline-delivery-timeout-ms 5000]

Starts the AWS Systems Manager stand-in (Run Command with AWS-RunShellScript, run on THIS
machine; Parameter Store; DescribeInstanceInformation). It prints the endpoint to give the SDK
(new SSMClient({ endpoint, region, credentials })) with the key pair given here.

--instances: a JSON array of { "instanceId": "i-0123456789abcdef0", "tags": { "Role": "api" },
  "workingDirectory": "/abs/dir", "env": { "K": "V" } }.
--parameters: a JSON array of { "name": "/nudge/x", "value": "v", "type": "SecureString" }.
--output-s3-*: the S3 (fauxqs, MinIO) that output goes to when a command names OutputS3BucketName;
  its credentials default to the SSM ones, path-style addressing.

Test controls under /__stand-in (GET commands, parameters, instances; POST instances/<id>/online
or offline, fail-next {"count","status"}, reset). Development and tests only: it refuses to
start when NODE_ENV=production.
`

function readJsonArray(file: string, what: string): unknown[] {
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'))
  if (!Array.isArray(parsed)) throw new Error(`${what} file ${file} must hold a JSON array`)
  return parsed
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '4583' },
      host: { type: 'string', default: '127.0.0.1' },
      region: { type: 'string', default: DEFAULT_REGION },
      'access-key-id': { type: 'string', default: DEFAULT_ACCESS_KEY_ID },
      'secret-access-key': { type: 'string', default: DEFAULT_SECRET_ACCESS_KEY },
      instances: { type: 'string' },
      parameters: { type: 'string' },
      'output-s3-endpoint': { type: 'string' },
      'output-s3-region': { type: 'string' },
      'output-s3-access-key-id': { type: 'string' },
      'output-s3-secret-access-key': { type: 'string' },
      'offline-delivery-timeout-ms': { type: 'string', default: '5000' },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(usage)
    return
  }
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`Invalid --port: ${values.port}`)
  const offlineDeliveryTimeoutMs = Number(values['offline-delivery-timeout-ms'])
  if (!Number.isInteger(offlineDeliveryTimeoutMs) || offlineDeliveryTimeoutMs < 0)
    throw new Error(`Invalid --offline-delivery-timeout-ms: ${values['offline-delivery-timeout-ms']}`)
  const instances = values.instances
    ? (readJsonArray(values.instances, '--instances') as InstanceConfig[])
    : []
  const parameters = values.parameters
    ? (readJsonArray(values.parameters, '--parameters') as ParameterSeed[])
    : []
  const endpoint = values['output-s3-endpoint']
  // stdout carries only the listening line (scripts wait for it); logs go to stderr at warn, so an
  // operation the stand-in does not implement stands out.
  const standIn = await startAwsStandIn({
    port,
    host: values.host,
    region: values.region,
    accessKeyId: values['access-key-id'],
    secretAccessKey: values['secret-access-key'],
    instances,
    parameters,
    offlineDeliveryTimeoutMs,
    ...(endpoint === undefined
      ? {}
      : {
          outputS3: {
            endpoint,
            region: values['output-s3-region'] ?? values.region,
            credentials: {
              accessKeyId: values['output-s3-access-key-id'] ?? values['access-key-id'],
              secretAccessKey: values['output-s3-secret-access-key'] ?? values['secret-access-key'],
            },
            forcePathStyle: true,
          },
        }),
    logger: { level: 'warn', stream: process.stderr },
  })
  process.stdout.write(`AWS SSM stand-in listening on ${standIn.url}\n`)

  let closing = false
  const shutdown = () => {
    if (closing) return
    closing = true
    standIn.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('Failed to close the AWS SSM stand-in:', error)
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
