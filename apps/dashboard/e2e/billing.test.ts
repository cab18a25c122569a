// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright's innerText() is what a person sees (CSS applied), not the DOM property
import t from 'tap'
import { screenshot, screenshotAtEnd, signIn, startStack } from './stack.ts'

// Webhook URLs on loopback: the integrations this journey connects need no receiver (nothing is sent).
const stack = await startStack(t, { env: { OUTBOUND_ALLOW_LOOPBACK: 'true' } })

t.test(
  "at the plan's limit the app offers the upgrade; paying in the Stripe stand-in's Checkout shows the new plan",
  { skip: !stack },
  async (t) => {
    if (!stack) return
    const { page } = await stack.newPage()
    screenshotAtEnd(t, page, 'billing-journey-end')
    await signIn(stack, page, 'olga@example.com')
    await page.waitForURL(/\/t\/[0-9a-f-]{36}\//)
    const teamId = /\/t\/([0-9a-f-]{36})\//.exec(page.url())?.[1]
    if (!teamId) throw new Error(`no team in ${page.url()}`)

    // A new team tries Business for 14 days, without a card.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Billing' }).click()
    await page.getByRole('heading', { name: 'Billing', level: 1 }).waitFor()
    t.equal(await page.getByTestId('plan-name').innerText(), 'Business')
    t.match(await page.getByTestId('plan-status').innerText(), /Free trial of Business: 14 days left/)
    await screenshot(page, 'billing-trial')

    // The trial ended (as 14 days would): the team is on Free, one integration allowed.
    await stack.app.db
      .updateTable('teams')
      .set({ trial_ends_at: new Date(Date.now() - 1000) })
      .where('id', '=', teamId)
      .execute()
    await page.reload()
    await page.getByTestId('plan-name').getByText('Free').waitFor()
    t.match(await page.getByTestId('plan-status').innerText(), /Free plan/)
    t.match(await page.getByTestId('usage-integrations').innerText(), /Integrations\s+0 of 1/)
    t.match(await page.getByTestId('usage-sites').innerText(), /Sites\s+0 of 1/)
    t.match(await page.getByTestId('usage-impressions').innerText(), /Impressions this period\s+0 of 5,000/)
    t.ok(await page.getByRole('button', { name: 'Upgrade to Pro' }).isVisible(), 'the paid plans are offered')

    // The first integration fits the plan; the second is refused with a 402, and the app offers the upgrade.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Integrations' }).click()
    const connect = async (name: string) => {
      await page.getByLabel('Name', { exact: true }).fill(name)
      await page.getByLabel('URL', { exact: true }).fill(`http://127.0.0.1:9/${name.toLowerCase()}`)
      await page.getByRole('button', { name: 'Connect' }).click()
    }
    await connect('First')
    await page.getByRole('region', { name: 'Signing secret of “First”' }).waitFor()
    await page.getByRole('button', { name: 'I have saved it' }).click()
    await connect('Second')
    const dialog = page.getByRole('dialog', { name: "Your plan's limit is reached" })
    await dialog.waitFor()
    const offer = await dialog.innerText()
    t.match(offer, 'The Free plan allows 1 integration and the team has 1; upgrade to add more')
    t.match(offer, 'Pro allows 10 integrations')
    t.ok(
      await dialog.evaluate((element) => element.contains(document.activeElement)),
      'focus is in the dialog',
    )
    await screenshot(page, 'billing-upgrade-offer')
    await page.setViewportSize({ width: 360, height: 800 })
    await screenshot(page, 'billing-upgrade-offer-360')
    await page.setViewportSize({ width: 1280, height: 800 })

    await dialog.getByRole('button', { name: 'See plans and upgrade' }).click()
    await page.waitForURL(`**/t/${teamId}/billing?limit=integrations`)
    t.match(
      await page.locator('.notice-warning').innerText(),
      /The Free plan’s limit of integrations is reached/,
    )
    await page.getByRole('button', { name: 'Upgrade to Pro' }).waitFor()
    t.equal(
      await page.evaluate(() => document.activeElement?.textContent),
      'Upgrade',
      'the plans come first, their heading focused',
    )
    await screenshot(page, 'billing-plans')
    await page.setViewportSize({ width: 360, height: 800 })
    await page.getByRole('heading', { name: 'Upgrade' }).scrollIntoViewIfNeeded()
    await screenshot(page, 'billing-plans-360')
    await page.setViewportSize({ width: 1280, height: 800 })

    // Checkout: the stand-in's page, its Pay button, and back to the billing page, on Pro.
    await page.getByRole('button', { name: 'Upgrade to Pro' }).click()
    await page.waitForURL(new RegExp(`^${stack.stripe.url}/checkout/cs_test_`))
    await page.getByRole('button', { name: 'Pay (stand-in)' }).click()
    await page.waitForURL(`**/t/${teamId}/billing?checkout=success`)
    await page.getByText('Thank you: the team is on Pro now.').waitFor()
    t.equal(await page.getByTestId('plan-name').innerText(), 'Pro', 'the new plan is shown')
    t.match(await page.getByTestId('plan-status').innerText(), /Pro, paid\. It renews on/)
    t.match(await page.getByTestId('usage-integrations').innerText(), /Integrations\s+1 of 10/)
    t.equal(
      await page.getByRole('button', { name: 'Upgrade to Pro' }).count(),
      0,
      'no second subscription offered',
    )
    await screenshot(page, 'billing-pro')
    await page.setViewportSize({ width: 360, height: 800 })
    await screenshot(page, 'billing-pro-360')
    await page.setViewportSize({ width: 1280, height: 800 })

    // What was refused now fits.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Integrations' }).click()
    await connect('Second')
    await page.getByRole('region', { name: 'Signing secret of “Second”' }).waitFor()
    t.pass('the second integration connects on Pro')

    // Managing: the billing portal (the stand-in's), and back.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Billing' }).click()
    await page.getByRole('button', { name: /Manage billing/ }).click()
    await page.waitForURL(new RegExp(`^${stack.stripe.url}/portal/`))
    t.match(await page.locator('body').innerText(), /Pro/, 'the portal shows the subscription')
    await page.getByRole('link', { name: 'Return' }).click()
    await page.waitForURL(`**/t/${teamId}/billing`)
    await page.getByTestId('plan-name').getByText('Pro').waitFor()
  },
)
