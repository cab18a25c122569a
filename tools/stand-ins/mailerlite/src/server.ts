import { randomInt } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'

/** Test controls, for a stand-in running in another process; never part of Mailerlite's API. */
export const CONTROL_PATH = '/__stand-in'

const DEFAULT_FIELDS = ['name', 'last_name', 'company', 'country', 'city', 'phone', 'state', 'z_i_p']

interface Group {
  id: string
  name: string
  created_at: string
}

interface Subscriber {
  id: string
  email: string
  status: 'active'
  source: 'api'
  fields: Record<string, string | number | null>
  groups: string[]
  subscribed_at: string
  created_at: string
  updated_at: string
}

class Account {
  readonly groups = new Map<string, Group>()
  readonly subscribers = new Map<string, Subscriber>()
  readonly fields = new Set(DEFAULT_FIELDS)
  window = { start: 0, used: 0 }
}

/** Mailerlite's "YYYY-MM-DD HH:MM:SS" (UTC). */
const stamp = (date = new Date()) => date.toISOString().slice(0, 19).replace('T', ' ')
const numericId = () => `${Date.now()}${randomInt(100000, 999999)}`

/** One request the stand-in received. */
export interface RequestRecord {
  method: string
  path: string
  key: string | null
  status: number
  at: string
}

/** What the stand-in remembers, shared by the HTTP controls and the in-process handle. */
export class StandInState {
  readonly accounts = new Map<string, Account>()
  readonly revoked = new Set<string>()
  readonly requests: RequestRecord[] = []
  failures: Array<{ status: number; retryAfterSeconds?: number | undefined }> = []
  down = false

  readonly requestsPerMinute: number

  constructor(keys: string[], requestsPerMinute: number) {
    this.requestsPerMinute = requestsPerMinute
    for (const key of keys) this.addKey(key)
  }

  addKey(key: string): void {
    if (!this.accounts.has(key)) this.accounts.set(key, new Account())
    this.revoked.delete(key)
  }

  revokeKey(key: string): void {
    this.revoked.add(key)
  }

  failNext(count: number, status: number, retryAfterSeconds?: number): void {
    for (let i = 0; i < count; i++) this.failures.push({ status, retryAfterSeconds })
  }

  setDown(down: boolean): void {
    this.down = down
  }

  createGroup(key: string, name: string): Group {
    const account = this.account(key)
    const group = { id: numericId(), name, created_at: stamp() }
    account.groups.set(group.id, group)
    return group
  }

  /** A subscriber as a test wants to see it: fields and group ids. */
  subscriber(key: string, email: string) {
    const found = this.account(key).subscribers.get(email.toLowerCase())
    return found
      ? { id: found.id, email: found.email, fields: found.fields, groups: found.groups }
      : undefined
  }

  subscribersOf(key: string) {
    return [...this.account(key).subscribers.values()]
  }

  reset(): void {
    for (const account of this.accounts.values()) {
      account.groups.clear()
      account.subscribers.clear()
      account.window = { start: 0, used: 0 }
    }
    this.requests.length = 0
    this.failures = []
    this.down = false
  }

  private account(key: string): Account {
    const account = this.accounts.get(key)
    if (!account) throw new Error('unknown API key')
    return account
  }
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

function groupView(account: Account, group: Group) {
  const members = [...account.subscribers.values()].filter((s) => s.groups.includes(group.id)).length
  return {
    id: group.id,
    name: group.name,
    active_count: members,
    sent_count: 0,
    opens_count: 0,
    open_rate: { float: 0, string: '0%' },
    clicks_count: 0,
    click_rate: { float: 0, string: '0%' },
    unsubscribed_count: 0,
    unconfirmed_count: 0,
    bounced_count: 0,
    junk_count: 0,
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
    ip_address: null,
    subscribed_at: s.subscribed_at,
    unsubscribed_at: null,
    created_at: s.created_at,
    updated_at: s.updated_at,
    fields: Object.fromEntries([...account.fields].map((f) => [f, s.fields[f] ?? null])),
    groups: s.groups.flatMap((id) => {
      const group = account.groups.get(id)
      return group ? [groupView(account, group)] : []
    }),
    opted_in_at: null,
    optin_ip: null,
  }
}

/** Mailerlite's validation answer: the first message, and every field's messages. */
function invalid(reply: FastifyReply, errors: Record<string, string[]>) {
  const first = Object.values(errors)[0]?.[0] ?? 'The given data was invalid.'
  const more = Object.values(errors).flat().length - 1
  return reply
    .code(422)
    .send({ message: more > 0 ? `${first} (and ${more} more error${more > 1 ? 's' : ''})` : first, errors })
}

export function buildServer(options: {
  state: StandInState
  logger: boolean | Record<string, unknown>
}): FastifyInstance {
  const { state } = options
  const app = Fastify({ logger: options.logger })
  const accountOf = (request: FastifyRequest) => (request as FastifyRequest & { account: Account }).account

  app.addHook('onResponse', async (request, reply) => {
    if (request.url.startsWith(CONTROL_PATH)) return
    const auth = request.headers.authorization
    state.requests.push({
      method: request.method,
      path: request.url,
      key: auth?.startsWith('Bearer ') ? `…${auth.slice(-4)}` : null,
      status: reply.statusCode,
      at: new Date().toISOString(),
    })
  })

  // Auth, outages, injected failures and the per-key rate limit, in Mailerlite's shapes.
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/api/')) return
    if (state.down) return reply.code(503).send({ message: 'Service Unavailable' })
    const failure = state.failures.shift()
    if (failure) {
      if (failure.retryAfterSeconds !== undefined)
        reply.header('retry-after', String(failure.retryAfterSeconds))
      if (failure.status === 429) return reply.code(429).send({ message: 'Too Many Attempts.' })
      return reply
        .code(failure.status)
        .send({ message: failure.status === 503 ? 'Service Unavailable' : 'Server Error' })
    }
    const auth = request.headers.authorization ?? ''
    const key = auth.startsWith('Bearer ') ? auth.slice(7) : ''
    const account = state.accounts.get(key)
    if (!account || state.revoked.has(key)) return reply.code(401).send({ message: 'Unauthenticated.' })
    const now = Date.now()
    const windowStart = now - (now % 60000)
    if (account.window.start !== windowStart) account.window = { start: windowStart, used: 0 }
    reply.header('x-ratelimit-limit', String(state.requestsPerMinute))
    if (account.window.used >= state.requestsPerMinute) {
      reply.header('x-ratelimit-remaining', '0')
      reply.header('retry-after', String(Math.ceil((windowStart + 60000 - now) / 1000)))
      return reply.code(429).send({ message: 'Too Many Attempts.' })
    }
    account.window.used++
    reply.header('x-ratelimit-remaining', String(state.requestsPerMinute - account.window.used))
    ;(request as FastifyRequest & { account: Account }).account = account
  })

  app.get('/api/groups', async (request) => {
    const account = accountOf(request)
    const query = request.query as Record<string, string | undefined>
    const limit = Math.min(Number(query.limit ?? 25) || 25, 1000)
    const page = Math.max(Number(query.page ?? 1) || 1, 1)
    const name = query['filter[name]']
    const all = [...account.groups.values()].filter(
      (g) => !name || g.name.toLowerCase().includes(name.toLowerCase()),
    )
    all.sort((a, b) => a.name.localeCompare(b.name))
    const slice = all.slice((page - 1) * limit, page * limit)
    return {
      data: slice.map((g) => groupView(account, g)),
      links: {
        first: null,
        last: null,
        prev: null,
        next: page * limit < all.length ? `?page=${page + 1}` : null,
      },
      meta: {
        current_page: page,
        from: slice.length ? (page - 1) * limit + 1 : null,
        last_page: Math.max(1, Math.ceil(all.length / limit)),
        per_page: limit,
        to: (page - 1) * limit + slice.length,
        total: all.length,
      },
    }
  })

  app.post('/api/groups', async (request, reply) => {
    const body = (request.body ?? {}) as { name?: unknown }
    if (typeof body.name !== 'string' || body.name.trim() === '' || body.name.length > 255)
      return invalid(reply, { name: ['The name field is required.'] })
    const account = accountOf(request)
    const group = { id: numericId(), name: body.name, created_at: stamp() }
    account.groups.set(group.id, group)
    return reply.code(201).send({ data: groupView(account, group) })
  })

  app.get('/api/fields', async (request) => {
    const account = accountOf(request)
    return {
      data: [...account.fields].map((key, index) => ({
        id: String(index + 1),
        name: key === 'z_i_p' ? 'ZIP' : key.replace(/_/g, ' ').replace(/^\w/, (c) => c.toUpperCase()),
        key,
        type: 'text',
      })),
    }
  })

  app.post('/api/fields', async (request, reply) => {
    const account = accountOf(request)
    const body = (request.body ?? {}) as { name?: unknown; type?: unknown }
    if (typeof body.name !== 'string' || body.name.trim() === '')
      return invalid(reply, { name: ['The name field is required.'] })
    if (!['text', 'number', 'date'].includes(String(body.type)))
      return invalid(reply, { type: ['The selected type is invalid.'] })
    const key = body.name
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
    if (account.fields.has(key)) return invalid(reply, { name: ['The name has already been taken.'] })
    account.fields.add(key)
    return reply
      .code(201)
      .send({ data: { id: String(account.fields.size), name: body.name, key, type: body.type } })
  })

  app.post('/api/subscribers', async (request, reply) => {
    const account = accountOf(request)
    const body = (request.body ?? {}) as {
      email?: unknown
      fields?: unknown
      groups?: unknown
      subscribed_at?: unknown
    }
    const errors: Record<string, string[]> = {}
    if (typeof body.email !== 'string' || body.email === '') errors.email = ['The email field is required.']
    else if (!EMAIL.test(body.email) || body.email.length > 254)
      errors.email = ['The email must be a valid email address.']
    const fields = (body.fields ?? {}) as Record<string, unknown>
    if (typeof fields !== 'object' || Array.isArray(fields)) errors.fields = ['The fields must be an object.']
    else
      for (const name of Object.keys(fields))
        if (!account.fields.has(name)) errors[`fields.${name}`] = [`The selected fields.${name} is invalid.`]
    const groups = body.groups ?? []
    if (!Array.isArray(groups)) errors.groups = ['The groups must be an array.']
    else
      groups.forEach((id, index) => {
        if (!account.groups.has(String(id)))
          errors[`groups.${index}`] = [`The selected groups.${index} is invalid.`]
      })
    if (Object.keys(errors).length > 0) return invalid(reply, errors)
    const email = (body.email as string).toLowerCase()
    const existing = account.subscribers.get(email)
    const now = stamp()
    const subscriber: Subscriber = existing ?? {
      id: numericId(),
      email: body.email as string,
      status: 'active',
      source: 'api',
      fields: {},
      groups: [],
      subscribed_at: typeof body.subscribed_at === 'string' ? body.subscribed_at : now,
      created_at: now,
      updated_at: now,
    }
    Object.assign(subscriber.fields, fields)
    for (const id of groups as unknown[])
      if (!subscriber.groups.includes(String(id))) subscriber.groups.push(String(id))
    subscriber.updated_at = now
    account.subscribers.set(email, subscriber)
    return reply.code(existing ? 200 : 201).send({ data: subscriberView(account, subscriber) })
  })

  const findSubscriber = (account: Account, idOrEmail: string) =>
    account.subscribers.get(idOrEmail.toLowerCase()) ??
    [...account.subscribers.values()].find((s) => s.id === idOrEmail)

  app.get('/api/subscribers/:id', async (request, reply) => {
    const account = accountOf(request)
    const found = findSubscriber(account, (request.params as { id: string }).id)
    if (!found) return reply.code(404).send({ message: 'Resource not found.' })
    return { data: subscriberView(account, found) }
  })

  app.delete('/api/subscribers/:id', async (request, reply) => {
    const account = accountOf(request)
    const found = [...account.subscribers.values()].find(
      (s) => s.id === (request.params as { id: string }).id,
    )
    if (!found) return reply.code(404).send({ message: 'Resource not found.' })
    account.subscribers.delete(found.email.toLowerCase())
    return reply.code(204).send()
  })

  app.setNotFoundHandler(async (_request, reply) => reply.code(404).send({ message: 'Resource not found.' }))

  // Controls for tests and people (never Mailerlite's): what arrived, and failures to come.
  app.get(`${CONTROL_PATH}/subscribers`, async () =>
    Object.fromEntries(
      [...state.accounts.entries()].map(([key, account]) => [
        `…${key.slice(-4)}`,
        [...account.subscribers.values()].map((s) => ({
          email: s.email,
          fields: s.fields,
          groups: s.groups,
        })),
      ]),
    ),
  )
  app.get(`${CONTROL_PATH}/requests`, async () => state.requests)
  app.post(`${CONTROL_PATH}/fail`, async (request) => {
    const body = (request.body ?? {}) as { count?: number; status?: number; retryAfterSeconds?: number }
    state.failNext(body.count ?? 1, body.status ?? 503, body.retryAfterSeconds)
    return { queued: state.failures.length }
  })
  app.post(`${CONTROL_PATH}/down`, async (request) => {
    state.setDown(Boolean((request.body as { down?: boolean } | undefined)?.down ?? true))
    return { down: state.down }
  })
  app.post(`${CONTROL_PATH}/keys`, async (request) => {
    const body = (request.body ?? {}) as { add?: string; revoke?: string }
    if (body.add) state.addKey(body.add)
    if (body.revoke) state.revokeKey(body.revoke)
    return { ok: true }
  })
  app.post(`${CONTROL_PATH}/reset`, async () => {
    state.reset()
    return { ok: true }
  })
  return app
}
