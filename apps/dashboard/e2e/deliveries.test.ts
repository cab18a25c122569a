// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright's innerText() is what a person sees (CSS applied), not the DOM property
import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Page } from 'playwright-core'
import t from 'tap'
import { addSite, liveLeadCampaign, personalTeam } from '../../api/test/helpers/campaigns.ts'
import { type Stack, screenshot, screenshotAtEnd, startStack } from './stack.ts'

// Leads' deliveries are the job worker's: it retries twice, quickly, before a delivery counts as
// failed. The receiver is on loopback, which the API refuses as a webhook target unless told.
const stack = await startStack(t, {
  worker: true,
  env: {
    OUTBOUND_ALLOW_LOOPBACK: 'true',
    DELIVERY_RETRY_SCHEDULE: '300ms,300ms',
    JOBS_POLL_SECONDS: '0.5',
    LEAD_MIN_FILL_MS: '0',
  },
})

/** A team's CRM: takes nudge's webhooks, or answers 500 while it is "down". */
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

type Mailbox = { list(to: string): Promise<Array<{ text: string; sentAt: string }>> }

/**
 * Signs in through the magic link, as stack.ts's signIn does; with a job worker running, the email
 * may be sent by the worker, whose dev mailbox is its own (in memory in tests): both are read.
 */
async function signInWithWorker(stack: Stack, page: Page, email: string) {
  const asked = Date.now() - 1000
  await page.goto('/signin')
  await page.getByLabel('Email address').fill(email)
  await page.getByRole('button', { name: 'Email me a sign-in link' }).click()
  await page.getByRole('heading', { name: 'Check your inbox' }).waitFor()
  const boxes = [stack.app, stack.worker].map((app) => (app as unknown as { mailer: Mailbox }).mailer)
  let link: string | undefined
  for (const deadline = Date.now() + 30_000; !link && Date.now() < deadline; ) {
    const messages = (await Promise.all(boxes.map((box) => box.list(email)))).flat()
    link = messages
      .filter((message) => Date.parse(message.sentAt) >= asked)
      .flatMap((message) => message.text.match(/https?:\/\/\S+/g) ?? [])
      .find((url) => url.includes('/auth/verify'))
    if (!link) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  if (!link) throw new Error(`no sign-in link for ${email}`)
  await page.goto(link)
  await page.waitForURL(
    (url) => !url.pathname.startsWith('/auth/verify') && !url.pathname.startsWith('/signin'),
  )
}

t.test(
  'a lead the receiver refused: its attempts and answers in the log, redelivered one, then all failed',
  { skip: !stack },
  async (t) => {
    if (!stack) return
    const { page } = await stack.newPage()
    screenshotAtEnd(t, page, 'integrations-redeliver-end')
    await signInWithWorker(stack, page, 'rita@example.com')
    // A live campaign with a form on a site, sending its leads to the CRM (set up through the API).
    // The test's own calls carry the session the browser holds (its access token, as a bearer).
    const access = (await page.context().cookies(stack.apiUrl)).find(
      (cookie) => cookie.name === 'sAccessToken',
    )
    const rita = { headers: { authorization: `Bearer ${decodeURIComponent(access?.value ?? '')}` } }
    const teamId = await personalTeam(stack.app, rita)
    const site = await addSite(stack.app, rita, teamId, 'rita.example')
    const campaign = await liveLeadCampaign(stack.app, rita, teamId, site.id)
    const hook = await stack.app.inject({
      method: 'POST',
      url: `/v1/teams/${teamId}/integrations`,
      headers: rita.headers,
      payload: { kind: 'webhook', name: 'Rita CRM', url: receiverUrl },
    })
    const hookId = hook.json().id as string
    await stack.app.inject({
      method: 'PUT',
      url: `/v1/teams/${teamId}/campaigns/${campaign.id}/integrations/${hookId}`,
      headers: rita.headers,
      payload: {},
    })
    const visitorLeaves = async (email: string) => {
      const answer = await stack.app.inject({
        method: 'POST',
        url: '/public/v1/leads',
        headers: { origin: 'https://rita.example' },
        payload: {
          campaignId: campaign.id,
          variantId: 'a',
          email,
          fields: {},
          consent: false,
          hp: '',
          fillMs: 5000,
        },
      })
      t.equal(answer.statusCode, 202, `${email} left their email`)
    }
    const failed = async (count: number) => {
      for (const deadline = Date.now() + 45_000; Date.now() < deadline; ) {
        const list = await stack.app.inject({
          method: 'GET',
          url: `/v1/teams/${teamId}/integrations/${hookId}/deliveries?status=failed`,
          headers: rita.headers,
        })
        if ((list.json().items as unknown[]).length >= count) return
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
      throw new Error(`not ${count} failed deliveries`)
    }

    // The CRM is down: three attempts, each answered 500, and the delivery fails.
    answerStatus = 500
    await visitorLeaves('first@example.com')
    await failed(1)

    await page.goto(`/t/${teamId}/integrations/${hookId}`)
    const log = page.getByTestId('deliveries')
    await log.getByText('Failed (no more retries)').waitFor()
    t.match(await log.innerText(), /New lead/)
    t.match(await log.innerText(), /3 attempts, last answer: HTTP 500/)
    await log.getByRole('button', { name: 'Attempts' }).click()
    await log.getByText('Attempt 3').waitFor()
    const attempts = await log.locator('.attempts').innerText()
    t.match(attempts, /Attempt 1, .+: HTTP 500 in \d+ ms/)
    t.match(attempts, /Attempt 2, .+: HTTP 500/)
    t.match(attempts, 'the CRM is down', "the receiver's answer, per attempt")
    await screenshot(page, 'integrations-failed-delivery')

    // Back up: Redeliver sends it again (the same webhook-id), and the log says it arrived.
    answerStatus = 200
    const before = received.length
    await log.getByRole('button', { name: 'Redeliver' }).click()
    await page.locator('.toast', { hasText: 'Sent again' }).waitFor()
    const refreshUntil = async (text: RegExp) => {
      for (const deadline = Date.now() + 45_000; Date.now() < deadline; ) {
        if (text.test(await log.innerText())) return
        await page.getByRole('button', { name: 'Refresh' }).click()
        await page.waitForTimeout(400)
      }
      throw new Error(`the log never showed ${text}`)
    }
    await refreshUntil(/Delivered\s+New lead/)
    t.match(await log.innerText(), /4 attempts, last answer: HTTP 200/)
    const redelivered = received.slice(before).find((r) => r.body.includes('first@example.com'))
    t.ok(redelivered, 'the receiver got the lead')
    t.equal(
      redelivered?.headers['webhook-id'],
      received.find((r) => r.body.includes('first@example.com'))?.headers['webhook-id'],
      'with the webhook-id of the first attempts',
    )

    // Two more fail; "Redeliver all failed" sends both.
    answerStatus = 500
    await visitorLeaves('second@example.com')
    await visitorLeaves('third@example.com')
    await failed(2)
    answerStatus = 200
    await page.getByRole('button', { name: 'Redeliver all failed' }).click()
    const dialog = page.getByRole('dialog', { name: 'Redeliver every failed delivery?' })
    await dialog.getByRole('button', { name: 'Redeliver all failed' }).click()
    await page.locator('.toast', { hasText: '2 failed deliveries are being sent again.' }).waitFor()
    await page.getByLabel('Status').selectOption({ label: 'Failed (no more retries)' })
    for (const deadline = Date.now() + 45_000; ; ) {
      await page.getByRole('button', { name: 'Refresh' }).click()
      await page.waitForTimeout(400)
      if ((await page.getByText('No deliveries with this status.').count()) === 1) break
      if (Date.now() > deadline) throw new Error('failed deliveries left')
    }
    t.pass('no failed delivery is left')
    t.ok(
      ['second@example.com', 'third@example.com'].every((email) =>
        received.some((r) => r.body.includes(email) && r.headers['webhook-signature']),
      ),
      'both reached the receiver',
    )
    await page.getByLabel('Status').selectOption({ label: 'All' })
    await log.getByText('Delivered').first().waitFor()
    await screenshot(page, 'integrations-redelivered')
  },
)
