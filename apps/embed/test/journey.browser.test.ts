import t from 'tap'
import { launchChromium, screenshotAtEnd } from '../../../tools/dev/browser.ts'
import { FULL_CAMPAIGN_EXAMPLE } from '../../api/src/modules/campaigns/content.ts'
import { recordLegacyIds } from '../../api/src/modules/golive/legacy-ids-repository.ts'
import { eventually, startReceiver } from '../../api/test/helpers/receiver.ts'
import { uuidv7 } from '../../api/test/helpers/visitor-ids.ts'
import { dialog, settle, visitor } from './helpers/pages.ts'
import { EDGE_HOST, startStack } from './helpers/stack.ts'

/*
 * The browser journey through the real parts: a customer's page on a loopback hostname
 * loads the snippet from the Worker (Miniflare), which serves what the API published and forwards
 * the visitor's events and leads to the API (EDGE_SECRET); the counts are read back from the
 * API's own stats and leads routes. Each subtest has a site of its own (campaigns of one site
 * would queue behind each other).
 */

const SHOPS = [
  'one.shop.example',
  'two.shop.example',
  'three.shop.example',
  'four.shop.example',
  'five.shop.example',
  'six.shop.example',
  'seven.shop.example',
  'eight.shop.example',
  'nine.shop.example',
  'ten.shop.example',
  'eleven.shop.example',
  'twelve.shop.example',
]
// One API, Worker and browser for twelve journeys: more than tap's default two minutes per file.
t.setTimeout(540_000)
const browser = await launchChromium(t, { hosts: [...SHOPS, EDGE_HOST] })

/** The API's full example with targeting opened to the test page, and the changes given. */
function campaign(
  over: {
    targeting?: Record<string, unknown>
    frequency?: Record<string, unknown>
    variants?: unknown[]
  } = {},
) {
  return {
    name: 'Spring sale newsletter',
    type: 'modal',
    variants: over.variants ?? FULL_CAMPAIGN_EXAMPLE.variants,
    targeting: { visitors: 'all', trigger: { type: 'delay', seconds: 0 }, ...over.targeting },
    frequency: over.frequency ?? { show: 'once', stopAfterConversion: true, stopAfterClose: false },
  }
}

/** Events the page sent through the Worker, by type (read from the requests the browser made). */
function sentEvents(page: import('playwright-core').Page) {
  const sent: Array<{ type: string; eventId: string }> = []
  page.on('request', (request) => {
    if (!request.url().endsWith('/public/v1/events') || request.method() !== 'POST') return
    const body = JSON.parse(request.postData() ?? '{"events":[]}') as {
      events: Array<{ type: string; eventId: string }>
    }
    sent.push(...body.events)
  })
  const unique = (type: string) => new Set(sent.filter((e) => e.type === type).map((e) => e.eventId)).size
  return { sent, unique }
}

if (browser) {
  const stack = await startStack(t)

  t.test('1. a live delay-0 campaign shows; the API counts the impression the browser sent', async (t) => {
    const shop = await stack.addShop(SHOPS[0] as string)
    const live = await stack.liveCampaign(shop.site.id, campaign())
    const { page, errors } = await visitor(browser)
    screenshotAtEnd(t, page, 'journey-1-delay-0')
    const events = sentEvents(page)
    await page.goto(shop.url)
    await dialog(page).waitFor({ state: 'visible', timeout: 10_000 })
    await settle(page, 2000)
    t.equal(events.unique('impression'), 1, 'the browser sent one impression')
    t.equal((await stack.stats(live.id)).impressions, 1, 'the API counted it')
    t.same(errors, [])
  })

  t.test('2. a scroll trigger: nothing before scrolling, the popup after', async (t) => {
    const shop = await stack.addShop(SHOPS[1] as string)
    shop.page.body = '<h1>Long read</h1><div style="height:4000px">…</div><p>End</p>'
    const live = await stack.liveCampaign(
      shop.site.id,
      campaign({ targeting: { trigger: { type: 'scroll', percent: 50 } } }),
    )
    const { page } = await visitor(browser)
    screenshotAtEnd(t, page, 'journey-2-scroll')
    await page.goto(shop.url)
    await settle(page, 1500)
    t.equal(await dialog(page).count(), 0, 'not before scrolling')
    await page.mouse.wheel(0, 3000)
    await dialog(page).waitFor({ state: 'visible', timeout: 10_000 })
    await settle(page, 2000)
    t.equal((await stack.stats(live.id)).impressions, 1)
  })

  t.test(
    '3. a lead cut off once is stored once and reaches the webhook; a 400 lands at its field',
    async (t) => {
      const shop = await stack.addShop(SHOPS[2] as string)
      const live = await stack.liveCampaign(shop.site.id, campaign())
      const receiver = await startReceiver(t)
      await stack.connectWebhook(live.id, receiver.url)
      const { page, errors } = await visitor(browser)
      screenshotAtEnd(t, page, 'journey-3-lead')
      const events = sentEvents(page)
      const keys: string[] = []
      let cut = false
      await page.route('**/public/v1/leads', async (route) => {
        keys.push(route.request().headers()['idempotency-key'] ?? '')
        // Fetched from Node, which knows edge.example only as the browser's name for loopback.
        const response = await route.fetch({ url: route.request().url().replace(EDGE_HOST, '127.0.0.1') })
        // The first request the API accepts is stored there; its answer never reaches the browser.
        if (!cut && response.status() === 202) {
          cut = true
          return route.abort('connectionreset')
        }
        return route.fulfill({ response })
      })
      await page.goto(shop.url)
      await dialog(page).waitFor({ state: 'visible', timeout: 10_000 })
      // The API drops a form sent faster than a person could (LEAD_MIN_FILL_MS, 1.5 s) as a bot's.
      await page.waitForTimeout(1600)
      const email = page.getByRole('textbox', { name: 'Email' })
      // An address the browser takes and the API does not (it checks the domain's shape).
      await email.fill('ada@localhost')
      await page.getByRole('checkbox').check()
      await page.getByRole('button', { name: 'Get my code' }).click()
      await page
        .waitForSelector('[data-nudge-campaign] [aria-invalid="true"]', { timeout: 10_000 })
        .catch(() => {})
      t.equal(await email.getAttribute('aria-invalid'), 'true', 'the API’s 400 is shown at the email field')
      await email.fill('ada@example.com')
      await page.getByRole('button', { name: 'Get my code' }).click()
      await dialog(page).waitFor({ state: 'detached', timeout: 15_000 })
      await settle(page, 2000)
      const stored = await stack.leads(live.id)
      t.same(
        stored.map((lead) => lead.email),
        ['ada@example.com'],
        'stored once',
      )
      t.equal(cut, true, 'the accepted request was cut off')
      t.equal(keys.length, 3, 'the 400, the cut-off request and its retry')
      t.equal(keys[1], keys[2], 'the retry carried the cut-off request’s key')
      t.not(keys[0], keys[1], 'corrected answers are a new submission')
      t.equal(events.unique('conversion'), 1)
      t.match(await stack.stats(live.id), { impressions: 1, conversions: 1, leads: 1 })
      const delivered = await eventually(
        async () => {
          const bodies = receiver.received.filter((request) => request.body.includes('ada@example.com'))
          return bodies.length > 0 ? bodies : undefined
        },
        20_000,
        'the webhook delivery',
      ).catch(() => [])
      t.equal(delivered.length, 1, 'the team’s webhook received the lead once')
      t.same(errors, [])
    },
  )

  t.test('4. closing records a close; on reload frequency keeps it away', async (t) => {
    const shop = await stack.addShop(SHOPS[3] as string)
    const live = await stack.liveCampaign(shop.site.id, campaign())
    const { page } = await visitor(browser)
    screenshotAtEnd(t, page, 'journey-4-closed')
    const events = sentEvents(page)
    await page.goto(shop.url)
    await dialog(page).waitFor({ state: 'visible', timeout: 10_000 })
    await page.getByRole('button', { name: 'No thanks' }).click()
    await settle(page, 2000)
    await page.reload()
    await settle(page, 1500)
    t.equal(await dialog(page).count(), 0, 'not shown again')
    t.equal(events.unique('impression'), 1)
    t.equal(events.unique('close'), 1)
    t.match(await stack.stats(live.id), { impressions: 1, closes: 1 })
  })

  t.test('5. two 50/50 variants: each visitor keeps theirs across reloads', async (t) => {
    const shop = await stack.addShop(SHOPS[4] as string)
    await stack.liveCampaign(
      shop.site.id,
      campaign({ frequency: { show: 'every-page-view', stopAfterConversion: false } }),
    )
    const { page } = await visitor(browser)
    const seen: string[] = []
    for (let i = 0; i < 4; i += 1) {
      await page.goto(shop.url)
      await dialog(page).waitFor({ state: 'visible', timeout: 10_000 })
      seen.push((await dialog(page).locator('h1, h2, [role=heading]').first().textContent()) ?? '')
    }
    t.equal(new Set(seen).size, 1, `always "${seen[0]}"`)
  })

  t.test('6. a campaign for another country does not show (Miniflare cf.country DE)', async (t) => {
    const shop = await stack.addShop(SHOPS[5] as string)
    const live = await stack.liveCampaign(
      shop.site.id,
      campaign({ targeting: { countries: { mode: 'allow', codes: ['FR'] } } }),
    )
    const { page, logs } = await visitor(browser)
    await page.goto(`${shop.url}?nudge_debug=1`)
    await settle(page, 1500)
    t.equal(await dialog(page).count(), 0)
    t.ok(
      logs.some((line) => line.includes('DE') && line.includes('not shown')),
      'the log says the country',
    )
    t.equal((await stack.stats(live.id)).impressions, 0)
  })

  t.test('7. the host page’s CSS (* { all: unset }, a huge z-index) does not break it', async (t) => {
    const shop = await stack.addShop(SHOPS[6] as string)
    shop.page.head = '<style>* { all: unset !important } div, button, input { display: block }</style>'
    shop.page.body =
      '<header style="position:fixed !important;inset:0 !important;z-index:2147483647 !important;background:rgba(255,0,0,.3) !important">Sticky header over the whole page</header><p>Page</p>'
    await stack.liveCampaign(shop.site.id, campaign())
    const { page } = await visitor(browser)
    screenshotAtEnd(t, page, 'journey-7-hostile-css')
    await page.goto(shop.url)
    await dialog(page).waitFor({ state: 'visible', timeout: 10_000 })
    const box = await dialog(page).boundingBox()
    t.ok(box && box.width > 200 && box.height > 150, `laid out (${JSON.stringify(box)})`)
    const onTop = await page.evaluate(
      ({ x, y }) => document.elementFromPoint(x, y)?.hasAttribute('data-nudge-campaign') === true,
      { x: (box?.x ?? 0) + (box?.width ?? 0) / 2, y: (box?.y ?? 0) + (box?.height ?? 0) / 2 },
    )
    t.ok(onTop, 'above the page’s highest element')
  })

  t.test('8. keyboard only: Tab stays inside, Esc closes, focus returns', async (t) => {
    const shop = await stack.addShop(SHOPS[7] as string)
    shop.page.body = '<button id="buy">Buy</button><a href="#x">Link</a>'
    const live = await stack.liveCampaign(
      shop.site.id,
      campaign({ targeting: { trigger: { type: 'delay', seconds: 3 } } }),
    )
    const { page } = await visitor(browser)
    screenshotAtEnd(t, page, 'journey-8-keyboard')
    await page.goto(shop.url, { waitUntil: 'domcontentloaded' })
    await page.focus('#buy')
    await dialog(page).waitFor({ state: 'visible', timeout: 10_000 })
    const inside = () =>
      page.evaluate(() => document.activeElement?.hasAttribute('data-nudge-campaign') === true)
    t.ok(await inside(), 'focus moved in')
    let stayed = true
    for (let i = 0; i < 12; i += 1) {
      await page.keyboard.press(i % 3 === 2 ? 'Shift+Tab' : 'Tab')
      stayed &&= await inside()
    }
    t.ok(stayed, 'Tab and Shift+Tab never leave it')
    await page.keyboard.press('Escape')
    await dialog(page).waitFor({ state: 'detached' })
    t.equal(await page.evaluate(() => document.activeElement?.id), 'buy', 'focus is back')
    await settle(page, 2000)
    t.match(await stack.stats(live.id), { impressions: 1, closes: 1 })
  })

  t.test(
    '9. leaving at once: the impression goes by sendBeacon through the Worker and is counted',
    async (t) => {
      const shop = await stack.addShop(SHOPS[8] as string)
      const live = await stack.liveCampaign(shop.site.id, campaign())
      const { page } = await visitor(browser)
      await page.goto(shop.url)
      await dialog(page).waitFor({ state: 'visible', timeout: 10_000 })
      await page.goto('about:blank')
      const counted = await eventually(
        async () => ((await stack.stats(live.id)).impressions === 1 ? true : undefined),
        10_000,
        'the impression',
      ).catch(() => false)
      t.ok(counted, 'the API counted the impression the beacon carried')
    },
  )

  t.test(
    '10. not in R2: the Worker answers with the API’s document, full campaigns inside, and the popup shows',
    async (t) => {
      const shop = await stack.addShop(SHOPS[9] as string)
      const live = await stack.liveCampaign(shop.site.id, campaign())
      await stack.bucket.delete(`domains/${SHOPS[9]}.json`)
      await stack.bucket.delete(`campaigns/production/${live.id}.json`)
      const { page } = await visitor(browser)
      screenshotAtEnd(t, page, 'journey-10-fallback')
      const events = sentEvents(page)
      await page.goto(shop.url)
      await dialog(page).waitFor({ state: 'visible', timeout: 10_000 })
      await settle(page, 2000)
      t.equal(events.unique('impression'), 1, 'the impression is sent')
      // The edge's preflight asks the API about a host it has no document for, so the page's
      // writes are not lost while the bucket lacks the site.
      const counted = await eventually(
        async () => ((await stack.stats(live.id)).impressions === 1 ? true : undefined),
        10_000,
        'the impression',
      ).catch(() => false)
      t.ok(counted, 'the API counted it')
    },
  )
  t.test(
    '11. two steps: Next shows the form, and the API counts step 2 reached once per page view',
    async (t) => {
      const shop = await stack.addShop(SHOPS[10] as string)
      const live = await stack.liveCampaign(
        shop.site.id,
        campaign({
          frequency: { show: 'every-page-view', stopAfterConversion: false },
          variants: [
            {
              id: 'steps',
              name: 'Question first',
              weight: 100,
              steps: [
                {
                  blocks: [{ type: 'text', style: 'heading', text: 'Planning a trip this spring?' }],
                  buttons: [{ label: 'Next', action: 'next-step' }],
                },
                {
                  blocks: [{ type: 'text', style: 'heading', text: 'Get our packing list' }],
                  form: {
                    fields: [{ name: 'email', type: 'email', label: 'Email', required: true }],
                  },
                  buttons: [{ label: 'Send it to me', action: 'submit' }],
                },
              ],
            },
          ],
        }),
      )
      const { page, errors } = await visitor(browser)
      screenshotAtEnd(t, page, 'journey-11-second-step')
      const events = sentEvents(page)
      /**
       * The shown variant's impressions and step reach, once the API has counted `reached` of both:
       * the impression and the step leave in separate requests, and either may be stored first.
       */
      const counted = (reached: number) =>
        eventually(
          async () => {
            const variant = (await stack.campaignStats(live.id)).variants.find((v) => v.id === 'steps')
            return variant?.steps[0]?.reached === reached && variant.impressions === reached
              ? variant
              : undefined
          },
          10_000,
          `step 2 reached ${reached} times`,
        ).catch(() => undefined)

      await page.goto(shop.url)
      await page.getByRole('dialog', { name: 'Planning a trip this spring?' }).waitFor({ timeout: 10_000 })
      await page.getByRole('button', { name: 'Next' }).click()
      const second = page.getByRole('dialog', { name: 'Get our packing list' })
      await second.waitFor({ timeout: 5_000 })
      t.ok(
        await second.getByRole('textbox', { name: 'Email' }).isVisible(),
        'the second step’s form is shown',
      )
      t.equal(await page.getByRole('button', { name: 'Next' }).count(), 0, 'the first step is gone')
      t.match(await counted(1), { impressions: 1, steps: [{ step: 2, reached: 1 }] }, 'the API counted it')

      await page.reload()
      await page.getByRole('dialog', { name: 'Planning a trip this spring?' }).waitFor({ timeout: 10_000 })
      await page.getByRole('button', { name: 'Next' }).click()
      await second.waitFor({ timeout: 5_000 })
      t.match(await counted(2), { impressions: 2, steps: [{ step: 2, reached: 2 }] }, 'once per page view')
      t.equal(events.unique('step'), 2, 'the browser sent one step event per page view')
      t.same(errors, [])
    },
  )

  t.test(
    '12. an old snippet (Go-Live) loads the script from the Worker’s /widget.js; old names and old ids work',
    async (t) => {
      const shop = await stack.addShop(SHOPS[11] as string)
      shop.page.snippet = `<script async src="${stack.edge}/widget.js" data-account="17"></script>`
      const live = await stack.liveCampaign(shop.site.id, campaign())
      // What `golive migrate` leaves: legacy_ids, and the legacy map in the Worker's bucket.
      await recordLegacyIds(stack.app.db, [
        { kind: 'domain', legacyId: '17', newId: shop.site.id },
        { kind: 'campaign', legacyId: '123', newId: live.id },
      ])
      const until = new Date(Date.now() + 86_400_000).toISOString()
      await stack.bucket.put(
        'legacy/map.json',
        JSON.stringify({ until, domains: { '17': SHOPS[11] }, campaigns: { '123': live.id } }),
      )
      const { page, errors } = await visitor(browser)
      screenshotAtEnd(t, page, 'journey-12-old-snippet')
      const events = sentEvents(page)
      await page.goto(shop.url)
      await dialog(page).waitFor({ state: 'visible', timeout: 10_000 })
      await settle(page, 2000)
      t.equal(events.unique('impression'), 1, 'the browser sent one impression')
      t.equal((await stack.stats(live.id)).impressions, 1, 'the API counted it')

      // From the page, as the old script's requests would go: the old names, and a report it
      // queued with the old campaign id, through the Worker.
      const fromPage = await page.evaluate(
        async ({ edge, report }) => {
          const site = await fetch(`${edge}/w/17.json`)
          const object = await fetch(`${edge}/c/123.json`)
          const sent = await fetch(`${edge}/public/v1/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ events: [report] }),
          })
          return {
            site: { status: site.status, body: (await site.json()) as { hostname?: string } },
            object: { status: object.status, body: (await object.json()) as { id?: string } },
            sent: { status: sent.status, body: await sent.json() },
          }
        },
        {
          edge: stack.edge,
          report: { eventId: uuidv7(), pageViewId: uuidv7(), campaignId: '123', type: 'conversion' },
        },
      )
      t.match(
        fromPage.site,
        { status: 200, body: { hostname: SHOPS[11] } },
        '/w/17.json is the site document',
      )
      t.match(fromPage.object, { status: 200, body: { id: live.id } }, '/c/123.json is the live campaign')
      t.match(fromPage.sent, { status: 202, body: { accepted: 1 } }, 'the old report was taken')
      t.equal((await stack.stats(live.id)).conversions, 1, 'and counted on the new campaign')
      t.same(errors, [])
    },
  )
}
