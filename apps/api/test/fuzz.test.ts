import { randomUUID } from 'node:crypto'
import net from 'node:net'
import { Type } from '@fastify/type-provider-typebox'
import t from 'tap'
import { buildTestApp, captureLogs } from './helpers/app.ts'

/**
 * Every route, malformed: the route table is read at run time (the OpenAPI document, the hidden
 * dev mailbox, and the /auth/* routes the SuperTokens SDK serves), so a route added later is
 * fuzzed without touching this file. Any 5xx, dropped connection or hang fails, and so does an
 * error-level log line for a request that was answered 4xx (a client's mistake is not ours).
 */

const TIMEOUT_MS = 5000
const CONCURRENCY = 8
const HUGE = 'x'.repeat(100_000)
const EXCERPT = 200

// ---------------------------------------------------------------------------------------------
// The route table

interface Schema {
  $ref?: string
  type?: string | string[]
  format?: string
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  anyOf?: Schema[]
  oneOf?: Schema[]
  allOf?: Schema[]
  enum?: unknown[]
  const?: unknown
  default?: unknown
  examples?: unknown[]
  example?: unknown
  minLength?: number
  minimum?: number
  minItems?: number
}

interface Parameter {
  name: string
  in: 'path' | 'query' | 'header' | 'cookie'
  required?: boolean
  schema?: Schema
}

interface Operation {
  parameters?: Parameter[]
  requestBody?: { content?: Record<string, { schema?: Schema; example?: unknown }> }
}

interface OpenApi {
  openapi: string
  paths: Record<string, Record<string, Operation>>
  components?: { schemas?: Record<string, Schema> }
}

interface Route {
  method: string
  /** As in the OpenAPI document: params as `{name}`. */
  path: string
  source: 'openapi' | 'hidden' | 'sdk'
  operation?: Operation
  /** SDK routes: the recipe id, which the frontend SDK sends as `rid`. */
  recipe?: string
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options']

interface SuperTokensInstance {
  appInfo: { apiBasePath: { getAsStringDangerous(): string } }
  recipeModules: Array<{
    getRecipeId(): string
    getAPIsHandled(): Array<{
      method: string
      pathWithoutApiBasePath: { getAsStringDangerous(): string }
      id: string
      disabled: boolean
    }>
  }>
  pluginRouteHandlers?: Array<{ method: string; path: string }>
}

/** The SDK's process-wide instance, however the CommonJS module surfaces through ESM. */
async function superTokensInstance(): Promise<SuperTokensInstance> {
  type Class = { getInstanceOrThrowError(): SuperTokensInstance }
  const loaded = (await import('supertokens-node/lib/build/supertokens.js')) as unknown as {
    default: Class | { default: Class }
  }
  const SuperTokens = 'getInstanceOrThrowError' in loaded.default ? loaded.default : loaded.default.default
  return SuperTokens.getInstanceOrThrowError()
}

async function sdkRoutes(): Promise<Route[]> {
  const instance = await superTokensInstance()
  const base = instance.appInfo.apiBasePath.getAsStringDangerous()
  const routes: Route[] = []
  for (const recipe of instance.recipeModules) {
    for (const api of recipe.getAPIsHandled()) {
      if (api.disabled) continue
      routes.push({
        method: api.method.toUpperCase(),
        path: `${base}${api.pathWithoutApiBasePath.getAsStringDangerous()}`,
        source: 'sdk',
        recipe: recipe.getRecipeId(),
      })
    }
  }
  for (const handler of instance.pluginRouteHandlers ?? []) {
    routes.push({ method: handler.method.toUpperCase(), path: handler.path, source: 'sdk' })
  }
  return routes
}

function openApiRoutes(doc: OpenApi): Route[] {
  const routes: Route[] = []
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!HTTP_METHODS.includes(method)) continue
      routes.push({ method: method.toUpperCase(), path, source: 'openapi', operation })
      // Fastify answers HEAD for every GET route.
      if (method === 'get' && !item.head) {
        routes.push({ method: 'HEAD', path, source: 'openapi', operation })
      }
    }
  }
  return routes
}

// ---------------------------------------------------------------------------------------------
// Values from schemas

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

function resolver(doc: OpenApi) {
  return function resolve(schema: Schema | undefined, seen = 0): Schema {
    if (!schema) return {}
    if (schema.$ref && seen < 20) {
      const ref = schema.$ref
      const name = ref.startsWith('#/components/schemas/') ? ref.slice('#/components/schemas/'.length) : ref
      return resolve(doc.components?.schemas?.[name], seen + 1)
    }
    if (schema.allOf) {
      const parts = schema.allOf.map((part) => resolve(part, seen + 1))
      return {
        ...schema,
        allOf: undefined,
        type: 'object',
        properties: Object.assign({}, ...parts.map((p) => p.properties ?? {})),
        required: parts.flatMap((p) => p.required ?? []),
      }
    }
    return schema
  }
}

function typeOf(schema: Schema): string | undefined {
  if (Array.isArray(schema.type)) return schema.type.find((type) => type !== 'null') ?? schema.type[0]
  if (schema.type) return schema.type
  if (schema.properties) return 'object'
  if (schema.items) return 'array'
  return undefined
}

/** A value the schema accepts, as far as we can tell: examples first, then a value by type. */
function sample(schema: Schema, resolve: (s: Schema | undefined) => Schema, depth = 0): Json {
  const s = resolve(schema)
  if (s.examples?.length) return s.examples[0] as Json
  if (s.example !== undefined) return s.example as Json
  if (s.const !== undefined) return s.const as Json
  if (s.default !== undefined) return s.default as Json
  if (s.enum?.length) return s.enum[0] as Json
  const variant = s.anyOf ?? s.oneOf
  if (variant?.length) {
    const first = variant.find((v) => resolve(v).type !== 'null') ?? variant[0]
    return sample(first as Schema, resolve, depth + 1)
  }
  switch (typeOf(s)) {
    case 'object': {
      const value: Record<string, Json> = {}
      if (depth > 8) return value
      for (const [key, property] of Object.entries(s.properties ?? {})) {
        value[key] = sample(property, resolve, depth + 1)
      }
      return value
    }
    case 'array':
      return depth > 8 || !s.items
        ? []
        : Array.from({ length: Math.max(1, s.minItems ?? 1) }, () =>
            sample(s.items as Schema, resolve, depth + 1),
          )
    case 'integer':
    case 'number':
      return s.minimum !== undefined ? Math.max(s.minimum, 1) : 1
    case 'boolean':
      return true
    case 'null':
      return null
    case 'string':
      return sampleString(s)
    default:
      return 'fuzz'
  }
}

function sampleString(s: Schema): string {
  switch (s.format) {
    case 'uuid':
      return randomUUID()
    case 'email':
      return 'fuzz@example.com'
    case 'date-time':
      return new Date().toISOString()
    case 'date':
      return new Date().toISOString().slice(0, 10)
    case 'uri':
    case 'url':
      return 'https://example.com/page'
    case 'hostname':
      return 'example.com'
    default:
      return 'fuzz'.padEnd(s.minLength ?? 0, 'z')
  }
}

/** Values of the wrong type for a schema (null, arrays and objects are tried for every field anyway). */
function wrongTypes(schema: Schema): Array<[string, Json]> {
  switch (typeOf(schema)) {
    case 'string':
      return [
        ['number', 12345],
        ['boolean', true],
      ]
    case 'integer':
    case 'number':
      return [
        ['string', 'not-a-number'],
        ['float', 1.5],
        ['negative', -1],
        ['huge number', 1e308],
      ]
    case 'boolean':
      return [
        ['string', 'yes'],
        ['number', 2],
      ]
    case 'array':
      return [['string', 'not-an-array']]
    case 'object':
      return [['string', 'not-an-object']]
    default:
      return [['number', 12345]]
  }
}

const deepArray = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`
const deepObject = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`
/** JSON text with `path` (property names) in `base` set to the raw JSON text `raw`. */
function withRaw(base: Json, path: string[], raw: string): string {
  const marker = `__fuzz_${randomUUID()}__`
  const copy = structuredClone(base) as Record<string, Json>
  let node = copy
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null || Array.isArray(node[key])) node[key] = {}
    node = node[key] as Record<string, Json>
  }
  node[path[path.length - 1] as string] = marker
  return JSON.stringify(copy).replace(JSON.stringify(marker), raw)
}

function without(base: Json, path: string[]): Json {
  const copy = structuredClone(base) as Record<string, Json>
  let node: Record<string, Json> | undefined = copy
  for (const key of path.slice(0, -1)) node = node?.[key] as Record<string, Json> | undefined
  if (node && typeof node === 'object') delete node[path[path.length - 1] as string]
  return copy
}

/** Every property path of an object schema (nested objects too, a few levels down). */
function propertyPaths(
  schema: Schema,
  resolve: (s: Schema | undefined) => Schema,
  prefix: string[] = [],
): Array<{ path: string[]; schema: Schema; required: boolean }> {
  const s = resolve(schema)
  if (typeOf(s) !== 'object' || prefix.length > 3) return []
  return Object.entries(s.properties ?? {}).flatMap(([key, property]) => {
    const resolved = resolve(property)
    const path = [...prefix, key]
    return [
      { path, schema: resolved, required: (s.required ?? []).includes(key) },
      ...propertyPaths(resolved, resolve, path),
    ]
  })
}

// ---------------------------------------------------------------------------------------------
// Requests

interface Case {
  route: Route
  name: string
  method: string
  /** Path and query as sent. */
  target: string
  headers: Record<string, string>
  body?: string | Uint8Array
  /** Sent over a raw socket, exactly as given (request id and connection: close are added). */
  raw?: { head: string[]; body?: Buffer; halfClose?: boolean }
  /** The request is incomplete on purpose: closing without an answer is correct. */
  noAnswerOk?: boolean
  /** Sign-in tokens given: a 401 on this case means the fuzz lost its session. */
  id?: string
}

interface Outcome {
  status?: number
  body: string
  error?: string
}

const JSON_TYPE = { 'content-type': 'application/json' }

function describeError(error: unknown): string {
  const e = error as Error & { cause?: Error & { code?: string } }
  if (e.name === 'TimeoutError' || e.name === 'AbortError')
    return `timeout: no answer within ${TIMEOUT_MS} ms`
  const cause = e.cause ? ` (${e.cause.code ?? ''} ${e.cause.message ?? ''})`.replace('( ', '(') : ''
  return `${e.message}${cause}`
}

async function sendFetch(base: string, c: Case, requestId: string): Promise<Outcome> {
  try {
    const response = await fetch(`${base}${c.target}`, {
      method: c.method,
      headers: { ...c.headers, 'x-request-id': requestId },
      ...(c.body !== undefined ? { body: c.body } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    })
    return { status: response.status, body: await response.text() }
  } catch (error) {
    return { body: '', error: describeError(error) }
  }
}

function sendRaw(port: number, c: Case, requestId: string): Promise<Outcome> {
  const raw = c.raw as NonNullable<Case['raw']>
  const body = raw.body ?? Buffer.alloc(0)
  // A case that frames its body itself says so; any other gets the true length.
  const framed = raw.head.some((line) => /^(content-length|transfer-encoding):/i.test(line))
  const head = [
    ...raw.head,
    ...(framed ? [] : [`content-length: ${body.length}`]),
    `x-request-id: ${requestId}`,
    'connection: close',
  ].join('\r\n')
  const bytes = Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'utf8'), body])
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const socket = net.connect({ port, host: '127.0.0.1' })
    let settled = false
    const finish = (problem?: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      const text = Buffer.concat(chunks).toString('latin1')
      // Interim answers (100 Continue) come first; the final one is what counts.
      const statuses = [...text.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/g)]
      const final = statuses.find((m) => Number(m[1]) >= 200)
      if (final) {
        const bodyAt = text.indexOf('\r\n\r\n', final.index)
        resolve({ status: Number(final[1]), body: bodyAt >= 0 ? text.slice(bodyAt + 4) : '' })
      } else if (c.noAnswerOk && !problem?.startsWith('timeout')) resolve({ body: '' })
      else
        resolve({
          body: text,
          error:
            problem ??
            (statuses.length ? 'only an interim 1xx answer' : 'connection closed without an answer'),
        })
    }
    const timer = setTimeout(() => finish(`timeout: no answer within ${TIMEOUT_MS} ms`), TIMEOUT_MS)
    socket.on('connect', () => {
      socket.write(bytes)
      if (raw.halfClose) socket.end()
    })
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('end', () => finish())
    socket.on('close', () => finish())
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish(`connection error: ${error.code ?? error.message}`),
    )
  })
}

async function pool<T>(items: T[], limit: number, run: (item: T, index: number) => Promise<void>) {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++
        await run(items[index] as T, index)
      }
    }),
  )
}

// ---------------------------------------------------------------------------------------------
// Cases

interface Tokens {
  header?: string
  cookie?: string
}

/** Path params from `{name}` placeholders, each filled with `fill(name)`. */
function fillPath(path: string, fill: (name: string) => string): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => fill(name))
}

const PARAM_GARBAGE: Array<[string, string]> = [
  ['not a uuid', 'not-a-uuid'],
  ['random uuid', '__uuid__'],
  ['uuid upper-case', '__UUID__'],
  ['nil uuid', '00000000-0000-0000-0000-000000000000'],
  ['uuid with trailing junk', '__uuid__x'],
  ['integer', '1'],
  ['negative', '-1'],
  ['very long', 'a'.repeat(5000)],
  ['NUL', '%00'],
  ['encoded traversal', '..%2f..%2fhealth'],
  ['encoded slash', 'a%2Fb'],
  ['unicode', encodeURIComponent('ünïcødé-😀')],
  ['bad percent-encoding', '%E0%A4%A'],
  ['lone percent', '%'],
  ['space', '%20'],
  ['sql', encodeURIComponent("' OR 1=1--")],
  ['literal placeholder', '%7Bid%7D'],
  ['null', 'null'],
]

function paramValue(value: string): string {
  return value.replaceAll('__uuid__', randomUUID()).replaceAll('__UUID__', randomUUID().toUpperCase())
}

const GENERIC_QUERIES: Array<[string, string]> = [
  ['repeated param', 'a=1&a=2'],
  ['bad limit', 'limit=-1&cursor=garbage'],
  ['limit not a number', 'limit=abc'],
  ['huge limit', 'limit=99999999999999999999'],
  ['cursor garbage', `cursor=${encodeURIComponent('{"id":"x"}')}`],
  ['huge value', `q=${'x'.repeat(10_000)}`],
  ['bad percent-encoding', 'a=%E0%A4%A&%zz=1'],
  ['bracket keys', 'a[b]=1&__proto__[polluted]=1&constructor[prototype][x]=1'],
  ['empty and bare', '&&=&x'],
]

/** Query params the SDK reads on its GET routes; harmless noise elsewhere. */
const SDK_QUERY_NAMES = ['email', 'phoneNumber', 'tenantId', 'client_id', 'redirect_uri', 'token']

function genericBodies(): Array<{
  name: string
  body?: string | Uint8Array
  headers: Record<string, string>
}> {
  return [
    { name: 'no body at all', headers: {} },
    { name: 'body null', body: 'null', headers: JSON_TYPE },
    { name: 'body []', body: '[]', headers: JSON_TYPE },
    { name: 'body "string"', body: '"string"', headers: JSON_TYPE },
    { name: 'body 123', body: '123', headers: JSON_TYPE },
    { name: 'body true', body: 'true', headers: JSON_TYPE },
    { name: 'body {}', body: '{}', headers: JSON_TYPE },
    { name: 'empty body, json content-type', body: '', headers: JSON_TYPE },
    { name: 'invalid JSON', body: '{"a":', headers: JSON_TYPE },
    { name: 'invalid JSON (trailing comma)', body: '{"a":1,}', headers: JSON_TYPE },
    {
      name: 'invalid UTF-8 in JSON',
      body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x22, 0x7d]),
      headers: JSON_TYPE,
    },
    { name: 'lone surrogate', body: '{"a":"\\ud800"}', headers: JSON_TYPE },
    { name: '__proto__ key', body: '{"__proto__":{"polluted":true},"a":1}', headers: JSON_TYPE },
    { name: 'constructor key', body: '{"constructor":{"prototype":{"polluted":true}}}', headers: JSON_TYPE },
    { name: 'huge string', body: JSON.stringify({ a: HUGE }), headers: JSON_TYPE },
    { name: 'deep array nesting (1000)', body: deepArray(1000), headers: JSON_TYPE },
    { name: 'deep object nesting (1000)', body: deepObject(1000), headers: JSON_TYPE },
    { name: 'text/plain', body: 'hello', headers: { 'content-type': 'text/plain' } },
    {
      name: 'form-urlencoded junk',
      body: 'a=%zz&&=&b[c][d]=1&__proto__[x]=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    },
    {
      name: 'multipart without boundary',
      body: '--x\r\ncontent-disposition: form-data; name="a"\r\n\r\n1\r\n--x--',
      headers: { 'content-type': 'multipart/form-data' },
    },
    { name: 'xml', body: '<a>1</a>', headers: { 'content-type': 'application/xml' } },
    { name: 'bad content-type', body: '{}', headers: { 'content-type': '/;;=' } },
    {
      name: 'json with odd charset',
      body: '{}',
      headers: { 'content-type': 'application/json; charset=utf-7' },
    },
    { name: 'no content-type', body: new TextEncoder().encode('{"a":1}'), headers: {} },
  ]
}

/** Bodies for the SDK's POST routes: what the frontend SDK sends, gone wrong. */
const SDK_BODIES: Array<[string, Json]> = [
  ['email valid', { email: 'fuzz@example.com' }],
  ['email number', { email: 123 }],
  ['email null', { email: null }],
  ['email array', { email: ['a@example.com'] }],
  ['email object', { email: { $ne: '' } }],
  ['email 100k', { email: 'x'.repeat(100_000) }],
  ['email 100k valid-looking', { email: `${'x'.repeat(100_000)}@example.com` }],
  ['email blank', { email: '   ' }],
  ['email unicode', { email: 'ÿü😀@exämple.com' }],
  ['email and phone', { email: 'fuzz@example.com', phoneNumber: '+14155550100' }],
  ['phone garbage', { phoneNumber: 'not-a-phone' }],
  ['made-up device', { deviceId: 'made-up', preAuthSessionId: 'made-up' }],
  ['device wrong types', { deviceId: 123, preAuthSessionId: null }],
  ['consume wrong types', { preAuthSessionId: 123, linkCode: [] }],
  ['consume made-up', { preAuthSessionId: 'made-up', linkCode: 'made-up' }],
  ['consume code made-up', { preAuthSessionId: 'made-up', deviceId: 'made-up', userInputCode: '123456' }],
  ['consume both', { preAuthSessionId: 'made-up', linkCode: 'x', deviceId: 'x', userInputCode: 'x' }],
  ['consume huge', { preAuthSessionId: HUGE, linkCode: HUGE }],
  [
    'shouldTryLinkingWithSessionUser junk',
    { email: 'fuzz@example.com', shouldTryLinkingWithSessionUser: 'x' },
  ],
  ['oauth junk', { token: 123, client_id: [], grant_type: {} }],
]

const TOKEN_VARIANTS: Array<[string, Record<string, string>]> = [
  ['no token', {}],
  ['Bearer garbage', { authorization: 'Bearer garbage' }],
  ['Bearer looks like a JWT', { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' }],
  ['Bearer three dots of junk', { authorization: 'Bearer a.b.c' }],
  ['Basic credentials', { authorization: 'Basic Zm9vOmJhcg==' }],
  ['authorization without scheme', { authorization: 'garbage' }],
  ['huge token (8 kB)', { authorization: `Bearer ${'a'.repeat(8000)}` }],
  ['token over the header limit (20 kB)', { authorization: `Bearer ${'a'.repeat(20_000)}` }],
  ['cookie bad percent-encoding', { cookie: 'sAccessToken=%E0%A4%A' }],
  ['cookie garbage', { cookie: 'sAccessToken=garbage; sRefreshToken=garbage; sFrontToken=garbage' }],
  ['cookie empty', { cookie: 'sAccessToken=' }],
  ['cookie and bearer disagree', { cookie: 'sAccessToken=garbage', authorization: 'Bearer other' }],
  ['rid junk', { rid: 'junk', authorization: 'Bearer garbage' }],
  ['rid session', { rid: 'session', authorization: 'Bearer garbage' }],
  ['st-auth-mode junk', { 'st-auth-mode': 'junk' }],
  ['fdi-version junk', { 'fdi-version': '99.99, junk' }],
  ['anti-csrf junk', { 'anti-csrf': 'junk', cookie: 'sAccessToken=garbage' }],
]

/** Headers proxies, browsers and Cloudflare send, with values nobody should trust. */
const ODD_HEADERS: Array<[string, Record<string, string>]> = [
  ['x-forwarded-for garbage', { 'x-forwarded-for': 'garbage, , 999.999.1.1, ::zz' }],
  [
    'x-forwarded-for long list',
    { 'x-forwarded-for': Array.from({ length: 500 }, (_, i) => `10.0.${i >> 8}.${i & 255}`).join(', ') },
  ],
  ['cf-connecting-ip garbage', { 'cf-connecting-ip': 'not-an-ip' }],
  ['cf-connecting-ip IPv6 with zone', { 'cf-connecting-ip': 'fe80::1%eth0' }],
  ['cf-connecting-ip huge', { 'cf-connecting-ip': '1'.repeat(8000) }],
  ['cf-ipcountry junk', { 'cf-ipcountry': 'XX-<script>' }],
  ['cf-ipcountry empty', { 'cf-ipcountry': '' }],
  [
    'wrong edge secret',
    { 'x-edge-secret': 'wrong', 'cf-connecting-ip': '203.0.113.7', 'cf-ipcountry': 'NL' },
  ],
  ['cf-ray junk', { 'cf-ray': '../../etc/passwd' }],
  ['forwarded junk', { forwarded: 'for=junk;proto=gopher;by="' }],
  [
    'x-forwarded-proto and host junk',
    { 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'evil.example:99999' },
  ],
  ['origin null', { origin: 'null' }],
  ['origin evil', { origin: 'https://evil.example' }],
  ['origin garbage', { origin: '::::' }],
  ['accept xml only', { accept: 'application/xml' }],
  ['accept junk', { accept: '*/*;q=junk, text/html;level=' }],
  ['accept-encoding junk', { 'accept-encoding': 'br;q=junk, gzip;q=2, *;q=-1' }],
  ['if-none-match and if-modified-since junk', { 'if-none-match': '*', 'if-modified-since': 'yesterday' }],
  ['range junk', { range: 'bytes=junk-' }],
  ['many cookies', { cookie: Array.from({ length: 300 }, (_, i) => `c${i}=${i}`).join('; ') }],
  ['cookie without value', { cookie: 'sAccessToken; ; =; a==b' }],
  ['user-agent huge', { 'user-agent': 'u'.repeat(8000) }],
]

function casesFor(route: Route, tokens: Tokens, resolve: (s: Schema | undefined) => Schema): Case[] {
  const cases: Case[] = []
  const isSdk = route.source === 'sdk'
  const sdkHeaders: Record<string, string> = isSdk
    ? { ...(route.recipe ? { rid: route.recipe } : {}), 'st-auth-mode': 'header' }
    : {}
  // Our own session reaches the handlers behind the auth check; never sent to the SDK's routes,
  // where it could sign the fuzz out.
  const session: Record<string, string> =
    !isSdk && tokens.header ? { authorization: `Bearer ${tokens.header}` } : {}
  const defaults = { ...sdkHeaders, ...session }
  // Required query params get a documented value, so the other cases reach the handler.
  const queryParams = (route.operation?.parameters ?? []).filter((p) => p.in === 'query')
  const documentedQuery = queryParams
    .filter((p) => p.required)
    .map((p) => `${p.name}=${encodeURIComponent(String(sample(p.schema ?? {}, resolve)))}`)
    .join('&')
  const withQuery = (path: string, query: string) =>
    query ? `${path}${path.includes('?') ? '&' : '?'}${query}` : path
  const concrete = withQuery(
    fillPath(route.path, () => randomUUID()),
    documentedQuery,
  )
  const hasBody = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method)
  const bodySchema = route.operation?.requestBody?.content?.['application/json']?.schema
  const mediaExample = route.operation?.requestBody?.content?.['application/json']?.example
  const schema = bodySchema ? resolve(bodySchema) : undefined
  const validBody: Json | undefined = schema
    ? ((mediaExample as Json | undefined) ?? sample(schema, resolve))
    : hasBody
      ? {}
      : undefined
  const base = {
    route,
    method: route.method,
    target: concrete,
    headers: validBody !== undefined ? { ...defaults, ...JSON_TYPE } : defaults,
    ...(validBody !== undefined ? { body: JSON.stringify(validBody) } : {}),
  }
  const add = (name: string, changes: Partial<Case>) => cases.push({ ...base, name, ...changes })
  const json = (name: string, body: string, headers: Record<string, string> = {}) =>
    add(name, { body, headers: { ...defaults, ...JSON_TYPE, ...headers } })

  add('as documented', {})

  // Tokens, missing and bad; and the real session in cookie mode (writes go through anti-CSRF).
  for (const [name, headers] of TOKEN_VARIANTS) {
    add(`auth: ${name}`, { headers: { ...withoutAuth(base.headers), ...headers } })
  }
  if (!isSdk && tokens.cookie) {
    add('auth: real session as a cookie', {
      headers: { ...withoutAuth(base.headers), cookie: `sAccessToken=${tokens.cookie}` },
    })
    add('auth: real session as a cookie, anti-csrf junk', {
      headers: {
        ...withoutAuth(base.headers),
        cookie: `sAccessToken=${tokens.cookie}`,
        'anti-csrf': 'junk',
        rid: 'junk',
      },
    })
  }
  add('auth: empty Bearer token', {
    raw: {
      head: rawHead(route.method, concrete, withoutAuth(base.headers), ['authorization: Bearer ']),
      ...(base.body !== undefined ? { body: Buffer.from(base.body) } : {}),
    },
  })

  // Headers proxies, browsers and the edge set, gone wrong.
  for (const [name, headers] of ODD_HEADERS)
    add(`header: ${name}`, { headers: { ...base.headers, ...headers } })
  const bodyBytes = base.body !== undefined ? { body: Buffer.from(base.body) } : {}
  const rawWith = (extra: string[]) => ({
    head: rawHead(route.method, concrete, base.headers, extra),
    ...bodyBytes,
  })
  add('header: no host (raw)', {
    raw: {
      head: rawHead(route.method, concrete, base.headers).filter((l) => !l.startsWith('host:')),
      ...bodyBytes,
    },
  })
  add('header: two hosts (raw)', { raw: rawWith(['host: evil.example']) })
  add('header: obsolete line folding (raw)', { raw: rawWith(['x-folded: a', ' b']) })
  add('header: control characters in a value (raw)', { raw: rawWith(['x-junk: a\u0001b\u007fc']) })
  add('header: invalid name (raw)', { raw: rawWith(['bad header name: 1']) })
  add('header: HTTP/1.0 request (raw)', {
    raw: {
      head: [
        `${route.method} ${concrete} HTTP/1.0`,
        ...rawHead(route.method, concrete, base.headers).slice(1),
      ],
      ...bodyBytes,
    },
  })

  // Paths that are almost the route.
  const [pathOnly] = concrete.split('?') as [string]
  const pathVariants: Array<[string, string]> = [
    ['trailing slash', `${pathOnly}/`],
    ['upper-case path', pathOnly.toUpperCase()],
    ['mixed-case path', pathOnly.replace(/[a-z]/, (c) => c.toUpperCase())],
    ['double slash in front', `/${pathOnly}`],
    ['double slash inside', pathOnly.replace(/^(\/.+)\/([^/]*)$/, '$1//$2')],
    ['query ?x', `${pathOnly}?x`],
    ['query ?x=1&x=2', `${pathOnly}?x=1&x=2`],
    ['encoded last slash', pathOnly.replace(/^(\/.+)\/([^/]*)$/, '$1%2F$2')],
    ['trailing %20', `${pathOnly}%20`],
    ['trailing NUL', `${pathOnly}%00`],
    ['matrix param', `${pathOnly};jsessionid=1`],
    ['.json suffix', `${pathOnly}.json`],
    ['bad percent-encoding', `${pathOnly}%E0%A4%A`],
  ]
  for (const [name, target] of pathVariants) if (target !== pathOnly) add(`path: ${name}`, { target })
  add('path: dot segments (raw)', {
    raw: { head: rawHead(route.method, pathOnly.replace(/^\/([^/]+)/, '/$1/./x/..'), base.headers) },
  })
  add('path: absolute-form target (raw)', {
    raw: { head: rawHead(route.method, `http://127.0.0.1${pathOnly}`, base.headers) },
  })
  add('path: raw UTF-8 bytes (raw)', {
    raw: { head: rawHead(route.method, `${pathOnly}/ü`, base.headers) },
  })
  if (isSdk) {
    // The SDK also serves its routes under a tenant id: /auth/<tenantId>/...
    const tenanted = (tenant: string) => pathOnly.replace(/^(\/[^/]+)/, `$1/${tenant}`)
    add('path: tenant public', { target: tenanted('public') })
    add('path: unknown tenant', { target: tenanted('no-such-tenant') })
    add('path: tenant garbage', { target: tenanted('%00..%2f') })
  }

  // Methods the route does not have, and one in lower case.
  add('method: lower-case (raw)', {
    raw: { head: rawHead(route.method.toLowerCase(), concrete, base.headers) },
  })
  if (route.method === 'GET') {
    add('method: GET with a JSON body (raw)', {
      raw: { head: rawHead('GET', concrete, { ...base.headers, ...JSON_TYPE }), body: Buffer.from('{"a":') },
    })
  }

  // Path params.
  const names = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string)
  for (const name of names) {
    for (const [label, value] of PARAM_GARBAGE) {
      add(`param ${name}: ${label}`, {
        target: withQuery(
          fillPath(route.path, (n) => (n === name ? paramValue(value) : randomUUID())),
          documentedQuery,
        ),
      })
    }
  }

  // Query strings: generic, and per documented query param.
  for (const [label, query] of GENERIC_QUERIES) add(`query: ${label}`, { target: withQuery(concrete, query) })
  const queryNames = isSdk ? SDK_QUERY_NAMES : queryParams.map((p) => p.name)
  for (const name of queryNames) {
    const param = queryParams.find((p) => p.name === name)
    const values: Array<[string, string]> = [
      ['repeated', `${name}=1&${name}=2`],
      ['empty', `${name}=`],
      ['bare', name],
      ['huge', `${name}=${'x'.repeat(10_000)}`],
      ['brackets', `${name}[]=1&${name}[a]=2`],
      ['bad percent-encoding', `${name}=%E0%A4%A`],
      ['NUL', `${name}=%00`],
      ...(param?.schema
        ? wrongTypes(resolve(param.schema)).map(([label, value]): [string, string] => [
            label,
            `${name}=${encodeURIComponent(String(value))}`,
          ])
        : []),
    ]
    // This param replaced, the other required ones as documented.
    const others = queryParams.filter((p) => p.required && p.name !== name)
    const rest = others
      .map((p) => `${p.name}=${encodeURIComponent(String(sample(p.schema ?? {}, resolve)))}`)
      .join('&')
    const path = fillPath(route.path, () => randomUUID())
    for (const [label, query] of values) {
      add(`query ${name}: ${label}`, { target: withQuery(withQuery(path, rest), query) })
    }
  }

  // Header params.
  for (const param of (route.operation?.parameters ?? []).filter((p) => p.in === 'header')) {
    add(`header ${param.name}: huge`, { headers: { ...base.headers, [param.name]: 'x'.repeat(8000) } })
    add(`header ${param.name}: junk`, { headers: { ...base.headers, [param.name]: '\t;,=junk' } })
    for (const [label, value] of wrongTypes(resolve(param.schema))) {
      add(`header ${param.name}: ${label}`, { headers: { ...base.headers, [param.name]: String(value) } })
    }
  }

  if (!hasBody) return cases

  // Bodies from the route's schema.
  if (schema && validBody !== undefined) {
    for (const { path, schema: property, required } of propertyPaths(schema, resolve)) {
      const field = path.join('.')
      for (const [label, value] of wrongTypes(property)) {
        json(`body ${field}: ${label}`, withRaw(validBody, path, JSON.stringify(value)))
      }
      json(`body ${field}: null`, withRaw(validBody, path, 'null'))
      json(`body ${field}: array`, withRaw(validBody, path, '[1,"a",null]'))
      json(`body ${field}: object`, withRaw(validBody, path, '{"a":1}'))
      json(`body ${field}: 100k string`, withRaw(validBody, path, JSON.stringify(HUGE)))
      json(`body ${field}: 1000-level nesting`, withRaw(validBody, path, deepObject(1000)))
      json(`body ${field}: __proto__`, withRaw(validBody, path, '{"__proto__":{"polluted":true}}'))
      if (required) json(`body ${field}: missing`, JSON.stringify(without(validBody, path)))
    }
    json('body: extra field', withRaw(validBody, ['fuzzExtraField'], '1'))
    // Written as text: an object literal's __proto__ key would set its prototype, not a field.
    const documented = JSON.stringify(validBody)
    if (documented.startsWith('{') && documented !== '{}') {
      json('body: __proto__ beside the fields', `{"__proto__":{"polluted":true},${documented.slice(1)}`)
      json(
        'body: constructor.prototype beside the fields',
        `{"constructor":{"prototype":{"polluted":true}},${documented.slice(1)}`,
      )
      json('body: a field twice', `${documented.slice(0, -1)},${documented.slice(1)}`)
    }
    json('body: array of the documented body', JSON.stringify([validBody]))
    json(
      'body: documented body nested 1000 deep',
      `${'['.repeat(1000)}${JSON.stringify(validBody)}${']'.repeat(1000)}`,
    )
  }

  // Bodies whatever the schema.
  for (const { name, body, headers } of genericBodies()) {
    add(name, { body, headers: { ...withoutContentType(base.headers), ...headers } })
  }
  if (isSdk) {
    for (const [name, body] of SDK_BODIES) json(`sdk body: ${name}`, JSON.stringify(body))
    for (const rid of ['', 'session', 'passwordless', 'junk']) {
      if (rid === route.recipe) continue
      const headers: Record<string, string> = { ...withoutContentType(base.headers), ...JSON_TYPE }
      if (rid) headers.rid = rid
      else delete headers.rid
      add(`sdk: rid ${rid || 'missing'}`, { body: JSON.stringify({ email: 'fuzz@example.com' }), headers })
    }
    add('sdk: st-auth-mode cookie', {
      body: JSON.stringify({ email: 'fuzz@example.com' }),
      headers: { ...base.headers, ...JSON_TYPE, 'st-auth-mode': 'cookie' },
    })
  }

  // Bodies only a raw socket sends.
  const rawBody = Buffer.from('{"a":1,"b":"two"}')
  const headers = { ...withoutContentType(base.headers), ...JSON_TYPE }
  add('raw: content-length shorter than the body', {
    raw: { head: rawHead(route.method, concrete, headers, [`content-length: 5`]), body: rawBody },
  })
  add('raw: content-length longer than the body, then the client stops sending', {
    raw: {
      head: rawHead(route.method, concrete, headers, [`content-length: ${rawBody.length + 100}`]),
      body: rawBody,
      halfClose: true,
    },
    noAnswerOk: true,
  })
  add('raw: content-length not a number', {
    raw: { head: rawHead(route.method, concrete, headers, ['content-length: abc']), body: rawBody },
  })
  add('raw: two different content-lengths', {
    raw: {
      head: rawHead(route.method, concrete, headers, [
        'content-length: 3',
        `content-length: ${rawBody.length}`,
      ]),
      body: rawBody,
    },
  })
  add('raw: content-length and chunked', {
    raw: {
      head: rawHead(route.method, concrete, headers, [
        `content-length: ${rawBody.length}`,
        'transfer-encoding: chunked',
      ]),
      body: rawBody,
    },
  })
  add('raw: bad chunk size', {
    raw: {
      head: rawHead(route.method, concrete, headers, ['transfer-encoding: chunked']),
      body: Buffer.from('zz\r\n{"a":1}\r\n0\r\n\r\n'),
    },
  })
  add('raw: chunked, client stops mid-chunk', {
    raw: {
      head: rawHead(route.method, concrete, headers, ['transfer-encoding: chunked']),
      body: Buffer.from('100\r\n{"a":'),
      halfClose: true,
    },
    noAnswerOk: true,
  })
  add('raw: body over the size limit', {
    raw: {
      head: rawHead(route.method, concrete, headers, [`content-length: ${2 * 1024 * 1024 + 2}`]),
      body: Buffer.from(`"${'x'.repeat(2 * 1024 * 1024)}"`),
    },
  })
  add('raw: gzip content-encoding, not gzip', {
    raw: {
      head: rawHead(route.method, concrete, headers, [
        'content-encoding: gzip',
        `content-length: ${rawBody.length}`,
      ]),
      body: rawBody,
    },
  })
  add('raw: expect 100-continue', {
    raw: {
      head: rawHead(route.method, concrete, headers, [
        'expect: 100-continue',
        `content-length: ${rawBody.length}`,
      ]),
      body: rawBody,
    },
  })
  return cases
}

function withoutAuth(headers: Record<string, string>): Record<string, string> {
  const { authorization: _authorization, ...rest } = headers
  return rest
}

function withoutContentType(headers: Record<string, string>): Record<string, string> {
  const { 'content-type': _contentType, ...rest } = headers
  return rest
}

/** A request head for the raw socket: the request line, host, the given headers, then `extra` lines. */
function rawHead(
  method: string,
  target: string,
  headers: Record<string, string>,
  extra: string[] = [],
): string[] {
  return [
    `${method} ${target} HTTP/1.1`,
    'host: 127.0.0.1',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ...extra,
  ]
}

// ---------------------------------------------------------------------------------------------
// Signing in, so the fuzz reaches handlers behind the session check

async function signIn(
  base: string,
  mode: 'header' | 'cookie',
): Promise<{ token?: string; problem?: string }> {
  const email = `fuzz-${mode}-${randomUUID()}@example.com`
  const headers = { ...JSON_TYPE, rid: 'passwordless', 'st-auth-mode': mode }
  const signal = () => AbortSignal.timeout(TIMEOUT_MS)
  try {
    const asked = await fetch(`${base}/auth/signinup/code`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ email }),
      signal: signal(),
    })
    if (asked.status !== 200) return { problem: `link request: ${asked.status} ${await asked.text()}` }
    const mailbox = (await (
      await fetch(`${base}/dev/mailbox?to=${encodeURIComponent(email)}`, { signal: signal() })
    ).json()) as { messages?: Array<{ text: string }> }
    const found = mailbox.messages?.[0]?.text.match(/https?:\/\/\S+\/auth\/verify\?\S+/)
    if (!found) return { problem: 'no magic link in the dev mailbox' }
    const link = new URL(found[0])
    const consumed = await fetch(`${base}/auth/signinup/code/consume`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        preAuthSessionId: link.searchParams.get('preAuthSessionId'),
        linkCode: link.hash.slice(1),
      }),
      signal: signal(),
    })
    await consumed.text()
    const token =
      mode === 'header'
        ? consumed.headers.get('st-access-token')
        : consumed.headers
            .getSetCookie()
            .find((cookie) => cookie.startsWith('sAccessToken='))
            ?.split(';')[0]
            ?.slice('sAccessToken='.length)
    return token ? { token } : { problem: `consume: ${consumed.status}, no ${mode} token` }
  } catch (error) {
    return { problem: describeError(error) }
  }
}

// ---------------------------------------------------------------------------------------------

t.test('fuzz: no route answers malformed input with a 5xx, a dropped connection or a hang', async (t) => {
  const started = performance.now()
  const logs = captureLogs()
  const app = await buildTestApp(
    t,
    {
      LOG_LEVEL: 'warn',
      // Limits would answer 429 before the fuzz reaches the handlers.
      RATE_LIMIT_MAX: '1000000000',
      AUTH_LINK_LIMIT_PER_EMAIL: '1000000',
      AUTH_LINK_LIMIT_PER_IP: '1000000',
    },
    { logStream: logs.stream },
  )

  // A fixture with every kind of input, so the schema-driven cases run even while no production
  // route takes a body: it exercises the layers every route shares (parsing, validation, the
  // error handler, the session check). It appears in /docs/json like any route.
  app.patch(
    '/v1/test/fuzz-fixture/:teamId/items/:itemId',
    {
      preHandler: app.authenticate,
      schema: {
        summary: 'fuzz fixture',
        params: Type.Object({
          teamId: Type.String({ format: 'uuid' }),
          itemId: Type.String({ format: 'uuid' }),
        }),
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
            cursor: Type.Optional(Type.String()),
          },
          { additionalProperties: false },
        ),
        body: Type.Object(
          {
            email: Type.String({ format: 'email', maxLength: 320 }),
            name: Type.String({ minLength: 1, maxLength: 100 }),
            count: Type.Integer({ minimum: 0 }),
            enabled: Type.Optional(Type.Boolean()),
            kind: Type.Union([Type.Literal('popup'), Type.Literal('bar')]),
            tags: Type.Array(Type.String({ maxLength: 20 }), { maxItems: 5 }),
            targeting: Type.Object(
              {
                country: Type.Optional(Type.String({ minLength: 2, maxLength: 2 })),
                delayMs: Type.Integer(),
              },
              { additionalProperties: false },
            ),
          },
          {
            additionalProperties: false,
            examples: [
              {
                email: 'ann@example.com',
                name: 'Spring sale',
                count: 1,
                enabled: true,
                kind: 'popup',
                tags: ['a'],
                targeting: { country: 'NL', delayMs: 0 },
              },
            ],
          },
        ),
        response: { 200: Type.Object({ ok: Type.Boolean() }) },
      },
    },
    async () => ({ ok: true }),
  )

  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as net.AddressInfo
  const base = `http://127.0.0.1:${port}`

  const docResponse = await fetch(`${base}/docs/json`, { signal: AbortSignal.timeout(TIMEOUT_MS) })
  t.equal(docResponse.status, 200, 'the OpenAPI document is served')
  const doc = (await docResponse.json()) as OpenApi
  const resolve = resolver(doc)
  const routes = [...openApiRoutes(doc), ...(await sdkRoutes())]
  // The dev mailbox is hidden from the docs; it is served in tests and development.
  for (const method of ['GET', 'HEAD']) {
    if (app.hasRoute({ method, url: '/dev/mailbox' })) {
      routes.push({
        method,
        path: '/dev/mailbox',
        source: 'hidden',
        operation: { parameters: [{ name: 'to', in: 'query', schema: { type: 'string' } }] },
      })
    }
  }
  t.ok(
    routes.some((r) => r.path === '/v1/test/fuzz-fixture/{teamId}/items/{itemId}'),
    'routes come from the OpenAPI document',
  )
  t.ok(
    routes.some((r) => r.source === 'sdk' && r.method === 'POST'),
    "routes come from the SuperTokens SDK's table",
  )

  const failures: string[] = []
  const header = await signIn(base, 'header')
  const cookie = await signIn(base, 'cookie')
  for (const [mode, result] of [
    ['header', header],
    ['cookie', cookie],
  ] as const) {
    if (result.problem) failures.push(`sign-in (${mode} mode) for the fuzz failed: ${result.problem}`)
  }
  const tokens: Tokens = { header: header.token, cookie: cookie.token }

  const cases = routes.flatMap((route) => casesFor(route, tokens, resolve))
  const outcomes: Outcome[] = new Array(cases.length)
  const send = async (c: Case, index: number) => {
    const requestId = `fuzz-${index}`
    outcomes[index] = c.raw ? await sendRaw(port, c, requestId) : await sendFetch(base, c, requestId)
  }
  // DELETEs go last: one of them may end the fuzz's own session (DELETE /v1/me as documented),
  // which would leave every later case signed out and reaching fewer handlers.
  const indexed = cases.map((c, index) => [c, index] as const)
  await pool(
    indexed.filter(([c]) => c.method !== 'DELETE'),
    CONCURRENCY,
    async ([c, index]) => send(c, index),
  )
  await pool(
    indexed.filter(([c]) => c.method === 'DELETE'),
    CONCURRENCY,
    async ([c, index]) => send(c, index),
  )

  // Error-level lines (pino 50+), by the fuzz request they belong to (its x-request-id).
  const errorLogs = new Map<number, string[]>()
  const logProblems: string[] = []
  for (const line of logs.lines) {
    if (typeof line.level !== 'number' || line.level < 50) continue
    const err = line.err as { type?: string; message?: string; code?: string } | undefined
    const what = `level ${line.level} "${String(line.msg ?? '')}"${err ? ` (${err.type ?? 'error'}${err.code ? ` ${err.code}` : ''}: ${String(err.message ?? '').slice(0, EXCERPT)})` : ''}`
    const match = typeof line.reqId === 'string' ? /^fuzz-(\d+)$/.exec(line.reqId) : null
    if (!match)
      logProblems.push(`error logged outside any fuzz request (reqId ${String(line.reqId)}): ${what}`)
    else errorLogs.set(Number(match[1]), [...(errorLogs.get(Number(match[1])) ?? []), what])
  }

  const describe = (c: Case) =>
    `${c.method} ${c.route.path} [${c.name}] → ${c.method} ${c.target.slice(0, 120)}`
  const excerpt = (body: string) => `«${body.slice(0, EXCERPT).replace(/\s+/g, ' ')}»`
  cases.forEach((c, index) => {
    const outcome = outcomes[index] as Outcome
    const logged = errorLogs.get(index)
    const cause = logged ? ` — logged: ${logged.join('; ')}` : ''
    if (outcome.error) failures.push(`${describe(c)}: ${outcome.error} ${excerpt(outcome.body)}${cause}`)
    else if (outcome.status !== undefined && outcome.status >= 500) {
      failures.push(`${describe(c)}: ${outcome.status} ${excerpt(outcome.body)}${cause}`)
    } else if (logged && outcome.status !== undefined && outcome.status < 500) {
      logProblems.push(
        `${describe(c)}: the client got ${outcome.status}, yet the app logged ${logged.join('; ')}`,
      )
    }
  })

  const byClass = new Map<string, number>()
  for (const outcome of outcomes) {
    const key = outcome.status ? `${String(outcome.status)[0]}xx` : 'no answer'
    byClass.set(key, (byClass.get(key) ?? 0) + 1)
  }
  t.comment(`answers: ${[...byClass].map(([key, count]) => `${key} ${count}`).join(', ')}`)
  if (tokens.header) {
    const reached = cases.filter(
      (c, index) =>
        c.name === 'as documented' &&
        c.route.source === 'openapi' &&
        (outcomes[index] as Outcome).status !== undefined &&
        ((outcomes[index] as Outcome).status as number) < 300,
    )
    t.ok(
      reached.length > 0,
      `with the session, documented requests reach their handlers (${reached.length} 2xx)`,
    )
  }

  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  const sdkCount = routes.filter((r) => r.source === 'sdk').length
  t.comment(
    `${routes.length} routes (${routes.length - sdkCount} from /docs/json and hidden, ${sdkCount} from the SDK), ${cases.length} requests, ${seconds} s`,
  )
  // One assertion each, listing every failing request, so one run shows everything.
  t.ok(
    failures.length === 0,
    failures.length === 0
      ? `all ${cases.length} requests answered below 500`
      : `${failures.length} of ${cases.length} requests got a 5xx, a dropped connection or no answer`,
    failures.length === 0 ? {} : { failures },
  )
  t.ok(
    logProblems.length === 0,
    logProblems.length === 0
      ? 'no error-level log line for a 4xx answer'
      : `${logProblems.length} error-level log lines for 4xx answers (or for no request)`,
    logProblems.length === 0 ? {} : { logProblems },
  )
})
