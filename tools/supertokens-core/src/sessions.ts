import { randomBytes, randomUUID } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import type { FastifyInstance } from 'fastify'
import { BadRequest, parseBoolean, requireString, route } from './routes.ts'
import type { Reply } from './schema.ts'
import { type CoreStore, type SessionRecord, sha256Hex } from './store.ts'

type CookieInfo = { token: string; expiry: number; createdTime: number }
type SessionJson = NonNullable<Extract<Reply<'/recipe/session/verify', 'post'>, { status: 'OK' }>['session']>

const ACCESS_TOKEN_VERSION = '5'

// Claims the core owns in a v5 access token; everything else is the app's payload.
const PROTECTED_CLAIMS = [
  'sub',
  'exp',
  'iat',
  'sessionHandle',
  'refreshTokenHash1',
  'parentRefreshTokenHash1',
  'antiCsrfToken',
  'tId',
  'rsub',
]

interface AccessTokenInfo {
  sessionHandle: string
  userId: string
  recipeUserId: string
  refreshTokenHash1: string
  parentRefreshTokenHash1?: string
  antiCsrfToken?: string
  tenantId: string
  expiryTime: number
  userData: Record<string, unknown>
}

class TryRefreshToken extends Error {}

export function registerSessionRoutes(app: FastifyInstance, store: CoreStore): void {
  const { config } = store
  const refreshValidityMs = config.refreshTokenValidityMinutes * 60 * 1000

  const sessionJson = (
    session: Pick<SessionRecord, 'handle' | 'userId' | 'recipeUserId' | 'tenantId'>,
    userDataInJWT: Record<string, unknown>,
  ): SessionJson => ({
    handle: session.handle,
    userId: session.userId,
    recipeUserId: session.recipeUserId,
    userDataInJWT,
    tenantId: session.tenantId,
  })

  const createAccessToken = (input: {
    session: Pick<SessionRecord, 'handle' | 'userId' | 'recipeUserId' | 'tenantId'>
    refreshTokenHash1: string
    parentRefreshTokenHash1: string | undefined
    antiCsrfToken: string | undefined
    userData: Record<string, unknown>
    useStaticKey: boolean
    expiry?: number
  }): CookieInfo => {
    for (const key of Object.keys(input.userData)) {
      if (PROTECTED_CLAIMS.includes(key)) {
        throw new BadRequest('The user payload contains protected field')
      }
    }
    const now = Date.now()
    // JWT times are whole seconds; the core rounds down before reporting them.
    const expiry = input.expiry ?? now + config.accessTokenValiditySeconds * 1000
    const exp = Math.floor(expiry / 1000)
    const iat = Math.floor(now / 1000)
    const payload = {
      sub: input.session.userId,
      exp,
      iat,
      tId: input.session.tenantId,
      rsub: input.session.recipeUserId,
      sessionHandle: input.session.handle,
      refreshTokenHash1: input.refreshTokenHash1,
      // v3+ tokens always carry these two, null when unset.
      parentRefreshTokenHash1: input.parentRefreshTokenHash1 ?? null,
      antiCsrfToken: input.antiCsrfToken ?? null,
      ...input.userData,
    }
    return {
      token: store.keys.signJwt(payload, input.useStaticKey, ACCESS_TOKEN_VERSION),
      expiry: exp * 1000,
      createdTime: iat * 1000,
    }
  }

  const createRefreshToken = (
    sessionHandle: string,
    parentRefreshTokenHash1: string | undefined,
    antiCsrfToken: string | undefined,
  ): CookieInfo => {
    const token = randomBytes(48).toString('base64url')
    const now = Date.now()
    store.refreshTokens.set(sha256Hex(sha256Hex(token)), {
      sessionHandle,
      ...(parentRefreshTokenHash1 === undefined ? {} : { parentRefreshTokenHash1 }),
      ...(antiCsrfToken === undefined ? {} : { antiCsrfToken }),
    })
    return { token, expiry: now + refreshValidityMs, createdTime: now }
  }

  const parseAccessToken = (token: string, allowExpired: boolean): AccessTokenInfo => {
    const jwt = store.keys.verifyJwt(token)
    if (jwt === undefined) {
      throw new TryRefreshToken('Invalid access token signature or structure')
    }
    const { header, payload } = jwt
    const version = Number.parseInt(String(header.version ?? ''), 10)
    const str = (key: string) => (typeof payload[key] === 'string' ? (payload[key] as string) : undefined)
    const sessionHandle = str('sessionHandle')
    const userId = str('sub')
    const refreshTokenHash1 = str('refreshTokenHash1')
    if (
      !(version >= 3) ||
      sessionHandle === undefined ||
      userId === undefined ||
      refreshTokenHash1 === undefined ||
      typeof payload.exp !== 'number'
    ) {
      throw new TryRefreshToken('Access token does not contain all the information')
    }
    const expiryTime = payload.exp * 1000
    if (!allowExpired && expiryTime <= Date.now()) {
      throw new TryRefreshToken('Access token expired')
    }
    const userData: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(payload)) {
      if (!PROTECTED_CLAIMS.includes(key)) userData[key] = value
    }
    const parentRefreshTokenHash1 = str('parentRefreshTokenHash1')
    const antiCsrfToken = str('antiCsrfToken')
    return {
      sessionHandle,
      userId,
      recipeUserId: str('rsub') ?? userId,
      refreshTokenHash1,
      ...(parentRefreshTokenHash1 === undefined ? {} : { parentRefreshTokenHash1 }),
      ...(antiCsrfToken === undefined ? {} : { antiCsrfToken }),
      tenantId: version >= 4 ? (str('tId') ?? 'public') : 'public',
      expiryTime,
      userData,
    }
  }

  const primaryUserIdOf = (recipeUserId: string): string =>
    // Users are never linked here, so a user is its own primary user.
    store.users.get(recipeUserId)?.id ?? recipeUserId

  route(app, 'post', '/<tenantId>/recipe/session', ({ body, tenantId }) => {
    const recipeUserId = requireString(body?.userId, 'userId')
    const userDataInJWT = body?.userDataInJWT ?? {}
    const userDataInDatabase = body?.userDataInDatabase ?? {}
    const useStaticKey = body?.useDynamicSigningKey === false
    const antiCsrfToken = body?.enableAntiCsrf === true ? randomUUID() : undefined
    const handle = randomUUID()
    const session = {
      handle,
      tenantId,
      userId: primaryUserIdOf(recipeUserId),
      recipeUserId,
    }
    const refreshToken = createRefreshToken(handle, undefined, antiCsrfToken)
    const accessToken = createAccessToken({
      session,
      refreshTokenHash1: sha256Hex(refreshToken.token),
      parentRefreshTokenHash1: undefined,
      antiCsrfToken,
      userData: userDataInJWT,
      useStaticKey,
    })
    store.sessions.set(handle, {
      ...session,
      refreshTokenHash2: sha256Hex(sha256Hex(refreshToken.token)),
      expiry: refreshToken.expiry,
      timeCreated: refreshToken.createdTime,
      userDataInJWT,
      userDataInDatabase,
      useStaticKey,
    })
    return {
      status: 'OK',
      session: sessionJson(session, userDataInJWT),
      accessToken,
      refreshToken,
      ...(antiCsrfToken === undefined ? {} : { antiCsrfToken }),
    }
  })

  // Port of the core's Session.getSession: a token whose parentRefreshTokenHash1 is
  // set is the first use of a refreshed session, which promotes the child refresh
  // token and hands back a token without the parent claim.
  route(app, 'post', '/recipe/session/verify', ({ body }) => {
    const token = requireString(body?.accessToken, 'accessToken')
    let info: AccessTokenInfo
    try {
      info = parseAccessToken(token, false)
    } catch (error) {
      if (error instanceof TryRefreshToken) {
        return { status: 'TRY_REFRESH_TOKEN', message: error.message }
      }
      throw error
    }
    if (
      body?.enableAntiCsrf === true &&
      body.doAntiCsrfCheck === true &&
      (body.antiCsrfToken === undefined || body.antiCsrfToken !== info.antiCsrfToken)
    ) {
      return { status: 'TRY_REFRESH_TOKEN', message: 'anti-csrf check failed' }
    }

    const checkDatabase = body?.checkDatabase === true
    let stored: SessionRecord | undefined
    if (checkDatabase) {
      stored = store.liveSession(info.sessionHandle)
      if (stored === undefined) {
        return {
          status: 'UNAUTHORISED',
          message: 'Either the session has ended or has been blacklisted',
        }
      }
    }
    const payloadNeedsUpdating =
      stored !== undefined && !isDeepStrictEqual(info.userData, stored.userDataInJWT)
    if (info.parentRefreshTokenHash1 === undefined && !payloadNeedsUpdating) {
      return { status: 'OK', session: sessionJson(toSessionKeys(info), info.userData) }
    }

    const session = store.liveSession(info.sessionHandle)
    if (session === undefined) {
      return { status: 'UNAUTHORISED', message: 'Session missing in db' }
    }
    const promote =
      info.parentRefreshTokenHash1 !== undefined &&
      session.refreshTokenHash2 === sha256Hex(info.parentRefreshTokenHash1)
    if (promote || session.refreshTokenHash2 === sha256Hex(info.refreshTokenHash1) || payloadNeedsUpdating) {
      if (promote) {
        session.refreshTokenHash2 = sha256Hex(info.refreshTokenHash1)
        session.expiry = Date.now() + refreshValidityMs
      }
      const accessToken = createAccessToken({
        session,
        refreshTokenHash1: info.refreshTokenHash1,
        parentRefreshTokenHash1: undefined,
        antiCsrfToken: info.antiCsrfToken,
        userData: session.userDataInJWT,
        useStaticKey: session.useStaticKey,
      })
      return {
        status: 'OK',
        session: sessionJson(session, session.userDataInJWT),
        accessToken,
      }
    }
    return { status: 'OK', session: sessionJson(toSessionKeys(info), info.userData) }
  })

  // Port of the core's Session.refreshSession: the current refresh token may be used
  // again until its child is used; a child promotes itself on first use; anything
  // older is a replayed token, i.e. theft. The core only reports theft; revoking the
  // session is the SDK's onTokenTheftDetected handler's job.
  route(app, 'post', '/recipe/session/refresh', ({ body }) => {
    const refreshToken = requireString(body?.refreshToken, 'refreshToken')
    const hash1 = sha256Hex(refreshToken)
    const hash2 = sha256Hex(hash1)
    const record = store.refreshTokens.get(hash2)
    if (record === undefined) {
      return { status: 'UNAUTHORISED', message: 'Refresh token is invalid' }
    }
    const enableAntiCsrf = body?.enableAntiCsrf === true
    if (
      enableAntiCsrf &&
      record.antiCsrfToken !== undefined &&
      record.antiCsrfToken !== body?.antiCsrfToken
    ) {
      return {
        status: 'UNAUTHORISED',
        message: 'Anti CSRF token missing, or not matching',
      }
    }
    const session = store.liveSession(record.sessionHandle)
    if (session === undefined) {
      return {
        status: 'UNAUTHORISED',
        message: 'Session missing in db or has expired',
      }
    }
    const useStaticKey =
      body?.useDynamicSigningKey === undefined ? session.useStaticKey : !body.useDynamicSigningKey

    if (
      session.refreshTokenHash2 !== hash2 &&
      record.parentRefreshTokenHash1 !== undefined &&
      sha256Hex(record.parentRefreshTokenHash1) === session.refreshTokenHash2
    ) {
      session.refreshTokenHash2 = hash2
      session.expiry = Date.now() + refreshValidityMs
    }
    if (session.refreshTokenHash2 !== hash2) {
      return {
        status: 'TOKEN_THEFT_DETECTED',
        session: {
          handle: session.handle,
          userId: session.userId,
          recipeUserId: session.recipeUserId,
        },
      }
    }

    session.useStaticKey = useStaticKey
    const antiCsrfToken = enableAntiCsrf ? randomUUID() : undefined
    const newRefreshToken = createRefreshToken(session.handle, hash1, antiCsrfToken)
    const accessToken = createAccessToken({
      session,
      refreshTokenHash1: sha256Hex(newRefreshToken.token),
      parentRefreshTokenHash1: hash1,
      antiCsrfToken,
      userData: session.userDataInJWT,
      useStaticKey,
    })
    return {
      status: 'OK',
      session: sessionJson(session, session.userDataInJWT),
      accessToken,
      refreshToken: newRefreshToken,
      ...(antiCsrfToken === undefined ? {} : { antiCsrfToken }),
    }
  })

  route(app, 'get', '/recipe/session', ({ query }) => {
    const session = query.sessionHandle === undefined ? undefined : store.liveSession(query.sessionHandle)
    if (session === undefined) {
      return { status: 'UNAUTHORISED', message: 'Session does not exist.' }
    }
    return {
      status: 'OK',
      sessionHandle: session.handle,
      userId: session.userId,
      recipeUserId: session.recipeUserId,
      expiry: session.expiry,
      timeCreated: session.timeCreated,
      userDataInJWT: session.userDataInJWT,
      userDataInDatabase: session.userDataInDatabase,
      tenantId: session.tenantId,
    }
  })

  const sessionsOfUser = (
    userId: string,
    includeLinked: boolean,
    tenantId: string | undefined,
  ): SessionRecord[] =>
    [...store.sessions.values()].filter(
      (s) =>
        store.liveSession(s.handle) !== undefined &&
        (tenantId === undefined || s.tenantId === tenantId) &&
        (s.recipeUserId === userId || (includeLinked && s.userId === userId)),
    )

  const sessionsForUserRoute = (
    userId: string | undefined,
    fetchLinked: string | undefined,
    tenantId: string | undefined,
  ) => {
    if (userId === undefined) {
      throw new BadRequest("Field name 'userId' is missing in GET request")
    }
    return {
      status: 'OK' as const,
      sessionHandles: sessionsOfUser(userId, parseBoolean(fetchLinked, true), tenantId).map((s) => s.handle),
    }
  }
  route(app, 'get', '/recipe/session/user', ({ query }) =>
    sessionsForUserRoute(query.userId, query.fetchSessionsForAllLinkedAccounts, undefined),
  )
  route(app, 'get', '/<tenantId>/recipe/session/user', ({ query, tenantId }) =>
    sessionsForUserRoute(
      query.userId,
      query.fetchSessionsForAllLinkedAccounts,
      parseBoolean(query.fetchAcrossAllTenants, false) ? undefined : tenantId,
    ),
  )

  const removeSessions = (
    body: {
      userId?: string
      sessionHandles?: string[]
      revokeSessionsForLinkedAccounts?: boolean
      revokeAcrossAllTenants?: boolean
    },
    tenantId: string | undefined,
  ) => {
    let handles: string[]
    if (body.userId !== undefined) {
      handles = sessionsOfUser(
        body.userId,
        body.revokeSessionsForLinkedAccounts !== false,
        body.revokeAcrossAllTenants === true ? undefined : tenantId,
      ).map((s) => s.handle)
    } else if (Array.isArray(body.sessionHandles)) {
      handles = body.sessionHandles
    } else {
      throw new BadRequest('Invalid JSON input - use one of userId or sessionHandles array')
    }
    return {
      status: 'OK' as const,
      sessionHandlesRevoked: handles.filter((h) => store.removeSession(h)),
    }
  }
  route(app, 'post', '/recipe/session/remove', ({ body }) => removeSessions(body ?? {}, undefined))
  route(app, 'post', '/<tenantId>/recipe/session/remove', ({ body, tenantId }) =>
    removeSessions(body ?? {}, tenantId),
  )

  // Port of the core's Session.regenerateToken: the token may be expired (then no new
  // token is issued) but must carry our signature.
  route(app, 'post', '/recipe/session/regenerate', ({ body }) => {
    const token = requireString(body?.accessToken, 'accessToken')
    let info: AccessTokenInfo
    try {
      info = parseAccessToken(token, true)
    } catch (error) {
      if (error instanceof TryRefreshToken) {
        return { status: 'UNAUTHORISED', message: error.message }
      }
      throw error
    }
    const session = store.liveSession(info.sessionHandle)
    if (session === undefined) {
      return { status: 'UNAUTHORISED', message: 'Session does not exist.' }
    }
    if (body?.userDataInJWT !== undefined) {
      session.userDataInJWT = body.userDataInJWT
    }
    if (info.expiryTime < Date.now()) {
      return {
        status: 'OK',
        session: sessionJson(session, session.userDataInJWT),
      }
    }
    const accessToken = createAccessToken({
      session,
      refreshTokenHash1: info.refreshTokenHash1,
      parentRefreshTokenHash1: info.parentRefreshTokenHash1,
      antiCsrfToken: info.antiCsrfToken,
      userData: session.userDataInJWT,
      useStaticKey: session.useStaticKey,
      expiry: info.expiryTime,
    })
    return {
      status: 'OK',
      session: sessionJson(session, session.userDataInJWT),
      accessToken,
    }
  })

  route(app, 'put', '/recipe/session/data', ({ body }) => {
    const session = store.liveSession(requireString(body?.sessionHandle, 'sessionHandle'))
    if (session === undefined) {
      return { status: 'UNAUTHORISED', message: 'Session does not exist.' }
    }
    session.userDataInDatabase = body?.userDataInDatabase ?? {}
    return { status: 'OK' }
  })

  route(app, 'put', '/recipe/jwt/data', ({ body }) => {
    const session = store.liveSession(requireString(body?.sessionHandle, 'sessionHandle'))
    if (session === undefined) {
      return { status: 'UNAUTHORISED', message: 'Session does not exist.' }
    }
    const userDataInJWT = body?.userDataInJWT ?? {}
    for (const key of Object.keys(userDataInJWT)) {
      if (PROTECTED_CLAIMS.includes(key)) {
        throw new BadRequest('The user payload contains protected field')
      }
    }
    session.userDataInJWT = userDataInJWT
    return { status: 'OK' }
  })
}

function toSessionKeys(info: AccessTokenInfo) {
  return {
    handle: info.sessionHandle,
    userId: info.userId,
    recipeUserId: info.recipeUserId,
    tenantId: info.tenantId,
  }
}
