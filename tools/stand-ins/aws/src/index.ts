import { type Instance, type InstanceConfig, makeInstances } from './instances.ts'
import { type ParameterSeed, ParameterStore, type StoredParameter } from './parameters.ts'
import { type OutputS3Options, RunCommand, type SentCommand } from './run-command.ts'
import { buildServer, isServerError, StandInState } from './server.ts'

export type { Instance, InstanceConfig } from './instances.ts'
export type { ParameterSeed, ParameterType, ParameterVersion, StoredParameter } from './parameters.ts'
export type { Invocation, InvocationStatus, OutputS3Options, SentCommand } from './run-command.ts'
export { CONTROL_PATH } from './server.ts'

/** What the stand-in uses when not told otherwise (the CLI's defaults too). */
export const DEFAULT_REGION = 'eu-central-1'
export const DEFAULT_ACCESS_KEY_ID = 'AKIASSMSTANDIN000000'
export const DEFAULT_SECRET_ACCESS_KEY = 'aws-ssm-stand-in-secret-access-key'
export const DEFAULT_ACCOUNT_ID = '123456789012'

export interface StartAwsStandInOptions {
  /** 0 (the default) picks a free port. */
  port?: number
  host?: string
  region?: string
  /** The one key pair requests must be signed with (SigV4, service `ssm`). */
  accessKeyId?: string
  secretAccessKey?: string
  /** Shows in ARNs and in InvalidInstanceId's message. */
  accountId?: string
  /** The managed nodes: their commands run on this machine, in their working directories. */
  instances?: InstanceConfig[]
  /** Parameters present at start (and again after `reset()`). */
  parameters?: ParameterSeed[]
  /** Where command output goes when SendCommand names an `OutputS3BucketName`. */
  outputS3?: OutputS3Options
  /**
   * How long an invocation for an offline instance stays Pending before it is DeliveryTimedOut.
   * AWS waits for the command's TimeoutSeconds (default an hour); 5000 ms by default here.
   */
  offlineDeliveryTimeoutMs?: number
  /** How long new invocations answer InvocationDoesNotExist, as they briefly do on AWS; 0 by default. */
  invocationVisibleAfterMs?: number
  /**
   * Commands one instance runs at once: 1 (the default) runs them one after the other in arrival
   * order. A current SSM Agent runs up to 5 (its CommandWorkersLimit).
   */
  commandsPerInstance?: number
  logger?: boolean | Record<string, unknown>
}

export interface AwsStandIn {
  /** The SDK's `endpoint`: `new SSMClient({ endpoint: url, region, credentials })`. */
  url: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  accountId: string
  /** Every accepted SendCommand, oldest first, with its script and invocations (a live array). */
  commands: SentCommand[]
  /** The managed nodes by id, with whether each is online (a live map). */
  instances: ReadonlyMap<string, Instance>
  /** Every parameter by name, with its versions; SecureString values in plain text (a live map). */
  parameters: ReadonlyMap<string, StoredParameter>
  /** Marks the instance's agent online (`Online`) or offline (`ConnectionLost`). */
  setOnline(instanceId: string, online: boolean): void
  /** The next `count` API requests answer `status` (5xx) with InternalServerError; the SDK retries them. */
  failNext(count?: number, status?: number): void
  /** Ends running scripts; forgets commands and pending failures; restores the seeded parameters; all online. */
  reset(): Promise<void>
  /** Ends running scripts (and what they left running in their process groups), then the server. */
  close(): Promise<void>
}

export async function startAwsStandIn(options: StartAwsStandInOptions = {}): Promise<AwsStandIn> {
  // It runs whatever it is sent on this machine and keeps "secrets" in memory in plain text.
  if (process.env.NODE_ENV === 'production') {
    throw new Error(
      'The AWS SSM stand-in is for development and tests only; in production leave the SSM endpoint unset so the deploy tool talks to AWS',
    )
  }
  const region = options.region ?? DEFAULT_REGION
  const accessKeyId = options.accessKeyId ?? DEFAULT_ACCESS_KEY_ID
  const secretAccessKey = options.secretAccessKey ?? DEFAULT_SECRET_ACCESS_KEY
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID
  if (!/^\d{12}$/.test(accountId)) throw new Error(`accountId must be 12 digits (got ${accountId})`)
  const commandsPerInstance = options.commandsPerInstance ?? 1
  if (!Number.isInteger(commandsPerInstance) || commandsPerInstance < 1)
    throw new Error('commandsPerInstance must be an integer >= 1')
  const instances = makeInstances(options.instances ?? [], region)
  const seeds = options.parameters ?? []
  const parameterStore = new ParameterStore(region, accountId)
  parameterStore.seed(seeds)
  const state = new StandInState()

  let log: { warn(details: object, message: string): void } = { warn: () => {} }
  const runCommand = new RunCommand({
    region,
    accountId,
    instances,
    ...(options.outputS3 ? { outputS3: options.outputS3 } : {}),
    offlineDeliveryTimeoutMs: options.offlineDeliveryTimeoutMs ?? 5000,
    invocationVisibleAfterMs: options.invocationVisibleAfterMs ?? 0,
    commandsPerInstance,
    log: { warn: (details, message) => log.warn(details, message) },
  })
  const reset = async () => {
    state.failures = []
    await runCommand.reset()
    parameterStore.parameters.clear()
    parameterStore.seed(seeds)
  }
  const app = buildServer({
    signing: { accessKeyId, secretAccessKey, region, service: 'ssm' },
    state,
    instances,
    runCommand,
    parameters: parameterStore,
    setOnline: (instanceId, online) => runCommand.setOnline(instanceId, online),
    reset,
    logger: options.logger ?? false,
  })
  log = app.log
  app.addHook('onClose', async () => {
    await runCommand.close()
  })
  try {
    await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' })
  } catch (error) {
    await app.close()
    throw error
  }
  const address = app.server.address()
  if (address === null || typeof address === 'string') {
    await app.close()
    throw new Error('AWS SSM stand-in did not bind a TCP port')
  }
  let closing: Promise<void> | undefined
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${host}:${address.port}`,
    region,
    accessKeyId,
    secretAccessKey,
    accountId,
    commands: runCommand.commands,
    instances,
    parameters: parameterStore.parameters,
    setOnline: (instanceId, online) => runCommand.setOnline(instanceId, online),
    failNext(count = 1, status = 500) {
      if (!Number.isInteger(count) || count < 1) throw new Error(`failNext takes a count >= 1 (got ${count})`)
      if (!isServerError(status)) throw new Error(`failNext takes a 5xx status (got ${status})`)
      state.failNext(count, status)
    },
    reset,
    close: () => {
      closing ??= app.close().then(() => undefined)
      return closing
    },
  }
}
