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

// One stack for the file (SuperTokens is set up once per process); each test has its own browser context.
const stack = await startStack(t)

/** Waits until the live preview (a shadow root drawn by @nudge/popup) shows `text` in its headline. */
async function previewHeadline(page: Page, text: string) {
  await page.getByTestId('preview').locator('h2', { hasText: text }).waitFor({ state: 'visible' })
}

t.test(
  'sites and campaigns: create, preview while typing, errors at fields, conflict, go live',
  async (t) => {
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
    await screenshot(page, 'dashboard-sites')

    await added.getByRole('link', { name: 'Get its install snippet' }).click()
    const snippet = await page.getByTestId('snippet').textContent()
    t.match(
      snippet,
      /<script async src="[^"]+\/nudge\.js" data-site="[0-9a-f-]{36}"><\/script>/,
      'the snippet is shown',
    )
    t.ok(await page.getByText('Not seen yet').isVisible(), 'the snippet has not been seen yet')
    t.ok(await page.getByRole('button', { name: 'Copy snippet' }).isVisible())
    await screenshot(page, 'dashboard-site')

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
    // The problem in the list leads to its field, in its tab.
    await page.getByRole('tab', { name: 'Targeting' }).click()
    await page
      .getByRole('list', { name: 'Problems to fix' })
      .getByRole('button', { name: 'Variant B › step 1 › block 1 › text' })
      .click()
    t.equal(await page.getByRole('tab', { name: /Content/ }).getAttribute('aria-selected'), 'true')
    t.ok(
      await headline.evaluate((element) => element === document.activeElement),
      'the headline has the focus',
    )

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

    // The site's page at 360 px: the snippet wraps, nothing scrolls sideways.
    await page.goto(`/t/${teamId}/sites`)
    await page.getByRole('link', { name: 'shop.example.com' }).click()
    await page.getByTestId('snippet').waitFor()
    const siteOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    t.ok(siteOverflow <= 0, `the site page fits 360 px (overflow ${siteOverflow}px)`)
    await screenshot(page, 'dashboard-site-360')
  },
)

t.test(
  'the editor covers the content model: form, consent, image, design, targeting, frequency, schedule',
  async (t) => {
    if (!stack) return
    const client = await apiAs(stack, EMAIL)
    const teams = await client.GET('/v1/teams')
    const teamId = teams.data?.items[0]?.id as string
    const site = await client.POST('/v1/teams/{teamId}/sites', {
      params: { path: { teamId } },
      body: { hostname: 'blog.example.org' },
    })
    const created = await client.POST('/v1/teams/{teamId}/campaigns', {
      params: { path: { teamId } },
      body: { name: 'Newsletter', siteId: site.data?.id as string, type: 'slide-in' },
    })
    const campaignId = created.data?.id as string

    const { page } = await stack.newPage({ width: 1366, height: 900 })
    screenshotAtEnd(t, page, 'campaigns-content-model')
    await signIn(stack, page, EMAIL)
    await page.goto(`/t/${teamId}/campaigns/${campaignId}`)
    await page.getByRole('heading', { name: 'Newsletter', level: 1 }).waitFor()
    const preview = page.getByTestId('preview')

    // Content: an image, a form with a second field and consent; the preview draws the form.
    await page.getByRole('button', { name: 'Add image' }).click()
    await page.getByLabel('Image URL').fill('https://cdn.example.org/cat.png')
    await page.getByLabel('Description for screen readers (empty for a decorative image)').fill('A cat')
    await page.getByLabel('This step has a form (sent by its submit button)').check()
    await preview.locator('input[type="email"]').waitFor()
    t.equal(
      await page.getByLabel('Button 1 label').inputValue(),
      'Subscribe',
      'a submit button came with the form',
    )
    await page.getByRole('button', { name: 'Add field' }).click()
    await page.getByLabel('Label').nth(1).fill('First name')
    await page.getByLabel('Ask for consent (a checkbox with your wording)').check()
    await page.getByLabel('Consent wording').fill('I agree to <b>emails</b>.')
    await page.getByLabel('Version of the wording').fill('2030-01')
    await preview.getByText('First name').waitFor()
    await preview.locator('b', { hasText: 'emails' }).waitFor()
    await screenshot(page, 'dashboard-editor-form')

    // Design of the step.
    await page.getByRole('tab', { name: 'Design' }).click()
    await page.getByRole('tabpanel').getByLabel('Background', { exact: true }).fill('#112233')
    await page.getByLabel('Background', { exact: true }).press('Tab')
    // Dark on dark: the preview says so, from the colours it drew.
    const hardToRead = preview.getByText(/Hard to read for many visitors \(Text on the background: 1\.\d:1\)/)
    await hardToRead.waitFor()
    await page.getByLabel('Text', { exact: true }).fill('#f5f5f5')
    await page.getByLabel('Text', { exact: true }).press('Tab')
    await hardToRead.waitFor({ state: 'detached' })
    await page.getByLabel('Width (px, 200 to 1200)').fill('420')
    await page.getByLabel('Width (px, 200 to 1200)').press('Tab')
    await page.getByLabel('Position').selectOption('bottom-left')

    // Targeting, with the arrow keys between tabs.
    await page.getByRole('tab', { name: 'Design' }).focus()
    await page.keyboard.press('ArrowRight')
    t.equal(
      await page.getByRole('tab', { name: 'Targeting' }).getAttribute('aria-selected'),
      'true',
      'ArrowRight moves to the next tab',
    )
    await page.getByRole('button', { name: 'Add a rule' }).first().click()
    await page.getByLabel('Rule 1: URL or path').fill('/posts/')
    await page.getByLabel('tablet').uncheck()
    await page.getByLabel('Where visitors are').selectOption('allow')
    await page.getByLabel('Country codes (ISO, e.g. DE, AT, CH)').fill('de, at')
    await page.getByLabel('Browser languages (e.g. de, en, pt-BR; empty: any)').fill('de en')
    await page.getByLabel('Returning visitors').check()
    await page.getByLabel('When it shows').selectOption('scroll')
    await page.getByLabel('Percent of the page scrolled (1 to 100)').fill('40')

    // Frequency and schedule, in a time zone of its own.
    await page.getByRole('tab', { name: 'Frequency & schedule' }).click()
    await page.getByLabel('Each visitor sees it').selectOption('every-n-days')
    await page.getByLabel('Days between showings (1 to 365)').fill('3')
    await page.getByLabel('Never again once the visitor closed it').check()
    await page.getByLabel('Run only between dates').check()
    await page.getByLabel('Time zone of the dates').fill('Europe/Berlin')
    await page.getByLabel('Time zone of the dates').press('Tab')
    await page.getByLabel('Starts (empty: now)').fill('2030-03-20T08:00')
    await page.getByLabel('Ends (empty: never)').fill('2030-07-01T18:30')
    await screenshot(page, 'dashboard-editor-schedule')

    await page.getByRole('button', { name: 'Save changes' }).click()
    await page.getByRole('button', { name: 'Saved', exact: true }).waitFor()

    const stored = (
      await client.GET('/v1/teams/{teamId}/campaigns/{campaignId}', {
        params: { path: { teamId, campaignId } },
      })
    ).data
    const step = stored?.variants[0]?.steps[0]
    t.same(step?.blocks[1], { type: 'image', url: 'https://cdn.example.org/cat.png', alt: 'A cat' })
    t.same(
      step?.form?.fields.map((field) => [field.name, field.type, field.label, field.required]),
      [
        ['email', 'email', 'Email', true],
        ['field2', 'text', 'First name', false],
      ],
    )
    t.same(step?.form?.consent, { text: 'I agree to <b>emails</b>.', required: true, version: '2030-01' })
    t.same(
      step?.buttons.map((button) => button.action),
      ['submit', 'close'],
    )
    t.same(step?.design, {
      colors: { background: '#112233', text: '#f5f5f5' },
      widthPx: 420,
      position: 'bottom-left',
    })
    t.same(stored?.targeting.urls?.include, [{ match: 'prefix', value: '/posts/' }])
    t.same(stored?.targeting.devices, ['desktop', 'mobile'])
    t.same(stored?.targeting.countries, { mode: 'allow', codes: ['DE', 'AT'] })
    t.same(stored?.targeting.languages, ['de', 'en'])
    t.equal(stored?.targeting.visitors, 'returning')
    t.same(stored?.targeting.trigger, { type: 'scroll', percent: 40 })
    t.same(stored?.frequency, {
      show: 'every-n-days',
      days: 3,
      stopAfterConversion: true,
      stopAfterClose: true,
    })
    t.same(stored?.schedule, {
      timeZone: 'Europe/Berlin',
      startAt: '2030-03-20T08:00:00+01:00',
      endAt: '2030-07-01T18:30:00+02:00',
    })

    // The saved design shows in the preview after a reload: the renderer reads the same content.
    await page.reload()
    await page.getByRole('heading', { name: 'Newsletter', level: 1 }).waitFor()
    await preview.locator('img[alt="A cat"]').waitFor({ state: 'attached' })
    await preview.locator('input[type="email"]').waitFor()

    // Deleting the site says first what becomes of its campaigns, and asks for the hostname.
    await page.getByRole('link', { name: 'Sites', exact: true }).click()
    await page.getByRole('link', { name: 'blog.example.org' }).click()
    await page.getByRole('listitem').filter({ hasText: 'Newsletter' }).waitFor()
    await page.getByRole('button', { name: 'Delete blog.example.org…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Delete blog.example.org?' })
    await dialog.getByText('Its one campaign becomes a draft without a site').waitFor()
    t.ok(
      await dialog.getByRole('button', { name: 'Delete site' }).isDisabled(),
      'not before the hostname is typed',
    )
    await dialog.getByLabel('Type blog.example.org to confirm').fill('blog.example.org')
    await screenshot(page, 'dashboard-site-delete')
    await dialog.getByRole('button', { name: 'Delete site' }).click()
    await page.getByRole('heading', { name: 'Sites', level: 1 }).waitFor()
    await page.getByRole('status').filter({ hasText: 'blog.example.org was deleted.' }).waitFor()
    await page.getByRole('link', { name: 'blog.example.org' }).waitFor({ state: 'detached' })
    const kept = (
      await client.GET('/v1/teams/{teamId}/campaigns/{campaignId}', {
        params: { path: { teamId, campaignId } },
      })
    ).data
    t.same([kept?.siteId, kept?.status], [null, 'draft'], 'the campaign is kept as a draft without a site')
    await page.goto(`/t/${teamId}/campaigns/${campaignId}`)
    await page.getByText('No site (it was deleted)').waitFor({ state: 'attached' })
    t.ok(await page.getByLabel('Site', { exact: true }).isEnabled(), 'a draft may be moved to another site')

    // Duplicate, then delete the copy (a draft): the dialog says what goes.
    const actions = page.getByRole('group', { name: 'Campaign actions' })
    await actions.getByRole('button', { name: 'Duplicate' }).click()
    await page.getByRole('heading', { name: 'Newsletter (copy)', level: 1 }).waitFor()
    t.not(new URL(page.url()).pathname.split('/').pop(), campaignId, 'the copy is a campaign of its own')
    await actions.getByRole('button', { name: 'Delete' }).click()
    const confirm = page.getByRole('dialog', { name: 'Delete “Newsletter (copy)”?' })
    await confirm.getByText('Its leads stay in Leads').waitFor()
    await confirm.getByRole('button', { name: 'Delete campaign' }).click()
    await page.getByRole('heading', { name: 'Campaigns', level: 1 }).waitFor()
    await page.getByRole('link', { name: 'Newsletter', exact: true }).waitFor()
    t.equal(
      await page.getByRole('link', { name: 'Newsletter (copy)' }).count(),
      0,
      'the copy is gone, the original stays',
    )
  },
)

t.test('a viewer sees sites and campaigns, with nothing offered to change them', async (t) => {
  if (!stack) return
  const owner = await apiAs(stack, 'owner@example.com')
  const team = await owner.POST('/v1/teams', { body: { name: 'Agency' } })
  const teamId = team.data?.id as string
  const site = await owner.POST('/v1/teams/{teamId}/sites', {
    params: { path: { teamId } },
    body: { hostname: 'agency.example.net' },
  })
  const created = await owner.POST('/v1/teams/{teamId}/campaigns', {
    params: { path: { teamId } },
    body: { name: 'Welcome', siteId: site.data?.id as string, type: 'bar' },
  })
  const campaignId = created.data?.id as string
  const asked = Date.now() - 1000
  const invited = await owner.POST('/v1/teams/{teamId}/invites', {
    params: { path: { teamId } },
    body: { email: 'viewer@example.com', role: 'viewer' },
  })
  t.equal(invited.response.status, 201)
  const link = await stack.linkFromMailbox('viewer@example.com', '/invites/accept', asked)
  const viewer = await apiAs(stack, 'viewer@example.com')
  const accepted = await viewer.POST('/v1/invites/accept', { body: { token: new URL(link).hash.slice(1) } })
  t.ok(accepted.response.ok, 'the invite is accepted')

  const { page } = await stack.newPage({ width: 1280, height: 860 })
  screenshotAtEnd(t, page, 'campaigns-viewer')
  await signIn(stack, page, 'viewer@example.com')
  await page.goto(`/t/${teamId}/campaigns/${campaignId}`)
  await page.getByRole('heading', { name: 'Welcome', level: 1 }).waitFor()
  await page.getByText('Your role in this team (viewer) can look at campaigns but not change them.').waitFor()
  await page.getByTestId('preview').locator('h2', { hasText: 'Your headline here' }).waitFor()
  const actions = page.getByRole('group', { name: 'Campaign actions' })
  t.equal(await actions.getByRole('button').count(), 0, 'no save, lifecycle, duplicate or delete button')
  t.ok(await page.getByLabel('Headline', { exact: true }).isDisabled(), 'the content is read only')
  t.equal(await page.getByRole('button', { name: 'Add a variant' }).count(), 0, 'no variant to add')
  t.ok(await page.getByLabel('Weight').isDisabled(), 'weights are read only')
  t.ok(await page.getByRole('button', { name: 'Step 1' }).isEnabled(), 'steps can still be looked at')
  await screenshot(page, 'dashboard-editor-viewer')

  await page.goto(`/t/${teamId}/campaigns`)
  await page.getByRole('link', { name: 'Welcome' }).waitFor()
  t.equal(await page.getByText('New campaign').count(), 0, 'no new campaign form')
  await page.goto(`/t/${teamId}/sites`)
  await page.getByRole('link', { name: 'agency.example.net' }).click()
  await page.getByTestId('snippet').waitFor()
  t.ok(await page.getByLabel('Pages on subdomains count as this site').isDisabled(), 'settings are read only')
  t.equal(await page.getByRole('button', { name: /^Delete/ }).count(), 0, 'no delete')
  await page.goto(`/t/${teamId}/sites`)
  await page.getByRole('link', { name: 'agency.example.net' }).waitFor()
  t.equal(await page.getByLabel('Hostname or address of the site').count(), 0, 'no add-site form')
})
