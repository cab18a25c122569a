/**
 * A small client for Mailerlite's API (https://connect.mailerlite.com/api), over fetch. Not the
 * official @mailerlite/mailerlite-nodejs SDK: it fixes its base URL (we point at the stand-in in
 * development and tests) and hides the rate-limit headers we act on.
 */

export interface MailerliteGroup {
  id: string
  name: string
  active_count: number
}

export interface MailerliteField {
  id: string
  key: string
  name: string
  type: string
}

export interface MailerliteSubscriber {
  id: string
  email: string
  status: string
  fields: Record<string, string | number | null>
  groups: Array<{ id: string; name: string }>
}

export type MailerliteErrorCode =
  | 'unauthenticated'
  | 'validation'
  | 'rate_limited'
  | 'not_found'
  | 'unavailable'
  | 'network'

/** A refused or failed call. The key is never part of it. */
export class MailerliteError extends Error {
  readonly status: number
  readonly code: MailerliteErrorCode
  readonly fieldErrors?: Record<string, string[]> | undefined
  readonly retryAfterSeconds?: number | undefined
  readonly latencyMs: number
  constructor(input: {
    status: number
    code: MailerliteErrorCode
    message: string
    fieldErrors?: Record<string, string[]> | undefined
    retryAfterSeconds?: number | undefined
    latencyMs: number
  }) {
    super(input.message)
    this.name = 'MailerliteError'
    this.status = input.status
    this.code = input.code
    this.fieldErrors = input.fieldErrors
    this.retryAfterSeconds = input.retryAfterSeconds
    this.latencyMs = input.latencyMs
  }
}

export interface MailerliteClientOptions {
  apiKey: string
  baseUrl?: string
  timeoutMs?: number
  fetch?: typeof fetch
}

function codeOf(status: number): MailerliteErrorCode {
  if (status === 401 || status === 403) return 'unauthenticated'
  if (status === 422 || status === 400) return 'validation'
  if (status === 429) return 'rate_limited'
  if (status === 404) return 'not_found'
  return 'unavailable'
}

export function createMailerliteClient(options: MailerliteClientOptions) {
  const base = `${(options.baseUrl ?? 'https://connect.mailerlite.com').replace(/\/+$/, '')}/api`
  const timeoutMs = options.timeoutMs ?? 10000
  const doFetch = options.fetch ?? fetch
  const state = { rateLimitRemaining: undefined as number | undefined }

  async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; data: T }> {
    const started = performance.now()
    const latency = () => Math.round(performance.now() - started)
    let response: Response
    let text: string
    try {
      response = await doFetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${options.apiKey}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      })
      text = await response.text()
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError'
      throw new MailerliteError({
        status: 0,
        code: 'network',
        message: timedOut
          ? `Mailerlite did not answer within ${timeoutMs} ms`
          : 'Mailerlite could not be reached',
        latencyMs: latency(),
      })
    }
    const remaining = response.headers.get('x-ratelimit-remaining')
    if (remaining !== null && /^\d+$/.test(remaining)) state.rateLimitRemaining = Number(remaining)
    let parsed: unknown
    try {
      parsed = text === '' ? undefined : JSON.parse(text)
    } catch {
      parsed = undefined
    }
    if (!response.ok) {
      const payload = (parsed ?? {}) as { message?: unknown; errors?: unknown }
      const retryAfter = response.headers.get('retry-after')
      throw new MailerliteError({
        status: response.status,
        code: codeOf(response.status),
        message: typeof payload.message === 'string' ? payload.message : `HTTP ${response.status}`,
        fieldErrors:
          payload.errors && typeof payload.errors === 'object'
            ? (payload.errors as Record<string, string[]>)
            : undefined,
        retryAfterSeconds: retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined,
        latencyMs: latency(),
      })
    }
    return { status: response.status, data: parsed as T }
  }

  const client = {
    get rateLimitRemaining() {
      return state.rateLimitRemaining
    },
    async listGroups(
      query: { limit?: number; page?: number; name?: string } = {},
    ): Promise<MailerliteGroup[]> {
      const params = new URLSearchParams()
      if (query.limit) params.set('limit', String(query.limit))
      if (query.page) params.set('page', String(query.page))
      if (query.name) params.set('filter[name]', query.name)
      const { data } = await call<{ data: MailerliteGroup[] }>('GET', `/groups?${params}`)
      return data.data
    },
    async createGroup(name: string): Promise<MailerliteGroup> {
      return (await call<{ data: MailerliteGroup }>('POST', '/groups', { name })).data.data
    },
    async findOrCreateGroup(name: string): Promise<MailerliteGroup> {
      const found = (await client.listGroups({ name, limit: 100 })).find((g) => g.name === name)
      return found ?? client.createGroup(name)
    },
    async listFields(): Promise<MailerliteField[]> {
      return (await call<{ data: MailerliteField[] }>('GET', '/fields?limit=100')).data.data
    },
    async findOrCreateField(name: string): Promise<MailerliteField> {
      const found = (await client.listFields()).find((f) => f.key === name || f.name === name)
      return (
        found ?? (await call<{ data: MailerliteField }>('POST', '/fields', { name, type: 'text' })).data.data
      )
    },
    /** Creates or updates (by email, non-destructively) a subscriber: 201 created, 200 updated. */
    async upsertSubscriber(input: {
      email: string
      fields?: Record<string, string | number | null>
      groups?: string[]
      subscribed_at?: string
    }): Promise<{ subscriber: MailerliteSubscriber; created: boolean }> {
      const { status, data } = await call<{ data: MailerliteSubscriber }>('POST', '/subscribers', input)
      return { subscriber: data.data, created: status === 201 }
    },
    async getSubscriber(idOrEmail: string): Promise<MailerliteSubscriber | null> {
      try {
        return (
          await call<{ data: MailerliteSubscriber }>('GET', `/subscribers/${encodeURIComponent(idOrEmail)}`)
        ).data.data
      } catch (error) {
        if (error instanceof MailerliteError && error.code === 'not_found') return null
        throw error
      }
    },
    async deleteSubscriber(id: string): Promise<boolean> {
      try {
        await call('DELETE', `/subscribers/${encodeURIComponent(id)}`)
        return true
      } catch (error) {
        if (error instanceof MailerliteError && error.code === 'not_found') return false
        throw error
      }
    },
  }
  return client
}
