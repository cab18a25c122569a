import { randomBytes } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { authorize } from './access.ts'
import { dnsRoutes } from './dns.ts'
import { CloudflareError, envelope, errors } from './errors.ts'
import type { DnsRecordSeed } from './records.ts'
import type { PurgedFile, PurgeRecord, StandInConfig, StandInState } from './state.ts'

/** Where the SDK sends requests: its default base URL is https://api.cloudflare.com/client/v4. */
export const API_BASE_PATH = '/client/v4'
/** Test controls, for a stand-in running in another process; never part of Cloudflare's API. */
export const CONTROL_PATH = '/__stand-in'

const MODES = ['files', 'tags', 'hosts', 'prefixes', 'purge_everything'] as const

export function buildServer(options: {
  config: StandInConfig
  state: StandInState
  logger: boolean | Record<string, unknown>
}): FastifyInstance {
  const { config, state } = options
  const app = Fastify({ logger: options.logger })

  // Bodies are read as text and parsed here, so a body that is not JSON gets Cloudflare's answer,
  // not a framework 400 or 415.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body))

  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith(`${API_BASE_PATH}/`)) return
    const failure = state.failures.shift()
    if (failure) throw errors.simulated(failure.statusCode)
  })

  app.post<{ Params: { zoneId: string } }>(
    `${API_BASE_PATH}/zones/:zoneId/purge_cache`,
    async (request, reply) => {
      const { zoneId } = request.params
      authorize(request, config, zoneId, `/zones/${zoneId}/purge_cache`)
      const purge = readPurge(request.body, config)
      const record: PurgeRecord = {
        id: randomBytes(16).toString('hex'),
        zoneId,
        at: new Date().toISOString(),
        ...purge,
      }
      state.purges.push(record)
      return envelope(reply, 200, { id: record.id }, [])
    },
  )

  dnsRoutes(app, { basePath: API_BASE_PATH, config, state })

  app.get(`${CONTROL_PATH}/purges`, async () => ({ purges: state.purges }))
  app.delete(`${CONTROL_PATH}/purges`, async (_request, reply) => {
    state.forgetPurges()
    return reply.code(204).send()
  })
  app.post(`${CONTROL_PATH}/fail-next`, async (request, reply) => {
    const body = parseControl(request.body) as { count?: unknown; status?: unknown } | undefined
    const count = body?.count ?? 1
    const statusCode = body?.status ?? 503
    if (!Number.isInteger(count) || (count as number) < 1 || !isServerError(statusCode))
      return reply.code(400).send({ message: 'expected { "count": >= 1, "status": 500-599 }' })
    state.failNext(count as number, statusCode)
    return reply.code(204).send()
  })
  app.get(`${CONTROL_PATH}/records`, async () => ({ records: state.zone.records }))
  app.post(`${CONTROL_PATH}/records`, async (request, reply) => {
    const body = parseControl(request.body) as { records?: unknown } | undefined
    if (!Array.isArray(body?.records))
      return reply.code(400).send({ message: 'expected { "records": [{ "type", "name", "content", ... }] }' })
    try {
      return reply.code(201).send({ records: state.zone.seed(body.records as DnsRecordSeed[]) })
    } catch (error) {
      return reply.code(400).send({ message: (error as Error).message })
    }
  })
  app.delete(`${CONTROL_PATH}/records`, async (_request, reply) => {
    state.zone.clear()
    return reply.code(204).send()
  })
  app.get(`${CONTROL_PATH}/dns-changes`, async () => ({ changes: state.zone.changes }))
  app.post(`${CONTROL_PATH}/reset`, async (_request, reply) => {
    state.reset()
    return reply.code(204).send()
  })

  app.setNotFoundHandler((request, reply) => {
    request.log.warn({ method: request.method, url: request.url }, 'Cloudflare stand-in: unimplemented path')
    const error = errors.noRoute()
    return envelope(reply, error.statusCode, null, error.errors)
  })

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof CloudflareError) return envelope(reply, error.statusCode, null, error.errors)
    request.log.error(error)
    return envelope(reply, 500, null, [{ code: 10000, message: 'Internal error' }])
  })

  return app
}

export function isServerError(status: unknown): status is number {
  return Number.isInteger(status) && (status as number) >= 500 && (status as number) <= 599
}

function parseJson(body: unknown): unknown {
  if (typeof body !== 'string' || body.trim() === '') return undefined
  try {
    return JSON.parse(body)
  } catch {
    throw errors.malformedJson()
  }
}

/** Test controls answer a body that is not JSON with a plain 400, not Cloudflare's envelope. */
function parseControl(body: unknown): unknown {
  try {
    return parseJson(body)
  } catch {
    return null
  }
}

type Purge = Omit<PurgeRecord, 'id' | 'zoneId' | 'at'>

/** Exactly one way of purging per request, as the API reference describes the body. */
function readPurge(raw: unknown, config: StandInConfig): Purge {
  const body = parseJson(raw)
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw errors.noPurgeMode()
  const fields = body as Record<string, unknown>
  const given = MODES.filter((mode) => fields[mode] !== undefined)
  if (given.length !== 1) throw errors.noPurgeMode()
  const [mode] = given
  if (mode === 'purge_everything') {
    if (fields.purge_everything !== true) throw errors.noPurgeMode()
    return { purgeEverything: true }
  }
  const items = fields[mode as string]
  if (!Array.isArray(items)) throw errors.notAnArray()
  if (items.length === 0) throw errors.noPurgeMode()
  if (mode === 'files') {
    if (items.length > config.maxFilesPerRequest) throw errors.tooMany('files', config.maxFilesPerRequest)
    return { files: items.map(readFile) }
  }
  if (items.length > config.maxItemsPerRequest)
    throw errors.tooMany(mode as string, config.maxItemsPerRequest)
  if (!items.every((item) => typeof item === 'string' && item !== '')) throw errors.noPurgeMode()
  return { [mode as string]: items as string[] }
}

/** A file is a URL, or `{ url, headers }` for a cache key that includes request headers. */
function readFile(item: unknown): PurgedFile {
  if (typeof item === 'string' && item !== '') return item
  if (typeof item !== 'object' || item === null) throw errors.noPurgeMode()
  const { url, headers } = item as { url?: unknown; headers?: unknown }
  if (typeof url !== 'string' || url === '') throw errors.noPurgeMode()
  if (headers === undefined) return { url }
  const valid =
    typeof headers === 'object' &&
    headers !== null &&
    Object.values(headers).every((value) => typeof value === 'string')
  if (!valid) throw errors.noPurgeMode()
  return { url, headers: headers as Record<string, string> }
}
