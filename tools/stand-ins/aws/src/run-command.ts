import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { constraint, errors } from './errors.ts'
import { INSTANCE_ID_PATTERN, type Instance, matchesTag } from './instances.ts'
import {
  epochSeconds,
  type Input,
  optionalInteger,
  optionalList,
  optionalMap,
  optionalString,
  optionalStringList,
  page,
  requiredString,
} from './wire.ts'

/** Where the agent uploads a command's output when `OutputS3BucketName` is set. */
export interface OutputS3Options {
  /** An S3-compatible endpoint (fauxqs, MinIO); AWS's own when omitted. */
  endpoint?: string
  region: string
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  forcePathStyle?: boolean
}

export type InvocationStatus =
  | 'Pending'
  | 'InProgress'
  | 'Cancelling'
  | 'Success'
  | 'Failed'
  | 'TimedOut'
  | 'Cancelled'

/** One command on one instance: what GetCommandInvocation reports, plus what the stand-in saw. */
export interface Invocation {
  commandId: string
  instanceId: string
  status: InvocationStatus
  /** Pending, InProgress, Cancelling, Success, Failed, ExecutionTimedOut, DeliveryTimedOut, Cancelled, Undeliverable. */
  statusDetails: string
  /** The script's exit status; -1 until it ends (and when it never ran); 137 when it was killed. */
  responseCode: number
  requestedAt: Date
  startedAt?: Date
  endedAt?: Date
  /** The directory the script ran in. */
  workingDirectory: string
  /** Everything the script wrote, untruncated (empty until it ends). */
  stdout: string
  stderr: string
  /** The bash process, leader of its own process group. */
  pid?: number
  standardOutputUrl?: string
  standardErrorUrl?: string
  /** The S3 keys the output was uploaded to (only non-empty streams are uploaded, as the agent does). */
  s3Keys: string[]
  /** Why uploading the output failed (the invocation's status does not change, as with the agent). */
  s3Error?: string
}

/** A SendCommand the stand-in accepted, with its script and one invocation per targeted instance. */
export interface SentCommand {
  commandId: string
  documentName: string
  documentVersion: string
  /** `Parameters.commands`, and the one script they make (joined by newlines, run by bash). */
  commands: string[]
  script: string
  parameters: Record<string, string[]>
  executionTimeoutSeconds: number
  /** `Parameters.workingDirectory`, when given (else each instance's own). */
  workingDirectory?: string
  /** As given: `InstanceIds` or `Targets`. */
  requestedInstanceIds: string[]
  targets: Array<{ Key: string; Values: string[] }>
  comment: string
  timeoutSeconds: number
  maxConcurrency: string
  maxErrors: string
  outputS3BucketName?: string
  outputS3KeyPrefix?: string
  requestedAt: Date
  expiresAt: Date
  invocations: Invocation[]
}

export interface RunCommandConfig {
  region: string
  accountId: string
  instances: Map<string, Instance>
  outputS3?: OutputS3Options
  /** How long an invocation for an offline instance stays Pending before it is DeliveryTimedOut. */
  offlineDeliveryTimeoutMs: number
  /** How long after SendCommand its invocations stay invisible (InvocationDoesNotExist), as on AWS. */
  invocationVisibleAfterMs: number
  /** Commands one instance runs at the same time (1: one after the other, in arrival order). */
  commandsPerInstance: number
  log: { warn(details: object, message: string): void }
}

/** The one document the stand-in has, and how its step is named in answers and in S3 keys. */
const DOCUMENT = 'AWS-RunShellScript'
const PLUGIN_NAME = 'aws:runShellScript'
const S3_PLUGIN_PATH = ['awsrunShellScript', '0.awsrunShellScript']
/** What the agent's output config truncates GetCommandInvocation's contents to; 2500 for a plugin's Output. */
const MAX_STDOUT = 24000
const MAX_STDERR = 8000
const MAX_PLUGIN_OUTPUT = 2500
/** Fatal error (128) + SIGKILL (9): the agent's exit code for a script it stopped (timeout, cancel). */
const STOPPED_EXIT_CODE = 137
const MAX_TIMER_MS = 2 ** 31 - 1
const COMMAND_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

interface Execution {
  child: ChildProcess
  stdout: Buffer[]
  stderr: Buffer[]
  stop?: 'timeout' | 'cancel' | 'shutdown'
  timer: NodeJS.Timeout
  /** The process ended and its output streams closed. */
  closed: boolean
  ended: Promise<unknown>
}

interface Pending {
  command: SentCommand
  deadline?: NodeJS.Timeout
  offline?: NodeJS.Timeout
}

export class RunCommand {
  readonly commands: SentCommand[] = []
  readonly #config: RunCommandConfig
  readonly #scriptsDir = mkdtempSync(path.join(tmpdir(), 'aws-ssm-stand-in-'))
  /** Per instance, invocations waiting to run, oldest first. */
  readonly #queues = new Map<string, Invocation[]>()
  readonly #pending = new Map<Invocation, Pending>()
  readonly #running = new Map<Invocation, Execution>()
  readonly #finishing = new Set<Promise<void>>()
  /** Every process group a script ran in, for close() to end what scripts left behind. */
  readonly #groups = new Set<number>()
  readonly #visibleAt = new WeakMap<Invocation, number>()
  #s3: S3Client | undefined
  #closed = false

  constructor(config: RunCommandConfig) {
    this.#config = config
  }

  send(input: Input) {
    const documentName = requiredString(input, 'DocumentName')
    if (
      documentName !== DOCUMENT &&
      !/^arn:aws:ssm:[a-z0-9-]*::document\/AWS-RunShellScript$/.test(documentName)
    )
      throw errors.invalidDocument(documentName)
    const documentVersion = optionalString(input, 'DocumentVersion')
    if (documentVersion !== undefined && !['$DEFAULT', '$LATEST', '1'].includes(documentVersion))
      throw errors.invalidDocumentVersion()
    const parameters = readParameters(optionalMap(input, 'Parameters'))
    const instanceIds = optionalStringList(input, 'InstanceIds', { max: 50 })
    const targets = readTargets(input)
    const timeoutSeconds = optionalInteger(input, 'TimeoutSeconds', { min: 30, max: 2592000 }) ?? 3600
    const comment = optionalString(input, 'Comment') ?? ''
    if (comment.length > 100)
      throw constraint('comment', comment, 'Member must have length less than or equal to 100')
    const bucket = optionalString(input, 'OutputS3BucketName')
    if (bucket !== undefined && (bucket.length < 3 || bucket.length > 63))
      throw constraint('outputS3BucketName', bucket, 'Member must have length between 3 and 63')
    const prefix = optionalString(input, 'OutputS3KeyPrefix')
    if (prefix !== undefined && prefix.length > 500)
      throw constraint('outputS3KeyPrefix', prefix, 'Member must have length less than or equal to 500')
    const maxConcurrency = optionalString(input, 'MaxConcurrency') ?? '50'
    const maxErrors = optionalString(input, 'MaxErrors') ?? '0'

    if (instanceIds !== undefined && instanceIds.length > 0 && targets.length > 0)
      throw errors.validation('InstanceIds and Targets cannot be specified together.')
    if ((instanceIds === undefined || instanceIds.length === 0) && targets.length === 0)
      throw errors.validation('Either InstanceIds or Targets must be specified.')
    let resolved: string[]
    if (targets.length === 0) {
      const ids = instanceIds as string[]
      for (const id of ids)
        if (!INSTANCE_ID_PATTERN.test(id))
          throw constraint(
            'instanceIds',
            `[${ids.join(', ')}]`,
            'Member must satisfy constraint: [Member must satisfy regular expression pattern: (^i-(\\w{8}|\\w{17})$)|(^mi-\\w{17}$)]',
          )
      if (new Set(ids).size !== ids.length) throw errors.duplicateInstanceId()
      const unknown = ids.filter((id) => !this.#config.instances.has(id))
      if (unknown.length > 0) throw errors.invalidInstanceId(unknown, this.#config.accountId)
      resolved = ids
    } else {
      resolved = this.#resolveTargets(targets)
    }

    const requestedAt = new Date()
    const command: SentCommand = {
      commandId: randomUUID(),
      documentName,
      documentVersion: documentVersion ?? '$DEFAULT',
      commands: parameters.commands,
      script: `${parameters.commands.join('\n')}\n`,
      parameters: parameters.given,
      executionTimeoutSeconds: parameters.executionTimeout,
      ...(parameters.workingDirectory === undefined ? {} : { workingDirectory: parameters.workingDirectory }),
      requestedInstanceIds: instanceIds ?? [],
      targets,
      comment,
      timeoutSeconds,
      maxConcurrency,
      maxErrors,
      ...(bucket === undefined ? {} : { outputS3BucketName: bucket }),
      ...(prefix === undefined ? {} : { outputS3KeyPrefix: prefix }),
      requestedAt,
      expiresAt: new Date(requestedAt.getTime() + (timeoutSeconds + parameters.executionTimeout) * 1000),
      invocations: [],
    }
    this.commands.push(command)
    for (const instanceId of resolved) {
      const instance = this.#config.instances.get(instanceId)
      const invocation: Invocation = {
        commandId: command.commandId,
        instanceId,
        status: 'Pending',
        statusDetails: 'Pending',
        responseCode: -1,
        requestedAt,
        workingDirectory:
          instance === undefined
            ? ''
            : path.resolve(instance.workingDirectory, command.workingDirectory ?? instance.workingDirectory),
        stdout: '',
        stderr: '',
        s3Keys: [],
      }
      command.invocations.push(invocation)
      this.#visibleAt.set(invocation, requestedAt.getTime() + this.#config.invocationVisibleAfterMs)
      if (!instance) {
        // An id in Targets that is no managed node of ours: nothing can receive it.
        invocation.status = 'Failed'
        invocation.statusDetails = 'Undeliverable'
        continue
      }
      this.#enqueue(invocation, command, instance)
    }
    const answer = this.#commandJson(command)
    // Targets resolve after SendCommand answers: its answer counts no target yet, as AWS's does.
    if (targets.length > 0) answer.TargetCount = 0
    answer.Status = 'Pending'
    answer.StatusDetails = 'Pending'
    answer.CompletedCount = 0
    answer.ErrorCount = 0
    answer.DeliveryTimedOutCount = 0
    for (const instanceId of new Set(resolved)) this.#pump(instanceId)
    return { Command: answer }
  }

  getInvocation(input: Input) {
    const commandId = requiredString(input, 'CommandId', { min: 36, max: 36 })
    const instanceId = requiredString(input, 'InstanceId')
    if (!COMMAND_ID.test(commandId)) throw errors.invalidCommandId()
    if (!INSTANCE_ID_PATTERN.test(instanceId))
      throw errors.invalidInstanceId([instanceId], this.#config.accountId)
    const pluginName = optionalString(input, 'PluginName')
    if (pluginName !== undefined && pluginName !== PLUGIN_NAME && pluginName !== 'runShellScript')
      throw errors.invalidPluginName()
    const command = this.commands.find((c) => c.commandId === commandId)
    const invocation = command?.invocations.find((i) => i.instanceId === instanceId)
    if (!command || !invocation || !this.#visible(invocation)) throw errors.invocationDoesNotExist()
    const ended = isTerminal(invocation)
    return {
      CommandId: command.commandId,
      InstanceId: invocation.instanceId,
      Comment: command.comment,
      DocumentName: command.documentName,
      DocumentVersion: command.documentVersion,
      PluginName: PLUGIN_NAME,
      ResponseCode: invocation.responseCode,
      ExecutionStartDateTime: invocation.startedAt?.toISOString() ?? '',
      ExecutionElapsedTime:
        invocation.startedAt && invocation.endedAt
          ? `PT${((invocation.endedAt.getTime() - invocation.startedAt.getTime()) / 1000).toFixed(3)}S`
          : '',
      ExecutionEndDateTime: invocation.endedAt?.toISOString() ?? '',
      Status: invocation.status,
      StatusDetails: invocation.statusDetails,
      StandardOutputContent: ended ? truncate(invocation.stdout, MAX_STDOUT) : '',
      StandardOutputUrl: invocation.standardOutputUrl ?? '',
      StandardErrorContent: ended ? truncate(invocation.stderr, MAX_STDERR) : '',
      StandardErrorUrl: invocation.standardErrorUrl ?? '',
      CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
    }
  }

  listInvocations(input: Input) {
    const commandId = optionalString(input, 'CommandId')
    if (commandId !== undefined && commandId.length !== 36)
      throw constraint('commandId', commandId, 'Member must have length equal to 36')
    const instanceId = optionalString(input, 'InstanceId')
    const details = input.Details === true
    const maxResults = optionalInteger(input, 'MaxResults', { min: 1, max: 50 }) ?? 50
    const filters = readCommandFilters(input, 'invocations')
    const invocations = this.#newestFirst()
      .filter((command) => commandId === undefined || command.commandId === commandId)
      .flatMap((command) => command.invocations.map((invocation) => ({ command, invocation })))
      .filter(({ invocation }) => this.#visible(invocation))
      .filter(({ invocation }) => instanceId === undefined || invocation.instanceId === instanceId)
      .filter(({ command, invocation }) => filters.every((filter) => filter(command, invocation)))
    const result = page(invocations, 'ListCommandInvocations', optionalString(input, 'NextToken'), maxResults)
    return {
      CommandInvocations: result.items.map(({ command, invocation }) =>
        this.#invocationJson(command, invocation, details),
      ),
      ...(result.nextToken === undefined ? {} : { NextToken: result.nextToken }),
    }
  }

  listCommands(input: Input) {
    const commandId = optionalString(input, 'CommandId')
    if (commandId !== undefined && commandId.length !== 36)
      throw constraint('commandId', commandId, 'Member must have length equal to 36')
    const instanceId = optionalString(input, 'InstanceId')
    const maxResults = optionalInteger(input, 'MaxResults', { min: 1, max: 50 }) ?? 50
    const filters = readCommandFilters(input, 'commands')
    const commands = this.#newestFirst()
      .filter((command) => commandId === undefined || command.commandId === commandId)
      .filter(
        (command) => instanceId === undefined || command.invocations.some((i) => i.instanceId === instanceId),
      )
      .filter((command) => filters.every((filter) => filter(command, undefined)))
    const result = page(commands, 'ListCommands', optionalString(input, 'NextToken'), maxResults)
    return {
      Commands: result.items.map((command) => this.#commandJson(command)),
      ...(result.nextToken === undefined ? {} : { NextToken: result.nextToken }),
    }
  }

  cancel(input: Input) {
    const commandId = requiredString(input, 'CommandId', { min: 36, max: 36 })
    const instanceIds = optionalStringList(input, 'InstanceIds', { max: 50 })
    const command = this.commands.find((c) => c.commandId === commandId)
    if (!command) throw errors.invalidCommandId()
    if (instanceIds !== undefined) {
      if (new Set(instanceIds).size !== instanceIds.length) throw errors.duplicateInstanceId()
      const unknown = instanceIds.filter((id) => !command.invocations.some((i) => i.instanceId === id))
      if (unknown.length > 0) throw errors.invalidInstanceId(unknown, this.#config.accountId)
    }
    for (const invocation of command.invocations) {
      if (instanceIds !== undefined && !instanceIds.includes(invocation.instanceId)) continue
      if (invocation.status === 'Pending') {
        this.#unqueue(invocation)
        invocation.status = 'Cancelled'
        invocation.statusDetails = 'Cancelled'
      } else if (invocation.status === 'InProgress') {
        const execution = this.#running.get(invocation)
        // Still running (not uploading its output): stop the whole process group, as the agent does.
        if (execution && !execution.closed) {
          execution.stop = 'cancel'
          invocation.status = 'Cancelling'
          invocation.statusDetails = 'Cancelling'
          killGroup(execution.child)
        }
      }
    }
    return {}
  }

  setOnline(instanceId: string, online: boolean): void {
    const instance = this.#config.instances.get(instanceId)
    if (!instance) throw new Error(`no instance ${instanceId} in the stand-in`)
    if (instance.online === online) return
    instance.online = online
    instance.lastPingAt = new Date()
    for (const invocation of this.#queues.get(instanceId) ?? []) {
      const pending = this.#pending.get(invocation)
      if (!pending) continue
      if (online) {
        clearTimeout(pending.offline)
        delete pending.offline
      } else {
        this.#armOfflineTimer(invocation, pending)
      }
    }
    if (online) this.#pump(instanceId)
  }

  /** Ends every running script, forgets every command, and puts every instance back online. */
  async reset(): Promise<void> {
    await this.#stopAll()
    this.commands.length = 0
    for (const instance of this.#config.instances.values()) {
      instance.online = true
      instance.lastPingAt = new Date()
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.#stopAll()
    // What scripts started in the background and left running (their groups outlive them).
    for (const group of this.#groups) killGroupId(group)
    this.#s3?.destroy()
    rmSync(this.#scriptsDir, { recursive: true, force: true })
  }

  async #stopAll(): Promise<void> {
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.deadline)
      clearTimeout(pending.offline)
    }
    this.#pending.clear()
    this.#queues.clear()
    const ended: Array<Promise<unknown>> = []
    for (const execution of this.#running.values()) {
      execution.stop ??= 'shutdown'
      killGroup(execution.child)
      ended.push(execution.ended)
    }
    // A script is SIGKILLed: it ends at once. An upload to a hung S3 must not hold us up for long.
    const settled = (async () => {
      await Promise.all(ended)
      await Promise.all([...this.#finishing])
    })()
    await Promise.race([settled, delay(3000, undefined, { ref: false })])
  }

  #visible(invocation: Invocation): boolean {
    return Date.now() >= (this.#visibleAt.get(invocation) ?? 0)
  }

  #newestFirst(): SentCommand[] {
    return [...this.commands].reverse()
  }

  #resolveTargets(targets: Array<{ Key: string; Values: string[] }>): string[] {
    const byId = targets.find((t) => t.Key === 'InstanceIds')
    const candidates = byId ? [...new Set(byId.Values)] : [...this.#config.instances.keys()]
    return candidates.filter((id) => {
      const instance = this.#config.instances.get(id)
      const tagTargets = targets.filter((t) => t.Key !== 'InstanceIds')
      if (!instance) return tagTargets.length === 0
      return tagTargets.every((t) => matchesTag(instance, t.Key, t.Values))
    })
  }

  #enqueue(invocation: Invocation, command: SentCommand, instance: Instance): void {
    const pending: Pending = { command }
    // Not started by then, it never will be: DeliveryTimedOut (TimeoutSeconds, default one hour).
    pending.deadline = setTimeout(
      () => this.#deliveryTimedOut(invocation),
      Math.min(command.timeoutSeconds * 1000, MAX_TIMER_MS),
    )
    pending.deadline.unref()
    this.#pending.set(invocation, pending)
    const queue = this.#queues.get(instance.instanceId) ?? []
    queue.push(invocation)
    this.#queues.set(instance.instanceId, queue)
    if (!instance.online) this.#armOfflineTimer(invocation, pending)
  }

  #armOfflineTimer(invocation: Invocation, pending: Pending): void {
    clearTimeout(pending.offline)
    pending.offline = setTimeout(
      () => this.#deliveryTimedOut(invocation),
      this.#config.offlineDeliveryTimeoutMs,
    )
    pending.offline.unref()
  }

  #unqueue(invocation: Invocation): Pending | undefined {
    const pending = this.#pending.get(invocation)
    if (pending) {
      clearTimeout(pending.deadline)
      clearTimeout(pending.offline)
      this.#pending.delete(invocation)
    }
    const queue = this.#queues.get(invocation.instanceId)
    const index = queue?.indexOf(invocation) ?? -1
    if (queue && index !== -1) queue.splice(index, 1)
    return pending
  }

  #deliveryTimedOut(invocation: Invocation): void {
    if (invocation.status !== 'Pending') return
    this.#unqueue(invocation)
    invocation.status = 'TimedOut'
    invocation.statusDetails = 'DeliveryTimedOut'
    this.#pump(invocation.instanceId)
  }

  /** Starts what the instance's agent would pick up next: oldest first, so many at a time. */
  #pump(instanceId: string): void {
    const instance = this.#config.instances.get(instanceId)
    if (!instance?.online || this.#closed) return
    const queue = this.#queues.get(instanceId) ?? []
    const running = [...this.#running.keys()].filter((i) => i.instanceId === instanceId).length
    let free = this.#config.commandsPerInstance - running
    while (free > 0 && queue.length > 0) {
      const invocation = queue[0] as Invocation
      const pending = this.#unqueue(invocation)
      if (!pending || invocation.status !== 'Pending') continue
      this.#start(invocation, pending.command, instance)
      free--
    }
  }

  #start(invocation: Invocation, command: SentCommand, instance: Instance): void {
    invocation.status = 'InProgress'
    invocation.statusDetails = 'InProgress'
    invocation.startedAt = new Date()
    const cwd = invocation.workingDirectory
    if (!existsSync(cwd) || !statSync(cwd).isDirectory()) {
      // The agent cannot chdir there: the plugin fails before the script runs.
      invocation.endedAt = new Date()
      const failed = this.#finish(invocation, command, true, {
        stdout: '',
        stderr: `failed to run commands: chdir ${cwd}: no such file or directory`,
        exitCode: 1,
        status: 'Failed',
      })
      this.#track(failed.then(() => this.#pump(instance.instanceId)))
      return
    }
    // The agent writes the commands to _script.sh in its orchestration folder and runs it.
    const dir = path.join(this.#scriptsDir, command.commandId, instance.instanceId, ...S3_PLUGIN_PATH)
    mkdirSync(dir, { recursive: true })
    const scriptPath = path.join(dir, '_script.sh')
    writeFileSync(scriptPath, command.script, { mode: 0o700 })
    const child = spawn('bash', [scriptPath], {
      cwd,
      env: {
        ...process.env,
        ...instance.env,
        AWS_SSM_INSTANCE_ID: instance.instanceId,
        AWS_SSM_REGION_NAME: this.#config.region,
      },
      // Its own process group, so a timeout or cancel kills what the script started too.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    if (child.pid !== undefined) {
      invocation.pid = child.pid
      this.#groups.add(child.pid)
    }
    const execution: Execution = {
      child,
      stdout: [],
      stderr: [],
      timer: setTimeout(() => {
        execution.stop = 'timeout'
        killGroup(child)
      }, command.executionTimeoutSeconds * 1000),
      closed: false,
      // 'close': the process ended and its output streams too (a background job holding them open
      // keeps the command running, as it keeps the agent waiting).
      ended: once(child, 'close').catch(() => undefined),
    }
    this.#running.set(invocation, execution)
    child.stdout?.on('data', (chunk: Buffer) => execution.stdout.push(chunk))
    child.stderr?.on('data', (chunk: Buffer) => execution.stderr.push(chunk))
    let settled = false
    const end = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
      if (settled) return
      settled = true
      execution.closed = true
      clearTimeout(execution.timer)
      invocation.endedAt = new Date()
      this.#track(this.#ended(invocation, command, execution, code, signal, spawnError))
    }
    child.once('error', (error) => {
      if (child.pid === undefined) end(1, null, error)
    })
    child.once('close', (code, signal) => end(code, signal))
  }

  #track(promise: Promise<void>): void {
    this.#finishing.add(promise)
    promise.finally(() => this.#finishing.delete(promise)).catch(() => undefined)
  }

  async #ended(
    invocation: Invocation,
    command: SentCommand,
    execution: Execution,
    code: number | null,
    signal: NodeJS.Signals | null,
    spawnError: Error | undefined,
  ): Promise<void> {
    const stdout = Buffer.concat(execution.stdout).toString('utf8')
    let stderr = Buffer.concat(execution.stderr).toString('utf8')
    let exitCode: number
    let status: InvocationStatus
    let details: string | undefined
    if (execution.stop === 'timeout') {
      exitCode = STOPPED_EXIT_CODE
      status = 'TimedOut'
      details = 'ExecutionTimedOut'
    } else if (execution.stop === 'cancel') {
      exitCode = STOPPED_EXIT_CODE
      status = 'Cancelled'
    } else if (execution.stop === 'shutdown') {
      exitCode = STOPPED_EXIT_CODE
      status = 'Failed'
    } else if (spawnError) {
      exitCode = 1
      status = 'Failed'
      stderr = appendLine(stderr, `failed to run commands: ${spawnError.message}`)
    } else if (code === 0) {
      exitCode = 0
      status = 'Success'
    } else if (code !== null) {
      exitCode = code
      status = 'Failed'
      stderr = appendLine(stderr, `failed to run commands: exit status ${code}`)
    } else {
      // Killed by a signal someone else sent: Go reports exit status -1.
      exitCode = -1
      status = 'Failed'
      stderr = appendLine(stderr, `failed to run commands: signal: ${signalName(signal)}`)
    }
    // Output of a script ended by close() or reset() is not uploaded: the stand-in is going away.
    await this.#finish(invocation, command, execution.stop !== 'shutdown', {
      stdout,
      stderr,
      exitCode,
      status,
      ...(details ? { details } : {}),
    })
    this.#running.delete(invocation)
    this.#pump(invocation.instanceId)
  }

  /** Uploads the output (before the status changes, as the agent reports only once it has). */
  async #finish(
    invocation: Invocation,
    command: SentCommand,
    upload: boolean,
    result: { stdout: string; stderr: string; exitCode: number; status: InvocationStatus; details?: string },
  ): Promise<void> {
    const bucket = command.outputS3BucketName
    if (bucket !== undefined && upload && !this.#closed)
      await this.#upload(invocation, command, bucket, result)
    invocation.stdout = result.stdout
    invocation.stderr = result.stderr
    invocation.responseCode = result.exitCode
    invocation.status = result.status
    invocation.statusDetails = result.details ?? result.status
  }

  async #upload(
    invocation: Invocation,
    command: SentCommand,
    bucket: string,
    output: { stdout: string; stderr: string },
  ): Promise<void> {
    const base = [
      (command.outputS3KeyPrefix ?? '').replace(/^\/+|\/+$/g, ''),
      command.commandId,
      invocation.instanceId,
      ...S3_PLUGIN_PATH,
    ]
      .filter((part) => part !== '')
      .join('/')
    const region = this.#config.outputS3?.region ?? this.#config.region
    const url = (key: string) => `https://s3.${region}.amazonaws.com/${bucket}/${key}`
    invocation.standardOutputUrl = url(`${base}/stdout`)
    invocation.standardErrorUrl = url(`${base}/stderr`)
    const outputS3 = this.#config.outputS3
    if (!outputS3) {
      invocation.s3Error = 'the stand-in was started without outputS3: nothing uploaded'
      this.#config.log.warn({ commandId: command.commandId, bucket }, invocation.s3Error)
      return
    }
    this.#s3 ??= new S3Client({
      region: outputS3.region,
      credentials: outputS3.credentials,
      ...(outputS3.endpoint === undefined ? {} : { endpoint: outputS3.endpoint }),
      forcePathStyle: outputS3.forcePathStyle ?? outputS3.endpoint !== undefined,
      requestHandler: { connectionTimeout: 2000, requestTimeout: 10000 },
    })
    try {
      for (const [name, body] of [
        ['stdout', output.stdout],
        ['stderr', output.stderr],
      ] as const) {
        // The agent uploads a stream's file only when something was written to it.
        if (body === '') continue
        const key = `${base}/${name}`
        await this.#s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))
        invocation.s3Keys.push(key)
      }
    } catch (error) {
      invocation.s3Error = error instanceof Error ? error.message : String(error)
      this.#config.log.warn(
        { commandId: command.commandId, bucket, error: invocation.s3Error },
        'output upload failed',
      )
    }
  }

  #commandJson(command: SentCommand) {
    const counts = summarize(command)
    return {
      CommandId: command.commandId,
      DocumentName: command.documentName,
      DocumentVersion: command.documentVersion,
      Comment: command.comment,
      ExpiresAfter: epochSeconds(command.expiresAt),
      Parameters: command.parameters,
      InstanceIds: command.requestedInstanceIds,
      Targets: command.targets,
      RequestedDateTime: epochSeconds(command.requestedAt),
      Status: counts.status as string,
      StatusDetails: counts.details,
      OutputS3Region: this.#config.outputS3?.region ?? this.#config.region,
      OutputS3BucketName: command.outputS3BucketName ?? '',
      OutputS3KeyPrefix: command.outputS3KeyPrefix ?? '',
      MaxConcurrency: command.maxConcurrency,
      MaxErrors: command.maxErrors,
      TargetCount: command.invocations.length,
      CompletedCount: counts.completed,
      ErrorCount: counts.errors,
      DeliveryTimedOutCount: counts.deliveryTimedOut,
      ServiceRole: '',
      NotificationConfig: { NotificationArn: '', NotificationEvents: [], NotificationType: '' },
      CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
      TimeoutSeconds: command.timeoutSeconds,
    }
  }

  #invocationJson(command: SentCommand, invocation: Invocation, details: boolean) {
    const instance = this.#config.instances.get(invocation.instanceId)
    const ended = isTerminal(invocation)
    return {
      CommandId: command.commandId,
      InstanceId: invocation.instanceId,
      InstanceName: instance?.computerName ?? '',
      Comment: command.comment,
      DocumentName: command.documentName,
      DocumentVersion: command.documentVersion,
      RequestedDateTime: epochSeconds(invocation.requestedAt),
      Status: invocation.status,
      StatusDetails: invocation.statusDetails,
      TraceOutput: '',
      StandardOutputUrl: invocation.standardOutputUrl ?? '',
      StandardErrorUrl: invocation.standardErrorUrl ?? '',
      CommandPlugins: details
        ? [
            {
              Name: PLUGIN_NAME,
              // A plugin is never "Cancelling": it runs until it is stopped.
              Status: invocation.status === 'Cancelling' ? 'InProgress' : invocation.status,
              StatusDetails: invocation.statusDetails,
              ResponseCode: invocation.responseCode,
              ...(invocation.startedAt ? { ResponseStartDateTime: epochSeconds(invocation.startedAt) } : {}),
              ...(invocation.endedAt ? { ResponseFinishDateTime: epochSeconds(invocation.endedAt) } : {}),
              Output: ended ? pluginOutput(invocation.stdout, invocation.stderr) : '',
              StandardOutputUrl: invocation.standardOutputUrl ?? '',
              StandardErrorUrl: invocation.standardErrorUrl ?? '',
              OutputS3Region: this.#config.outputS3?.region ?? this.#config.region,
              OutputS3BucketName: command.outputS3BucketName ?? '',
              OutputS3KeyPrefix: command.outputS3KeyPrefix ?? '',
            },
          ]
        : [],
      ServiceRole: '',
      NotificationConfig: { NotificationArn: '', NotificationEvents: [], NotificationType: '' },
      CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
    }
  }
}

/** AWS-RunShellScript's parameters: commands (required), workingDirectory, executionTimeout. */
function readParameters(raw: Input | undefined) {
  const given: Record<string, string[]> = {}
  for (const [name, value] of Object.entries(raw ?? {})) {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
      throw errors.serialization(`Cannot deserialize 'Parameters.${name}': expected a list of strings`)
    if (!['commands', 'workingDirectory', 'executionTimeout'].includes(name))
      throw errors.invalidParameters(`Parameter "${name}" is not defined in document AWS-RunShellScript.`)
    given[name] = value as string[]
  }
  const commands = given.commands
  if (commands === undefined || commands.length === 0)
    throw errors.invalidParameters('Parameter "commands" is required by document AWS-RunShellScript.')
  const single = (name: string): string | undefined => {
    const value = given[name]
    if (value === undefined) return undefined
    if (value.length !== 1) throw errors.invalidParameters(`Parameter "${name}" takes one value.`)
    return value[0]
  }
  const timeout = single('executionTimeout') ?? '3600'
  // The document's allowedPattern: 1 to 172800 seconds (48 hours).
  if (!/^[1-9][0-9]{0,5}$/.test(timeout) || Number(timeout) > 172800)
    throw errors.invalidParameters(
      `Parameter "executionTimeout" "${timeout}" failed to satisfy constraint: 1 to 172800 seconds.`,
    )
  const workingDirectory = single('workingDirectory')
  return {
    given,
    commands,
    executionTimeout: Number(timeout),
    ...(workingDirectory ? { workingDirectory } : {}),
  }
}

function readTargets(input: Input): Array<{ Key: string; Values: string[] }> {
  const targets = optionalList(input, 'Targets', { max: 5 }) ?? []
  return targets.map((target, index) => {
    const key = optionalString(target, 'Key')
    const values = optionalStringList(target, 'Values', { max: 50 })
    if (key === undefined)
      throw constraint(`targets.${index + 1}.member.key`, undefined, 'Member must not be null')
    if (values === undefined || values.length === 0)
      throw constraint(`targets.${index + 1}.member.values`, undefined, 'Member must not be null')
    if (key !== 'InstanceIds' && key !== 'tag-key' && !/^tag:.+$/.test(key))
      throw errors.validation(
        `Targets key ${key} is not supported by the AWS SSM stand-in (InstanceIds, tag:<name>, tag-key are).`,
      )
    return { Key: key, Values: values }
  })
}

type CommandFilter = (command: SentCommand, invocation: Invocation | undefined) => boolean

function readCommandFilters(input: Input, listing: 'commands' | 'invocations'): CommandFilter[] {
  return (optionalList(input, 'Filters', { max: 5 }) ?? []).map((filter, index) => {
    const key = optionalString(filter, 'key')
    const value = optionalString(filter, 'value')
    if (key === undefined)
      throw constraint(`filters.${index + 1}.member.key`, undefined, 'Member must not be null')
    if (value === undefined)
      throw constraint(`filters.${index + 1}.member.value`, undefined, 'Member must not be null')
    switch (key) {
      case 'InvokedAfter':
      case 'InvokedBefore': {
        const at = Date.parse(value)
        if (Number.isNaN(at)) throw errors.validation(`${key} filter value must be an ISO 8601 timestamp`)
        return (command) =>
          key === 'InvokedAfter' ? command.requestedAt.getTime() >= at : command.requestedAt.getTime() <= at
      }
      case 'DocumentName':
        return (command) => command.documentName === value
      case 'Status':
        return (command, invocation) => {
          if (invocation) return invocation.status === value || invocation.statusDetails === value
          const summary = summarize(command)
          return summary.status === value || summary.details === value
        }
      case 'ExecutionStage':
        if (listing === 'invocations') throw errors.invalidFilterKey()
        return (command) => (value === 'Executing') === !summarize(command).done
      default:
        throw errors.invalidFilterKey()
    }
  })
}

function isTerminal(invocation: Invocation): boolean {
  return !['Pending', 'InProgress', 'Cancelling'].includes(invocation.status)
}

/**
 * A command's status from its invocations, as the Run Command docs describe it (with the default
 * MaxErrors 0): Success when all succeeded, Failed/TimedOut past MaxErrors, Cancelled, or Incomplete.
 */
function summarize(command: SentCommand) {
  const invocations = command.invocations
  const completed = invocations.filter(isTerminal).length
  const failed = invocations.filter(
    (i) => i.status === 'Failed' && i.statusDetails !== 'Undeliverable',
  ).length
  const executionTimedOut = invocations.filter((i) => i.statusDetails === 'ExecutionTimedOut').length
  const deliveryTimedOut = invocations.filter((i) => i.statusDetails === 'DeliveryTimedOut').length
  const errorCount = failed + executionTimedOut
  const maxErrors = /^\d+$/.test(command.maxErrors) ? Number(command.maxErrors) : 0
  const done = completed === invocations.length
  let status: string
  let details: string
  if (invocations.length === 0) {
    status = 'Success'
    details = 'NoInstancesInTag'
  } else if (!done) {
    const started = invocations.some((i) => i.status !== 'Pending')
    const cancelling = invocations.some((i) => i.status === 'Cancelling')
    status = cancelling ? 'Cancelling' : started ? 'InProgress' : 'Pending'
    details = status
  } else if (invocations.every((i) => i.status === 'Success')) {
    status = details = 'Success'
  } else if (invocations.some((i) => i.status === 'Cancelled')) {
    status = details = 'Cancelled'
  } else if (errorCount > maxErrors) {
    status = failed > 0 ? 'Failed' : 'TimedOut'
    details = failed > 0 ? 'Failed' : 'ExecutionTimedOut'
  } else if (deliveryTimedOut > 0 && deliveryTimedOut === invocations.length) {
    status = 'TimedOut'
    details = 'DeliveryTimedOut'
  } else {
    status = 'Failed'
    details = 'Incomplete'
  }
  return { status, details, completed, errors: errorCount, deliveryTimedOut, done }
}

/** The first `max` characters, without splitting a surrogate pair. */
function truncate(text: string, max: number): string {
  if (text.length <= max) return text
  const code = text.charCodeAt(max - 1)
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max)
}

/** The agent's own truncation of a plugin's Output: stdout, an ERROR title, stderr, in 2500 characters. */
function pluginOutput(stdout: string, stderr: string): string {
  const truncOut = '\n---Output truncated---'
  const truncErr = '\n---Error truncated----'
  const title = stderr.length > 0 ? '\n----------ERROR-------\n' : ''
  const available = MAX_PLUGIN_OUTPUT - title.length
  if (stdout.length + stderr.length < available) return `${stdout}${title}${stderr}`
  if (stdout.length > available / 2 && stderr.length > available / 2) {
    const half = Math.floor((available - truncErr.length - truncOut.length) / 2)
    return `${stdout.slice(0, half)}${truncOut}${title}${stderr.slice(0, half)}${truncErr}`
  }
  if (stdout.length < available / 2)
    return `${stdout}${title}${stderr.slice(0, available - truncErr.length - stdout.length)}${truncErr}`
  return `${stdout.slice(0, available - truncOut.length - stderr.length)}${truncOut}${title}${stderr}`
}

function appendLine(text: string, line: string): string {
  return text.length > 0 ? `${text}\n${line}` : line
}

/** Go's names for the signals (what `signal: killed` in the agent's error says). */
function signalName(signal: NodeJS.Signals | null): string {
  const names: Partial<Record<NodeJS.Signals, string>> = {
    SIGKILL: 'killed',
    SIGTERM: 'terminated',
    SIGINT: 'interrupt',
    SIGHUP: 'hangup',
    SIGSEGV: 'segmentation fault',
    SIGABRT: 'aborted',
    SIGPIPE: 'broken pipe',
  }
  return (signal && names[signal]) ?? String(signal)
}

function killGroup(child: ChildProcess): void {
  if (child.pid !== undefined) killGroupId(child.pid)
}

function killGroupId(group: number): void {
  try {
    process.kill(-group, 'SIGKILL')
  } catch {
    // ESRCH: nothing left in that group.
  }
}
