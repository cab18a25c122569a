import { randomInt } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { errors, MailerliteApiError, send } from './errors.ts'

/** Mailerlite's API lives under /api of its origin (https://connect.mailerlite.com/api). */
export const API_BASE_PATH = '/api'
/** Test controls, for a stand-in running in another process; never part of Mailerlite's API. */
export const CONTROL_PATH = '/__stand-in'

/** The fields every Mailerlite account has, by key, with their display names. */
const DEFAULT_FIELDS: Array<[key: string, name: string]> = [
  ['name', 'Name'],
  ['last_name', 'Last name'],
  ['company', 'Company'],
  ['country', 'Country'],
  ['city', 'City'],
  ['phone', 'Phone'],
  ['state', 'State'],
  ['z_i_p', 'ZIP'],
]

export const SUBSCRIBER_STATUSES = ['active', 'unsubscribed', 'unconfirmed', 'bounced', 'junk'] as const
export type SubscriberStatus = (typeof SUBSCRIBER_STATUSES)[number]
const FIELD_TYPES = ['text', 'number', 'date'] as const

export interface Group {
  id: string
  name: string
  created_at: string
}

export interface Field {
  id: string
  name: string
  key: string
  type: (typeof FIELD_TYPES)[number]
}

export interface Subscriber {
  id: string
  email: string
  status: SubscriberStatus
  source: 'api'
  fields: Record<string, string | number | null>
  /** Group ids, in the order they were joined. */
  groups: string[]
  ip_address: string | null
  subscribed_at: string
  unsubscribed_at: string | null
  created_at: string
  updated_at: string
}

/** One Mailerlite account: what an API key sees. */
export class Account {
  readonly groups = new Map<string, Group>()
  /** By lower-cased email: Mailerlite's upsert key. */
  readonly subscribers = new Map<string, Subscriber>()
  /** By key. */
  readonly fields = new Map<string, Field>()
  /** The current fixed one-minute window of the rate limit. */
  window = { start: 0, used: 0 }

  constructor() {
    this.resetFields()
  }

  resetFields(): void {
    this.fields.clear()
    DEFAULT_FIELDS.forEach(([key, name], index) => {
      this.fields.set(key, { id: String(index + 1), key, name, type: 'text' })
    })
  }
}

/** Mailerlite's "YYYY-MM-DD HH:MM:SS" (UTC). */
const stamp = (date = new Date()) => date.toISOString().slice(0, 19).replace('T', ' ')
/** Mailerlite's ids are long numbers sent as strings ("31986843064993537"). */
let lastId = 0n
const numericId = () => {
  const candidate = BigInt(Date.now()) * 1000000n + BigInt(randomInt(0, 1000000))
  lastId = candidate > lastId ? candidate : lastId + 1n
  return String(lastId)
}

/** One request the stand-in received (controls excluded), oldest first. */
export interface RequestRecord {
  method: string
  /** Path and query, as sent. */
  path: string
  /** The Bearer key it carried, if any. */
  key: string | null
  status: number
  /** ISO 8601. */
  at: string
}

interface Failure {
  status: number
  retryAfterSeconds?: number | undefined
}

/** What the stand-in remembers, shared by the HTTP controls and the in-process handle. */
export class StandInState {
  readonly accounts = new Map<string, Account>()
  readonly revoked = new Set<string>()
  readonly requests: RequestRecord[] = []
  failures: Failure[] = []
  down = false
  readonly requestsPerMinute: number

  constructor(keys: string[], requestsPerMinute: number) {
    if (!Number.isInteger(requestsPerMinute) || requestsPerMinute < 1)
      throw new Error(`requestsPerMinute must be a positive integer (got ${requestsPerMinute})`)
    this.requestsPerMinute = requestsPerMinute
    for (const key of keys) this.addKey(key)
  }

  /** Another account, reachable with this key (or a revoked key accepted again, its data kept). */
  addKey(key: string): void {
    if (key === '') throw new Error('an API key cannot be empty')
    if (!this.accounts.has(key)) this.accounts.set(key, new Account())
    this.revoked.delete(key)
  }

  /** The key is refused (401 Unauthenticated.) from now on, as a key deleted in Mailerlite's UI. */
  revokeKey(key: string): void {
    this.revoked.add(key)
  }

  /**
   * The next `count` API requests answer `status` (429 or 5xx) in Mailerlite's shape, before any
   * authentication; `retryAfterSeconds` becomes their Retry-After (429 gets 60 when not given).
   */
  failNext(count: number, status: number, retryAfterSeconds?: number): void {
    if (!Number.isInteger(count) || count < 1) throw new Error(`count must be >= 1 (got ${count})`)
    if (!(status === 429 || (Number.isInteger(status) && status >= 500 && status <= 599)))
      throw new Error(`failNext takes 429 or a 5xx status (got ${status})`)
    if (retryAfterSeconds !== undefined && (!Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 0))
      throw new Error(`retryAfterSeconds must be a whole number of seconds (got ${retryAfterSeconds})`)
    for (let i = 0; i < count; i++) this.failures.push({ status, retryAfterSeconds })
  }

  /** Down: every API request answers 503 Service Unavailable until set up again. */
  setDown(down: boolean): void {
    this.down = down
  }

  createGroup(key: string, name: string): Group {
    const account = this.account(key)
    const group = { id: numericId(), name, created_at: stamp() }
    account.groups.set(group.id, group)
    return group
  }

  groupsOf(key: string): Group[] {
    return [...this.account(key).groups.values()]
  }

  /** A subscriber as a test wants to see it: fields as sent and group ids. */
  subscriber(key: string, email: string) {
    const found = this.account(key).subscribers.get(email.toLowerCase())
    return found
      ? { id: found.id, email: found.email, status: found.status, fields: found.fields, groups: found.groups }
      : undefined
  }

  /** Every subscriber of the account, oldest first. */
  subscribersOf(key: string): Subscriber[] {
    return [...this.account(key).subscribers.values()]
  }

  /** Requests that carried this key. */
  requestsOf(key: string): RequestRecord[] {
    return this.requests.filter((request) => request.key === key)
  }

  /**
   * Back to the start: accounts emptied (groups, subscribers, custom fields, rate windows), keys
   * accepted again, requests, pending failures and the outage forgotten.
   */
  reset(): void {
    for (const account of this.accounts.values()) {
      account.groups.clear()
      account.subscribers.clear()
      account.resetFields()
      account.window = { start: 0, used: 0 }
    }
    this.revoked.clear()
    this.requests.length = 0
    this.failures = []
    this.down = false
  }

  private account(key: string): Account {
    const account = this.accounts.get(key)
    if (!account) throw new Error('no account has that API key')
    return account
  }
}

/** What Laravel's `email` rule lets through, near enough: one @, a dot in the domain, no spaces. */
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/
const STAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/

function rate(value = 0) {
  return { float: value, string: `${value * 100}%` }
}

function groupView(account: Account, group: Group) {
  const members = [...account.subscribers.values()].filter((s) => s.groups.includes(group.id))
  const count = (status: SubscriberStatus) => members.filter((s) => s.status === status).length
  return {
    id: group.id,
    name: group.name,
    active_count: count('active'),
    sent_count: 0,
    opens_count: 0,
    open_rate: rate(),
    clicks_count: 0,
    click_rate: rate(),
    unsubscribed_count: count('unsubscribed'),
    unconfirmed_count: count('unconfirmed'),
    bounced_count: count('bounced'),
    junk_count: count('junk'),
    created_at: group.created_at,
  }
}

function subscriberView(account: Account, s: Subscriber) {
  return {
    id: s.id,
    email: s.email,
    status: s.status,
    source: s.source,
    sent: 0,
    opens_count: 0,
    clicks_count: 0,
    open_rate: 0,
    click_rate: 0,
    ip_address: s.ip_address,
    subscribed_at: s.subscribed_at,
    unsubscribed_at: s.unsubscribed_at,
    created_at: s.created_at,
    updated_at: s.updated_at,
    fields: Object.fromEntries([...account.fields.keys()].map((key) => [key, s.fields[key] ?? null])),
    groups: s.groups.flatMap((id) => {
      const group = account.groups.get(id)
      return group ? [groupView(account, group)] : []
    }),
    opted_in_at: null,
    optin_ip: null,
  }
}

/** Laravel's length-aware paginator: `data`, `links`, `meta`. */
function paginate<T>(request: FastifyRequest, all: T[], limit: number, page: number) {
  const origin = `${request.protocol}://${request.host}`
  const path = `${origin}${request.url.split('?')[0]}`
  const lastPage = Math.max(1, Math.ceil(all.length / limit))
  const at = (n: number) => `${path}?page=${n}`
  const slice = all.slice((page - 1) * limit, page * limit)
  return {
    data: slice,
    links: {
      first: at(1),
      last: at(lastPage),
      prev: page > 1 ? at(page - 1) : null,
      next: page < lastPage ? at(page + 1) : null,
    },
    meta: {
      current_page: page,
      from: slice.length > 0 ? (page - 1) * limit + 1 : null,
      last_page: lastPage,
      links: [
        { url: page > 1 ? at(page - 1) : null, label: '&laquo; Previous', active: false },
        ...Array.from({ length: lastPage }, (_, i) => ({
          url: at(i + 1),
          label: String(i + 1),
          active: i + 1 === page,
        })),
        { url: page < lastPage ? at(page + 1) : null, label: 'Next &raquo;', active: false },
      ],
      path,
      per_page: limit,
      to: slice.length > 0 ? (page - 1) * limit + slice.length : null,
      total: all.length,
    },
  }
}

type Query = Record<string, string | string[] | undefined>

/** `limit` and `page` as Mailerlite checks them (422 per field). */
function pageOf(query: Query, fieldErrors: Record<string, string[]>, maxLimit: number) {
  const limit = query.limit === undefined ? 25 : Number(query.limit)
  const page = query.page === undefined ? 1 : Number(query.page)
  if (!Number.isInteger(limit)) fieldErrors.limit = ['The limit must be an integer.']
  else if (limit < 1 || limit > maxLimit) fieldErrors.limit = [`The limit must be between 1 and ${maxLimit}.`]
  if (!Number.isInteger(page)) fieldErrors.page = ['The page must be an integer.']
  else if (page < 1) fieldErrors.page = ['The page must be at least 1.']
  return { limit, page }
}

const GROUP_SORTS: Record<
  string,
  (a: ReturnType<typeof groupView>, b: ReturnType<typeof groupView>) => number
> = {
  name: (a, b) => a.name.localeCompare(b.name),
  total: (a, b) => a.active_count - b.active_count,
  open_rate: (a, b) => a.open_rate.float - b.open_rate.float,
  click_rate: (a, b) => a.click_rate.float - b.click_rate.float,
  created_at: (a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id),
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

export function buildServer(options: {
  state: StandInState
  logger: boolean | Record<string, unknown>
}): FastifyInstance {
  const { state } = options
  const app = Fastify({ logger: options.logger })
  const accounts = new WeakMap<FastifyRequest, Account>()
  const accountOf = (request: FastifyRequest) => {
    const account = accounts.get(request)
    if (!account) throw errors.unauthenticated()
    return account
  }

  // A body that is not JSON is read as no body (Laravel's validation then names what is missing),
  // so no framework-shaped 400 or 415 ever comes out of the API.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, typeof body === 'string' && body.trim() !== '' ? JSON.parse(body) : undefined)
    } catch {
      done(null, undefined)
    }
  })

  app.addHook('onResponse', async (request, reply) => {
    if (request.url.startsWith(`${CONTROL_PATH}/`)) return
    const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')
    state.requests.push({
      method: request.method,
      path: request.url,
      key: match?.[1] ?? null,
      status: reply.statusCode,
      at: new Date().toISOString(),
    })
  })

  // An outage, injected failures, authentication and the per-key limit, in that order.
  app.addHook('onRequest', async (request, reply) => {
    if (request.url !== API_BASE_PATH && !request.url.startsWith(`${API_BASE_PATH}/`)) return
    if (state.down) throw errors.serverError(503)
    const failure = state.failures.shift()
    if (failure) {
      const retryAfter = failure.retryAfterSeconds ?? (failure.status === 429 ? 60 : undefined)
      const headers: Record<string, string> =
        retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }
      if (failure.status === 429)
        throw errors.tooManyAttempts({
          ...headers,
          'x-ratelimit-limit': String(state.requestsPerMinute),
          'x-ratelimit-remaining': '0',
        })
      throw errors.serverError(failure.status, headers)
    }
    const key = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1]
    const account = key === undefined ? undefined : state.accounts.get(key)
    if (key === undefined || !account || state.revoked.has(key)) throw errors.unauthenticated()
    const now = Date.now()
    const windowStart = now - (now % 60000)
    if (account.window.start !== windowStart) account.window = { start: windowStart, used: 0 }
    const limit = String(state.requestsPerMinute)
    if (account.window.used >= state.requestsPerMinute)
      throw errors.tooManyAttempts({
        'x-ratelimit-limit': limit,
        'x-ratelimit-remaining': '0',
        'retry-after': String(Math.max(1, Math.ceil((windowStart + 60000 - now) / 1000))),
      })
    account.window.used++
    reply.header('x-ratelimit-limit', limit)
    reply.header('x-ratelimit-remaining', String(state.requestsPerMinute - account.window.used))
    accounts.set(request, account)
  })

  app.get(`${API_BASE_PATH}/groups`, async (request) => {
    const account = accountOf(request)
    const query = request.query as Query
    const fieldErrors: Record<string, string[]> = {}
    const { limit, page } = pageOf(query, fieldErrors, 1000)
    const sort = typeof query.sort === 'string' ? query.sort : 'name'
    const compare = GROUP_SORTS[sort.replace(/^-/, '')]
    if (!compare) fieldErrors.sort = ['The selected sort is invalid.']
    if (Object.keys(fieldErrors).length > 0) throw errors.validation(fieldErrors)
    const name = typeof query['filter[name]'] === 'string' ? query['filter[name]'].toLowerCase() : ''
    const all = [...account.groups.values()]
      .filter((group) => group.name.toLowerCase().includes(name))
      .map((group) => groupView(account, group))
      .sort((a, b) => (sort.startsWith('-') ? -1 : 1) * (compare as NonNullable<typeof compare>)(a, b))
    return paginate(request, all, limit, page)
  })

  app.post(`${API_BASE_PATH}/groups`, async (request, reply) => {
    const account = accountOf(request)
    const body = isObject(request.body) ? request.body : {}
    if (typeof body.name !== 'string' || body.name.trim() === '')
      throw errors.validation({ name: ['The name field is required.'] })
    if (body.name.length > 255)
      throw errors.validation({ name: ['The name may not be greater than 255 characters.'] })
    const group = { id: numericId(), name: body.name, created_at: stamp() }
    account.groups.set(group.id, group)
    return reply.code(201).send({ data: groupView(account, group) })
  })

  app.get(`${API_BASE_PATH}/fields`, async (request) => {
    const account = accountOf(request)
    const query = request.query as Query
    const fieldErrors: Record<string, string[]> = {}
    const { limit, page } = pageOf(query, fieldErrors, 100)
    if (Object.keys(fieldErrors).length > 0) throw errors.validation(fieldErrors)
    const keyword = typeof query['filter[keyword]'] === 'string' ? query['filter[keyword]'].toLowerCase() : ''
    const all = [...account.fields.values()].filter(
      (field) => field.name.toLowerCase().includes(keyword) || field.key.includes(keyword),
    )
    return paginate(request, all, limit, page)
  })

  app.post(`${API_BASE_PATH}/fields`, async (request, reply) => {
    const account = accountOf(request)
    const body = isObject(request.body) ? request.body : {}
    const fieldErrors: Record<string, string[]> = {}
    if (typeof body.name !== 'string' || body.name.trim() === '')
      fieldErrors.name = ['The name field is required.']
    if (body.type === undefined) fieldErrors.type = ['The type field is required.']
    else if (!FIELD_TYPES.includes(body.type as Field['type']))
      fieldErrors.type = ['The selected type is invalid.']
    const name = typeof body.name === 'string' ? body.name.trim() : ''
    const key = name.toLowerCase().replace(/[^a-z0-9]+/g, '_')
    if (!fieldErrors.name && account.fields.has(key)) fieldErrors.name = ['The name has already been taken.']
    if (Object.keys(fieldErrors).length > 0) throw errors.validation(fieldErrors)
    const ids = [...account.fields.values()].map((field) => Number(field.id))
    const field: Field = { id: String(Math.max(0, ...ids) + 1), name, key, type: body.type as Field['type'] }
    account.fields.set(key, field)
    return reply.code(201).send({ data: field })
  })

  app.post(`${API_BASE_PATH}/subscribers`, async (request, reply) => {
    const account = accountOf(request)
    const body = isObject(request.body) ? request.body : {}
    const fieldErrors: Record<string, string[]> = {}
    if (body.email === undefined || body.email === null || body.email === '')
      fieldErrors.email = ['The email field is required.']
    else if (typeof body.email !== 'string' || !EMAIL.test(body.email) || body.email.length > 254)
      fieldErrors.email = ['The email must be a valid email address.']
    const fields = body.fields ?? {}
    if (!isObject(fields)) fieldErrors.fields = ['The fields must be an array.']
    else
      for (const [key, value] of Object.entries(fields)) {
        const field = account.fields.get(key)
        if (!field) fieldErrors[`fields.${key}`] = [`The selected fields.${key} is invalid.`]
        else if (value !== null && typeof value !== 'string' && typeof value !== 'number')
          fieldErrors[`fields.${key}`] = [`The fields.${key} must be a string.`]
        else if (field.type === 'number' && value !== null && value !== '' && !Number.isFinite(Number(value)))
          fieldErrors[`fields.${key}`] = [`The fields.${key} must be a number.`]
      }
    const groups = body.groups ?? []
    if (!Array.isArray(groups)) fieldErrors.groups = ['The groups must be an array.']
    else
      groups.forEach((id, index) => {
        if ((typeof id !== 'string' && typeof id !== 'number') || !account.groups.has(String(id)))
          fieldErrors[`groups.${index}`] = [`The selected groups.${index} is invalid.`]
      })
    if (body.status !== undefined && !SUBSCRIBER_STATUSES.includes(body.status as SubscriberStatus))
      fieldErrors.status = ['The selected status is invalid.']
    if (
      body.subscribed_at !== undefined &&
      (typeof body.subscribed_at !== 'string' || !STAMP.test(body.subscribed_at))
    )
      fieldErrors.subscribed_at = ['The subscribed at does not match the format Y-m-d H:i:s.']
    if (body.ip_address !== undefined && body.ip_address !== null && typeof body.ip_address !== 'string')
      fieldErrors.ip_address = ['The ip address must be a valid IP address.']
    if (Object.keys(fieldErrors).length > 0) throw errors.validation(fieldErrors)

    const email = body.email as string
    const existing = account.subscribers.get(email.toLowerCase())
    const now = stamp()
    const subscriber: Subscriber = existing ?? {
      id: numericId(),
      email,
      status: 'active',
      source: 'api',
      fields: {},
      groups: [],
      ip_address: null,
      subscribed_at: now,
      unsubscribed_at: null,
      created_at: now,
      updated_at: now,
    }
    // Non-destructive: what is sent overwrites, what is not is kept; groups are only ever added.
    Object.assign(subscriber.fields, fields)
    for (const id of groups as Array<string | number>)
      if (!subscriber.groups.includes(String(id))) subscriber.groups.push(String(id))
    if (body.status !== undefined && body.status !== subscriber.status) {
      subscriber.status = body.status as SubscriberStatus
      subscriber.unsubscribed_at = subscriber.status === 'unsubscribed' ? now : null
    }
    if (typeof body.subscribed_at === 'string') subscriber.subscribed_at = body.subscribed_at
    if (typeof body.ip_address === 'string') subscriber.ip_address = body.ip_address
    subscriber.updated_at = now
    account.subscribers.set(email.toLowerCase(), subscriber)
    return reply.code(existing ? 200 : 201).send({ data: subscriberView(account, subscriber) })
  })

  const byId = (account: Account, id: string) => [...account.subscribers.values()].find((s) => s.id === id)

  app.get<{ Params: { idOrEmail: string } }>(`${API_BASE_PATH}/subscribers/:idOrEmail`, async (request) => {
    const account = accountOf(request)
    const { idOrEmail } = request.params
    const found = account.subscribers.get(idOrEmail.toLowerCase()) ?? byId(account, idOrEmail)
    if (!found) throw errors.notFound()
    return { data: subscriberView(account, found) }
  })

  app.delete<{ Params: { id: string } }>(`${API_BASE_PATH}/subscribers/:id`, async (request, reply) => {
    const account = accountOf(request)
    const found = byId(account, request.params.id)
    if (!found) throw errors.notFound()
    account.subscribers.delete(found.email.toLowerCase())
    return reply.code(204).send()
  })

  registerControls(app, state)

  app.setNotFoundHandler((request, reply) => {
    if (request.url.startsWith(`${API_BASE_PATH}/`))
      request.log.warn(
        { method: request.method, url: request.url },
        'Mailerlite stand-in: unimplemented path',
      )
    return send(reply, errors.notFound())
  })

  app.setErrorHandler((error, request, reply: FastifyReply) => {
    if (error instanceof MailerliteApiError) return send(reply, error)
    const status = (error as { statusCode?: number }).statusCode
    if (status !== undefined && status >= 400 && status < 500)
      return send(reply, new MailerliteApiError(status, (error as Error).message))
    request.log.error(error)
    return send(reply, errors.serverError(500))
  })

  return app
}

/** Controls for tests in another process and for people trying things; never Mailerlite's. */
function registerControls(app: FastifyInstance, state: StandInState): void {
  const bad = (reply: FastifyReply, message: string) => reply.code(400).send({ message })
  const body = (request: FastifyRequest) => (isObject(request.body) ? request.body : {})

  app.get(`${CONTROL_PATH}/subscribers`, async (request, reply) => {
    const { key } = request.query as { key?: string }
    if (key !== undefined) {
      if (!state.accounts.has(key)) return bad(reply, 'no account has that key')
      return { subscribers: state.subscribersOf(key) }
    }
    return {
      accounts: [...state.accounts.keys()].map((k) => ({ key: k, subscribers: state.subscribersOf(k) })),
    }
  })
  app.get(`${CONTROL_PATH}/groups`, async (request, reply) => {
    const { key } = request.query as { key?: string }
    if (key === undefined || !state.accounts.has(key)) return bad(reply, 'expected ?key= of an account')
    return { groups: state.groupsOf(key) }
  })
  app.post(`${CONTROL_PATH}/groups`, async (request, reply) => {
    const { key, name } = body(request)
    if (typeof key !== 'string' || !state.accounts.has(key) || typeof name !== 'string' || name === '')
      return bad(reply, 'expected { "key": an account key, "name": "…" }')
    return reply.code(201).send({ group: state.createGroup(key, name) })
  })
  app.get(`${CONTROL_PATH}/requests`, async (request) => {
    const { key } = request.query as { key?: string }
    return { requests: key === undefined ? state.requests : state.requestsOf(key) }
  })
  app.post(`${CONTROL_PATH}/fail`, async (request, reply) => {
    const { count = 1, status = 503, retryAfterSeconds } = body(request)
    try {
      state.failNext(count as number, status as number, retryAfterSeconds as number | undefined)
    } catch (error) {
      return bad(reply, (error as Error).message)
    }
    return { queued: state.failures.length }
  })
  app.post(`${CONTROL_PATH}/down`, async (request, reply) => {
    const { down = true } = body(request)
    if (typeof down !== 'boolean') return bad(reply, 'expected { "down": true | false }')
    state.setDown(down)
    return { down: state.down }
  })
  app.post(`${CONTROL_PATH}/keys`, async (request, reply) => {
    const { add, revoke } = body(request)
    if (
      (add === undefined && revoke === undefined) ||
      [add, revoke].some((k) => k !== undefined && (typeof k !== 'string' || k === ''))
    )
      return bad(reply, 'expected { "add": "key" } or { "revoke": "key" }')
    if (typeof add === 'string') state.addKey(add)
    if (typeof revoke === 'string') state.revokeKey(revoke)
    return { ok: true }
  })
  app.post(`${CONTROL_PATH}/reset`, async () => {
    state.reset()
    return { ok: true }
  })
}
