/**
 * A small client for Mailerlite's API (https://connect.mailerlite.com/api, Bearer API keys),
 * over plain fetch.
 *
 * Why not the official @mailerlite/mailerlite-nodejs SDK: it hard-codes its base URL (we point
 * this client at the stand-in, tools/stand-ins/mailerlite, in development and tests), pulls in
 * axios, and hides the response headers we act on (X-RateLimit-Remaining, Retry-After).
 *
 * Every failure is a MailerliteError with a `code` callers can branch on; the API key is never
 * part of an error or its message.
 */

export const MAILERLITE_BASE_URL = 'https://connect.mailerlite.com'

/** Mailerlite's rates: `float` is 0..1, `string` the percentage ("12.5%"). */
export interface MailerliteRate {
  float: number
  string: string
}

export interface MailerliteGroup {
  /** A long number, as a string ("31986843064993537"). */
  id: string
  name: string
  active_count: number
  sent_count: number
  opens_count: number
  open_rate: MailerliteRate
  clicks_count: number
  click_rate: MailerliteRate
  unsubscribed_count: number
  unconfirmed_count: number
  bounced_count: number
  junk_count: number
  /** "YYYY-MM-DD HH:MM:SS" (UTC). */
  created_at: string
}

export type MailerliteFieldType = 'text' | 'number' | 'date'

export interface MailerliteField {
  id: string
  /** What people see ("Last name"). */
  name: string
  /** What subscribers' `fields` are keyed by ("last_name"). */
  key: string
  type: MailerliteFieldType
}

export type MailerliteSubscriberStatus = 'active' | 'unsubscribed' | 'unconfirmed' | 'bounced' | 'junk'

export type MailerliteFieldValue = string | number | null

export interface MailerliteSubscriber {
  id: string
  email: string
  status: MailerliteSubscriberStatus
  source: string
  sent: number
  opens_count: number
  clicks_count: number
  open_rate: number
  click_rate: number
  ip_address: string | null
  subscribed_at: string | null
  unsubscribed_at: string | null
  created_at: string
  updated_at: string
  /** Every field of the account by key, null when unset. */
  fields: Record<string, MailerliteFieldValue>
  groups: MailerliteGroup[]
  opted_in_at: string | null
  optin_ip: string | null
}

/** POST /api/subscribers: creates, or updates by email without removing anything not sent. */
export interface MailerliteSubscriberInput {
  email: string
  /** By field key (name, last_name, … or a custom field's key); a value sent overwrites. */
  fields?: Record<string, MailerliteFieldValue>
  /** Group ids to add the subscriber to (never removed from others). */
  groups?: string[]
  status?: MailerliteSubscriberStatus
  /** "YYYY-MM-DD HH:MM:SS". */
  subscribed_at?: string
  ip_address?: string
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
  /** The HTTP status; 0 when no answer came (network error, timeout). */
  readonly status: number
  readonly code: MailerliteErrorCode
  /** 422: Mailerlite's messages per field ("email", "groups.0", "fields.plan"). */
  readonly fieldErrors?: Record<string, string[]> | undefined
  /** 429 and 503: how long Mailerlite asks us to wait (Retry-After). */
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
  /** Mailerlite's origin (or the stand-in's); `/api` is added. Default https://connect.mailerlite.com. */
  baseUrl?: string
  /** For the whole call, answer included. Default 10000. */
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

/** Retry-After in seconds, or as an HTTP date. */
function retryAfterOf(header: string | null): number | undefined {
  if (header === null) return undefined
  if (/^\d+$/.test(header.trim())) return Number(header.trim())
  const at = Date.parse(header)
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000))
}

function fieldErrorsOf(errors: unknown): Record<string, string[]> | undefined {
  if (typeof errors !== 'object' || errors === null || Array.isArray(errors)) return undefined
  const entries = Object.entries(errors).map(([field, messages]): [string, string[]] => [
    field,
    (Array.isArray(messages) ? messages : [messages]).map(String),
  ])
  return entries.length > 0 ? Object.fromEntries(entries) : undefined
}

interface Page<T> {
  data: T[]
  meta?: { current_page?: number; last_page?: number }
}

export function createMailerliteClient(options: MailerliteClientOptions) {
  // Accept the origin or the API's URL (…/api) alike.
  const base = `${(options.baseUrl ?? MAILERLITE_BASE_URL).replace(/\/+$/, '').replace(/\/api$/, '')}/api`
  const timeoutMs = options.timeoutMs ?? 10000
  const doFetch = options.fetch ?? fetch
  const state = { rateLimitRemaining: undefined as number | undefined }
  /** Belt and braces: whatever an answer says, the key never leaves in a message. */
  const scrub = (message: string) =>
    options.apiKey.length >= 4 ? message.split(options.apiKey).join('[api key]') : message

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
      const payload = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as {
        message?: unknown
        errors?: unknown
      }
      throw new MailerliteError({
        status: response.status,
        code: codeOf(response.status),
        message: scrub(typeof payload.message === 'string' ? payload.message : `HTTP ${response.status}`),
        fieldErrors: fieldErrorsOf(payload.errors),
        retryAfterSeconds: retryAfterOf(response.headers.get('retry-after')),
        latencyMs: latency(),
      })
    }
    // A 2xx that is not Mailerlite's JSON (a proxy's page, a cut answer) is not a success.
    if (response.status !== 204 && (typeof parsed !== 'object' || parsed === null))
      throw new MailerliteError({
        status: response.status,
        code: 'unavailable',
        message: `Mailerlite answered ${response.status} without a JSON body`,
        latencyMs: latency(),
      })
    return { status: response.status, data: parsed as T }
  }

  async function groupsPage(query: { limit?: number; page?: number; name?: string }) {
    const params = new URLSearchParams()
    if (query.limit !== undefined) params.set('limit', String(query.limit))
    if (query.page !== undefined) params.set('page', String(query.page))
    if (query.name) params.set('filter[name]', query.name)
    const search = params.size > 0 ? `?${params}` : ''
    return (await call<Page<MailerliteGroup>>('GET', `/groups${search}`)).data
  }

  const client = {
    /** X-RateLimit-Remaining of the last answer that had it (undefined before any). */
    get rateLimitRemaining(): number | undefined {
      return state.rateLimitRemaining
    },
    /** One page of groups, by name; `name` filters by part of the name. */
    async listGroups(
      query: { limit?: number; page?: number; name?: string } = {},
    ): Promise<MailerliteGroup[]> {
      return (await groupsPage(query)).data
    },
    async createGroup(name: string): Promise<MailerliteGroup> {
      return (await call<{ data: MailerliteGroup }>('POST', '/groups', { name })).data.data
    },
    /** The group with exactly this name (filter[name] matches parts, so every page is read), or a new one. */
    async findOrCreateGroup(name: string): Promise<MailerliteGroup> {
      for (let page = 1; ; page++) {
        const result = await groupsPage({ name, limit: 100, page })
        const found = result.data.find((group) => group.name === name)
        if (found) return found
        if (result.data.length === 0 || page >= (result.meta?.last_page ?? page)) break
      }
      return client.createGroup(name)
    },
    /** The account's fields (the default ones and custom ones), for a field-mapping picker. */
    async listFields(): Promise<MailerliteField[]> {
      const fields: MailerliteField[] = []
      for (let page = 1; page <= 50; page++) {
        const result = (await call<Page<MailerliteField>>('GET', `/fields?limit=100&page=${page}`)).data
        fields.push(...result.data)
        if (result.data.length === 0 || page >= (result.meta?.last_page ?? page)) break
      }
      return fields
    },
    /** The field with this key or name, or a new text field. */
    async findOrCreateField(name: string, type: MailerliteFieldType = 'text'): Promise<MailerliteField> {
      const found = (await client.listFields()).find((f) => f.key === name || f.name === name)
      return found ?? (await call<{ data: MailerliteField }>('POST', '/fields', { name, type })).data.data
    },
    /** Creates or updates (by email, non-destructively) a subscriber: 201 created, 200 updated. */
    async upsertSubscriber(
      input: MailerliteSubscriberInput,
    ): Promise<{ subscriber: MailerliteSubscriber; created: boolean }> {
      const { status, data } = await call<{ data: MailerliteSubscriber }>('POST', '/subscribers', input)
      return { subscriber: data.data, created: status === 201 }
    },
    /** By id or email; null when Mailerlite has no such subscriber. */
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
    /** True when deleted, false when there was no such subscriber. */
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

export type MailerliteClient = ReturnType<typeof createMailerliteClient>
