/**
 * A marketer's journey through sites and campaigns: sign in, add a site from a pasted URL, create a
 * campaign, give it a second variant, watch the preview follow the headline as it is typed, meet a
 * field error from the API at its field and a version conflict with a reload, put it live, and
 * find it in the public site document the visitor script reads. Screenshots of the editor with its
 * preview at desktop width and at 360 px.
 */
import type { Page } from 'playwright-core'
import t from 'tap'
import { apiAs, screenshot, screenshotAtEnd, signIn, startStack } from './stack.ts'

const EMAIL = 'marketer@example.com'

/** Waits until the live preview (a shadow root drawn by @nudge/popup) shows `text` in its headline. */
async function previewHeadline(page: Page, text: string) {
  await page.getByTestId('preview').locator('h2', { hasText: text }).waitFor({ state: 'visible' })
}

t.test(
  'sites and campaigns: create, preview while typing, errors at fields, conflict, go live',
  async (t) => {
    const stack = await startStack(t)
    if (!stack) return
    const { page } = await stack.newPage({ width: 1366, height: 900 })
    screenshotAtEnd(t, page, 'campaigns-journey')

    await signIn(stack, page, EMAIL)

    // A site from a pasted URL: the API keeps the hostname, and the page says what it kept.
    await page.getByRole('link', { name: 'Sites', exact: true }).click()
    await page.getByRole('heading', { name: 'Sites', level: 1 }).waitFor()
    const teamId = new URL(page.url()).pathname.split('/')[2]
    t.match(teamId, /^[0-9a-f-]{36}$/, 'on a team page')
    await page
      .getByLabel('Hostname or address of the site')
      .fill('https://Shop.Example.com/products/shoes?ref=ad')
    await page.getByRole('button', { name: 'Add site' }).click()
    const added = page.getByRole('status').filter({ hasText: 'Added' })
    await added.waitFor()
    t.match(
      await added.textContent(),
      /Added shop\.example\.com \(from “https:\/\/Shop\.Example\.com\/products\/shoes\?ref=ad”\)/,
    )
    await page.getByRole('link', { name: 'shop.example.com' }).waitFor()

    await added.getByRole('link', { name: 'Get its install snippet' }).click()
    const snippet = await page.getByTestId('snippet').textContent()
    t.match(
      snippet,
      /<script async src="[^"]+\/nudge\.js" data-site="[0-9a-f-]{36}"><\/script>/,
      'the snippet is shown',
    )
    t.ok(await page.getByText('Not seen yet').isVisible(), 'the snippet has not been seen yet')
    t.ok(await page.getByRole('button', { name: 'Copy snippet' }).isVisible())

    // A campaign on it.
    await page.getByRole('link', { name: 'Campaigns', exact: true }).first().click()
    await page.getByLabel('Name (only your team sees it)').fill('Spring sale')
    t.equal(
      (await page.getByLabel('Site', { exact: true }).first().inputValue()) !== '',
      true,
      'the site is picked',
    )
    await page.getByRole('button', { name: 'Create and edit' }).click()
    await page.waitForURL(/\/campaigns\/[0-9a-f-]{36}$/)
    const campaignId = new URL(page.url()).pathname.split('/').pop() as string
    await page.getByRole('heading', { name: 'Spring sale', level: 1 }).waitFor()
    await previewHeadline(page, 'Your headline here')

    // A second variant: weights go to 50/50, and the preview shows it.
    await page.getByRole('button', { name: 'Add a variant' }).click()
    await page.getByText('Weights sum to 100.').waitFor()
    t.equal(await page.getByLabel('Weight').nth(0).inputValue(), '50')
    t.equal(await page.getByLabel('Weight').nth(1).inputValue(), '50')
    t.equal(
      await page.getByLabel('Variant', { exact: true }).locator('option:checked').textContent(),
      'Variant B (50%)',
    )

    // The preview follows the headline as it is typed.
    const headline = page.getByLabel('Headline', { exact: true })
    await headline.fill('')
    await headline.pressSequentially('Half price')
    await previewHeadline(page, 'Half price')
    await headline.pressSequentially(' for new friends')
    await previewHeadline(page, 'Half price for new friends')
    t.pass('the preview changed as the headline was typed')
    await screenshot(page, 'dashboard-editor-preview')

    await page.getByRole('button', { name: 'Save changes' }).click()
    await page.getByRole('button', { name: 'Saved', exact: true }).waitFor()
    t.match(await page.locator('.title-row').textContent(), /version 2/)

    // A field error from the API's 400 shows at the field.
    await headline.fill('Half <blink>price</blink>')
    await page.getByRole('button', { name: 'Save changes' }).click()
    const fieldError = page.locator('#e-variants-1-steps-0-blocks-0-text')
    await fieldError.waitFor()
    t.match(await fieldError.textContent(), /blink/, 'the markup problem is named at the headline')
    t.equal(await headline.getAttribute('aria-invalid'), 'true')
    t.match(await headline.getAttribute('aria-describedby'), /e-variants-1-steps-0-blocks-0-text/)
    t.match(
      await page.getByRole('list', { name: 'Problems to fix' }).textContent(),
      /Variant B › step 1 › block 1 › text/,
    )
    await screenshot(page, 'dashboard-editor-field-error')

    // Someone else saves meanwhile: the save is refused (412), the editor says what changed and reloads.
    const other = await apiAs(stack, EMAIL)
    const renamed = await other.PATCH('/v1/teams/{teamId}/campaigns/{campaignId}', {
      params: { path: { teamId: teamId as string, campaignId }, header: { 'if-match': '"2"' } },
      body: { name: 'Spring sale (edited by a colleague)' },
    })
    t.equal(renamed.response.status, 200)
    await headline.fill('Half price for everyone')
    await page.getByRole('button', { name: 'Save changes' }).click()
    const conflict = page.getByRole('alertdialog', { name: 'Someone else saved this campaign' })
    await conflict.waitFor()
    t.match(await conflict.textContent(), /now at version 3.*They changed: Name/s)
    await screenshot(page, 'dashboard-editor-conflict')
    await conflict.getByRole('button', { name: 'Reload their version (lose my changes)' }).click()
    await page.getByRole('heading', { name: 'Spring sale (edited by a colleague)', level: 1 }).waitFor()
    t.equal(await headline.inputValue(), 'Half price for new friends', 'the saved headline is back')
    await previewHeadline(page, 'Half price for new friends')

    // Lifecycle: only what the lifecycle allows is offered.
    const actions = page.getByRole('group', { name: 'Campaign actions' })
    t.ok(await actions.getByRole('button', { name: 'Delete' }).isVisible(), 'a draft may be deleted')
    t.equal(
      await actions.getByRole('button', { name: 'Go live' }).count(),
      0,
      'a draft cannot go live directly',
    )
    await actions.getByRole('button', { name: 'Test' }).click()
    await page.locator('.badge.status-test').waitFor()
    const previewLink = page.getByRole('status').filter({ hasText: 'preview link' }).getByRole('link')
    t.match(
      await previewLink.getAttribute('href'),
      new RegExp(`^https://shop\\.example\\.com/\\?nudge_preview=${campaignId}$`),
    )
    await actions.getByRole('button', { name: 'Go live' }).click()
    await page.locator('.badge.status-live').waitFor()
    t.equal(
      await actions.getByRole('button', { name: 'Delete' }).count(),
      0,
      'a live campaign is not offered for deletion',
    )
    t.ok(await actions.getByRole('button', { name: 'Pause' }).isVisible())

    // The visitor side serves it: the public site document lists it with both variants.
    const answer = await fetch(`${stack.apiLocal}/public/v1/sites/shop.example.com`)
    t.equal(answer.status, 200)
    const siteDocument = (await answer.json()) as {
      campaigns?: Array<{
        id: string
        variants: Array<{ weight: number; steps: Array<{ blocks: Array<{ text?: string }> }> }>
      }>
    }
    const live = siteDocument.campaigns?.find((c) => c.id === campaignId)
    t.ok(live, 'the live campaign is in the site document')
    t.same(
      live?.variants.map((v) => v.weight),
      [50, 50],
    )
    t.equal(live?.variants[1]?.steps[0]?.blocks[0]?.text, 'Half price for new friends')

    // At 360 px the editor and its preview fit the width.
    await page.setViewportSize({ width: 360, height: 780 })
    await page.reload()
    await previewHeadline(page, 'Your headline here')
    await page.getByLabel('Variant', { exact: true }).selectOption({ label: 'Variant B (50%)' })
    await previewHeadline(page, 'Half price for new friends')
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    t.ok(overflow <= 0, `no sideways scrolling at 360 px (overflow ${overflow}px)`)
    await screenshot(page, 'dashboard-editor-preview-360')

    // The list shows it live, and filters by status.
    await page.goto(`/t/${teamId}/campaigns?status=live`)
    await page.getByRole('link', { name: 'Spring sale (edited by a colleague)' }).waitFor()
    await page.getByLabel('Status').selectOption('draft')
    await page.getByText('No campaign matches these filters.').waitFor()
    await screenshot(page, 'dashboard-campaigns-list-360')
  },
)
