import t from 'tap'
import { apiAs, screenshot, screenshotAtEnd, signIn, startStack } from './stack.ts'

// Production sends the session in cookies (README "Dashboard"); the API also takes it in headers,
// which a build with VITE_SESSION_MODE=header uses. This file runs that build against the API on
// its other origin, and ends with the API stopped.
const stack = await startStack(t, { mode: 'header' })

t.test('header mode: signed in across a reload, no session cookie, sign out', { skip: !stack }, async (t) => {
  if (!stack) return
  const { page } = await stack.newPage()
  screenshotAtEnd(t, page, 'header-mode')
  const bearer: string[] = []
  page.on('request', (request) => {
    if (
      request.url().startsWith(`${stack.apiUrl}/v1/`) &&
      request.headers().authorization?.startsWith('Bearer ')
    )
      bearer.push(request.url())
  })
  await signIn(stack, page, 'header@example.com', { from: '/account' })
  await page.getByText('Signed in as header@example.com').waitFor()
  await page.reload()
  await page.getByText('Signed in as header@example.com').waitFor()
  t.pass('still signed in after a reload')
  t.ok(bearer.length > 0, 'calls to the API carry the access token in Authorization')
  const cookies = await page.context().cookies(stack.apiUrl)
  t.notOk(
    cookies.some((cookie) => cookie.name === 'sAccessToken' || cookie.name === 'sRefreshToken'),
    'the API set no session cookie',
  )
  await page.getByRole('button', { name: 'Sign out', exact: true }).click()
  await page.waitForURL(/\/signin\?signedOut=1/)
  await page.goto('/account')
  await page.waitForURL(/\/signin/)
  t.pass('signed out')
})

t.test(
  'a test’s own setup signs in through the magic link and calls the typed client',
  { skip: !stack },
  async (t) => {
    if (!stack) return
    const client = await apiAs(stack, 'setup@example.com')
    const me = await client.GET('/v1/me')
    t.equal(me.data?.email, 'setup@example.com', 'signed in as the email asked for')
    const teams = await client.GET('/v1/teams')
    t.equal(teams.data?.items[0]?.role, 'owner', 'with the personal team made at first sign-in')
  },
)

t.test('the API down: a message and a retry, never a blank page', { skip: !stack }, async (t) => {
  if (!stack) return
  const { page } = await stack.newPage({ width: 360, height: 740 })
  screenshotAtEnd(t, page, 'api-down')
  await signIn(stack, page, 'down@example.com')
  // Stopped as a crash would: no answer at all (the browser's kept-alive connections are cut too).
  const stopping = stack.app.close()
  stack.app.server.closeAllConnections()
  const started = Date.now()
  await stopping
  t.comment(`API stopped in ${Date.now() - started} ms`)
  await page.goto('/account')
  await page.getByRole('heading', { name: 'nudge is not answering' }).waitFor()
  t.match(await page.getByRole('alert').textContent(), /cannot be reached/, 'says the API cannot be reached')
  const retry = page.getByRole('button', { name: 'Try again' })
  t.ok(await retry.isVisible(), 'offers to try again')
  await retry.click()
  await page.getByRole('heading', { name: 'nudge is not answering' }).waitFor()
  t.pass('trying again while it is down says so again')
  await screenshot(page, 'api-down-360')
})
