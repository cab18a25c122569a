import supertokens from 'supertokens-node'
import Session from 'supertokens-node/recipe/session'
import t from 'tap'
import { startSuperTokensCore } from '../src/index.ts'
import { decodeJwt, startHarness } from './sdk.ts'

const harness = await startHarness()
t.teardown(() => harness.close())
const { api, core } = harness

const newSession = (userId: string, payload: Record<string, unknown> = {}) =>
  Session.createNewSessionWithoutRequestResponse(
    'public',
    supertokens.convertToRecipeUserId(userId),
    payload,
    { lastSeen: 'test' },
  )

function tokensOf(session: Awaited<ReturnType<typeof newSession>>) {
  const tokens = session.getAllSessionTokensDangerously()
  if (tokens.refreshToken === undefined) throw new Error('no refresh token')
  return { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken }
}

async function sdkError(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    if (Session.Error.isErrorFromSuperTokens(error)) return error.type
    throw error
  }
  return 'NO_ERROR'
}

t.test('JWKS serves the RS256 key that signs access tokens', async (t) => {
  const session = await newSession('user-jwks')
  const { header, payload } = decodeJwt(tokensOf(session).accessToken)
  t.equal(header.alg, 'RS256')
  t.equal(header.version, '5')
  const jwks = (await (await fetch(`${core.url}/.well-known/jwks.json`)).json()) as {
    keys: Array<Record<string, string>>
  }
  const key = jwks.keys.find((k) => k.kid === header.kid)
  t.ok(key, 'the token kid is in the JWKS')
  t.match(key, { kty: 'RSA', alg: 'RS256', use: 'sig', n: String, e: String })
  t.match(payload, {
    sub: 'user-jwks',
    rsub: 'user-jwks',
    tId: 'public',
    sessionHandle: session.getHandle(),
    refreshTokenHash1: String,
    parentRefreshTokenHash1: null,
  })
  t.equal(typeof payload.exp, 'number')
  t.equal((payload.exp as number) - (payload.iat as number), 3600)
})

t.test('a new session verifies locally through the JWKS', async (t) => {
  const session = await newSession('user-1', { plan: 'free' })
  const { accessToken } = tokensOf(session)
  const verified = await Session.getSessionWithoutRequestResponse(accessToken)
  t.equal(verified.getUserId(), 'user-1')
  t.equal(verified.getHandle(), session.getHandle())
  t.equal(verified.getAccessTokenPayload().plan, 'free')
  t.equal(verified.getAccessToken(), accessToken, 'no new token when nothing changed')

  const info = await Session.getSessionInformation(session.getHandle())
  t.equal(info?.userId, 'user-1')
  t.same(info?.sessionDataInDatabase, { lastSeen: 'test' })
  t.same(await Session.getAllSessionHandlesForUser('user-1'), [session.getHandle()])

  t.ok(await Session.updateSessionDataInDatabase(session.getHandle(), { step: 2 }))
  const updated = await Session.getSessionInformation(session.getHandle())
  t.same(updated?.sessionDataInDatabase, { step: 2 })

  await verified.mergeIntoAccessTokenPayload({ plan: 'pro' })
  t.equal(verified.getAccessTokenPayload().plan, 'pro')
  const reissued = verified.getAccessToken()
  t.not(reissued, accessToken, 'regenerate issues a new access token')
  const again = await Session.getSessionWithoutRequestResponse(reissued)
  t.equal(again.getAccessTokenPayload().plan, 'pro')
})

t.test('refresh rotates tokens; the child is promoted on first use', async (t) => {
  const session = await newSession('user-2')
  const original = tokensOf(session)

  const refreshed = await Session.refreshSessionWithoutRequestResponse(original.refreshToken)
  const child = tokensOf(refreshed)
  t.not(child.refreshToken, original.refreshToken)
  t.not(child.accessToken, original.accessToken)
  t.equal(refreshed.getHandle(), session.getHandle())
  const childClaims = decodeJwt(child.accessToken).payload
  t.type(childClaims.parentRefreshTokenHash1, 'string', 'the new token names its parent')

  // Until the child is used the parent still works, so a lost response is not fatal.
  const retried = await Session.refreshSessionWithoutRequestResponse(original.refreshToken)
  t.equal(retried.getHandle(), session.getHandle())

  const verified = await Session.getSessionWithoutRequestResponse(child.accessToken)
  t.equal(verified.getUserId(), 'user-2')
  const promoted = verified.getAccessToken()
  t.not(promoted, child.accessToken, 'the core answered with a replacement token')
  t.equal(decodeJwt(promoted).payload.parentRefreshTokenHash1, null)
  const local = await Session.getSessionWithoutRequestResponse(promoted)
  t.equal(local.getAccessToken(), promoted, 'the replacement verifies locally')

  // The child refresh token is now the session's token; the original is stale.
  t.equal(
    await sdkError(Session.refreshSessionWithoutRequestResponse(original.refreshToken)),
    'TOKEN_THEFT_DETECTED',
  )
})

t.test('reusing a superseded refresh token is theft and ends the session', async (t) => {
  const session = await newSession('user-3')
  const original = tokensOf(session)
  const child = tokensOf(await Session.refreshSessionWithoutRequestResponse(original.refreshToken))
  const grandchild = tokensOf(await Session.refreshSessionWithoutRequestResponse(child.refreshToken))
  t.ok(grandchild.refreshToken)

  // Through the SDK's /auth/session/refresh route, whose default onTokenTheftDetected
  // handler revokes the session.
  const res = await api.inject({
    method: 'POST',
    url: '/auth/session/refresh',
    headers: {
      authorization: `Bearer ${original.refreshToken}`,
      'st-auth-mode': 'header',
      rid: 'session',
    },
  })
  t.equal(res.statusCode, 401)
  t.match(res.json(), { message: 'token theft detected' })
  t.equal(await Session.getSessionInformation(session.getHandle()), undefined, 'session revoked')
  t.equal(
    await sdkError(Session.refreshSessionWithoutRequestResponse(grandchild.refreshToken)),
    'UNAUTHORISED',
    'the thief cannot refresh either',
  )
})

t.test('a revoked session can neither refresh nor pass a database check', async (t) => {
  const session = await newSession('user-4')
  const { accessToken, refreshToken } = tokensOf(session)
  t.equal(await Session.revokeSession(session.getHandle()), true)
  t.equal(await Session.revokeSession(session.getHandle()), false, 'already gone')
  t.equal(await sdkError(Session.refreshSessionWithoutRequestResponse(refreshToken)), 'UNAUTHORISED')
  t.equal(
    await sdkError(Session.getSessionWithoutRequestResponse(accessToken, undefined, { checkDatabase: true })),
    'UNAUTHORISED',
  )
})

t.test("revoking by user ends all of that user's sessions", async (t) => {
  const a = await newSession('user-5')
  const b = await newSession('user-5')
  const other = await newSession('user-6')
  const revoked = await Session.revokeAllSessionsForUser('user-5')
  t.same([...revoked].sort(), [a.getHandle(), b.getHandle()].sort())
  t.same(await Session.getAllSessionHandlesForUser('user-5'), [])
  t.same(await Session.getAllSessionHandlesForUser('user-6'), [other.getHandle()])
})

t.test('an unknown refresh token is unauthorised', async (t) => {
  t.equal(await sdkError(Session.refreshSessionWithoutRequestResponse('not-a-real-token')), 'UNAUTHORISED')
})

t.test('unknown core paths answer 404', async (t) => {
  const res = await fetch(`${core.url}/recipe/not-a-thing`)
  t.equal(res.status, 404)
  t.equal(await res.text(), 'Not found\n')
})

t.test('refuses to start in production', async (t) => {
  const previous = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  t.teardown(() => {
    process.env.NODE_ENV = previous
  })
  await t.rejects(startSuperTokensCore(), /development and tests only/)
})
