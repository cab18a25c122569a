// How the core reads the tokens it is handed, and what it says about bad ones: the
// session status's `message` (or, for some failures, a 500) carries a Java exception's
// text, so this follows AccessToken.getInfoFromAccessToken, JWT.preParseJWTInfo and
// RefreshToken.getInfoFromRefreshToken step by step.
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID, verify } from 'node:crypto'
import { decodeJavaBase64, IllegalBase64 } from './base64.ts'
import { JavaException } from './errors.ts'
import { isJsonObject, type Json, type JsonObject } from './input.ts'
import type { SigningKeys } from './jwks.ts'
import { PUBLIC_TENANT } from './store.ts'

const JWT_EXCEPTION = 'io.supertokens.session.jwt.JWT$JWTException'
const REFRESH_FORMAT_EXCEPTION =
  'io.supertokens.session.refreshToken.RefreshToken$InvalidRefreshTokenFormatException'

/** TryRefreshTokenException: /verify answers TRY_REFRESH_TOKEN, /regenerate UNAUTHORISED. */
export class TryRefreshToken extends Error {}

/** UnauthorisedException from reading a refresh token. */
export class UnauthorisedToken extends Error {}

/** JWT.JWTException: /verify wraps it in TryRefreshToken, /regenerate answers a 500. */
export class JwtException extends Error {
  /** The text of an exception that wraps this one (Throwable(cause) uses cause.toString()). */
  get wrapped(): string {
    return `${JWT_EXCEPTION}: ${this.message}`
  }
}

/** String.split with a one-character literal: trailing empty strings are dropped. */
function javaSplit(text: string, separator: string): string[] {
  const parts = text.split(separator)
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop()
  return parts
}

// Required (and protected) claims per access token version (AccessTokenInfo).
const REQUIRED_CLAIMS: Record<string, string[]> = {
  '2': ['userId', 'expiryTime', 'timeCreated', 'sessionHandle', 'refreshTokenHash1'],
  '3': [
    'sub',
    'exp',
    'iat',
    'sessionHandle',
    'refreshTokenHash1',
    'parentRefreshTokenHash1',
    'antiCsrfToken',
  ],
  '4': [
    'sub',
    'exp',
    'iat',
    'sessionHandle',
    'refreshTokenHash1',
    'parentRefreshTokenHash1',
    'antiCsrfToken',
    'tId',
  ],
  '5': [
    'sub',
    'exp',
    'iat',
    'sessionHandle',
    'refreshTokenHash1',
    'parentRefreshTokenHash1',
    'antiCsrfToken',
    'tId',
    'rsub',
  ],
}
REQUIRED_CLAIMS['1'] = REQUIRED_CLAIMS['2'] as string[]

export const PROTECTED_CLAIMS = REQUIRED_CLAIMS['5'] as string[]

export interface AccessTokenInfo {
  sessionHandle: string
  userId: string
  recipeUserId: string
  refreshTokenHash1: string
  parentRefreshTokenHash1?: string
  antiCsrfToken?: string
  /** tId, trimmed and lower-cased as TenantIdentifier does. */
  tenantId: string
  expiryTime: number
  userData: Record<string, unknown>
}

// Utils.convertFromBase64: either alphabet, then UTF-8. A bad character is an
// IllegalArgumentException the callers do not catch.
function fromBase64(segment: string): string {
  try {
    return decodeJavaBase64(segment.replaceAll('-', '+').replaceAll('_', '/'), false).toString('utf8')
  } catch (error) {
    if (error instanceof IllegalBase64)
      throw new JavaException('java.lang.IllegalArgumentException', error.message)
    throw error
  }
}

// The constant headers of v1 and v2 tokens, as the core builds them.
const LEGACY_HEADERS = ['1', '2'].map((version) =>
  Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', version })).toString('base64'),
)

interface PreParsed {
  header: string
  payload: string
  signature: string
  version: string
  kid?: string
}

/** JWT.preParseJWTInfo. */
function preParse(token: string): PreParsed {
  const parts = javaSplit(token, '.')
  if (parts.length !== 3) throw new JwtException('Invalid JWT')
  const [header, payload, signature] = parts as [string, string, string]
  const legacy = LEGACY_HEADERS.indexOf(header)
  if (legacy >= 0) return { header, payload, signature, version: String(legacy + 1) }

  let parsed: JsonObject
  try {
    const value: unknown = JSON.parse(fromBase64(header))
    if (!isJsonObject(value)) throw new Error('not an object')
    parsed = value
  } catch {
    throw new JwtException('Invalid JWT')
  }
  const primitive = (value: Json | undefined) =>
    value !== undefined && value !== null && typeof value !== 'object'
  const typ = parsed.typ
  if (!primitive(typ)) throw new JwtException('JWT header missing - typ')
  if (typ !== 'JWT') throw new JwtException('JWT header mismatch - typ')
  const alg = parsed.alg
  if (!primitive(alg)) throw new JwtException('JWT header missing - alg')
  if (alg !== 'RS256') throw new JwtException('JWT header mismatch - alg')
  let version = '5'
  if (Object.hasOwn(parsed, 'version')) {
    const value = parsed.version
    if (typeof value !== 'string' || value === '1' || value === '2') {
      throw new JwtException('JWT header mismatch - version')
    }
    version = value
  }
  const kid = parsed.kid
  if (!primitive(kid)) throw new JwtException('JWT header missing - kid')
  if (typeof kid !== 'string') throw new JwtException('JWT header mismatch - kid')
  // AccessToken.VERSION.valueOf("V" + version)
  if (!['3', '4', '5'].includes(version)) throw new JwtException('JWT header mismatch - version')
  return { header, payload, signature, version, kid }
}

// Gson's getAsString and getAsLong on a claim, with their exceptions.
function claimString(value: Json | undefined): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (Array.isArray(value)) {
    if (value.length === 1) return claimString(value[0])
    throw new JavaException(
      'java.lang.IllegalStateException',
      `Array must have size 1, but has size ${value.length}`,
    )
  }
  throw new JavaException(
    'java.lang.UnsupportedOperationException',
    value === null ? 'JsonNull' : 'JsonObject',
  )
}

function claimLong(value: Json | undefined): number {
  if (typeof value === 'number') return Math.trunc(value)
  const text = claimString(value)
  if (!/^[+-]?\d+$/.test(text))
    throw new JavaException('java.lang.NumberFormatException', `For input string: "${text}"`)
  return Number(text)
}

function optionalClaim(value: Json | undefined): string | undefined {
  return value === undefined || value === null ? undefined : claimString(value)
}

/**
 * AccessToken.getInfoFromAccessToken (verify) or getInfoFromAccessTokenWithoutVerifying
 * (regenerate, which trusts the SDK to have verified it). Throws JwtException for a
 * malformed token, TryRefreshToken for one the core will not accept, and JavaException
 * for input the core fails on with a 500.
 */
export function readAccessToken(
  keys: SigningKeys,
  token: string,
  options: { verify: boolean; antiCsrfCheck?: boolean },
): AccessTokenInfo {
  const jwt = preParse(token)
  if (options.verify) {
    const legacy = jwt.kid === undefined
    const key = legacy ? undefined : keys.publicKeyFor(jwt.kid as string)
    if (!legacy && key === undefined) throw new TryRefreshToken('Key not found')
    let signature: Buffer
    try {
      signature = decodeJavaBase64(jwt.signature, !legacy)
    } catch (error) {
      if (error instanceof IllegalBase64)
        throw new JavaException('java.lang.IllegalArgumentException', error.message)
      throw error
    }
    // No v1/v2 key exists here, so a legacy token never verifies.
    if (key === undefined || !verify('sha256', Buffer.from(`${jwt.header}.${jwt.payload}`), key, signature)) {
      throw new TryRefreshToken(new JwtException('JWT verification failed').wrapped)
    }
  }

  const text = fromBase64(jwt.payload)
  let payload: unknown
  try {
    payload = JSON.parse(text)
  } catch {
    throw new JavaException('com.google.gson.JsonSyntaxException')
  }
  if (!isJsonObject(payload)) {
    throw new JavaException(
      'java.lang.IllegalStateException',
      `Not a JSON Object: ${JSON.stringify(payload)}`,
    )
  }

  // AccessTokenInfo.fromJSON
  const required = REQUIRED_CLAIMS[jwt.version] as string[]
  for (const claim of required) {
    if (!Object.hasOwn(payload, claim)) {
      throw new TryRefreshToken(
        `Access token does not contain all the information. Maybe the structure has changed? ${claim}`,
      )
    }
  }
  const legacyPayload = jwt.version === '1' || jwt.version === '2'
  const userData: Record<string, unknown> = {}
  if (legacyPayload) {
    if (isJsonObject(payload.userData)) Object.assign(userData, payload.userData)
  } else {
    for (const [name, value] of Object.entries(payload)) {
      if (!required.includes(name)) userData[name] = value
    }
  }
  const userId = claimString(legacyPayload ? payload.userId : payload.sub)
  const expiry = legacyPayload ? claimLong(payload.expiryTime) : claimLong(payload.exp) * 1000
  const parentRefreshTokenHash1 = optionalClaim(payload.parentRefreshTokenHash1)
  const antiCsrfToken = optionalClaim(payload.antiCsrfToken)
  const info: AccessTokenInfo = {
    sessionHandle: claimString(payload.sessionHandle),
    userId,
    recipeUserId: jwt.version === '5' ? claimString(payload.rsub) : userId,
    refreshTokenHash1: claimString(payload.refreshTokenHash1),
    ...(parentRefreshTokenHash1 === undefined ? {} : { parentRefreshTokenHash1 }),
    ...(antiCsrfToken === undefined ? {} : { antiCsrfToken }),
    tenantId:
      jwt.version === '4' || jwt.version === '5'
        ? claimString(payload.tId).trim().toLowerCase() || PUBLIC_TENANT
        : PUBLIC_TENANT,
    // v3+ times are whole seconds; the core rounds down before comparing.
    expiryTime: legacyPayload ? expiry : expiry - (expiry % 1000),
    userData,
  }

  if (options.verify) {
    if (info.expiryTime < Date.now()) throw new TryRefreshToken('Access token expired')
    if (options.antiCsrfCheck === true && info.antiCsrfToken === undefined) {
      throw new TryRefreshToken(
        'Access token does not contain all the information. Maybe the structure has changed?',
      )
    }
  }
  return info
}

interface RefreshTokenPayload {
  sessionHandle: string
  /** The recipe user id. */
  userId: string
  parentRefreshTokenHash1?: string
  nonce: string
  antiCsrfToken?: string
  tenantId: string
}

const AES = 'aes-256-gcm'

/**
 * Like the core, the refresh token carries its session: <AES-GCM(payload) in base64>.
 * <nonce>.V2, with the nonce repeated inside. Nothing else needs remembering, and a
 * token for a session that is gone still decrypts (so the core's "Session missing in
 * db" answer, not a decryption failure, is what a stale token gets).
 */
export function createRefreshToken(key: Buffer, payload: Omit<RefreshTokenPayload, 'nonce'>): string {
  const nonce = createHash('sha256').update(randomUUID()).digest('hex')
  const iv = randomBytes(12)
  const cipher = createCipheriv(AES, key, iv)
  const encrypted = Buffer.concat([
    cipher.update(JSON.stringify({ ...payload, nonce })),
    cipher.final(),
    cipher.getAuthTag(),
  ])
  return `${Buffer.concat([iv, encrypted]).toString('base64')}.${nonce}.V2`
}

/** RefreshToken.getInfoFromRefreshToken; every failure is an UnauthorisedToken. */
export function readRefreshToken(key: Buffer, token: string): RefreshTokenPayload {
  const parts = javaSplit(token, '.')
  if (parts.length === 0) {
    throw new UnauthorisedToken(
      `${REFRESH_FORMAT_EXCEPTION}: java.lang.ArrayIndexOutOfBoundsException: Index -1 out of bounds for length 0`,
    )
  }
  if (!['v0', 'v1', 'v2'].includes((parts[parts.length - 1] as string).toLowerCase())) {
    throw new UnauthorisedToken(`${REFRESH_FORMAT_EXCEPTION}: version of refresh token not recognised`)
  }
  if (parts.length !== 3) {
    throw new UnauthorisedToken(
      `${REFRESH_FORMAT_EXCEPTION}: Refresh token split with dot yielded an array of length: ${parts.length}`,
    )
  }
  const [encrypted, nonce] = parts as [string, string, string]

  // Utils.decrypt: 12 bytes of IV, then AES-GCM ciphertext with a 16-byte tag.
  let bytes: Buffer
  try {
    bytes = decodeJavaBase64(encrypted, false)
  } catch (error) {
    if (error instanceof IllegalBase64) {
      throw new UnauthorisedToken(`java.lang.IllegalArgumentException: ${error.message}`)
    }
    throw error
  }
  if (bytes.length < 12) throw new UnauthorisedToken('java.nio.BufferUnderflowException')
  const sealed = bytes.subarray(12)
  if (sealed.length < 16) {
    throw new UnauthorisedToken(
      'javax.crypto.AEADBadTagException: Input data too short to contain an expected tag length of 16bytes',
    )
  }
  let plain: string
  try {
    const decipher = createDecipheriv(AES, key, bytes.subarray(0, 12))
    decipher.setAuthTag(sealed.subarray(sealed.length - 16))
    plain = Buffer.concat([
      decipher.update(sealed.subarray(0, sealed.length - 16)),
      decipher.final(),
    ]).toString('utf8')
  } catch {
    throw new UnauthorisedToken('javax.crypto.AEADBadTagException: Tag mismatch')
  }
  const payload = JSON.parse(plain) as RefreshTokenPayload
  if (payload.nonce !== nonce) throw new UnauthorisedToken('Invalid refresh token')
  return payload
}

/** Session.getTenantIdFromSessionHandle: "<uuid>_<tenantId>" outside the public tenant. */
export function tenantOfSessionHandle(handle: string): string {
  const parts = javaSplit(handle, '_')
  if (parts.length === 1) return PUBLIC_TENANT
  if (parts.length < 2) {
    throw new JavaException(
      'java.lang.ArrayIndexOutOfBoundsException',
      `Index 1 out of bounds for length ${parts.length}`,
    )
  }
  return (parts[1] as string).trim().toLowerCase() || PUBLIC_TENANT
}
