import { readFile } from 'node:fs/promises'
import t from 'tap'
import { apiAs, screenshot, screenshotAtEnd, signIn, startStack } from './stack.ts'
import { addSite, EDGE_SECRET, formStep, liveCampaign, personalTeam, submitLead } from './visitors.ts'

const stack = await startStack(t, { env: { EDGE_SECRET } })

t.test(
  'a lead sent through the public API appears in the leads table and the export; delete one, erase a person',
  { skip: !stack },
  async (t) => {
    if (!stack) return
    const email = 'leads@example.com'
    const api = await apiAs(stack, email)
    const teamId = await personalTeam(api)
    const siteId = await addSite(api, teamId)
    const spring = await liveCampaign(api, teamId, siteId, {
      name: 'Spring sale',
      variants: [
        { id: 'a', name: 'Discount first', weight: 50, steps: [formStep('10% off')] },
        { id: 'b', name: 'Newsletter first', weight: 50, steps: [formStep('Our newsletter')] },
      ],
    })
    const exit = await liveCampaign(api, teamId, siteId, {
      name: 'Exit offer',
      variants: [{ id: 'a', name: 'Only', weight: 100, steps: [formStep('Before you go')] }],
    })
    await submitLead(stack, {
      campaignId: spring,
      variantId: 'a',
      email: 'ada@example.com',
      fields: { firstName: 'Ada' },
    })
    await submitLead(
      stack,
      { campaignId: spring, variantId: 'b', email: 'bob@example.com', fields: { firstName: 'Bob' } },
      'FR',
    )
    await submitLead(stack, { campaignId: exit, variantId: 'a', email: 'Ada@Example.com' })

    const { page } = await stack.newPage()
    screenshotAtEnd(t, page, 'dashboard-leads-end')
    const leadsPath = `/t/${teamId}/leads`
    await signIn(stack, page, email, { from: leadsPath })
    await page.waitForURL(`**${leadsPath}`)
    await page.getByRole('heading', { name: 'Leads', level: 1 }).waitFor()

    const table = page.getByRole('table', { name: 'Leads, newest first' })
    await table.getByRole('rowheader', { name: 'ada@example.com', exact: true }).waitFor()
    const rows = table.locator('tbody tr')
    t.equal(await rows.count(), 3, 'the three leads, newest first')
    t.same(
      await table.getByRole('rowheader').allInnerTexts(),
      ['Ada@Example.com', 'bob@example.com', 'ada@example.com'],
      'newest first',
    )
    const ada = rows.filter({ has: page.getByRole('rowheader', { name: 'ada@example.com', exact: true }) })
    t.match(await ada.innerText(), /Spring sale/, 'with the campaign’s name')
    t.match(await ada.innerText(), /firstName: Ada/, 'the other fields')
    t.match(await ada.innerText(), /DE/, 'and the country')
    await screenshot(page, 'dashboard-leads')

    // Filters: by campaign (grouped by site), and by part of the email; kept in the URL.
    await page.getByLabel('Campaign').selectOption({ label: 'Exit offer' })
    await page.getByRole('button', { name: 'Filter', exact: true }).click()
    await page.waitForURL(new RegExp(`campaignId=${exit}`))
    await table
      .getByRole('rowheader', { name: 'bob@example.com', exact: true })
      .waitFor({ state: 'detached' })
    t.same(
      await table.getByRole('rowheader').allInnerTexts(),
      ['Ada@Example.com'],
      'only the exit offer’s lead',
    )
    await page.getByRole('button', { name: 'Clear filters' }).click()
    await page.getByLabel('Email contains').fill('bob')
    await page.getByRole('button', { name: 'Filter', exact: true }).click()
    await page.waitForURL(/search=bob/)
    await table
      .getByRole('rowheader', { name: 'ada@example.com', exact: true })
      .waitFor({ state: 'detached' })
    t.same(await table.getByRole('rowheader').allInnerTexts(), ['bob@example.com'], 'the search finds Bob')
    await page.reload()
    await table.getByRole('rowheader', { name: 'bob@example.com', exact: true }).waitFor()
    t.equal(await page.getByLabel('Email contains').inputValue(), 'bob', 'a reload keeps the filters')
    t.equal(await rows.count(), 1)
    await page.getByLabel('Email contains').fill('nobody')
    await page.getByRole('button', { name: 'Filter', exact: true }).click()
    await page.getByText('No lead matches these filters.').waitFor()
    t.pass('no match says so')
    await page.getByRole('button', { name: 'Clear filters' }).click()
    await table.getByRole('rowheader', { name: 'ada@example.com', exact: true }).waitFor()

    // The CSV export: a real file download, named by the API, holding the leads.
    const downloading = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Export all leads (CSV)' }).click()
    const download = await downloading
    t.match(download.suggestedFilename(), /^leads-\d{4}-\d{2}-\d{2}\.csv$/, 'the file has the API’s name')
    const csv = await readFile((await download.path()) as string, 'utf8')
    for (const address of ['ada@example.com', 'bob@example.com', 'Ada@Example.com']) {
      t.match(csv, address, `the export holds ${address}`)
    }
    t.match(csv.split('\r\n')[0], /email/, 'with a header row')

    // Delete one lead: the dialog says what goes, then the row is gone.
    await page.getByRole('button', { name: 'Delete the lead of bob@example.com' }).click()
    const dialog = page.getByRole('dialog', { name: 'Delete this lead?' })
    await dialog.waitFor()
    t.match(await dialog.innerText(), /bob@example\.com from Spring sale/, 'it names the lead')
    t.match(await dialog.innerText(), /statistics keep counting it/, 'and what stays')
    t.equal(
      await page.evaluate(() => document.activeElement?.closest('dialog') !== null),
      true,
      'focus moves into the dialog',
    )
    await dialog.getByRole('button', { name: 'Delete the lead' }).click()
    await page.getByText('The lead of bob@example.com was deleted.').waitFor()
    await table
      .getByRole('rowheader', { name: 'bob@example.com', exact: true })
      .waitFor({ state: 'detached' })
    t.equal(await rows.count(), 2, 'Bob’s lead is gone')

    // Erase a person: every lead with the address, any case, with what goes named first.
    await page.getByLabel('Their email address').fill('ADA@example.com')
    await page.getByRole('button', { name: 'Erase…' }).click()
    const erase = page.getByRole('dialog', { name: 'Erase ADA@example.com?' })
    await erase.waitFor()
    t.match(
      await erase.innerText(),
      /every lead with ADA@example\.com \(any upper or lower case\), in every campaign/,
    )
    t.match(await erase.innerText(), /Integrations that already received them are told/)
    t.match(await erase.innerText(), /Campaign statistics keep their counts/)
    await screenshot(page, 'dashboard-leads-erase')
    await erase.getByRole('button', { name: 'Erase this person' }).click()
    const result = page.getByText(/^Erased 2 leads of ADA@example\.com\./)
    await result.waitFor()
    t.match(
      await result.innerText(),
      /No integration had received this person\. Campaign statistics still count/,
    )
    await page.getByText('No leads yet.').waitFor()
    t.pass('the table is empty once Ada is erased')
    await screenshot(page, 'dashboard-leads-erased')
  },
)

t.test(
  'at 360 px the leads table folds into cards, nothing is wider than the screen, and pages go both ways',
  { skip: !stack },
  async (t) => {
    if (!stack) return
    const email = 'narrow-leads@example.com'
    const api = await apiAs(stack, email)
    const teamId = await personalTeam(api)
    const siteId = await addSite(api, teamId, 'narrow.example.com')
    const campaign = await liveCampaign(api, teamId, siteId, {
      name: 'Welcome',
      variants: [{ id: 'a', name: 'Only', weight: 100, steps: [formStep('Hello')] }],
    })
    await submitLead(
      stack,
      {
        campaignId: campaign,
        variantId: 'a',
        email: 'a-very-long-address.for-testing@example.com',
        fields: { firstName: 'Zoe' },
      },
      'DE',
      'narrow.example.com',
    )
    // 26 more: two pages of 25.
    for (let i = 1; i <= 26; i++) {
      await submitLead(
        stack,
        { campaignId: campaign, variantId: 'a', email: `visitor${String(i).padStart(2, '0')}@example.com` },
        'DE',
        'narrow.example.com',
      )
    }
    const { page } = await stack.newPage({ width: 360, height: 740 })
    screenshotAtEnd(t, page, 'dashboard-leads-360')
    await signIn(stack, page, email, { from: `/t/${teamId}/leads` })
    await page.getByRole('heading', { name: 'Leads', level: 1 }).waitFor()
    const rows = page.locator('tbody tr')
    await rows.first().waitFor()
    t.equal(await rows.count(), 25, 'a page holds 25 leads')
    t.equal(await rows.first().getByRole('rowheader').innerText(), 'visitor26@example.com', 'newest first')
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    t.ok(width <= 360, `nothing wider than 360 px (${width})`)
    await screenshot(page, 'dashboard-leads-360')

    const pages = page.getByRole('navigation', { name: 'Pages' })
    await pages.getByRole('button', { name: 'Next →' }).click()
    await pages.getByText('Page 2').waitFor()
    await page.getByRole('rowheader', { name: 'visitor01@example.com', exact: true }).waitFor()
    t.same(
      await page.getByRole('rowheader').allInnerTexts(),
      ['visitor01@example.com', 'a-very-long-address.for-testing@example.com'],
      'the second page holds the two oldest',
    )
    t.ok(await pages.getByRole('button', { name: 'Next →' }).isDisabled(), 'no page after the last')
    await pages.getByRole('button', { name: '← Previous' }).click()
    await pages.getByText('Page 1').waitFor()
    await page.getByRole('rowheader', { name: 'visitor26@example.com', exact: true }).waitFor()
    t.equal(await rows.count(), 25, 'back on the first page')
  },
)

t.test(
  'roles: an editor reads leads but is offered no export or erasure; a viewer is told leads are not for their role',
  { skip: !stack },
  async (t) => {
    if (!stack) return
    const owner = await apiAs(stack, 'roles-owner@example.com')
    const teamId = await personalTeam(owner)
    const siteId = await addSite(owner, teamId, 'roles.example.com')
    const campaign = await liveCampaign(owner, teamId, siteId, {
      name: 'Welcome',
      variants: [{ id: 'a', name: 'Only', weight: 100, steps: [formStep('Hello')] }],
    })
    await submitLead(
      stack,
      { campaignId: campaign, variantId: 'a', email: 'cleo@example.com' },
      'DE',
      'roles.example.com',
    )

    // Each invitee accepts the invite from their email, through the typed client.
    for (const [email, role] of [
      ['roles-editor@example.com', 'editor'],
      ['roles-viewer@example.com', 'viewer'],
    ] as const) {
      const asked = Date.now() - 1000
      const invited = await owner.POST('/v1/teams/{teamId}/invites', {
        params: { path: { teamId } },
        body: { email, role },
      })
      t.equal(invited.response.status, 201, `${role} invited`)
      const link = new URL(await stack.linkFromMailbox(email, '/invites/accept', asked))
      const invitee = await apiAs(stack, email)
      const accepted = await invitee.POST('/v1/invites/accept', { body: { token: link.hash.slice(1) } })
      t.equal(accepted.response.status, 200, `${role} accepted`)
    }

    const editor = await stack.newPage()
    screenshotAtEnd(t, editor.page, 'dashboard-leads-editor')
    await signIn(stack, editor.page, 'roles-editor@example.com', { from: `/t/${teamId}/leads` })
    await editor.page.getByRole('rowheader', { name: 'cleo@example.com', exact: true }).waitFor()
    t.equal(await editor.page.getByRole('button', { name: /Export/ }).count(), 0, 'no export for an editor')
    t.equal(await editor.page.getByRole('button', { name: /Delete the lead/ }).count(), 0, 'no delete')
    t.equal(await editor.page.getByRole('heading', { name: 'Erase a person' }).count(), 0, 'no erasure')

    const viewer = await stack.newPage()
    screenshotAtEnd(t, viewer.page, 'dashboard-leads-viewer')
    await signIn(stack, viewer.page, 'roles-viewer@example.com', { from: `/t/${teamId}/leads` })
    await viewer.page.getByText(/does not give access to leads/).waitFor()
    t.match(
      await viewer.page.getByRole('status').filter({ hasText: 'leads' }).innerText(),
      /Your role in this team \(viewer\).*owners, admins and editors/,
      'the viewer is told why, and who may',
    )
    t.equal(await viewer.page.getByRole('table').count(), 0, 'no leads shown')
    t.equal(
      await viewer.page.getByRole('link', { name: 'Leads' }).count(),
      0,
      'and the menu does not offer them',
    )
    await viewer.page.goto(`/t/${teamId}/campaigns/${campaign}/stats`)
    await viewer.page.getByRole('heading', { name: 'Stats: Welcome' }).waitFor()
    t.pass('the viewer reads the campaign’s stats')
  },
)
