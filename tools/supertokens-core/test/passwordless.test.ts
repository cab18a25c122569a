import supertokens from 'supertokens-node'
import Passwordless from 'supertokens-node/recipe/passwordless'
import t from 'tap'
import { linkFrom, startHarness } from './sdk.ts'

const harness = await startHarness()
t.teardown(() => harness.close())
const { api, emails } = harness

async function startSignIn(email: string) {
  const before = emails.length
  const res = await api.inject({
    method: 'POST',
    url: '/auth/signinup/code',
    headers: { rid: 'passwordless', 'st-auth-mode': 'header' },
    payload: { email },
  })
  const body = res.json()
  return { res, body, sent: emails.slice(before) }
}

async function consumeLink(link: { preAuthSessionId: string; linkCode: string }) {
  const res = await api.inject({
    method: 'POST',
    url: '/auth/signinup/code/consume',
    headers: { rid: 'passwordless', 'st-auth-mode': 'header' },
    payload: link,
  })
  return { res, body: res.json() }
}

t.test('magic link signs a new user up once, and only once', async (t) => {
  const started = await startSignIn('Ada@Example.com')
  t.equal(started.res.statusCode, 200)
  t.equal(started.body.status, 'OK')
  t.equal(started.sent.length, 1, 'one email goes out')
  const link = linkFrom(started.sent[0])
  t.equal(link.preAuthSessionId, started.body.preAuthSessionId)

  const first = await consumeLink(link)
  t.equal(first.body.status, 'OK')
  t.equal(first.body.createdNewRecipeUser, true, 'the first consume creates the user')
  t.same(first.body.user.emails, ['ada@example.com'])
  t.equal(first.body.user.loginMethods[0].recipeId, 'passwordless')
  t.equal(first.body.user.loginMethods[0].verified, true)
  t.type(first.res.headers['st-access-token'], 'string', 'a session was created')
  t.type(first.res.headers['st-refresh-token'], 'string')

  const again = await consumeLink(link)
  t.equal(again.body.status, 'RESTART_FLOW_ERROR', 'a used link never signs in again')
  t.equal(again.res.headers['st-access-token'], undefined)

  const user = await supertokens.getUser(first.body.user.id)
  t.equal(user?.loginMethods[0]?.email, 'ada@example.com')
  const byEmail = await supertokens.listUsersByAccountInfo('public', { email: 'ADA@example.com' })
  t.same(
    byEmail.map((u) => u.id),
    [first.body.user.id],
    'email lookup is case-insensitive',
  )

  const second = await startSignIn('ada@example.com')
  const signIn = await consumeLink(linkFrom(second.sent[0]))
  t.equal(signIn.body.status, 'OK')
  t.equal(signIn.body.createdNewRecipeUser, false, 'second sign-in finds the user')
  t.equal(signIn.body.user.id, first.body.user.id)
})

t.test('consuming one code ends every pending sign-in of that email', async (t) => {
  const a = await startSignIn('grace@example.com')
  const b = await startSignIn('grace@example.com')
  const ok = await consumeLink(linkFrom(b.sent[0]))
  t.equal(ok.body.status, 'OK')
  const stale = await consumeLink(linkFrom(a.sent[0]))
  t.equal(stale.body.status, 'RESTART_FLOW_ERROR')
})

t.test('wrong input codes count attempts until the flow must restart', async (t) => {
  const code = await Passwordless.createCode({ tenantId: 'public', email: 'linus@example.com' })
  t.equal(code.status, 'OK')
  const wrong = code.userInputCode === '000000' ? '111111' : '000000'
  for (let attempt = 1; attempt <= 4; attempt++) {
    const res = await Passwordless.consumeCode({
      tenantId: 'public',
      preAuthSessionId: code.preAuthSessionId,
      deviceId: code.deviceId,
      userInputCode: wrong,
    })
    t.match(res, {
      status: 'INCORRECT_USER_INPUT_CODE_ERROR',
      failedCodeInputAttemptCount: attempt,
      maximumCodeInputAttempts: 5,
    })
  }
  const devices = await Passwordless.listCodesByEmail({ tenantId: 'public', email: 'linus@example.com' })
  t.equal(devices[0]?.failedCodeInputAttemptCount, 4)

  const fifth = await Passwordless.consumeCode({
    tenantId: 'public',
    preAuthSessionId: code.preAuthSessionId,
    deviceId: code.deviceId,
    userInputCode: wrong,
  })
  t.equal(fifth.status, 'RESTART_FLOW_ERROR', 'the last allowed failure ends the flow')

  const right = await Passwordless.consumeCode({
    tenantId: 'public',
    preAuthSessionId: code.preAuthSessionId,
    deviceId: code.deviceId,
    userInputCode: code.userInputCode,
  })
  t.equal(right.status, 'RESTART_FLOW_ERROR', 'even the right code is refused now')
  const link = await Passwordless.consumeCode({
    tenantId: 'public',
    preAuthSessionId: code.preAuthSessionId,
    linkCode: code.linkCode,
  })
  t.equal(link.status, 'RESTART_FLOW_ERROR', 'and so is the magic link')
  t.same(await Passwordless.listCodesByEmail({ tenantId: 'public', email: 'linus@example.com' }), [])
})

t.test('the right input code signs in', async (t) => {
  const code = await Passwordless.createCode({ tenantId: 'public', email: 'margaret@example.com' })
  if (code.status !== 'OK') throw new Error('createCode failed')
  const res = await Passwordless.consumeCode({
    tenantId: 'public',
    preAuthSessionId: code.preAuthSessionId,
    deviceId: code.deviceId,
    userInputCode: code.userInputCode,
  })
  t.equal(res.status, 'OK')
  if (res.status === 'OK') {
    t.equal(res.createdNewRecipeUser, true)
    t.equal(res.user.emails[0], 'margaret@example.com')
    t.equal(res.recipeUserId.getAsString(), res.user.id)
  }
})

t.test('revoked codes cannot be consumed', async (t) => {
  const one = await Passwordless.createCode({ tenantId: 'public', email: 'barbara@example.com' })
  const two = await Passwordless.createCode({ tenantId: 'public', email: 'barbara@example.com' })
  if (one.status !== 'OK' || two.status !== 'OK') throw new Error('createCode failed')
  const listed = await Passwordless.listCodesByEmail({ tenantId: 'public', email: 'Barbara@example.com' })
  t.equal(listed.length, 2)
  t.equal(listed[0]?.codes[0]?.codeLifetime, 15 * 60 * 1000)

  await Passwordless.revokeCode({ tenantId: 'public', codeId: one.codeId })
  const gone = await Passwordless.consumeCode({
    tenantId: 'public',
    preAuthSessionId: one.preAuthSessionId,
    linkCode: one.linkCode,
  })
  t.equal(gone.status, 'RESTART_FLOW_ERROR')

  await Passwordless.revokeAllCodes({ tenantId: 'public', email: 'barbara@example.com' })
  t.same(await Passwordless.listCodesByEmail({ tenantId: 'public', email: 'barbara@example.com' }), [])
  const alsoGone = await Passwordless.consumeCode({
    tenantId: 'public',
    preAuthSessionId: two.preAuthSessionId,
    linkCode: two.linkCode,
  })
  t.equal(alsoGone.status, 'RESTART_FLOW_ERROR')
})

t.test("changing a user's email keeps the id and needs re-verification", async (t) => {
  const code = await Passwordless.createCode({ tenantId: 'public', email: 'old@example.com' })
  if (code.status !== 'OK') throw new Error('createCode failed')
  const signedUp = await Passwordless.consumeCode({
    tenantId: 'public',
    preAuthSessionId: code.preAuthSessionId,
    linkCode: code.linkCode,
  })
  if (signedUp.status !== 'OK') throw new Error('consumeCode failed')
  const taken = await Passwordless.updateUser({
    recipeUserId: signedUp.recipeUserId,
    email: 'ada@example.com',
  })
  t.equal(taken.status, 'EMAIL_ALREADY_EXISTS_ERROR', 'another user has that address')

  const res = await Passwordless.updateUser({ recipeUserId: signedUp.recipeUserId, email: 'New@Example.com' })
  t.equal(res.status, 'OK')
  const user = await supertokens.getUser(signedUp.user.id)
  t.same(user?.emails, ['new@example.com'])
  t.equal(user?.loginMethods[0]?.verified, false)
})
