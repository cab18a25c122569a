import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import { AwsError, errors, JSON_1_1, sendError } from './errors.ts'
import { describeInstanceInformation, type Instance, pingStatus } from './instances.ts'
import type { ParameterStore } from './parameters.ts'
import type { RunCommand } from './run-command.ts'
import { type SigningConfig, verifySignature } from './sigv4.ts'
import type { Input } from './wire.ts'

/** Test controls, for a stand-in running in another process; never part of AWS's API. */
export const CONTROL_PATH = '/__stand-in'

/** What the stand-in remembers besides commands and parameters, shared with the in-process handle. */
export class StandInState {
  failures: Array<{ statusCode: number }> = []

  failNext(count: number, statusCode: number): void {
    for (let i = 0; i < count; i++) this.failures.push({ statusCode })
  }
}

export interface ServerParts {
  signing: SigningConfig
  state: StandInState
  instances: Map<string, Instance>
  runCommand: RunCommand
  parameters: ParameterStore
  setOnline(instanceId: string, online: boolean): void
  reset(): Promise<void>
  logger: boolean | Record<string, unknown>
}

type Operation = (input: Input) => unknown

/** `X-Amz-Target: AmazonSSM.<Operation>`, as the SDK sends it. */
const TARGET_PREFIX = 'AmazonSSM.'

export function buildServer(parts: ServerParts): FastifyInstance {
  const { state, runCommand, parameters } = parts
  const app = Fastify({ logger: parts.logger, bodyLimit: 4 * 1024 * 1024 })

  const operations: Record<string, Operation> = {
    SendCommand: (input) => runCommand.send(input),
    GetCommandInvocation: (input) => runCommand.getInvocation(input),
    ListCommandInvocations: (input) => runCommand.listInvocations(input),
    ListCommands: (input) => runCommand.listCommands(input),
    CancelCommand: (input) => runCommand.cancel(input),
    DescribeInstanceInformation: (input) => describeInstanceInformation(parts.instances, input),
    PutParameter: (input) => parameters.put(input),
    GetParameter: (input) => parameters.get(input),
    GetParameters: (input) => parameters.getMany(input),
    GetParametersByPath: (input) => parameters.getByPath(input),
    DeleteParameter: (input) => parameters.delete(input),
    DeleteParameters: (input) => parameters.deleteMany(input),
  }

  // The body is read as bytes: the signature covers them exactly, whatever the content-type says.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))

  app.post('/', async (request, reply) => {
    const failure = state.failures.shift()
    if (failure) throw errors.simulated(failure.statusCode)
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
    verifySignature(
      { method: request.method, url: request.url, headers: request.headers, body },
      parts.signing,
    )

    const target = request.headers['x-amz-target']
    const name =
      typeof target === 'string' && target.startsWith(TARGET_PREFIX)
        ? target.slice(TARGET_PREFIX.length)
        : undefined
    const operation = name === undefined ? undefined : operations[name]
    if (!operation) {
      request.log.warn({ target }, 'AWS SSM stand-in: unimplemented operation')
      throw errors.unknownOperation()
    }
    return answer(reply, operation(parseInput(body)))
  })

  app.get(`${CONTROL_PATH}/commands`, async () => ({ commands: runCommand.commands }))
  app.get(`${CONTROL_PATH}/parameters`, async () => ({ parameters: [...parameters.parameters.values()] }))
  app.get(`${CONTROL_PATH}/instances`, async () => ({
    instances: [...parts.instances.values()].map((instance) => ({
      ...instance,
      pingStatus: pingStatus(instance),
    })),
  }))
  app.post<{ Params: { instanceId: string; state: string } }>(
    `${CONTROL_PATH}/instances/:instanceId/:state`,
    async (request, reply) => {
      const { instanceId, state: wanted } = request.params
      if (!parts.instances.has(instanceId))
        return reply.code(404).send({ message: `no instance ${instanceId}` })
      if (wanted !== 'online' && wanted !== 'offline')
        return reply.code(404).send({ message: 'POST .../instances/<id>/online or .../offline' })
      parts.setOnline(instanceId, wanted === 'online')
      return reply.code(204).send()
    },
  )
  app.post(`${CONTROL_PATH}/fail-next`, async (request, reply) => {
    const body = controlJson(request.body) as { count?: unknown; status?: unknown } | undefined
    const count = body?.count ?? 1
    const statusCode = body?.status ?? 500
    if (!Number.isInteger(count) || (count as number) < 1 || !isServerError(statusCode))
      return reply.code(400).send({ message: 'expected { "count": >= 1, "status": 500-599 }' })
    state.failNext(count as number, statusCode)
    return reply.code(204).send()
  })
  app.post(`${CONTROL_PATH}/reset`, async (_request, reply) => {
    await parts.reset()
    return reply.code(204).send()
  })

  app.setNotFoundHandler((request, reply) => {
    request.log.warn({ method: request.method, url: request.url }, 'AWS SSM stand-in: unimplemented path')
    return sendError(
      reply,
      new AwsError('UnknownOperationException', undefined, 404, 'com.amazon.coral.service'),
    )
  })

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof AwsError) return sendError(reply, error)
    const statusCode = (error as { statusCode?: unknown }).statusCode
    if (statusCode === 413) return sendError(reply, errors.serialization('Request entity too large'))
    request.log.error(error)
    return sendError(
      reply,
      new AwsError('InternalServerError', 'An internal error occurred in the stand-in.', 500),
    )
  })

  return app
}

export function isServerError(status: unknown): status is number {
  return Number.isInteger(status) && (status as number) >= 500 && (status as number) <= 599
}

function answer(reply: FastifyReply, result: unknown) {
  return reply.code(200).header('x-amzn-RequestId', randomUUID()).type(JSON_1_1).send(JSON.stringify(result))
}

/** One JSON object; an empty body is `{}` (operations without required members accept it). */
function parseInput(body: Buffer): Input {
  if (body.length === 0) return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    throw errors.serialization('Start of structure or map found where not expected.')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw errors.serialization('Start of structure or map found where not expected.')
  return parsed as Input
}

function controlJson(body: unknown): unknown {
  if (!Buffer.isBuffer(body) || body.length === 0) return undefined
  try {
    return JSON.parse(body.toString('utf8'))
  } catch {
    return undefined
  }
}
