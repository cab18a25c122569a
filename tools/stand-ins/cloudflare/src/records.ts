import { randomBytes } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'
import { domainToASCII } from 'node:url'
import { errors, type ResultInfo } from './errors.ts'

/** The types the stand-in serves: what the deploy tool and the edge layer need. */
export const RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'TXT'] as const
export type DnsRecordType = (typeof RECORD_TYPES)[number]

/** Every type the API knows (the SDK's list), to tell "not served here" from "no such type". */
const API_TYPES = new Set([
  ...RECORD_TYPES,
  ...['CAA', 'CERT', 'DNSKEY', 'DS', 'HTTPS', 'LOC', 'MX', 'NAPTR', 'NS', 'OPENPGPKEY', 'PTR'],
  ...['SMIMEA', 'SRV', 'SSHFP', 'SVCB', 'TLSA', 'URI'],
])
const PROXIABLE_TYPES = new Set<string>(['A', 'AAAA', 'CNAME'])
const SETTINGS = ['ipv4_only', 'ipv6_only', 'flatten_cname'] as const

/** `per_page` as the API reference gives it: 100 unless asked, 1 to 5,000,000. */
export const DEFAULT_PER_PAGE = 100
export const MAX_PER_PAGE = 5_000_000

export interface DnsRecordSettings {
  ipv4_only?: boolean
  ipv6_only?: boolean
  flatten_cname?: boolean
}

/** A record as the API answers it (the SDK's `RecordResponse` for these types). */
export interface DnsRecord {
  id: string
  /** Fully qualified, lowercase, Punycode. */
  name: string
  type: DnsRecordType
  content: string
  proxiable: boolean
  proxied: boolean
  /** Seconds; 1 is automatic, and a proxied record is always 1. */
  ttl: number
  settings: DnsRecordSettings
  meta: Record<string, never>
  comment: string | null
  tags: string[]
  created_on: string
  modified_on: string
  comment_modified_on?: string
  tags_modified_on?: string
}

/** A record to start with (the `records` option, `POST /__stand-in/records`): the create body, and an id if wanted. */
export interface DnsRecordSeed {
  id?: string
  type: DnsRecordType
  /** Relative (`api`, `@`) or fully qualified in the zone, as in a create. */
  name: string
  content: string
  ttl?: number
  proxied?: boolean
  comment?: string | null
  tags?: string[]
  settings?: DnsRecordSettings
}

/** One change made through the API, oldest first: what a test reads to tell when a switch happened. */
export interface DnsChange {
  /** ISO 8601, when the stand-in applied it (the record's `modified_on` for a create or an edit). */
  at: string
  action: 'create' | 'edit' | 'overwrite' | 'delete'
  id: string
  /** The record before the change; null for a create. */
  before: DnsRecord | null
  /** The record after it; null for a delete. */
  after: DnsRecord | null
}

/** The body fields a create, edit or overwrite may carry, checked for their JSON type. */
interface Fields {
  type?: DnsRecordType
  name?: string
  content?: string
  ttl?: number
  proxied?: boolean
  comment?: string | null
  tags?: string[]
  settings?: DnsRecordSettings
}

export type ListQuery = Record<string, string | string[] | undefined>

/** The one zone's DNS records. Records are replaced, never changed in place, so history keeps its snapshots. */
export class DnsZone {
  readonly name: string
  readonly records: DnsRecord[] = []
  readonly changes: DnsChange[] = []

  constructor(name: string) {
    const ascii = domainToASCII(name.trim().toLowerCase().replace(/\.$/, ''))
    if (!isHostname(ascii) || !ascii.includes('.'))
      throw new Error(`zoneName must be a domain name such as nudge.example (got ${name})`)
    this.name = ascii
  }

  get(id: string): DnsRecord {
    const record = this.records.find((r) => r.id === id)
    if (record === undefined) throw errors.recordNotFound()
    return record
  }

  create(body: unknown): DnsRecord {
    const now = new Date().toISOString()
    const record = this.compose(undefined, readFields(body), 'create', now)
    this.records.push(record)
    this.changes.push({ at: now, action: 'create', id: record.id, before: null, after: record })
    return record
  }

  /** PATCH: the fields given change, the others stay (`proxied` included). */
  edit(id: string, body: unknown): DnsRecord {
    return this.replace(id, body, 'edit')
  }

  /** PUT: the record becomes the body; what it leaves out goes back to its default (`proxied: false`, `ttl: 1`). */
  overwrite(id: string, body: unknown): DnsRecord {
    return this.replace(id, body, 'overwrite')
  }

  delete(id: string): { id: string } {
    const before = this.get(id)
    this.records.splice(this.records.indexOf(before), 1)
    this.changes.push({ at: new Date().toISOString(), action: 'delete', id, before, after: null })
    return { id }
  }

  /** Adds records as they are, checked as a create is, without a history entry; all or none. */
  seed(seeds: readonly DnsRecordSeed[]): DnsRecord[] {
    const now = new Date().toISOString()
    const before = this.records.length
    const added: DnsRecord[] = []
    seeds.forEach((seed, index) => {
      try {
        const { id, ...body } = seed as DnsRecordSeed & Record<string, unknown>
        if (id !== undefined && (typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id)))
          throw new Error('id must be 32 hex characters')
        if (id !== undefined && this.records.some((r) => r.id === id)) throw new Error(`id ${id} is taken`)
        const record = { ...this.compose(undefined, readFields(body), 'create', now), ...(id && { id }) }
        this.records.push(record)
        added.push(record)
      } catch (error) {
        this.records.length = before
        const detail = error instanceof Error ? error.message : String(error)
        throw new Error(`record ${index} (${JSON.stringify(seed)}): ${detail}`)
      }
    })
    return added
  }

  clear(): void {
    this.records.length = 0
    this.changes.length = 0
  }

  /** `GET /dns_records`: filters, order and one page, with the `result_info` the SDK pages on. */
  list(query: ListQuery): { result: DnsRecord[]; resultInfo: ResultInfo } {
    const param = (key: string) => {
      const value = query[key]
      return Array.isArray(value) ? value[0] : value
    }
    const page = integerParam(param('page'), 'page', 1, Number.MAX_SAFE_INTEGER)
    const perPage = integerParam(param('per_page'), 'per_page', DEFAULT_PER_PAGE, MAX_PER_PAGE)
    const match = oneOf(param('match'), 'match', ['all', 'any'] as const) ?? 'all'
    const order = oneOf(param('order'), 'order', ['type', 'name', 'content', 'ttl', 'proxied'] as const)
    const direction = oneOf(param('direction'), 'direction', ['asc', 'desc'] as const) ?? 'asc'

    const filters: Array<(record: DnsRecord) => boolean> = []
    for (const field of ['name', 'content'] as const) {
      // Filters are case-insensitive; a name may be given with its final dot.
      const text = (key: string) => {
        const value = param(key)?.toLowerCase()
        return field === 'name' ? value?.replace(/\.$/, '') : value
      }
      const exact = [text(field), text(`${field}.exact`)]
      for (const value of exact)
        if (value !== undefined) filters.push((r) => r[field].toLowerCase() === value)
      const contains = text(`${field}.contains`)
      if (contains !== undefined) filters.push((r) => r[field].toLowerCase().includes(contains))
      const starts = text(`${field}.startswith`)
      if (starts !== undefined) filters.push((r) => r[field].toLowerCase().startsWith(starts))
      const ends = text(`${field}.endswith`)
      if (ends !== undefined) filters.push((r) => r[field].toLowerCase().endsWith(ends))
    }
    const type = param('type')
    if (type !== undefined) {
      if (!API_TYPES.has(type)) throw errors.invalidListParameter('type', 'a DNS record type such as CNAME')
      filters.push((r) => r.type === type)
    }
    const proxied = oneOf(param('proxied'), 'proxied', ['true', 'false'] as const)
    if (proxied !== undefined) filters.push((r) => r.proxied === (proxied === 'true'))

    const matching = this.records.filter((record) =>
      filters.length === 0
        ? true
        : match === 'all'
          ? filters.every((f) => f(record))
          : filters.some((f) => f(record)),
    )
    const keys = order === undefined ? (['type', 'name'] as const) : [order]
    const sign = direction === 'asc' ? 1 : -1
    matching.sort((a, b) => {
      for (const key of [...keys, 'name', 'content', 'created_on', 'id'] as const) {
        const left = a[key]
        const right = b[key]
        if (left < right) return -sign
        if (left > right) return sign
      }
      return 0
    })
    const result = matching.slice((page - 1) * perPage, page * perPage)
    return {
      result,
      resultInfo: {
        page,
        per_page: perPage,
        count: result.length,
        total_count: matching.length,
        total_pages: Math.max(1, Math.ceil(matching.length / perPage)),
      },
    }
  }

  private replace(id: string, body: unknown, action: 'edit' | 'overwrite'): DnsRecord {
    const before = this.get(id)
    const now = new Date().toISOString()
    const after = this.compose(before, readFields(body), action, now)
    this.records[this.records.indexOf(before)] = after
    this.changes.push({ at: now, action, id, before, after })
    return after
  }

  /** The record a create, edit or overwrite makes, checked in full, clashes with the others included. */
  private compose(
    base: DnsRecord | undefined,
    fields: Fields,
    action: 'create' | 'edit' | 'overwrite',
    now: string,
  ): DnsRecord {
    const kept = action === 'edit' ? base : undefined
    const type = fields.type ?? kept?.type
    const rawName = fields.name ?? kept?.name
    if (type === undefined || rawName === undefined) throw errors.invalidBody()
    const name = normalizeName(rawName, this.name)
    const content = readContent(type, fields.content ?? kept?.content ?? '', name)
    const proxied = fields.proxied ?? kept?.proxied ?? false
    let ttl = fields.ttl ?? kept?.ttl ?? 1
    if (!Number.isInteger(ttl) || (ttl !== 1 && (ttl < 60 || ttl > 86400))) throw errors.invalidTtl()
    const proxiable = PROXIABLE_TYPES.has(type) && !isPrivateAddress(type, content)
    if (proxied && !PROXIABLE_TYPES.has(type)) throw errors.notProxiableType()
    if (proxied && !proxiable) throw errors.notProxiableTarget(content)
    // Cloudflare answers for a proxied name itself: its TTL is automatic whatever was asked.
    if (proxied) ttl = 1
    const comment = fields.comment !== undefined ? fields.comment || null : (kept?.comment ?? null)
    const tags = fields.tags ?? kept?.tags ?? []
    const settings = fields.settings ?? kept?.settings ?? {}

    const record: DnsRecord = {
      id: base?.id ?? randomBytes(16).toString('hex'),
      name,
      type,
      content,
      proxiable,
      proxied,
      ttl,
      settings,
      meta: {},
      comment,
      tags,
      created_on: base?.created_on ?? now,
      modified_on: now,
    }
    if (comment !== null)
      record.comment_modified_on = comment === base?.comment ? (base.comment_modified_on ?? now) : now
    if (tags.length > 0) {
      const same = base !== undefined && JSON.stringify(tags) === JSON.stringify(base.tags)
      record.tags_modified_on = same ? (base.tags_modified_on ?? now) : now
    }
    this.checkClashes(record)
    return record
  }

  /** A/AAAA and CNAME cannot share a name, nor two CNAMEs; and no two records are the same. */
  private checkClashes(record: DnsRecord): void {
    const others = this.records.filter((r) => r.id !== record.id && r.name === record.name)
    if (record.type === 'CNAME' && others.some((r) => ['A', 'AAAA', 'CNAME'].includes(r.type)))
      throw errors.nameTaken()
    if ((record.type === 'A' || record.type === 'AAAA') && others.some((r) => r.type === 'CNAME'))
      throw errors.cnameTaken()
    if (others.some((r) => r.type === record.type && r.content === record.content))
      throw errors.identicalRecord()
  }
}

/** A body is JSON (the SDK sends it so); any field of the wrong JSON type is Cloudflare's 9207. */
export function readFields(raw: unknown): Fields {
  let body = raw
  if (typeof raw === 'string') {
    try {
      body = JSON.parse(raw)
    } catch {
      throw errors.invalidBody()
    }
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw errors.invalidBody()
  const given = body as Record<string, unknown>
  const fields: Fields = {}
  const { type, name, content, ttl, proxied, comment, tags, settings } = given
  if (type !== undefined) {
    if (typeof type !== 'string' || !API_TYPES.has(type)) throw errors.invalidBody()
    if (!(RECORD_TYPES as readonly string[]).includes(type)) throw errors.unsupportedType(type)
    fields.type = type as DnsRecordType
  }
  if (name !== undefined) fields.name = expect(name, 'string')
  if (content !== undefined) fields.content = expect(content, 'string')
  if (ttl !== undefined) fields.ttl = expect(ttl, 'number')
  if (proxied !== undefined) fields.proxied = expect(proxied, 'boolean')
  if (comment !== undefined) fields.comment = comment === null ? null : expect(comment, 'string')
  if (tags !== undefined) {
    if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) throw errors.invalidBody()
    fields.tags = tags
  }
  if (settings !== undefined) {
    if (typeof settings !== 'object' || settings === null || Array.isArray(settings))
      throw errors.invalidBody()
    const read: DnsRecordSettings = {}
    for (const key of SETTINGS) {
      const value = (settings as Record<string, unknown>)[key]
      if (value !== undefined) read[key] = expect(value, 'boolean')
    }
    fields.settings = read
  }
  return fields
}

function expect<T extends 'string' | 'number' | 'boolean'>(
  value: unknown,
  kind: T,
): T extends 'string' ? string : T extends 'number' ? number : boolean {
  if (typeof value !== kind) throw errors.invalidBody()
  return value as never
}

/**
 * Names as Cloudflare stores them: lowercase Punycode without the final dot, `@` for the apex, and
 * a name outside the zone taken as relative to it (`api` and `api.other.example` become
 * `api.nudge.example` and `api.other.example.nudge.example`).
 */
export function normalizeName(raw: string, zone: string): string {
  let name = raw.trim().toLowerCase().replace(/\.$/, '')
  if (name === '') throw errors.invalidName()
  if (name === '@') name = zone
  if (name !== zone && !name.endsWith(`.${zone}`)) name = `${name}.${zone}`
  const ascii = domainToASCII(name)
  if (!isHostname(ascii)) throw errors.invalidName()
  return ascii
}

function readContent(type: DnsRecordType, raw: string, name: string): string {
  const content = raw.trim()
  switch (type) {
    case 'A':
      if (!isIPv4(content)) throw errors.invalidIPv4()
      return content
    case 'AAAA':
      if (!isIPv6(content)) throw errors.invalidIPv6()
      return content
    case 'CNAME': {
      const target = domainToASCII(content.toLowerCase().replace(/\.$/, ''))
      if (!isHostname(target) || isIPv4(target) || target === name) throw errors.invalidCnameTarget()
      return target
    }
    case 'TXT':
      if (raw === '') throw errors.invalidBody()
      return raw
  }
}

function isHostname(name: string): boolean {
  if (name === '' || name.length > 253) return false
  return name
    .split('.')
    .every((label, index) => (index === 0 && label === '*') || /^[a-z0-9_](?:[a-z0-9_-]{0,62})$/.test(label))
}

/** Addresses Cloudflare cannot proxy to: private, loopback, link-local (as the stand-in draws the line). */
function isPrivateAddress(type: DnsRecordType, content: string): boolean {
  if (type === 'A') {
    const [a = 0, b = 0] = content.split('.').map(Number)
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168)
    )
  }
  if (type === 'AAAA') {
    const address = content.toLowerCase()
    return address === '::1' || address === '::' || /^f[cd]/.test(address) || /^fe[89ab]/.test(address)
  }
  return false
}

function integerParam(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback
  const number = /^\d+$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isSafeInteger(number) || number < 1 || number > max)
    throw errors.invalidListParameter(name, `an integer from 1 to ${max}`)
  return number
}

function oneOf<T extends string>(
  value: string | undefined,
  name: string,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined
  if (!(allowed as readonly string[]).includes(value))
    throw errors.invalidListParameter(name, allowed.join(', '))
  return value as T
}
