import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { errors } from './errors.ts'

export interface SigningConfig {
  accessKeyId: string
  secretAccessKey: string
  region: string
  service: string
}

export interface SignedRequest {
  method: string
  /** Path and query, as received. */
  url: string
  headers: IncomingHttpHeaders
  body: Buffer
}

/** How far the request's `X-Amz-Date` may be from our clock, as AWS allows. */
const MAX_SKEW_MS = 5 * 60 * 1000

/**
 * Checks a request signed with Signature Version 4 in the `Authorization` header, the way the
 * service side does it: the same canonical request rebuilt from what arrived, signed with the
 * secret key we know, compared with the signature sent. Throws the error AWS answers with.
 */
export function verifySignature(request: SignedRequest, config: SigningConfig, now = Date.now()): void {
  const authorization = header(request.headers, 'authorization')
  if (authorization === undefined) throw errors.missingAuthentication()

  const match = /^AWS4-HMAC-SHA256\s+(.*)$/s.exec(authorization)
  const fields = new Map<string, string>()
  for (const part of (match?.[1] ?? '').split(',')) {
    const eq = part.indexOf('=')
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim())
  }
  const credential = fields.get('Credential')
  const signedHeadersField = fields.get('SignedHeaders')
  const signature = fields.get('Signature')
  if (!match || credential === undefined || signedHeadersField === undefined || signature === undefined) {
    const missing = ['Credential', 'Signature', 'SignedHeaders']
      .filter((name) => !fields.has(name))
      .map((name) => `Authorization header requires '${name}' parameter.`)
    throw errors.incompleteSignature(
      `${missing.length > 0 ? missing.join(' ') : 'Authorization header is not AWS4-HMAC-SHA256.'} Authorization=${authorization}`,
    )
  }

  const scope = credential.split('/')
  const [accessKeyId, scopeDate, region, service, terminator] = scope
  if (scope.length !== 5 || terminator !== 'aws4_request')
    throw errors.incompleteSignature(
      `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator ?? ''}'.`,
    )
  if (accessKeyId !== config.accessKeyId) throw errors.unrecognizedClient()

  const amzDate = header(request.headers, 'x-amz-date')
  if (amzDate === undefined)
    throw errors.incompleteSignature(
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    )
  const signedAt = parseAmzDate(amzDate)
  if (signedAt === undefined)
    throw errors.incompleteSignature(`Date must be in ISO-8601 'basic format'. Got '${amzDate}'.`)
  if (scopeDate !== amzDate.slice(0, 8))
    throw errors.invalidSignature(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    )
  if (region !== config.region)
    throw errors.invalidSignature(`Credential should be scoped to a valid region, not '${region}'. `)
  if (service !== config.service)
    throw errors.invalidSignature(`Credential should be scoped to correct service: '${config.service}'. `)
  if (signedAt < now - MAX_SKEW_MS)
    throw errors.invalidSignature(
      `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - MAX_SKEW_MS)} (${formatAmzDate(now)} - 5 min.)`,
    )
  if (signedAt > now + MAX_SKEW_MS)
    throw errors.invalidSignature(
      `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + MAX_SKEW_MS)} (${formatAmzDate(now)} + 5 min.)`,
    )

  const signedHeaders = signedHeadersField.split(';')
  if (!signedHeaders.includes('host'))
    throw errors.invalidSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
  const canonicalRequest = buildCanonicalRequest(request, signedHeaders)
  const credentialScope = `${scopeDate}/${region}/${service}/aws4_request`
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, credentialScope, sha256Hex(canonicalRequest)].join('\n')
  const expected = signString(stringToSign, config.secretAccessKey, scopeDate, region, service)
  const given = Buffer.from(signature, 'utf8')
  const wanted = Buffer.from(expected, 'utf8')
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted))
    throw errors.signatureMismatch(canonicalRequest, stringToSign)
}

function buildCanonicalRequest(request: SignedRequest, signedHeaders: string[]): string {
  const queryStart = request.url.indexOf('?')
  const path = queryStart === -1 ? request.url : request.url.slice(0, queryStart)
  const query = queryStart === -1 ? '' : request.url.slice(queryStart + 1)
  const headerLines = signedHeaders.map((name) => {
    const value = header(request.headers, name) ?? ''
    return `${name}:${value.trim().replace(/\s+/g, ' ')}\n`
  })
  return [
    request.method.toUpperCase(),
    canonicalPath(path),
    canonicalQuery(query),
    headerLines.join(''),
    signedHeaders.join(';'),
    sha256Hex(request.body),
  ].join('\n')
}

/** Every service but S3 encodes each path segment once more, on top of the URL's own encoding. */
function canonicalPath(path: string): string {
  if (path === '' || path === '/') return '/'
  return path.split('/').map(rfc3986).join('/')
}

function canonicalQuery(query: string): string {
  if (query === '') return ''
  return query
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=')
      const key = eq === -1 ? pair : pair.slice(0, eq)
      const value = eq === -1 ? '' : pair.slice(eq + 1)
      return [rfc3986(safeDecode(key.replace(/\+/g, ' '))), rfc3986(safeDecode(value.replace(/\+/g, ' ')))]
    })
    .sort(([a = '', av = ''], [b = '', bv = '']) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&')
}

function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

export function signString(
  stringToSign: string,
  secretAccessKey: string,
  date: string,
  region: string,
  service: string,
): string {
  const kDate = hmac(`AWS4${secretAccessKey}`, date)
  const kRegion = hmac(kDate, region)
  const kService = hmac(kRegion, service)
  const kSigning = hmac(kService, 'aws4_request')
  return createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex')
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest()
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  if (value === undefined) return undefined
  return Array.isArray(value) ? value.join(',') : value
}

function parseAmzDate(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value)
  if (!m) return undefined
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number]
  return Date.UTC(y, mo - 1, d, h, mi, s)
}

function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
}
