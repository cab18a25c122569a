import t from 'tap'
import { screenshot, screenshotAtEnd, signIn, startStack } from './stack.ts'

const stack = await startStack(t)

t.test(
  'sign in through the magic link, stay signed in across a reload, sign out',
  { skip: !stack },
  async (t) => {
    if (!stack) return
    const { page } = await stack.newPage()
    screenshotAtEnd(t, page, 'sign-in-signed-out')
    const email = 'ann@example.com'

    // A signed-out visit to a page goes to sign-in and comes back after.
    await page.goto('/account')
    await page.waitForURL(/\/signin\?next=(%2F|\/)account/)
    t.ok(await page.getByRole('heading', { name: 'Sign in' }).isVisible(), 'the sign-in page is shown')
    t.equal(
      await page.evaluate(() => document.activeElement?.getAttribute('name')),
      'email',
      'the email field has focus',
    )

    await page.getByLabel('Email address').fill(email)
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click()
    await page.getByRole('heading', { name: 'Check your inbox' }).waitFor()
    t.match(await page.getByRole('status').first().textContent(), email, 'it says where the link went')
    const hint = page.getByRole('link', { name: 'dev mailbox' })
    t.match(
      await hint.getAttribute('href'),
      `${stack.apiUrl}/dev/mailbox?to=ann%40example.com`,
      'development points at the dev mailbox',
    )
    await screenshot(page, 'sign-in-check-inbox')

    const link = await stack.linkFromMailbox(email, '/auth/verify')
    t.match(link, `${stack.dashboardUrl}/auth/verify?`, 'the emailed link opens the dashboard')
    await page.goto(link)
    await page.waitForURL('**/account')
    await page.getByRole('heading', { name: 'Your account', exact: true }).waitFor()
    t.match(
      await page.locator('main').textContent(),
      'Signed in as ann@example.com',
      'back where they were, signed in',
    )
    await screenshot(page, 'sign-in-account')

    // The session survives a reload (the SDK keeps it; in cookie mode the tokens are HttpOnly cookies).
    await page.reload()
    await page.getByRole('heading', { name: 'Your account', exact: true }).waitFor()
    t.ok(
      await page.getByRole('button', { name: 'Sign out', exact: true }).isVisible(),
      'still signed in after a reload',
    )
    if (stack.mode === 'cookie') {
      const cookies = await page.context().cookies(stack.apiUrl)
      const access = cookies.find((cookie) => cookie.name === 'sAccessToken')
      t.ok(access?.httpOnly, 'the access token is an HttpOnly cookie of the API, out of reach of scripts')
      t.equal(
        await page.evaluate(() => document.cookie.includes('sAccessToken')),
        false,
        'not readable by the page',
      )
    }

    // The same link twice: said plainly, with a way to a new one.
    await page.goto(link)
    await page.getByRole('heading', { name: 'This link no longer works' }).waitFor()
    t.ok(
      await page.getByRole('link', { name: 'Get a new sign-in link' }).isVisible(),
      'a used link offers a new one',
    )
    await screenshot(page, 'sign-in-used-link')

    // Home is the current team's campaigns (the personal team made at first sign-in).
    await page.goto('/')
    await page.waitForURL(/\/t\/[0-9a-f-]+\/campaigns$/)
    await page.getByRole('heading', { name: 'Campaigns' }).waitFor()

    await page.getByRole('button', { name: 'Sign out', exact: true }).click()
    await page.waitForURL(/\/signin\?signedOut=1/)
    t.ok(await page.getByText('You are signed out.').isVisible(), 'signing out says so')
    await page.goto('/account')
    await page.waitForURL(/\/signin/)
    t.pass('after signing out, pages ask to sign in again')
  },
)

t.test('at 360 px wide the signed-in frame folds into a menu', { skip: !stack }, async (t) => {
  if (!stack) return
  const { page } = await stack.newPage({ width: 360, height: 740 })
  screenshotAtEnd(t, page, 'sign-in-360-members')
  await signIn(stack, page, 'narrow@example.com')
  const menu = page.getByRole('button', { name: 'Menu' })
  t.ok(await menu.isVisible(), 'a menu button')
  t.equal(await page.getByRole('link', { name: 'Members' }).isVisible(), false, 'the areas are folded away')
  await menu.click()
  t.equal(await menu.getAttribute('aria-expanded'), 'true', 'the button says the menu is open')
  await page.getByRole('link', { name: 'Members' }).click()
  await page.getByRole('heading', { name: /Members of/ }).waitFor()
  const width = await page.evaluate(() => document.documentElement.scrollWidth)
  t.ok(width <= 360, `nothing wider than the screen (${width} px)`)
})

t.test('a session that ends mid-visit: sign in again, and back to the page', { skip: !stack }, async (t) => {
  if (!stack) return
  const { page, context } = await stack.newPage()
  screenshotAtEnd(t, page, 'sign-in-expired')
  await signIn(stack, page, 'expired@example.com')
  await page.waitForLoadState('networkidle') // the landing page's own calls are done
  // The API's session cookies go (revoked, expired, cleared): the SDK's refresh fails too.
  const apiHost = new URL(stack.apiUrl).hostname
  await context.clearCookies({ domain: apiHost })
  await page.getByRole('link', { name: 'Members' }).click()
  await page.waitForURL(/\/signin\?.*expired=1/)
  t.ok(
    await page.getByText('Your session has ended. Sign in again to carry on where you were.').isVisible(),
    'says the session ended',
  )
  const next = new URL(page.url()).searchParams.get('next')
  t.match(next, /^\/t\/[0-9a-f-]+\/members$/, 'remembers the page')
  await signIn(stack, page, 'expired@example.com')
  await page.getByRole('heading', { name: /Members of/ }).waitFor()
  t.match(page.url(), /\/t\/[0-9a-f-]+\/members$/, 'back on the page after signing in')
})

t.test(
  'sign out on every device: another browser signed in as me is signed out too',
  { skip: !stack },
  async (t) => {
    if (!stack) return
    const email = 'everywhere@example.com'
    const laptop = await stack.newPage()
    const phone = await stack.newPage()
    screenshotAtEnd(t, laptop.page, 'sign-in-everywhere')
    await signIn(stack, laptop.page, email)
    await signIn(stack, phone.page, email)
    await phone.page.waitForLoadState('networkidle')

    await laptop.page.goto('/account')
    await laptop.page.getByRole('button', { name: 'Sign out on every device…' }).click()
    const dialog = laptop.page.getByRole('dialog', { name: 'Sign out on every device?' })
    await dialog.waitFor()
    await screenshot(laptop.page, 'sign-in-everywhere-confirm')
    await dialog.getByRole('button', { name: 'Sign out everywhere' }).click()
    await laptop.page.waitForURL(/\/signin\?signedOut=everywhere/)
    t.ok(await laptop.page.getByText('You are signed out on every device.').isVisible(), 'says so')

    await phone.page.reload()
    await phone.page.waitForURL(/\/signin/)
    t.pass('the other browser, on its next page, is asked to sign in')
    await laptop.page.goto('/account')
    await laptop.page.waitForURL(/\/signin/)
    t.pass('and so is this one')
  },
)
