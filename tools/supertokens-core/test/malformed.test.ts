// Malformed and hostile input, sent straight to the stand-in over HTTP, must get the
// real core's answer: the status and the exact text of its driver interface (read from
// supertokens-core's webserver/api/*, InputParser, WebserverAPI and Passwordless.java).
// Error bodies are text/html and end in a newline because the core writes them with
// println. The last tests show what supertokens-node makes of those answers.
import { randomBytes } from 'node:crypto'
import Passwordless from 'supertokens-node/recipe/passwordless'
import t, { type Test } from 'tap'
import { startHarness } from './sdk.ts'

const harness = await startHarness()
t.teardown(() => harness.close())
const { core, api } = harness

interface Answer {
  status: number
  text: string
  type: string | null
  json(): Record<string, unknown>
}

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' },
): Promise<Answer> {
  const res = await fetch(`${core.url}${path}`, {
    method,
    headers: { 'cdi-version': '5.4', rid: 'passwordless', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  })
  const text = await res.text()
  return { status: res.status, text, type: res.headers.get('content-type'), json: () => JSON.parse(text) }
}

const post = (path: string, body?: unknown) => call('POST', path, body)
const get = (path: string) => call('GET', path)

/** The core's plain-text error answer. */
function refused(t: Test, answer: Answer, status: number, message: string) {
  t.equal(answer.status, status, `${status} ${message}`)
  t.equal(answer.text, `${message}\n`)
  t.equal(answer.type, 'text/html; charset=UTF-8')
}

function invalid(field: string) {
  return `Field name '${field}' is invalid in JSON input`
}

const TENANT_ACME_NOT_FOUND =
  'AppId or tenantId not found => Tenant with the following connectionURIDomain, appId and tenantId combination not found: (, public, acme)'

// What the core hands out: standard base64 of 32 bytes, padded.
const wellFormedDeviceId = () => randomBytes(32).toString('base64')

async function newCode(email: string) {
  const res = await post('/public/recipe/signinup/code', { email })
  t.equal(res.status, 200)
  return res.json() as {
    deviceId: string
    preAuthSessionId: string
    linkCode: string
    userInputCode: string
    codeId: string
  }
}

t.test('a body that is not a JSON object is "Invalid Json Input"', async (t) => {
  refused(t, await post('/public/recipe/signinup/code', ''), 400, 'Invalid Json Input')
  refused(t, await post('/public/recipe/signinup/code', 'email=a@example.com'), 400, 'Invalid Json Input')
  refused(t, await post('/public/recipe/signinup/code', '[]'), 400, 'Invalid Json Input')
  refused(t, await post('/public/recipe/signinup/code', '"a@example.com"'), 400, 'Invalid Json Input')
  refused(t, await post('/public/recipe/signinup/code', '{"email":'), 400, 'Invalid Json Input')
  refused(t, await call('POST', '/public/recipe/session/remove', undefined, {}), 400, 'Invalid Json Input')
  // The content-type is not looked at: JSON is JSON.
  const unlabelled = await call('POST', '/public/recipe/signinup/code', '{"email":"x@example.com"}', {
    'content-type': 'text/plain',
  })
  t.equal(unlabelled.status, 200)
  t.equal(unlabelled.json().status, 'OK')
})

t.test('create code: field types and combinations', async (t) => {
  const path = '/public/recipe/signinup/code'
  refused(t, await post(path, {}), 400, 'Please provide exactly one of email, phoneNumber or deviceId')
  refused(
    t,
    await post(path, { email: 'a@example.com', phoneNumber: '+14155550100' }),
    400,
    'Please provide exactly one of email, phoneNumber or deviceId',
  )
  refused(t, await post(path, { email: 5 }), 400, invalid('email'))
  refused(t, await post(path, { email: null }), 400, invalid('email'))
  refused(t, await post(path, { email: { $ne: '' } }), 400, invalid('email'))
  refused(t, await post(path, { email: ['a@example.com', 'b@example.com'] }), 400, invalid('email'))
  refused(t, await post(path, { phoneNumber: null }), 400, invalid('phoneNumber'))
  refused(t, await post(path, { deviceId: 42 }), 400, invalid('deviceId'))
  refused(
    t,
    await post(path, { email: 'a@example.com', userInputCode: '' }),
    400,
    'userInputCode cannot be an empty string.',
  )
  refused(
    t,
    await post(path, { email: 'a@example.com', userInputCode: 123456 }),
    400,
    invalid('userInputCode'),
  )

  // Gson reads a one-element array as its element.
  const wrapped = await post(path, { email: [' Wrapped@Example.com'] })
  t.equal(wrapped.json().status, 'OK')
  const listed = await get(
    `/public/recipe/signinup/codes?preAuthSessionId=${wrapped.json().preAuthSessionId}`,
  )
  t.match(listed.json(), { devices: [{ email: 'wrapped@example.com' }] })
})

t.test('create code (resend): a deviceId must be standard base64', async (t) => {
  const path = '/public/recipe/signinup/code'
  for (const deviceId of ['made-up', 'a_b-', 'abc$', 'QUJD=', 'QQ=', 'Q', 'QUJD\n', 'QUJDRA==QQ']) {
    refused(t, await post(path, { deviceId }), 400, 'Input encoding error in deviceId')
  }
  // Well-formed but unknown devices restart the flow; the empty string decodes to nothing.
  for (const deviceId of [wellFormedDeviceId(), 'abcd', 'QUJDRA', '']) {
    const res = await post(path, { deviceId })
    t.equal(res.status, 200)
    t.same(res.json(), { status: 'RESTART_FLOW_ERROR' }, `deviceId ${JSON.stringify(deviceId)}`)
  }
  // A known device without padding is the same device.
  const code = await newCode('resend@example.com')
  const resent = await post(path, { deviceId: code.deviceId.replace(/=+$/, '') })
  t.equal(resent.json().status, 'OK')
  t.equal(resent.json().preAuthSessionId, code.preAuthSessionId)
  // Choosing an input code the device already has is refused, not redrawn.
  const chosen = await post(path, { deviceId: code.deviceId, userInputCode: code.userInputCode })
  t.same(chosen.json(), { status: 'USER_INPUT_CODE_ALREADY_USED_ERROR' })
})

t.test('check and consume code: input rules', async (t) => {
  for (const path of ['/public/recipe/signinup/code/consume', '/public/recipe/signinup/code/check']) {
    const exactlyOne = 'Please provide exactly one of linkCode or deviceId+userInputCode'
    refused(t, await post(path, {}), 400, invalid('preAuthSessionId'))
    refused(t, await post(path, { preAuthSessionId: 123, linkCode: 'x' }), 400, invalid('preAuthSessionId'))
    refused(t, await post(path, { preAuthSessionId: null, deviceId: 'x' }), 400, invalid('preAuthSessionId'))
    refused(t, await post(path, { preAuthSessionId: 'p' }), 400, exactlyOne)
    refused(t, await post(path, { preAuthSessionId: 'p', deviceId: 'x' }), 400, exactlyOne)
    refused(
      t,
      await post(path, { preAuthSessionId: 'p', linkCode: 'x', userInputCode: '1' }),
      400,
      exactlyOne,
    )
    refused(t, await post(path, { preAuthSessionId: 'p', linkCode: [] }), 400, invalid('linkCode'))
    refused(t, await post(path, { preAuthSessionId: 'p', linkCode: null }), 400, invalid('linkCode'))
    refused(
      t,
      await post(path, { preAuthSessionId: 'p', deviceId: 1, userInputCode: '1' }),
      400,
      invalid('deviceId'),
    )
    refused(
      t,
      await post(path, { preAuthSessionId: 'p', deviceId: 'QUJD', userInputCode: 1 }),
      400,
      invalid('userInputCode'),
    )
    // linkCode is URL-safe base64, deviceId standard base64: the other alphabet is refused.
    refused(
      t,
      await post(path, { preAuthSessionId: 'p', linkCode: 'ab+/' }),
      400,
      'Input encoding error in linkCode',
    )
    refused(
      t,
      await post(path, { preAuthSessionId: 'p', deviceId: 'made-up', userInputCode: '123456' }),
      400,
      'Input encoding error in deviceId',
    )
    // Unknown but well-formed: restart, whatever preAuthSessionId says.
    t.same((await post(path, { preAuthSessionId: 'made-up', linkCode: 'made-up' })).json(), {
      status: 'RESTART_FLOW_ERROR',
    })
    t.same(
      (
        await post(path, { preAuthSessionId: 'p', deviceId: wellFormedDeviceId(), userInputCode: '1' })
      ).json(),
      { status: 'RESTART_FLOW_ERROR' },
    )
  }

  // A real device or link under someone else's preAuthSessionId is the caller's mistake.
  const code = await newCode('mismatch@example.com')
  const other = await newCode('other@example.com')
  for (const body of [
    { preAuthSessionId: other.preAuthSessionId, linkCode: code.linkCode },
    { preAuthSessionId: other.preAuthSessionId, deviceId: code.deviceId, userInputCode: code.userInputCode },
  ]) {
    refused(
      t,
      await post('/public/recipe/signinup/code/consume', body),
      400,
      "preAuthSessionId and deviceId doesn't match",
    )
  }
  // Padding on preAuthSessionId is ignored when comparing.
  const padded = await post('/public/recipe/signinup/code/check', {
    preAuthSessionId: `${code.preAuthSessionId}=`,
    linkCode: code.linkCode,
  })
  t.equal(padded.json().status, 'OK')
})

t.test('listing and removing codes', async (t) => {
  const exactlyOne = 'Please provide exactly one of email, phoneNumber, deviceId or preAuthSessionId'
  refused(t, await get('/public/recipe/signinup/codes'), 400, exactlyOne)
  refused(
    t,
    await get('/public/recipe/signinup/codes?email=a@example.com&preAuthSessionId=x'),
    400,
    exactlyOne,
  )
  refused(
    t,
    await get('/public/recipe/signinup/codes?deviceId=made-up'),
    400,
    'Input encoding error in deviceId',
  )
  t.same(
    (await get(`/public/recipe/signinup/codes?deviceId=${encodeURIComponent(wellFormedDeviceId())}`)).json(),
    {
      status: 'OK',
      devices: [],
    },
  )

  refused(
    t,
    await post('/public/recipe/signinup/code/remove', {}),
    400,
    "Please provide either 'codeId' or 'preAuthSessionId'",
  )
  refused(
    t,
    await post('/public/recipe/signinup/code/remove', { codeId: 'c', preAuthSessionId: 'p' }),
    400,
    "Please provide only one of 'codeId' or 'preAuthSessionId'",
  )
  refused(t, await post('/public/recipe/signinup/code/remove', { codeId: 7 }), 400, invalid('codeId'))
  t.same((await post('/public/recipe/signinup/code/remove', { codeId: 'unknown' })).json(), { status: 'OK' })
  const code = await newCode('remove-device@example.com')
  t.same(
    (await post('/public/recipe/signinup/code/remove', { preAuthSessionId: code.preAuthSessionId })).json(),
    {
      status: 'OK',
    },
  )
  t.same((await get('/public/recipe/signinup/codes?email=remove-device@example.com')).json().devices, [])

  const eitherContact = 'Please provide exactly one of email or phoneNumber'
  refused(t, await post('/public/recipe/signinup/codes/remove', {}), 400, eitherContact)
  refused(
    t,
    await post('/public/recipe/signinup/codes/remove', { preAuthSessionId: 'p' }),
    400,
    eitherContact,
  )
  refused(
    t,
    await post('/public/recipe/signinup/codes/remove', { email: 'a@example.com', phoneNumber: '+1' }),
    400,
    eitherContact,
  )
})

t.test('tenants: unknown, refused and case-insensitive', async (t) => {
  refused(t, await post('/acme/recipe/signinup/code', { email: 'a@example.com' }), 400, TENANT_ACME_NOT_FOUND)
  refused(
    t,
    await post('/ACME/recipe/signinup/code/', { email: 'a@example.com' }),
    400,
    TENANT_ACME_NOT_FOUND,
  )
  // The body is read before the tenant.
  refused(t, await post('/acme/recipe/signinup/code', { email: 5 }), 400, invalid('email'))
  refused(t, await post('/acme/recipe/signinup/code', 'nope'), 400, 'Invalid Json Input')
  // Tenant lookups answer a status instead.
  t.same((await get('/acme/recipe/multitenancy/tenant/v2')).json(), { status: 'TENANT_NOT_FOUND_ERROR' })
  t.equal((await get('/public/recipe/multitenancy/tenant/v2')).json().status, 'OK')
  // App-wide APIs refuse any tenant in the path, even an unknown one.
  refused(t, await get('/acme/user/id?userId=u'), 403, 'Only public tenantId can call this app specific API')
  refused(
    t,
    await get('/acme/recipe/session/user?userId=u'),
    403,
    'Only public tenantId can call this app specific API',
  )
  refused(
    t,
    await get('/acme/recipe/session/user?userId=u&fetchAcrossAllTenants=false'),
    400,
    TENANT_ACME_NOT_FOUND,
  )
  refused(
    t,
    await get('/appid-acme/user/id?userId=u'),
    400,
    'AppId or tenantId not found => Tenant with the following connectionURIDomain, appId and tenantId combination not found: (, acme, public)',
  )
  // "public", any case, is the public tenant; so is no tenant at all.
  t.equal((await get('/PUBLIC/user/id?userId=u')).json().status, 'UNKNOWN_USER_ID_ERROR')
  t.equal((await get('/appid-public/public/user/id?userId=u')).json().status, 'UNKNOWN_USER_ID_ERROR')
})

t.test('paths, methods and the cdi-version header', async (t) => {
  refused(t, await get('/recipe/not-a-thing'), 404, 'Not found')
  refused(t, await get('/acme'), 404, 'Not found')
  refused(t, await get('/public/recipe/signinup/code'), 405, 'Method not supported')
  refused(t, await post('/user/id', {}), 405, 'Method not supported')
  t.equal((await call('HEAD', '/apiversion')).status, 405)
  const hello = await get('/')
  t.equal(hello.status, 200)
  t.equal(hello.text, 'Hello\n')
  t.equal((await get('/hello')).text, 'Hello\n')

  refused(
    t,
    await call('GET', '/user/id?userId=u', undefined, { 'cdi-version': 'five' }),
    400,
    'cdi-version header is invalid',
  )
  refused(
    t,
    await call('GET', '/user/id?userId=u', undefined, { 'cdi-version': '5.5' }),
    400,
    'cdi-version 5.5 not supported',
  )
  refused(
    t,
    await call('GET', '/user/id?userId=u', undefined, { 'cdi-version': '1.0' }),
    400,
    'cdi-version 1.0 not supported',
  )
  refused(
    t,
    await call('GET', '/user/id?userId=u', undefined, { 'cdi-version': '5.4.0' }),
    400,
    'cdi-version 5.4.0 not supported',
  )
  // /apiversion answers any version the core knows of, and no header means the newest.
  t.equal((await call('GET', '/apiversion', undefined, { 'cdi-version': '1.0' })).status, 200)
  const noHeader = await fetch(`${core.url}/user/id?userId=u`)
  t.equal(noHeader.status, 200)
})

interface SessionTokens {
  handle: string
  accessToken: string
  refreshToken: string
}

async function newSession(userId: string): Promise<SessionTokens> {
  const res = await post('/public/recipe/session', {
    userId,
    userDataInJWT: {},
    userDataInDatabase: {},
    useDynamicSigningKey: true,
    enableAntiCsrf: false,
  })
  const body = res.json() as {
    session: { handle: string }
    accessToken: { token: string }
    refreshToken: { token: string }
  }
  return {
    handle: body.session.handle,
    accessToken: body.accessToken.token,
    refreshToken: body.refreshToken.token,
  }
}

t.test('create session: every field but useDynamicSigningKey is required', async (t) => {
  const path = '/public/recipe/session'
  const full = { userId: 'u', enableAntiCsrf: false, userDataInJWT: {}, userDataInDatabase: {} }
  refused(t, await post(path, {}), 400, invalid('userId'))
  refused(t, await post(path, { ...full, userId: 7 }), 400, invalid('userId'))
  refused(t, await post(path, { ...full, enableAntiCsrf: undefined }), 400, invalid('enableAntiCsrf'))
  refused(t, await post(path, { ...full, enableAntiCsrf: 'false' }), 400, invalid('enableAntiCsrf'))
  refused(t, await post(path, { ...full, enableAntiCsrf: null }), 400, invalid('enableAntiCsrf'))
  refused(t, await post(path, { ...full, userDataInJWT: [] }), 400, invalid('userDataInJWT'))
  refused(t, await post(path, { ...full, userDataInDatabase: null }), 400, invalid('userDataInDatabase'))
  refused(t, await post(path, { ...full, useDynamicSigningKey: 'yes' }), 400, invalid('useDynamicSigningKey'))
  refused(
    t,
    await post(path, { ...full, userDataInJWT: { sub: 'me' } }),
    400,
    'The user payload contains protected field',
  )
  refused(t, await post('/acme/recipe/session', full), 400, TENANT_ACME_NOT_FOUND)
  // Gson reads a number where a boolean belongs as false.
  const numeric = await post(path, { ...full, enableAntiCsrf: 1 })
  t.equal(numeric.status, 200)
  t.equal(numeric.json().antiCsrfToken, undefined)
})

t.test('verify session: garbage and forged access tokens', async (t) => {
  const path = '/recipe/session/verify'
  const flags = { doAntiCsrfCheck: false, enableAntiCsrf: false, checkDatabase: false }
  refused(t, await post(path, { accessToken: 'a.b.c' }), 400, invalid('doAntiCsrfCheck'))
  refused(
    t,
    await post(path, { accessToken: 'a.b.c', doAntiCsrfCheck: false, enableAntiCsrf: false }),
    400,
    invalid('checkDatabase'),
  )
  const retry = async (accessToken: string) => (await post(path, { accessToken, ...flags })).json()
  t.same(await retry('garbage'), {
    status: 'TRY_REFRESH_TOKEN',
    message: 'io.supertokens.session.jwt.JWT$JWTException: Invalid JWT',
  })
  t.same(await retry('a.b.c'), {
    status: 'TRY_REFRESH_TOKEN',
    message: 'io.supertokens.session.jwt.JWT$JWTException: Invalid JWT',
  })
  const header = (h: unknown) => Buffer.from(JSON.stringify(h)).toString('base64url')
  t.same(await retry(`${header({ alg: 'none', typ: 'JWT', kid: 'k' })}.e30.sig`), {
    status: 'TRY_REFRESH_TOKEN',
    message: 'io.supertokens.session.jwt.JWT$JWTException: JWT header mismatch - alg',
  })
  t.same(await retry(`${header({ alg: 'RS256', typ: 'JWT', version: '5' })}.e30.sig`), {
    status: 'TRY_REFRESH_TOKEN',
    message: 'io.supertokens.session.jwt.JWT$JWTException: JWT header missing - kid',
  })
  t.same(await retry(`${header({ alg: 'RS256', typ: 'JWT', version: '5', kid: 'd-unknown' })}.e30.sig`), {
    status: 'TRY_REFRESH_TOKEN',
    message: 'Key not found',
  })

  const session = await newSession('verify-user')
  const [h, p] = session.accessToken.split('.')
  t.same(await retry(`${h}.${p}.${Buffer.alloc(256, 1).toString('base64url')}`), {
    status: 'TRY_REFRESH_TOKEN',
    message: 'io.supertokens.session.jwt.JWT$JWTException: JWT verification failed',
  })
  // A signature outside the URL-safe alphabet fails the core's decoder, which nothing catches.
  refused(
    t,
    await post(path, { accessToken: `${h}.${p}.ab+c`, ...flags }),
    500,
    'java.lang.IllegalArgumentException: Illegal base64 character 2b',
  )
  t.equal((await retry(session.accessToken)).status, 'OK')
})

t.test('refresh session: garbage, forged and stale refresh tokens', async (t) => {
  const path = '/recipe/session/refresh'
  const flags = { enableAntiCsrf: false, useDynamicSigningKey: true }
  refused(
    t,
    await post(path, { refreshToken: 'x', enableAntiCsrf: false }),
    400,
    invalid('useDynamicSigningKey'),
  )
  refused(
    t,
    await post(path, { refreshToken: 'x', useDynamicSigningKey: true }),
    400,
    invalid('enableAntiCsrf'),
  )
  refused(t, await post(path, { ...flags }), 400, invalid('refreshToken'))
  const unauthorised = async (refreshToken: string) => {
    const res = await post(path, { refreshToken, ...flags })
    t.equal(res.status, 200)
    const body = res.json()
    t.equal(body.status, 'UNAUTHORISED')
    return body.message
  }
  const format = 'io.supertokens.session.refreshToken.RefreshToken$InvalidRefreshTokenFormatException'
  t.equal(await unauthorised('garbage'), `${format}: version of refresh token not recognised`)
  t.equal(await unauthorised('x.V2'), `${format}: Refresh token split with dot yielded an array of length: 2`)
  t.equal(
    await unauthorised('...'),
    `${format}: java.lang.ArrayIndexOutOfBoundsException: Index -1 out of bounds for length 0`,
  )
  t.equal(
    await unauthorised('a-b.nonce.V2'),
    'java.lang.IllegalArgumentException: Illegal base64 character 2d',
  )
  t.equal(await unauthorised('QUJD.nonce.v2'), 'java.nio.BufferUnderflowException')
  const forged = `${randomBytes(80).toString('base64')}.${'0'.repeat(64)}.V2`
  t.equal(await unauthorised(forged), 'javax.crypto.AEADBadTagException: Tag mismatch')

  const session = await newSession('refresh-user')
  const [sealed, , version] = session.refreshToken.split('.')
  t.equal(await unauthorised(`${sealed}.${'f'.repeat(64)}.${version}`), 'Invalid refresh token')
  t.same((await post('/recipe/session/remove', { sessionHandles: [session.handle] })).json(), {
    status: 'OK',
    sessionHandlesRevoked: [session.handle],
  })
  t.equal(await unauthorised(session.refreshToken), 'Session missing in db or has expired')
})

t.test('session handles: unknown, other tenants, malformed', async (t) => {
  refused(t, await get('/recipe/session'), 400, "Field name 'sessionHandle' is missing in GET request")
  t.same((await get('/recipe/session?sessionHandle=unknown')).json(), {
    status: 'UNAUTHORISED',
    message: 'Session does not exist.',
  })
  // A handle names its tenant after an underscore.
  refused(t, await get('/recipe/session?sessionHandle=unknown_acme'), 400, TENANT_ACME_NOT_FOUND)
  refused(
    t,
    await get('/recipe/session?sessionHandle=_'),
    500,
    'java.lang.ArrayIndexOutOfBoundsException: Index 1 out of bounds for length 0',
  )

  const remove = '/public/recipe/session/remove'
  const oneOf = 'Invalid JSON input - use one of userId or sessionHandles array'
  refused(t, await post(remove, {}), 400, oneOf)
  refused(t, await post(remove, { userId: 'u', sessionHandles: [] }), 400, oneOf)
  refused(t, await post(remove, { sessionHandles: 'h' }), 400, invalid('sessionHandles'))
  refused(t, await post(remove, { sessionHandles: [1] }), 400, invalid('sessionHandles'))
  refused(
    t,
    await post(remove, { sessionHandles: ['h'], revokeAcrossAllTenants: true }),
    400,
    'Invalid JSON input - revokeAcrossAllTenants can only be set if userId is set',
  )
  refused(
    t,
    await post(remove, { sessionHandles: ['h'], revokeSessionsForLinkedAccounts: false }),
    400,
    'Invalid JSON input - revokeSessionsForLinkedAccounts can only be set if userId is set',
  )
  t.same((await post(remove, { sessionHandles: ['unknown'] })).json(), {
    status: 'OK',
    sessionHandlesRevoked: [],
  })
  refused(t, await post(remove, { sessionHandles: ['unknown_acme'] }), 400, TENANT_ACME_NOT_FOUND)
  refused(
    t,
    await post('/acme/recipe/session/remove', { userId: 'u' }),
    403,
    'Only public tenantId can call this app specific API',
  )
  refused(
    t,
    await post('/acme/recipe/session/remove', { userId: 'u', revokeAcrossAllTenants: false }),
    400,
    TENANT_ACME_NOT_FOUND,
  )

  refused(
    t,
    await call('PUT', '/recipe/session/data', { sessionHandle: 'h' }),
    400,
    invalid('userDataInDatabase'),
  )
  t.same(
    (await call('PUT', '/recipe/session/data', { sessionHandle: 'unknown', userDataInDatabase: {} })).json(),
    {
      status: 'UNAUTHORISED',
      message: 'Session does not exist.',
    },
  )
  // Protected claims are refused before the session is looked up.
  refused(
    t,
    await call('PUT', '/recipe/jwt/data', { sessionHandle: 'unknown', userDataInJWT: { exp: 1 } }),
    400,
    'The user payload contains protected field',
  )
  refused(t, await get('/public/recipe/session/user'), 400, "Field name 'userId' is missing in GET request")
})

t.test('regenerate: a malformed token is a 500, an unknown session UNAUTHORISED', async (t) => {
  const path = '/recipe/session/regenerate'
  refused(t, await post(path, {}), 400, invalid('accessToken'))
  refused(t, await post(path, { accessToken: 'x', userDataInJWT: 'x' }), 400, invalid('userDataInJWT'))
  refused(
    t,
    await post(path, { accessToken: 'garbage' }),
    500,
    'io.supertokens.session.jwt.JWT$JWTException: Invalid JWT',
  )
  const session = await newSession('regenerate-user')
  const [h] = session.accessToken.split('.')
  // Not verified here (the SDK has), so an unsigned payload is read as it is.
  const unsigned = (claims: Record<string, unknown>) =>
    `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.x`
  t.same((await post(path, { accessToken: unsigned({ sub: 'u' }) })).json(), {
    status: 'UNAUTHORISED',
    message: 'Access token does not contain all the information. Maybe the structure has changed? exp',
  })
  const claims = {
    sub: 'u',
    rsub: 'u',
    exp: Math.floor(Date.now() / 1000) + 60,
    iat: Math.floor(Date.now() / 1000),
    sessionHandle: 'unknown',
    refreshTokenHash1: 'r',
    parentRefreshTokenHash1: null,
    antiCsrfToken: null,
    tId: 'public',
  }
  t.same((await post(path, { accessToken: unsigned(claims) })).json(), {
    status: 'UNAUTHORISED',
    message: 'Session does not exist.',
  })
  refused(
    t,
    await post(path, { accessToken: unsigned({ ...claims, tId: 'acme' }) }),
    400,
    TENANT_ACME_NOT_FOUND,
  )
  refused(
    t,
    await post(path, { accessToken: session.accessToken, userDataInJWT: { sessionHandle: 'x' } }),
    400,
    'The user payload contains protected field',
  )
})

t.test('users, account linking, email verification and metadata', async (t) => {
  refused(t, await get('/user/id'), 400, "Field name 'userId' is missing in GET request")
  refused(t, await post('/user/remove', {}), 400, invalid('userId'))
  refused(
    t,
    await post('/user/remove', { userId: 'u', removeAllLinkedAccounts: 'yes' }),
    400,
    invalid('removeAllLinkedAccounts'),
  )
  t.same((await post('/user/remove', { userId: 'unknown' })).json(), { status: 'OK' })

  const byAccount = '/public/users/by-accountinfo'
  refused(
    t,
    await get(`${byAccount}?email=a@example.com`),
    400,
    "Field name 'doUnionOfAccountInfo' is missing in GET request",
  )
  refused(
    t,
    await get(`${byAccount}?email=a@example.com&doUnionOfAccountInfo=yes`),
    400,
    "'doUnionOfAccountInfo' should be either 'true' or 'false'",
  )
  refused(
    t,
    await get(`${byAccount}?thirdPartyId=google&doUnionOfAccountInfo=false`),
    400,
    "If 'thirdPartyId' is provided, 'thirdPartyUserId' must also be provided, and vice versa",
  )

  refused(t, await call('PUT', '/recipe/user', {}), 400, invalid('recipeUserId'))
  refused(t, await call('PUT', '/recipe/user', { recipeUserId: 'u', email: 5 }), 400, invalid('email'))
  t.same((await call('PUT', '/recipe/user', { recipeUserId: 'unknown' })).json(), {
    status: 'UNKNOWN_USER_ID_ERROR',
  })
  const code = await newCode('clear-me@example.com')
  const user = (
    await post('/public/recipe/signinup/code/consume', {
      preAuthSessionId: code.preAuthSessionId,
      linkCode: code.linkCode,
    })
  ).json() as {
    recipeUserId: string
  }
  refused(
    t,
    await call('PUT', '/recipe/user', { recipeUserId: user.recipeUserId, email: null }),
    400,
    'You cannot clear both email and phone number of a user',
  )

  refused(
    t,
    await get('/recipe/accountlinking/user/primary/check'),
    400,
    "Field name 'recipeUserId' is missing in GET request",
  )
  refused(
    t,
    await get('/recipe/accountlinking/user/primary/check?recipeUserId=unknown'),
    400,
    'Unknown user ID provided',
  )
  refused(
    t,
    await post('/recipe/accountlinking/user/primary', { recipeUserId: 'unknown' }),
    400,
    'Unknown user ID provided',
  )

  refused(
    t,
    await get('/recipe/user/email/verify?userId=u'),
    400,
    "Field name 'email' is missing in GET request",
  )
  refused(t, await post('/public/recipe/user/email/verify', { method: 'token' }), 400, invalid('token'))
  refused(
    t,
    await post('/public/recipe/user/email/verify', { method: 'link', token: 't' }),
    400,
    'Unsupported method for email verification',
  )
  t.same((await post('/public/recipe/user/email/verify', { method: 'token', token: 'unknown' })).json(), {
    status: 'EMAIL_VERIFICATION_INVALID_TOKEN_ERROR',
  })

  refused(t, await get('/recipe/user/metadata'), 400, "Field name 'userId' is missing in GET request")
  refused(
    t,
    await call('PUT', '/recipe/user/metadata', { userId: 'u', metadataUpdate: null }),
    400,
    invalid('metadataUpdate'),
  )
})

t.test('what supertokens-node makes of the core refusing a deviceId', async (t) => {
  // Any non-200 from the core becomes a plain Error (not a SuperTokens error) whose
  // message is built in supertokens-node's querier.js; the core's text keeps its newline.
  await t.rejects(Passwordless.createNewCodeForDevice({ tenantId: 'public', deviceId: 'made-up' }), {
    message:
      "SuperTokens core threw an error for a POST request to path: '/public/recipe/signinup/code' with status code: 400 and message: Input encoding error in deviceId\n",
  })
  await t.rejects(
    Passwordless.consumeCode({
      tenantId: 'public',
      preAuthSessionId: 'p',
      deviceId: 'made-up',
      userInputCode: '1',
    }),
    {
      message:
        "SuperTokens core threw an error for a POST request to path: '/public/recipe/signinup/code/consume' with status code: 400 and message: Input encoding error in deviceId\n",
    },
  )
  await t.rejects(Passwordless.consumeCode({ tenantId: 'public', preAuthSessionId: 'p', linkCode: 'a+b/' }), {
    message:
      "SuperTokens core threw an error for a POST request to path: '/public/recipe/signinup/code/consume' with status code: 400 and message: Input encoding error in linkCode\n",
  })
  await t.rejects(Passwordless.listCodesByDeviceId({ tenantId: 'public', deviceId: 'made-up' }), {
    message:
      "SuperTokens core threw an error for a GET request to path: '/public/recipe/signinup/codes' with status code: 400 and message: Input encoding error in deviceId\n",
  })
  const error = await Passwordless.createNewCodeForDevice({ tenantId: 'public', deviceId: 'made-up' }).catch(
    (e) => e,
  )
  t.equal(error.constructor, Error, 'a plain Error')
  // A well-formed unknown device is an ordinary answer.
  t.same(await Passwordless.createNewCodeForDevice({ tenantId: 'public', deviceId: wellFormedDeviceId() }), {
    status: 'RESTART_FLOW_ERROR',
  })
})

t.test("the SDK's own routes pass malformed ids to the core, which refuses them", async (t) => {
  const headers = { rid: 'passwordless', 'st-auth-mode': 'header' }
  // The resend route looks the device up first (GET .../signinup/codes?deviceId=...);
  // the core's 400 escapes the SDK as an unhandled Error, so the app must deal with it.
  const resend = await api.inject({
    method: 'POST',
    url: '/auth/signinup/code/resend',
    headers,
    payload: { deviceId: 'made-up', preAuthSessionId: 'made-up' },
  })
  t.equal(resend.statusCode, 500)
  t.match(resend.json().message, /status code: 400 and message: Input encoding error in deviceId/)
  // Consume looks the preAuthSessionId up first, so only a live one lets a malformed
  // link code through to the core's check.
  const unknownSession = await api.inject({
    method: 'POST',
    url: '/auth/signinup/code/consume',
    headers,
    payload: { preAuthSessionId: 'made-up', linkCode: 'a+b/' },
  })
  t.same(unknownSession.json(), { status: 'RESTART_FLOW_ERROR' })
  const code = await newCode('sdk-consume@example.com')
  const consume = await api.inject({
    method: 'POST',
    url: '/auth/signinup/code/consume',
    headers,
    payload: { preAuthSessionId: code.preAuthSessionId, linkCode: 'a+b/' },
  })
  t.equal(consume.statusCode, 500)
  t.match(consume.json().message, /status code: 400 and message: Input encoding error in linkCode/)
  // With well-formed ids the flow restarts, as it should.
  const wellFormed = await api.inject({
    method: 'POST',
    url: '/auth/signinup/code/resend',
    headers,
    payload: { deviceId: wellFormedDeviceId(), preAuthSessionId: 'made-up' },
  })
  t.equal(wellFormed.statusCode, 200)
  t.same(wellFormed.json(), { status: 'RESTART_FLOW_ERROR' })
  // The SDK serves /auth/<tenantId>/... and asks the core about that tenant.
  const otherTenant = await api.inject({
    method: 'POST',
    url: '/auth/acme/signinup/code',
    headers,
    payload: { email: 'tenant@example.com' },
  })
  t.equal(otherTenant.statusCode, 500)
  t.match(otherTenant.json().message, `with status code: 400 and message: ${TENANT_ACME_NOT_FOUND}`)
})
