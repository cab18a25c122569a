import path from 'node:path'
import type { Locator, Page } from 'playwright-core'
import t from 'tap'
import { SCREENSHOTS } from '../../../tools/dev/browser.ts'
import { apiAs, screenshot, screenshotAtEnd, signIn, startStack } from './stack.ts'
import {
  addSite,
  EDGE_SECRET,
  formStep,
  liveCampaign,
  personalTeam,
  sendVisits,
  teaserStep,
} from './visitors.ts'

const stack = await startStack(t, { env: { EDGE_SECRET } })

/** The cells of a table's row whose header (or first cell) is `name`. */
async function rowOf(table: Locator, name: string | RegExp): Promise<string[]> {
  const row = table.getByRole('row').filter({ has: table.page().getByRole('rowheader', { name }) })
  return (await row.getByRole('cell').allInnerTexts()).map((text) => text.trim())
}

async function fullScreenshot(page: Page, name: string): Promise<string> {
  const file = path.join(SCREENSHOTS, `${name}.png`)
  await page.screenshot({ path: file, fullPage: true })
  return file
}

t.test(
  'the stats page shows what visitors did: totals, per day, per variant with step reach, by country, and the verdict',
  { skip: !stack },
  async (t) => {
    if (!stack) return
    const email = 'stats@example.com'
    const api = await apiAs(stack, email)
    const teamId = await personalTeam(api)
    const siteId = await addSite(api, teamId)
    const campaignId = await liveCampaign(api, teamId, siteId, {
      name: 'Spring sale',
      variants: [
        {
          id: 'a',
          name: 'Discount first',
          weight: 50,
          steps: [teaserStep('10% off today'), formStep('Where do we send it?')],
        },
        { id: 'b', name: 'Newsletter first', weight: 50, steps: [formStep('Join our newsletter')] },
      ],
    })
    const quiet = await liveCampaign(api, teamId, siteId, {
      name: 'Exit offer',
      variants: [{ id: 'a', name: 'Only', weight: 100, steps: [formStep('Before you go')] }],
    })
    // 40 German visitors see A (12 go on to step 2, 12 convert, 5 close); 40 French see B (2 convert, 10 close).
    t.equal(
      await sendVisits(stack, {
        campaignId,
        variantId: 'a',
        country: 'DE',
        impressions: 40,
        steps: 12,
        conversions: 12,
        closes: 5,
      }),
      40 + 12 + 12 + 5,
      'the API counted every event of variant A',
    )
    t.equal(
      await sendVisits(stack, {
        campaignId,
        variantId: 'b',
        country: 'FR',
        impressions: 40,
        conversions: 2,
        closes: 10,
      }),
      40 + 2 + 10,
      'and of variant B',
    )

    const { page } = await stack.newPage()
    screenshotAtEnd(t, page, 'dashboard-stats-end')
    const statsPath = `/t/${teamId}/campaigns/${campaignId}/stats`
    await signIn(stack, page, email, { from: statsPath })
    await page.waitForURL(`**${statsPath}`)
    await page.getByRole('heading', { name: 'Stats: Spring sale' }).waitFor()

    const totals = page.getByRole('list', { name: 'Totals' })
    await totals.waitFor()
    t.match(await totals.innerText(), /Impressions\s+80/, '80 impressions in all')
    t.match(await totals.innerText(), /Conversions\s+14/, '14 conversions')
    t.match(await totals.innerText(), /Closes\s+15/, '15 closes')
    t.match(await totals.innerText(), /Conversion rate\s+17\.5 %/, 'a conversion rate of 17.5 %')

    const verdict = page.getByRole('region', { name: /A\/B test/ })
    t.equal(
      await verdict.getByRole('heading').innerText(),
      'A/B test: Discount first wins',
      'the verdict names the winner',
    )
    t.match(await verdict.innerText(), /beyond chance at 95 % confidence/, 'and says in words why it is one')

    t.ok(
      await page.getByRole('img', { name: /Chart of impressions, closes, conversions/ }).isVisible(),
      'the chart is drawn',
    )
    await page.getByText('The numbers per day (table)').click()
    const perDay = page.getByRole('table', { name: 'Per day' })
    await perDay.waitFor()
    const today = new Date().toLocaleDateString('en-GB', {
      timeZone: 'UTC',
      day: 'numeric',
      month: 'short',
      year: 'numeric',
    })
    t.same(
      await rowOf(perDay, today),
      ['80', '15', '14', '17.5 %', '0'],
      'today’s row (UTC day) holds the counts',
    )

    const perVariant = page.getByRole('table', { name: 'Per variant' })
    t.same(await rowOf(perVariant, /Discount first/), ['50 %', '40', '5', '12', '30 %', '0'], 'variant A')
    t.same(await rowOf(perVariant, /Newsletter first/), ['50 %', '40', '10', '2', '5 %', '0'], 'variant B')
    t.match(
      await perVariant.getByRole('rowheader', { name: /Discount first/ }).innerText(),
      /ahead/,
      'the leader is marked',
    )

    const reach = page.getByRole('heading', { name: 'Step reach: Discount first' })
    t.ok(await reach.isVisible(), 'the two-step variant shows its step reach')
    t.match(
      await page.locator('.steps').innerText(),
      /Step 2\s*12 \(30 % of impressions\)/,
      'step 2 reached by 12 of 40',
    )
    t.equal(
      await page.getByRole('heading', { name: 'Step reach: Newsletter first' }).count(),
      0,
      'a one-step variant has none',
    )

    const countries = page.getByRole('table', { name: 'By country' })
    t.same(await rowOf(countries, 'Germany'), ['40', '12', '30 %', '0'], 'Germany')
    t.same(await rowOf(countries, 'France'), ['40', '2', '5 %', '0'], 'France')
    t.ok(
      await page.getByText(/^Dates, in your time zone \(/).isVisible(),
      'the range is read in the browser’s time zone',
    )

    await page.getByRole('heading', { name: 'Stats: Spring sale' }).scrollIntoViewIfNeeded()
    t.comment(`screenshot: ${await fullScreenshot(page, 'dashboard-stats')}`)

    // At 360 px: nothing wider than the screen, the tables fold into cards.
    await page.setViewportSize({ width: 360, height: 740 })
    await page.reload()
    await page.getByRole('list', { name: 'Totals' }).waitFor()
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    t.ok(width <= 360, `nothing wider than 360 px (${width})`)
    t.comment(`screenshot: ${await fullScreenshot(page, 'dashboard-stats-360')}`)
    await page.setViewportSize({ width: 1280, height: 800 })

    // A range with nothing in it says so, rather than drawing a flat chart.
    await page.getByLabel('From', { exact: true }).fill('2026-01-01')
    await page.getByLabel('To', { exact: true }).fill('2026-01-31')
    await page.getByRole('button', { name: 'Show' }).click()
    await page.waitForURL(/from=2026-01-01&to=2026-01-31/)
    await page.getByText('Nothing counted between 1 Jan 2026 – 31 Jan 2026 yet.').waitFor()
    t.equal(await page.getByRole('table', { name: 'Per variant' }).count(), 0, 'no tables of zeros')
    // A range the API would refuse is named at the form.
    await page.getByLabel('From', { exact: true }).fill('2026-02-01')
    await page.getByRole('button', { name: 'Show' }).click()
    t.equal(
      await page.getByRole('alert').innerText(),
      'The first day must not be after the last.',
      'from after to is named',
    )
    await page.getByRole('button', { name: 'Last 7 days' }).click()
    await page.getByRole('list', { name: 'Totals' }).waitFor()
    t.equal(
      await page.getByRole('button', { name: 'Last 7 days' }).getAttribute('aria-pressed'),
      'true',
      'the preset is shown as chosen',
    )

    // A campaign nobody saw yet: the empty state, and no verdict for one variant.
    await page.goto(`/t/${teamId}/campaigns/${quiet}/stats`)
    await page.getByRole('heading', { name: 'Stats: Exit offer' }).waitFor()
    await page.getByText(/^Nothing counted between .* yet\.$/).waitFor()
    t.match(
      await page.locator('.state-empty').innerText(),
      /counted once the campaign is live/,
      'it says when counts come',
    )
    await fullScreenshot(page, 'dashboard-stats-empty')
  },
)

t.test(
  'in another time zone the range is that zone’s dates, and the page says which UTC days count',
  { skip: !stack },
  async (t) => {
    if (!stack) return
    const email = 'stats-zone@example.com'
    const api = await apiAs(stack, email)
    const teamId = await personalTeam(api)
    const siteId = await addSite(api, teamId, 'zone.example.com')
    const campaignId = await liveCampaign(api, teamId, siteId, {
      name: 'Night owls',
      variants: [{ id: 'a', name: 'Only', weight: 100, steps: [formStep('Hello')] }],
    })
    const context = await stack.browser.newContext({
      baseURL: stack.dashboardUrl,
      timezoneId: 'Pacific/Auckland',
      viewport: { width: 1280, height: 800 },
    })
    t.teardown(() => context.close().catch(() => {}))
    const page = await context.newPage()
    screenshotAtEnd(t, page, 'dashboard-stats-zone')
    const asked = page.waitForRequest((request) => request.url().includes('/stats?'))
    await signIn(stack, page, email, { from: `/t/${teamId}/campaigns/${campaignId}/stats` })
    const query = new URL((await asked).url()).searchParams
    t.equal(query.get('tz'), 'Pacific/Auckland', 'the browser’s zone goes with the request')
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Pacific/Auckland' }).format(new Date())
    t.equal(query.get('to'), today, 'and today is today there')
    await page.getByText('Dates, in your time zone (Pacific/Auckland)').waitFor()
    await page.getByText(/^Nothing counted between/).waitFor()
    // Auckland is 12 or 13 hours ahead: its days straddle two UTC days, which the page says.
    await page.getByRole('button', { name: 'Last 7 days' }).click()
    await page.waitForURL(/from=/)
    await sendVisits(stack, {
      campaignId,
      variantId: 'a',
      country: 'NZ',
      impressions: 3,
      conversions: 1,
      site: 'zone.example.com',
    })
    await page.reload()
    const note = page.getByText(
      /^Visits are counted per day in UTC: your dates in Pacific\/Auckland are covered by the UTC days/,
    )
    await note.waitFor()
    t.match(
      await page.getByRole('list', { name: 'Totals' }).innerText(),
      /Impressions\s+3/,
      'today’s visits are in',
    )
  },
)

t.test(
  'the API down: the stats page shows the failure and a retry, never a blank page',
  { skip: !stack },
  async (t) => {
    if (!stack) return
    const email = 'stats-down@example.com'
    const api = await apiAs(stack, email)
    const teamId = await personalTeam(api)
    const siteId = await addSite(api, teamId, 'down.example.com')
    const campaignId = await liveCampaign(api, teamId, siteId, {
      name: 'Welcome',
      variants: [{ id: 'a', name: 'Only', weight: 100, steps: [formStep('Hello')] }],
    })
    const { page } = await stack.newPage()
    screenshotAtEnd(t, page, 'dashboard-stats-not-found')
    await signIn(stack, page, email, { from: `/t/${teamId}/leads` })

    let down = true
    await page.route(`${stack.apiUrl}/v1/teams/${teamId}/campaigns/${campaignId}**`, (route) =>
      down ? route.abort('connectionrefused') : route.continue(),
    )
    await page.goto(`/t/${teamId}/campaigns/${campaignId}/stats`)
    const alert = page.locator('.state-error')
    await alert.waitFor()
    t.match(await alert.innerText(), /cannot be reached/, 'the failure in words')
    await screenshot(page, 'dashboard-stats-api-down')
    down = false
    await page.getByRole('button', { name: 'Try again' }).click()
    await page.getByRole('heading', { name: 'Stats: Welcome' }).waitFor()
    await page.getByText(/^Nothing counted between .* yet\.$/).waitFor()
    t.pass('a retry asks again, and the page shows what the API answers')

    // A campaign that does not exist (deleted, or a wrong link): said once, with the way back.
    await page.goto(`/t/${teamId}/campaigns/0195f3a2-7c1e-7b3a-9f10-4d2c8e6a1b23/stats`)
    await page.getByText('This campaign does not exist in this team').waitFor()
    t.equal(
      await page.getByRole('button', { name: 'Try again' }).count(),
      0,
      'no retry for what retrying cannot fix',
    )
    t.ok(await page.getByRole('link', { name: 'Back to the campaigns' }).isVisible(), 'the way back')
  },
)
