import { randomUUID } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import { BadRequest, JavaException, TenantOrAppNotFound } from './errors.ts'
import type { JsonObject } from './input.ts'
import { type CoreRouter, type PathTenant, parseBoolean } from './routes.ts'
import type { Reply } from './schema.ts'
import { type CoreStore, PUBLIC_TENANT, type SessionRecord, sha256Hex } from './store.ts'
import {
  type AccessTokenInfo,
  createRefreshToken,
  JwtException,
  PROTECTED_CLAIMS,
  readAccessToken,
  readRefreshToken,
  TryRefreshToken,
  tenantOfSessionHandle,
  UnauthorisedToken,
} from './tokens.ts'

type CookieInfo = { token: string; expiry: number; createdTime: number }
type SessionJson = NonNullable<Extract<Reply<'/recipe/session/verify', 'post'>, { status: 'OK' }>['session']>

const ACCESS_TOKEN_VERSION = '5'
const PAYLOAD_HAS_PROTECTED_FIELD = 'The user payload contains protected field'

// Only the public tenant exists, so a session handle or token naming another tenant
// fails where the core looks its storage up (StorageLayer.getStorage).
function assertTenantExists(tenantId: string): void {
  if (tenantId !== PUBLIC_TENANT) throw new TenantOrAppNotFound(PUBLIC_TENANT, tenantId)
}

function assertNoProtectedClaims(payload: Record<string, unknown>): void {
  for (const key of Object.keys(payload)) {
    if (PROTECTED_CLAIMS.includes(key)) throw new BadRequest(PAYLOAD_HAS_PROTECTED_FIELD)
  }
}

export function registerSessionRoutes(router: CoreRouter, store: CoreStore): void {
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
    assertNoProtectedClaims(input.userData)
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

  const newRefreshToken = (
    session: Pick<SessionRecord, 'handle' | 'recipeUserId' | 'tenantId'>,
    parentRefreshTokenHash1: string | undefined,
    antiCsrfToken: string | undefined,
  ): CookieInfo => {
    const token = createRefreshToken(store.refreshTokenKey, {
      sessionHandle: session.handle,
      userId: session.recipeUserId,
      tenantId: session.tenantId,
      ...(parentRefreshTokenHash1 === undefined ? {} : { parentRefreshTokenHash1 }),
      ...(antiCsrfToken === undefined ? {} : { antiCsrfToken }),
    })
    const now = Date.now()
    return { token, expiry: now + refreshValidityMs, createdTime: now }
  }

  // Session.createNewSession: the user may be named by either side of a mapping; the
  // session (and its tokens' sub and rsub) carries the external id. Users are never
  // linked here, so a user is its own primary user.
  const sessionUserId = (userId: string): string =>
    store.externalUserId(store.userIdMapping(userId, 'EXTERNAL')?.superTokensUserId ?? userId)

  // SessionAPI.doPost: every field but useDynamicSigningKey is required, and is read
  // before the tenant.
  router.route('post', '/<tenantId>/recipe/session', ({ body, tenant }) => {
    const recipeUserId = sessionUserId(body.string('userId'))
    const enableAntiCsrf = body.boolean('enableAntiCsrf')
    const userDataInJWT = body.object('userDataInJWT')
    const userDataInDatabase = body.object('userDataInDatabase')
    const tenantId = tenant.existing()
    const useStaticKey = body.optionalBoolean('useDynamicSigningKey') === false
    const antiCsrfToken = enableAntiCsrf ? randomUUID() : undefined
    const handle = randomUUID()
    const session = {
      handle,
      tenantId,
      userId: recipeUserId,
      recipeUserId,
    }
    const refreshToken = newRefreshToken(session, undefined, antiCsrfToken)
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

  // Port of the core's Session.getSession (CDI <= 5.4): a token whose
  // parentRefreshTokenHash1 is set is the first use of a refreshed session, which
  // promotes the child refresh token and hands back a token without the parent claim.
  router.route('post', '/recipe/session/verify', ({ body, tenant }) => {
    const token = body.string('accessToken')
    const antiCsrfToken = body.optionalString('antiCsrfToken')
    const doAntiCsrfCheck = body.boolean('doAntiCsrfCheck')
    const enableAntiCsrf = body.boolean('enableAntiCsrf')
    tenant.app()
    const checkDatabase = body.boolean('checkDatabase')
    let info: AccessTokenInfo
    try {
      info = readAccessToken(store.keys, token, {
        verify: true,
        antiCsrfCheck: doAntiCsrfCheck && enableAntiCsrf,
      })
    } catch (error) {
      if (error instanceof JwtException) return { status: 'TRY_REFRESH_TOKEN', message: error.wrapped }
      if (error instanceof TryRefreshToken) return { status: 'TRY_REFRESH_TOKEN', message: error.message }
      throw error
    }
    assertTenantExists(info.tenantId)
    if (
      enableAntiCsrf &&
      doAntiCsrfCheck &&
      (antiCsrfToken === undefined || antiCsrfToken !== info.antiCsrfToken)
    ) {
      return { status: 'TRY_REFRESH_TOKEN', message: 'anti-csrf check failed' }
    }

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

  // Port of the core's Session.refreshSession (CDI <= 5.4): the current refresh token
  // may be used again until its child is used; a child promotes itself on first use;
  // anything older is a replayed token, i.e. theft. The core only reports theft;
  // revoking the session is the SDK's onTokenTheftDetected handler's job.
  router.route('post', '/recipe/session/refresh', ({ body, tenant }) => {
    const refreshToken = body.string('refreshToken')
    const antiCsrfToken = body.optionalString('antiCsrfToken')
    const enableAntiCsrf = body.boolean('enableAntiCsrf')
    // Required from CDI 5.0.
    const useDynamicSigningKey = body.boolean('useDynamicSigningKey')
    tenant.existing()
    let record: ReturnType<typeof readRefreshToken>
    try {
      record = readRefreshToken(store.refreshTokenKey, refreshToken)
    } catch (error) {
      if (error instanceof UnauthorisedToken) return { status: 'UNAUTHORISED', message: error.message }
      throw error
    }
    if (enableAntiCsrf && record.antiCsrfToken !== undefined && record.antiCsrfToken !== antiCsrfToken) {
      return {
        status: 'UNAUTHORISED',
        message: 'Anti CSRF token missing, or not matching',
      }
    }
    assertTenantExists(record.tenantId)
    const session = store.liveSession(record.sessionHandle)
    if (session === undefined) {
      return {
        status: 'UNAUTHORISED',
        message: 'Session missing in db or has expired',
      }
    }
    const useStaticKey = !useDynamicSigningKey
    const hash1 = sha256Hex(refreshToken)
    const hash2 = sha256Hex(hash1)

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
    const newAntiCsrfToken = enableAntiCsrf ? randomUUID() : undefined
    const child = newRefreshToken(session, hash1, newAntiCsrfToken)
    const accessToken = createAccessToken({
      session,
      refreshTokenHash1: sha256Hex(child.token),
      parentRefreshTokenHash1: hash1,
      antiCsrfToken: newAntiCsrfToken,
      userData: session.userDataInJWT,
      useStaticKey,
    })
    return {
      status: 'OK',
      session: sessionJson(session, session.userDataInJWT),
      accessToken,
      refreshToken: child,
      ...(newAntiCsrfToken === undefined ? {} : { antiCsrfToken: newAntiCsrfToken }),
    }
  })

  // The session APIs that take a handle are app-wide: the tenant comes from the handle.
  const sessionByHandle = (tenant: PathTenant, handle: string): SessionRecord | undefined => {
    tenant.app()
    assertTenantExists(tenantOfSessionHandle(handle))
    return store.liveSession(handle)
  }

  router.route('get', '/recipe/session', ({ query, tenant }) => {
    const session = sessionByHandle(tenant, query.required('sessionHandle'))
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

  // SessionUserAPI: across all tenants unless fetchAcrossAllTenants is "false" (then
  // only the path's tenant); the app-wide form refuses a tenant path.
  router.route<'/<tenantId>/recipe/session/user', 'get', never, 'fetchSessionsForAllLinkedAccounts'>(
    'get',
    '/<tenantId>/recipe/session/user',
    ({ query, tenant }) => {
      const userId = query.required('userId')
      const acrossAllTenants = parseBoolean(query.optional('fetchAcrossAllTenants'), true)
      const includeLinked = parseBoolean(query.optional('fetchSessionsForAllLinkedAccounts'), true)
      let tenantId: string | undefined
      if (acrossAllTenants) {
        tenant.app()
        tenant.publicOnly()
      } else {
        tenantId = tenant.existing()
      }
      return {
        status: 'OK',
        sessionHandles: sessionsOfUser(userId, includeLinked, tenantId).map((s) => s.handle),
      }
    },
  )

  // SessionRemoveAPI: exactly one of userId or sessionHandles. By user it works across
  // tenants unless revokeAcrossAllTenants is false; by handle it is app-wide and each
  // handle names its own tenant.
  router.route<'/<tenantId>/recipe/session/remove', 'post', never, 'revokeSessionsForLinkedAccounts'>(
    'post',
    '/<tenantId>/recipe/session/remove',
    ({ body, tenant }) => {
      const userId = body.optionalString('userId')
      const sessionHandles = body.optionalStringArray('sessionHandles')
      if ((userId === undefined) === (sessionHandles === undefined)) {
        throw new BadRequest('Invalid JSON input - use one of userId or sessionHandles array')
      }
      const acrossAllTenants = body.optionalBoolean('revokeAcrossAllTenants')
      if (userId === undefined && acrossAllTenants !== undefined) {
        throw new BadRequest('Invalid JSON input - revokeAcrossAllTenants can only be set if userId is set')
      }
      const includeLinked = body.optionalBoolean('revokeSessionsForLinkedAccounts')
      if (userId === undefined && includeLinked !== undefined) {
        throw new BadRequest(
          'Invalid JSON input - revokeSessionsForLinkedAccounts can only be set if userId is set',
        )
      }

      if (userId !== undefined) {
        let tenantId: string | undefined
        if (acrossAllTenants ?? true) {
          tenant.app()
          tenant.publicOnly()
        } else {
          tenantId = tenant.existing()
        }
        const handles = sessionsOfUser(userId, includeLinked ?? true, tenantId).map((s) => s.handle)
        return { status: 'OK', sessionHandlesRevoked: handles.filter((h) => store.removeSession(h)) }
      }

      tenant.app()
      // The core revokes per tenant named by the handles, the public tenant's first, and
      // fails on the first tenant it does not know.
      const handles = sessionHandles ?? []
      const tenants = handles.map(tenantOfSessionHandle)
      const revoked = handles.filter((h, i) => tenants[i] === PUBLIC_TENANT && store.removeSession(h))
      const unknown = tenants.find((t) => t !== PUBLIC_TENANT)
      if (unknown !== undefined) assertTenantExists(unknown)
      return { status: 'OK', sessionHandlesRevoked: revoked }
    },
  )

  // Port of the core's Session.regenerateToken: the token is read without checking its
  // signature (the SDK has), may be expired (then no new token is issued), and a
  // malformed one is a 500 because the core does not expect one here.
  router.route('post', '/recipe/session/regenerate', ({ body, tenant }) => {
    const token = body.string('accessToken')
    const userDataInJWT = body.optionalObject('userDataInJWT')
    tenant.app()
    let info: AccessTokenInfo
    try {
      info = readAccessToken(store.keys, token, { verify: false })
    } catch (error) {
      if (error instanceof JwtException) throw new JavaException(error.wrapped)
      if (error instanceof TryRefreshToken) return { status: 'UNAUTHORISED', message: error.message }
      throw error
    }
    assertTenantExists(info.tenantId)
    const session = store.liveSession(info.sessionHandle)
    if (session === undefined) {
      return { status: 'UNAUTHORISED', message: 'Session does not exist.' }
    }
    const payload: JsonObject | Record<string, unknown> = userDataInJWT ?? session.userDataInJWT
    assertNoProtectedClaims(payload)
    session.userDataInJWT = payload
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

  router.route('put', '/recipe/session/data', ({ body, tenant }) => {
    const handle = body.string('sessionHandle')
    const userDataInDatabase = body.object('userDataInDatabase')
    const session = sessionByHandle(tenant, handle)
    if (session === undefined) {
      return { status: 'UNAUTHORISED', message: 'Session does not exist.' }
    }
    session.userDataInDatabase = userDataInDatabase
    return { status: 'OK' }
  })

  // Session.updateSession refuses protected claims before it looks the session up.
  router.route('put', '/recipe/jwt/data', ({ body, tenant }) => {
    const handle = body.string('sessionHandle')
    const userDataInJWT = body.object('userDataInJWT')
    tenant.app()
    assertTenantExists(tenantOfSessionHandle(handle))
    assertNoProtectedClaims(userDataInJWT)
    const session = store.liveSession(handle)
    if (session === undefined) {
      return { status: 'UNAUTHORISED', message: 'Session does not exist.' }
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
