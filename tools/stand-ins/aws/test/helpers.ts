import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import {
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  SendCommandCommand,
  type SendCommandCommandInput,
  SSMClient,
} from '@aws-sdk/client-ssm'
import { buildApp } from 'fauxqs'
import type { Test } from 'tap'
import { type AwsStandIn, type StartAwsStandInOptions, startAwsStandIn } from '../src/index.ts'

export const REGION = 'eu-central-1'
export const ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE'
export const SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
export const API = 'i-0a1b2c3d4e5f60718'
export const API_2 = 'i-0a1b2c3d4e5f60719'
export const WORKER = 'i-0fedcba9876543210'

export async function tempDir(t: Test, label = 'aws-ssm-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), label))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

export async function standIn(t: Test, options: StartAwsStandInOptions = {}): Promise<AwsStandIn> {
  const started = await startAwsStandIn({
    region: REGION,
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    ...options,
  })
  t.teardown(() => started.close())
  return started
}

/** The real SDK, configured as a deploy driver would: explicit endpoint, region and key pair. */
export function ssmClient(
  t: Test,
  url: string,
  overrides: Partial<ConstructorParameters<typeof SSMClient>[0] & object> = {},
): SSMClient {
  const client = new SSMClient({
    endpoint: url,
    region: REGION,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    maxAttempts: 1,
    ...overrides,
  })
  t.teardown(() => client.destroy())
  return client
}

export async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail')
    },
    (error: unknown) => error as Error & Record<string, unknown>,
  )
}

export async function send(
  ssm: SSMClient,
  input: Omit<SendCommandCommandInput, 'DocumentName'> & { DocumentName?: string },
): Promise<string> {
  const sent = await ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', ...input }))
  const id = sent.Command?.CommandId
  if (id === undefined) throw new Error('SendCommand answered no CommandId')
  return id
}

const RUNNING = ['Pending', 'InProgress', 'Delayed', 'Cancelling']

/** Polls GetCommandInvocation until the invocation is in a terminal state (whatever it is). */
export async function settled(
  ssm: SSMClient,
  commandId: string,
  instanceId: string,
  timeoutMs = 10_000,
): Promise<GetCommandInvocationCommandOutput> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const invocation = await ssm.send(
      new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
    )
    if (!RUNNING.includes(invocation.Status ?? '')) return invocation
    if (Date.now() > until) throw new Error(`invocation still ${invocation.Status} after ${timeoutMs} ms`)
    await delay(25)
  }
}

export async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await delay(20)
  }
}

/** Whether a process exists and is not a zombie (PID 1 here may not reap orphans). */
export function alive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`
  if (!existsSync(stat)) return false
  try {
    const state = readFileSync(stat, 'utf8')
      .replace(/^.*\) /s, '')
      .charAt(0)
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

/** fauxqs: a real S3-compatible server in memory, with a bucket, and an SDK client to read it back. */
export async function startS3(t: Test, bucket: string) {
  const app = buildApp({ logger: false })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { port } = app.server.address() as AddressInfo
  const endpoint = `http://127.0.0.1:${port}`
  const credentials = { accessKeyId: 'fauxqs-key', secretAccessKey: 'fauxqs-secret' }
  const client = new S3Client({ endpoint, region: REGION, forcePathStyle: true, credentials })
  t.teardown(() => client.destroy())
  await client.send(new CreateBucketCommand({ Bucket: bucket }))
  return { endpoint, client, outputS3: { endpoint, region: REGION, credentials, forcePathStyle: true } }
}
