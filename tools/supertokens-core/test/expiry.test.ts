// Short lifetimes need their own core, and the SDK can only be pointed at one core per
// process, so expiry lives in its own file.
import { setTimeout as sleep } from 'node:timers/promises'
import supertokens from 'supertokens-node'
import Passwordless from 'supertokens-node/recipe/passwordless'
import Session from 'supertokens-node/recipe/session'
import t from 'tap'
import { decodeJwt, startHarness } from './sdk.ts'

const harness = await startHarness({
  passwordlessCodeLifetimeMs: 1000,
  accessTokenValiditySeconds: 1,
})
t.teardown(() => harness.close())

t.test('expired codes never sign in', async (t) => {
  const code = await Passwordless.createCode({ tenantId: 'public', email: 'late@example.com' })
  if (code.status !== 'OK') throw new Error('createCode failed')
  t.equal(code.codeLifetime, 1000)
  const spare = await Passwordless.createCode({ tenantId: 'public', email: 'late2@example.com' })
  if (spare.status !== 'OK') throw new Error('createCode failed')
  await sleep(1200)

  const viaLink = await Passwordless.consumeCode({
    tenantId: 'public',
    preAuthSessionId: code.preAuthSessionId,
    linkCode: code.linkCode,
  })
  t.equal(viaLink.status, 'RESTART_FLOW_ERROR', 'an expired magic link restarts the flow')

  const viaInput = await Passwordless.consumeCode({
    tenantId: 'public',
    preAuthSessionId: code.preAuthSessionId,
    deviceId: code.deviceId,
    userInputCode: code.userInputCode,
  })
  t.match(viaInput, {
    status: 'EXPIRED_USER_INPUT_CODE_ERROR',
    failedCodeInputAttemptCount: 1,
    maximumCodeInputAttempts: 5,
  })

  // A fresh code for the same device works again.
  const fresh = await Passwordless.createNewCodeForDevice({ tenantId: 'public', deviceId: spare.deviceId })
  if (fresh.status !== 'OK') throw new Error('createNewCodeForDevice failed')
  const ok = await Passwordless.consumeCode({
    tenantId: 'public',
    preAuthSessionId: fresh.preAuthSessionId,
    linkCode: fresh.linkCode,
  })
  t.equal(ok.status, 'OK')
})

t.test('an expired access token asks for a refresh, which works', async (t) => {
  const session = await Session.createNewSessionWithoutRequestResponse(
    'public',
    supertokens.convertToRecipeUserId('user-exp'),
  )
  const tokens = session.getAllSessionTokensDangerously()
  const claims = decodeJwt(tokens.accessToken).payload
  t.equal((claims.exp as number) - (claims.iat as number), 1)
  await sleep(2100)

  let errorType = 'NO_ERROR'
  try {
    await Session.getSessionWithoutRequestResponse(tokens.accessToken)
  } catch (error) {
    if (!Session.Error.isErrorFromSuperTokens(error)) throw error
    errorType = error.type
  }
  t.equal(errorType, Session.Error.TRY_REFRESH_TOKEN)

  if (tokens.refreshToken === undefined) throw new Error('no refresh token')
  const refreshed = await Session.refreshSessionWithoutRequestResponse(tokens.refreshToken)
  t.equal(refreshed.getUserId(), 'user-exp')
  // The new token lives one second too: on a busy machine, verifying it through the core could
  // already find it expired (CI did once). Its claims say it is new and valid from now.
  const renewed = decodeJwt(refreshed.getAccessToken()).payload
  t.not(refreshed.getAccessToken(), tokens.accessToken, 'a new access token')
  t.ok((renewed.iat as number) > (claims.iat as number), 'issued at the refresh')
  t.equal(renewed.sub, 'user-exp')
})
