// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright's innerText() is what a person sees (CSS applied), not the DOM property
import { createHmac, timingSafeEqual } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { apiAs, screenshot, screenshotAtEnd, signIn, startStack } from './stack.ts'

// The receiver is on loopback, which the API refuses as a webhook target unless told (never in production).
const stack = await startStack(t, { env: { OUTBOUND_ALLOW_LOOPBACK: 'true' } })

/** A team's CRM: takes nudge's webhooks and answers in words, or fails when told to. */
const received: Array<{ headers: IncomingHttpHeaders; body: string }> = []
let answerStatus = 200
const receiver = createServer((request, response) => {
  let body = ''
  request.on('data', (chunk: Buffer) => {
    body += chunk
  })
  request.on('end', () => {
    received.push({ headers: request.headers, body })
    response.writeHead(answerStatus, { 'content-type': 'application/json' })
    response.end(answerStatus === 200 ? '{"ok":"thanks from the CRM"}' : '{"error":"the CRM is down"}')
  })
})
receiver.listen(0, '127.0.0.1')
await once(receiver, 'listening')
t.teardown(() => receiver.close())
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/nudge`

/** Standard Webhooks: v1 = base64 HMAC-SHA256 of `id.timestamp.body` with the secret's bytes. */
function signedWith(secret: string, message: { headers: IncomingHttpHeaders; body: string }): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
  const content = `${message.headers['webhook-id']}.${message.headers['webhook-timestamp']}.${message.body}`
  const expected = Buffer.from(createHmac('sha256', key).update(content).digest('base64'))
  return String(message.headers['webhook-signature'] ?? '')
    .split(' ')
    .some((signature) => {
      const given = Buffer.from(signature.replace(/^v1,/, ''))
      return given.length === expected.length && timingSafeEqual(given, expected)
    })
}

t.test(
  'connect a webhook, see its secret once, send a test, find it in the delivery log',
  { skip: !stack },
  async (t) => {
    if (!stack) return
    const { page } = await stack.newPage()
    screenshotAtEnd(t, page, 'integrations-journey-end')
    await signIn(stack, page, 'wendy@example.com')

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Integrations' }).click()
    await page.getByRole('heading', { name: 'Integrations', level: 1 }).waitFor()
    await page.getByText('No integrations yet').waitFor()

    await page.getByLabel('A webhook (any URL)').check()
    await page.getByLabel('Name', { exact: true }).fill('Our CRM')
    await page.getByLabel('URL', { exact: true }).fill(receiverUrl)
    await page.getByRole('button', { name: 'Connect' }).click()

    // The secret: shown once, focused so a screen reader reads it out, with a copy button.
    const panel = page.getByRole('region', { name: 'Signing secret of “Our CRM”' })
    await panel.waitFor()
    const secret = (await panel.getByTestId('secret').innerText()).trim()
    t.match(secret, /^whsec_[A-Za-z0-9+/=]{40,}$/, 'the generated signing secret is shown')
    t.ok(await panel.evaluate((element) => element === document.activeElement), 'the panel has focus')
    t.ok(await panel.getByRole('button', { name: 'Copy secret' }).isVisible(), 'it can be copied')
    t.match(await panel.innerText(), /shows it only this once/)
    const row = page.getByRole('row', { name: /Our CRM/ })
    t.match(
      await row.innerText(),
      `ending in ${secret.slice(-4)}`,
      'the list shows only its last four characters',
    )
    await screenshot(page, 'integrations-secret-once')
    await page.setViewportSize({ width: 360, height: 800 })
    await screenshot(page, 'integrations-secret-once-360')
    await page.setViewportSize({ width: 1280, height: 800 })

    await panel.getByRole('button', { name: 'I have saved it' }).click()
    t.equal(await page.getByText(secret).count(), 0, 'dismissed, the secret is gone')
    await page.reload()
    await page.getByRole('link', { name: 'Our CRM' }).waitFor()
    t.equal(await page.getByText(secret).count(), 0, 'and a reload never shows it again')

    await page.getByRole('link', { name: 'Our CRM' }).click()
    await page.getByRole('heading', { name: 'Our CRM', level: 1 }).waitFor()
    t.equal(await page.getByTestId('integration-status').innerText(), 'Active')
    await page.getByText('Nothing sent yet').waitFor()

    await page.getByRole('button', { name: 'Send a test' }).click()
    const result = page.getByTestId('test-result')
    await result.waitFor()
    t.match(await result.innerText(), /Delivered\. The receiver answered: HTTP 200 in \d+ ms\./)
    t.match(
      await page.locator('pre.answer').first().innerText(),
      'thanks from the CRM',
      "the receiver's answer",
    )

    t.equal(received.length, 1, 'the receiver got one request')
    const [test] = received
    t.ok(test && signedWith(secret, test), 'signed with the secret that was shown')
    t.match(JSON.parse(test?.body ?? '{}'), { type: 'test', data: { email: 'sample.lead@example.com' } })

    const log = page.getByTestId('deliveries')
    await log.getByText('Delivered').waitFor()
    t.match(await log.innerText(), /Delivered\s+Test/, 'the test is in the delivery log')
    t.match(await log.innerText(), /1 attempt, last answer: HTTP 200/)
    t.equal(await log.getByRole('button', { name: 'Redeliver' }).count(), 0, 'a test is not offered again')
    const attempts = log.getByRole('button', { name: 'Attempts' })
    await attempts.click()
    t.equal(await log.getByRole('button', { name: 'Hide attempts' }).getAttribute('aria-expanded'), 'true')
    await log.getByText('Attempt 1').waitFor()
    t.match(await log.locator('.attempts').innerText(), /Attempt 1, .+: HTTP 200 in \d+ ms/)
    t.match(await log.locator('.attempts').innerText(), 'thanks from the CRM', 'the answer, per attempt')
    await screenshot(page, 'integrations-delivery-log')

    // The receiver failing: said as plainly.
    answerStatus = 500
    await page.getByRole('button', { name: 'Send a test' }).click()
    await page.getByText('Not delivered.').waitFor()
    t.match(await result.innerText(), /Not delivered\. The receiver answered: HTTP 500/)
    await log.getByText('HTTP 500').first().waitFor()
    answerStatus = 200

    // Rotating: a new secret, shown once; the old one signs during the overlap.
    await page.getByRole('button', { name: 'Rotate secret' }).click()
    const dialog = page.getByRole('dialog', { name: 'Rotate the signing secret?' })
    await dialog.waitFor()
    t.ok(
      await dialog.evaluate((element) => element.contains(document.activeElement)),
      'focus is in the dialog',
    )
    await dialog.getByRole('button', { name: 'Rotate' }).click()
    const rotated = page.getByRole('region', { name: 'The new signing secret' })
    await rotated.waitFor()
    const next = (await rotated.getByTestId('secret').innerText()).trim()
    t.not(next, secret, 'a new secret')
    t.match(await page.locator('.facts').innerText(), /Previous secret\s+also signs until/)
    await page.getByRole('button', { name: 'Send a test' }).click()
    await page.getByText('Delivered.').waitFor()
    const last = received.at(-1)
    t.ok(last && signedWith(next, last) && signedWith(secret, last), 'signed with both during the overlap')

    await page.setViewportSize({ width: 360, height: 800 })
    await page.getByTestId('deliveries').scrollIntoViewIfNeeded()
    await screenshot(page, 'integrations-delivery-log-360')
    await page.setViewportSize({ width: 1280, height: 800 })

    // Pause holds new leads; what a paused integration cannot do is not offered.
    await page.getByRole('button', { name: 'Pause' }).click()
    await page.getByTestId('integration-status').getByText('Paused').waitFor()
    t.ok(
      await page.getByRole('button', { name: 'Redeliver all failed' }).isDisabled(),
      'nothing to redeliver while paused',
    )
    await page.getByRole('button', { name: 'Resume' }).click()
    await page.getByTestId('integration-status').getByText('Active').waitFor()

    // Settings: a refused URL is said at its field; a new name is saved.
    await page.getByRole('button', { name: 'Settings' }).click()
    await page.getByLabel('URL', { exact: true }).fill('ftp://files.example.com/in')
    await page.getByRole('button', { name: 'Save', exact: true }).click()
    await page.locator('#edit-url-error').waitFor()
    t.match(await page.locator('#edit-url-error').innerText(), /https/, 'the API’s reason, at the URL')
    await page.getByLabel('URL', { exact: true }).fill(receiverUrl)
    await page.getByLabel('Name', { exact: true }).fill('CRM (sales)')
    await page.getByRole('button', { name: 'Save', exact: true }).click()
    await page.getByRole('heading', { name: 'CRM (sales)', level: 1 }).waitFor()

    // Disconnecting says what goes, then the list is empty again.
    await page.getByRole('button', { name: 'Disconnect' }).click()
    const disconnect = page.getByRole('dialog', { name: 'Disconnect CRM (sales)?' })
    t.match(await disconnect.innerText(), /delivery log is deleted/)
    await disconnect.getByRole('button', { name: 'Disconnect' }).click()
    await page.waitForURL(/\/integrations$/)
    await page.getByText('No integrations yet').waitFor()
  },
)

t.test(
  'Mailerlite: a refused key is said at the field; a good one lists the account’s groups',
  { skip: !stack },
  async (t) => {
    if (!stack) return
    stack.mailerlite.state.createGroup('mlsk-dev-stand-in', 'Newsletter')
    const { page } = await stack.newPage()
    screenshotAtEnd(t, page, 'integrations-mailerlite-end')
    await signIn(stack, page, 'mia@example.com')
    // A campaign whose leads will join a Mailerlite group (made through the API: the editor is another page's).
    const api = await apiAs(stack, 'mia@example.com')
    const teams = await api.GET('/v1/teams')
    const teamId = teams.data?.items[0]?.id ?? ''
    const site = await api.POST('/v1/teams/{teamId}/sites', {
      params: { path: { teamId } },
      body: { hostname: 'shop.example.com' },
    })
    const campaign = await api.POST('/v1/teams/{teamId}/campaigns', {
      params: { path: { teamId } },
      body: { name: 'Spring sale', siteId: site.data?.id ?? '', type: 'modal' },
    })
    const campaignId = campaign.data?.id ?? ''
    t.ok(campaignId, 'a campaign to attach')
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Integrations' }).click()
    await page.getByLabel('Mailerlite').check()
    await page.getByLabel('Name', { exact: true }).fill('Newsletter')
    await page.getByLabel('Mailerlite API key').fill('mlsk-not-a-real-key')
    await page.getByRole('button', { name: 'Connect' }).click()
    const problem = page.locator('#key-error')
    await problem.waitFor()
    t.ok(await problem.isVisible(), 'the refused key is said at its field')
    t.equal(await page.getByLabel('Mailerlite API key').getAttribute('aria-invalid'), 'true')

    await page.getByLabel('Mailerlite API key').fill('mlsk-dev-stand-in')
    await page.getByRole('button', { name: 'Connect' }).click()
    await page.getByRole('heading', { name: 'Newsletter', level: 1 }).waitFor()
    t.match(await page.locator('.facts').innerText(), /API key\s+ending in d-in/)
    await page.getByRole('heading', { name: 'Campaigns sending leads here' }).waitFor()
    await page.getByRole('button', { name: 'Send a test' }).click()
    t.match(await page.getByTestId('test-result').innerText(), /Delivered\. Mailerlite answered: HTTP 20\d/)
    t.ok(
      stack.mailerlite.state.subscriber('mlsk-dev-stand-in', 'sample.lead@example.com'),
      'the sample lead reached the Mailerlite account',
    )

    // The campaign's leads go to the group picked from the account's groups, a form field filling a Mailerlite field.
    const row = page.locator('.link-row', { hasText: 'Spring sale' })
    t.equal(await row.locator('.badge').innerText(), 'Not sending')
    await row.getByLabel(/Spring sale/).check()
    const group = row.getByLabel('Mailerlite group the leads join')
    t.match(
      await group.locator('option:checked').innerText(),
      /^Newsletter \(0 active\)$/,
      'the account’s group is offered',
    )
    await row.getByText('Fill Mailerlite fields from form fields').click()
    await row.getByLabel(/^Name\s+name$/).fill('firstName')
    await row.getByRole('button', { name: 'Save', exact: true }).click()
    await row.locator('.badge', { hasText: /^Sending$/ }).waitFor()
    const links = await api.GET('/v1/teams/{teamId}/campaigns/{campaignId}/integrations', {
      params: { path: { teamId, campaignId } },
    })
    t.match(
      links.data?.items[0],
      { name: 'Newsletter', fieldMap: { firstName: 'name' } },
      'saved with its group and field',
    )
    t.match(links.data?.items[0]?.groupId, /^\d+$/)
    await screenshot(page, 'integrations-mailerlite')
    await page.reload()
    await page
      .locator('.link-row', { hasText: 'Spring sale' })
      .locator('.badge', { hasText: /^Sending$/ })
      .waitFor()
    t.pass('after a reload the campaign is still sending there')
  },
)
