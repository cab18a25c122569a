import supertokens from 'supertokens-node'
import Passwordless from 'supertokens-node/recipe/passwordless'
import Session from 'supertokens-node/recipe/session'
import t from 'tap'
import { decodeJwt, linkFrom, startHarness } from './sdk.ts'

const harness = await startHarness()
t.teardown(() => harness.close())
const { api, emails, core } = harness

async function signUp(email: string) {
  const result = await Passwordless.signInUp({ tenantId: 'public', email })
  if (result.status !== 'OK') throw new Error(`signInUp: ${result.status}`)
  return result.user.id
}

async function magicLinkSignIn(email: string) {
  const before = emails.length
  await api.inject({
    method: 'POST',
    url: '/auth/signinup/code',
    headers: { rid: 'passwordless', 'st-auth-mode': 'header' },
    payload: { email },
  })
  const res = await api.inject({
    method: 'POST',
    url: '/auth/signinup/code/consume',
    headers: { rid: 'passwordless', 'st-auth-mode': 'header' },
    payload: linkFrom(emails[before]),
  })
  return { body: res.json(), accessToken: res.headers['st-access-token'] as string }
}

async function coreCall(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) {
  const res = await fetch(`${core.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', 'cdi-version': '5.4' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: res.status, text: await res.text() }
}

t.test('a mapped user is its external id everywhere the SDK looks', async (t) => {
  const before = emails.length
  const superTokensUserId = await signUp('Mapped@Example.com')
  t.equal(emails.length, before, 'signInUp sends no email')
  const created = await supertokens.createUserIdMapping({
    superTokensUserId,
    externalUserId: 'nudge-user-1',
    externalUserIdInfo: 'auth0|abc',
  })
  t.same(created, { status: 'OK' })

  for (const userIdType of ['SUPERTOKENS', 'EXTERNAL', 'ANY'] as const) {
    const id = userIdType === 'EXTERNAL' ? 'nudge-user-1' : superTokensUserId
    t.same(await supertokens.getUserIdMapping({ userId: id, userIdType }), {
      status: 'OK',
      superTokensUserId,
      externalUserId: 'nudge-user-1',
      externalUserIdInfo: 'auth0|abc',
    })
  }
  t.same(await supertokens.getUserIdMapping({ userId: 'nudge-user-1', userIdType: 'SUPERTOKENS' }), {
    status: 'UNKNOWN_MAPPING_ERROR',
  })

  const byExternal = await supertokens.getUser('nudge-user-1')
  t.equal(byExternal?.id, 'nudge-user-1', 'the user shows its external id')
  t.equal(byExternal?.loginMethods[0]?.recipeUserId.getAsString(), 'nudge-user-1')
  t.equal(byExternal?.loginMethods[0]?.verified, true, 'the verification moved with the id')
  t.equal((await supertokens.getUser(superTokensUserId))?.id, 'nudge-user-1', 'either id finds it')
  const listed = await supertokens.listUsersByAccountInfo('public', { email: 'mapped@example.com' })
  t.same(
    listed.map((u) => u.id),
    ['nudge-user-1'],
  )

  const signIn = await magicLinkSignIn('mapped@example.com')
  t.equal(signIn.body.status, 'OK')
  t.equal(signIn.body.user.id, 'nudge-user-1', 'consume reports the external id')
  t.equal(signIn.body.createdNewRecipeUser, false)
  const { payload } = decodeJwt(signIn.accessToken)
  t.equal(payload.sub, 'nudge-user-1', 'the access token names the external id')
  t.equal(payload.rsub, 'nudge-user-1')
  const sessions = await Session.getAllSessionHandlesForUser('nudge-user-1')
  t.equal(sessions.length, 1, 'sessions are listed by the external id')
  const info = await Session.getSessionInformation(sessions[0] as string)
  t.equal(info?.userId, 'nudge-user-1')
})

t.test('mapping refusals, with the core statuses and messages', async (t) => {
  const a = await signUp('a@example.com')
  const b = await signUp('b@example.com')
  t.same(await supertokens.createUserIdMapping({ superTokensUserId: a, externalUserId: 'ext-a' }), {
    status: 'OK',
  })
  t.same(
    await supertokens.createUserIdMapping({ superTokensUserId: b, externalUserId: 'ext-a' }),
    {
      status: 'USER_ID_MAPPING_ALREADY_EXISTS_ERROR',
      doesSuperTokensUserIdExist: false,
      doesExternalUserIdExist: true,
    },
    'the external id is taken',
  )
  t.same(
    await supertokens.createUserIdMapping({ superTokensUserId: a, externalUserId: 'ext-a' }),
    {
      status: 'USER_ID_MAPPING_ALREADY_EXISTS_ERROR',
      doesSuperTokensUserIdExist: true,
      doesExternalUserIdExist: true,
    },
    'the same mapping twice',
  )
  t.same(
    await supertokens.createUserIdMapping({ superTokensUserId: a, externalUserId: 'ext-a2' }),
    {
      status: 'USER_ID_MAPPING_ALREADY_EXISTS_ERROR',
      doesSuperTokensUserIdExist: true,
      doesExternalUserIdExist: false,
    },
    'a user maps once',
  )
  t.same(
    await supertokens.createUserIdMapping({ superTokensUserId: 'no-such-user', externalUserId: 'ext-x' }),
    { status: 'UNKNOWN_SUPERTOKENS_USER_ID_ERROR' },
  )
  await t.rejects(
    supertokens.createUserIdMapping({ superTokensUserId: b, externalUserId: a }),
    /status code: 400 and message: Cannot create a userId mapping where the externalId is also a SuperTokens userID/,
  )
  await coreCall('PUT', '/recipe/user/metadata', { userId: b, metadataUpdate: { plan: 'pro' } })
  await t.rejects(
    supertokens.createUserIdMapping({ superTokensUserId: b, externalUserId: 'ext-b' }),
    /status code: 400 and message: UserId is already in use in UserMetadata recipe/,
    'data of another recipe under the SuperTokens id blocks the mapping',
  )
  t.same(
    await supertokens.createUserIdMapping({ superTokensUserId: b, externalUserId: 'ext-b', force: true }),
    { status: 'OK' },
    'unless forced',
  )
  const empty = await coreCall('POST', '/recipe/userid/map', { superTokensUserId: ' ', externalUserId: 'x' })
  t.same(empty, { status: 400, text: "Field name 'superTokensUserId' cannot be an empty String\n" })
  const badType = await coreCall('GET', '/recipe/userid/map?userId=x&userIdType=OTHER')
  t.same(badType, {
    status: 400,
    text: "Field name 'userIdType' should be one of 'SUPERTOKENS', 'EXTERNAL' or 'ANY'\n",
  })
  const tenantPath = await coreCall('GET', '/public2/recipe/userid/map?userId=x')
  t.equal(tenantPath.status, 403, 'an app-wide API refuses a tenant path')
  const malformed: Array<[string, unknown, string]> = [
    ['/recipe/userid/map', [], 'Invalid Json Input'],
    ['/recipe/userid/map', { superTokensUserId: a }, "Field name 'externalUserId' is invalid in JSON input"],
    [
      '/recipe/userid/map',
      { superTokensUserId: a, externalUserId: 7 },
      "Field name 'externalUserId' is invalid in JSON input",
    ],
    [
      '/recipe/userid/map',
      { superTokensUserId: a, externalUserId: 'x', externalUserIdInfo: ' ' },
      "Field name 'externalUserIdInfo' cannot be an empty String",
    ],
    [
      '/recipe/userid/map',
      { superTokensUserId: a, externalUserId: 'x', force: 'yes' },
      "Field name 'force' is invalid in JSON input",
    ],
    ['/recipe/userid/map/remove', {}, "Field name 'userId' is invalid in JSON input"],
    [
      '/recipe/userid/map/remove',
      { userId: 'x', userIdType: 'other' },
      "Field name 'userIdType' should be one of 'SUPERTOKENS', 'EXTERNAL' or 'ANY'",
    ],
  ]
  for (const [path, body, message] of malformed) {
    t.same(
      await coreCall('POST', path, body),
      { status: 400, text: `${message}\n` },
      `${path} ${JSON.stringify(body)}`,
    )
  }
  t.same(await coreCall('GET', '/recipe/userid/map'), {
    status: 400,
    text: "Field name 'userId' is missing in GET request\n",
  })
  t.same(
    await supertokens.getUserIdMapping({ userId: 'ext-a' }),
    { status: 'OK', superTokensUserId: a, externalUserId: 'ext-a' },
    'a refused call changed nothing',
  )
})

t.test('removing a mapping and deleting a mapped user', async (t) => {
  const c = await signUp('c@example.com')
  await supertokens.createUserIdMapping({ superTokensUserId: c, externalUserId: 'ext-c' })
  await t.rejects(
    supertokens.deleteUserIdMapping({ userId: 'ext-c' }),
    /UserId is already in use in EmailVerification recipe/,
    'the verification under the external id would be orphaned',
  )
  t.same(await supertokens.deleteUserIdMapping({ userId: 'ext-c', force: true }), {
    status: 'OK',
    didMappingExist: true,
  })
  t.equal((await supertokens.getUser(c))?.id, c, 'the user is its own id again')
  t.same(await supertokens.deleteUserIdMapping({ userId: 'ext-c' }), { status: 'OK', didMappingExist: false })

  const d = await signUp('d@example.com')
  await supertokens.createUserIdMapping({ superTokensUserId: d, externalUserId: 'ext-d' })
  const signIn = await magicLinkSignIn('d@example.com')
  t.equal(signIn.body.user.id, 'ext-d')
  await supertokens.deleteUser('ext-d')
  t.equal(await supertokens.getUser('ext-d'), undefined)
  t.equal(await supertokens.getUser(d), undefined)
  t.same(
    await supertokens.getUserIdMapping({ userId: d }),
    { status: 'UNKNOWN_MAPPING_ERROR' },
    'the mapping went too',
  )
  t.same(await Session.getAllSessionHandlesForUser('ext-d'), [], 'and the sessions')
  const again = await signUp('d@example.com')
  t.not(again, 'ext-d', 'the email signs up as a new, unmapped user')
  t.same(
    await supertokens.createUserIdMapping({ superTokensUserId: again, externalUserId: 'ext-d' }),
    {
      status: 'OK',
    },
    'and the external id is free again',
  )
})
