import t from 'tap'
import { launchChromium, screenshot, screenshotAtEnd } from '../../../tools/dev/browser.ts'
import { CAMPAIGN_ID, exampleCampaign, startMemoryEdge } from './helpers/memory-edge.ts'
import { dialog, settle, visitor } from './helpers/pages.ts'

/*
 * The built script in Chromium against a stand-in edge (helpers/memory-edge.ts): what a visitor
 * of a customer's page sees and what the script sends. journey.test.ts runs the same path through
 * the real Worker and API.
 */

const browser = await launchChromium(t, { hosts: ['shop.test', 'edge.test'] })

/**
 * The events as the API counts them: each eventId once. A batch still in flight when the page
 * goes is sent again by sendBeacon (nothing is lost), so on a slow machine the edge may see an
 * event twice; the API keeps the first.
 */
const counted = (events: Array<Record<string, unknown>>) => [
  ...new Map(events.map((event) => [event.eventId, event])).values(),
]

if (browser) {
  t.test('a live delay-0 campaign shows at once and one impression is sent', async (t) => {
    const edge = await startMemoryEdge(t)
    edge.campaigns.set(CAMPAIGN_ID, exampleCampaign())
    const { page, errors } = await visitor(browser)
    screenshotAtEnd(t, page, 'embed-delay-0-desktop')
    await page.goto(`${edge.shop}/`)
    await dialog(page).waitFor({ state: 'visible', timeout: 5000 })
    t.match(await dialog(page).textContent(), /Spring sale: 10% off|Get our best offers first/)
    await settle(page, 1500)
    t.equal(edge.events.length, 1)
    t.match(edge.events[0], { campaignId: CAMPAIGN_ID, type: 'impression' })
    t.same(errors, [])
  })

  t.test('on a 360 px phone the popup fits the screen', async (t) => {
    const edge = await startMemoryEdge(t)
    edge.campaigns.set(CAMPAIGN_ID, exampleCampaign())
    const { page } = await visitor(browser, { width: 360, height: 740 })
    screenshotAtEnd(t, page, 'embed-delay-0-360px')
    await page.goto(`${edge.shop}/`)
    await dialog(page).waitFor({ state: 'visible', timeout: 5000 })
    const box = await dialog(page).boundingBox()
    t.ok(box && box.x >= 0 && box.x + box.width <= 360, `inside the 360 px width (${JSON.stringify(box)})`)
  })

  t.test('a scroll trigger: nothing before scrolling, the popup after', async (t) => {
    const edge = await startMemoryEdge(t)
    edge.campaigns.set(
      CAMPAIGN_ID,
      exampleCampaign({ targeting: { trigger: { type: 'scroll', percent: 50 } } }),
    )
    edge.page.body = '<h1>Long read</h1><div style="height:4000px">…</div><p>End</p>'
    const { page } = await visitor(browser)
    screenshotAtEnd(t, page, 'embed-scroll')
    await page.goto(`${edge.shop}/`)
    await settle(page, 1000)
    t.equal(await dialog(page).count(), 0, 'not before scrolling')
    t.equal(edge.events.length, 0)
    await page.mouse.wheel(0, 3000)
    await dialog(page).waitFor({ state: 'visible', timeout: 5000 })
    t.pass('shown after scrolling past half the page')
  })

  t.test(
    'a lead: a cut-off first request is retried with the same key; a 400 lands at its field',
    async (t) => {
      const edge = await startMemoryEdge(t)
      edge.campaigns.set(CAMPAIGN_ID, exampleCampaign())
      edge.leadAnswers.push({
        status: 400,
        body: {
          statusCode: 400,
          code: 'FST_ERR_VALIDATION',
          message: 'The lead is not valid',
          details: [{ field: 'body.email', message: 'is not an address we can deliver to' }],
        },
      })
      const { page, errors } = await visitor(browser)
      screenshotAtEnd(t, page, 'embed-lead-done')
      const keys: string[] = []
      let cut = false
      await page.route('**/public/v1/leads', async (route) => {
        keys.push(route.request().headers()['idempotency-key'] ?? '')
        if (!cut) {
          cut = true
          return route.abort('connectionreset')
        }
        return route.continue()
      })
      await page.goto(`${edge.shop}/`)
      await dialog(page).waitFor({ state: 'visible', timeout: 5000 })
      await page.getByRole('textbox', { name: 'Email' }).fill('ada@example.invalid')
      await page.getByRole('checkbox').check()
      await page.getByRole('button', { name: 'Get my code' }).click()
      const email = page.getByRole('textbox', { name: 'Email' })
      await page.waitForFunction(
        () =>
          document
            .querySelector('[data-nudge-campaign]')
            ?.shadowRoot?.querySelector('[aria-invalid="true"]') !== null,
        undefined,
        { timeout: 10_000 },
      )
      t.equal(await email.getAttribute('aria-invalid'), 'true')
      t.match(await dialog(page).textContent(), /Is not an address we can deliver to/)
      await screenshot(page, 'embed-lead-400')
      t.equal(keys.length, 2, 'the cut-off request was sent again')
      t.equal(keys[0], keys[1], 'with the same Idempotency-Key')
      t.equal(await email.inputValue(), 'ada@example.invalid', 'what the visitor typed is kept')

      await email.fill('ada@example.com')
      await page.getByRole('button', { name: 'Get my code' }).click()
      await dialog(page).waitFor({ state: 'detached', timeout: 10_000 })
      t.equal(edge.leads.length, 2, 'the 400 and the accepted one reached the edge')
      t.not(edge.leads[1]?.key, edge.leads[0]?.key, 'new answers are a new submission')
      t.match(edge.leads[1]?.body, {
        campaignId: CAMPAIGN_ID,
        email: 'ada@example.com',
        consent: true,
        consentVersion: '2025-03',
        hp: '',
        pageUrl: `${edge.shop}/`,
      })
      await settle(page, 1500)
      t.same(
        edge.events.map((e) => e.type),
        ['impression', 'conversion'],
        'converting is no close',
      )
      t.same(errors, [])
    },
  )

  t.test('closing sends a close; on reload frequency keeps it away', async (t) => {
    const edge = await startMemoryEdge(t)
    edge.campaigns.set(CAMPAIGN_ID, exampleCampaign())
    const { page, logs } = await visitor(browser)
    await page.goto(`${edge.shop}/`)
    await dialog(page).waitFor({ state: 'visible', timeout: 5000 })
    await page.getByRole('button', { name: 'No thanks' }).click()
    await dialog(page).waitFor({ state: 'detached' })
    await settle(page, 1500)
    t.same(
      edge.events.map((e) => e.type),
      ['impression', 'close'],
    )
    await page.goto(`${edge.shop}/?nudge_debug=1`)
    await settle(page, 1000)
    t.equal(await dialog(page).count(), 0, 'not shown again')
    t.ok(
      logs.some((line) => line.includes('frequency: once, already shown')),
      'the debug log says why',
    )
    t.equal(edge.events.length, 2)
  })

  t.test('the variant stays the same across reloads', async (t) => {
    const edge = await startMemoryEdge(t)
    edge.campaigns.set(CAMPAIGN_ID, exampleCampaign({ frequency: { show: 'every-page-view' } }))
    const { page } = await visitor(browser)
    const seen: string[] = []
    for (let i = 0; i < 4; i += 1) {
      await page.goto(`${edge.shop}/`)
      await dialog(page).waitFor({ state: 'visible', timeout: 5000 })
      seen.push((await dialog(page).locator('h1, h2, [role=heading]').first().textContent()) ?? '')
    }
    t.equal(new Set(seen).size, 1, `always "${seen[0]}"`)
    await settle(page, 1500)
    t.equal(new Set(edge.events.map((e) => e.variantId)).size, 1)
  })

  t.test('a campaign for another country does not show; the debug log names the rule', async (t) => {
    const edge = await startMemoryEdge(t)
    edge.country = 'DE'
    edge.campaigns.set(
      CAMPAIGN_ID,
      exampleCampaign({ targeting: { countries: { mode: 'allow', codes: ['FR'] } } }),
    )
    const { page, logs } = await visitor(browser)
    await page.goto(`${edge.shop}/?nudge_debug=1`)
    await settle(page, 1000)
    t.equal(await dialog(page).count(), 0)
    t.ok(
      logs.some((line) => /countr/i.test(line) && line.includes('not shown')),
      logs.join('\n'),
    )
    t.equal(edge.events.length, 0)
  })

  t.test('the host page’s CSS (* { all: unset }, a huge z-index) does not break it', async (t) => {
    const edge = await startMemoryEdge(t)
    edge.campaigns.set(CAMPAIGN_ID, exampleCampaign())
    edge.page.head = '<style>* { all: unset !important } div, button, input { display: block }</style>'
    edge.page.body =
      '<header style="position:fixed !important;inset:0 !important;z-index:2147483647 !important;background:rgba(255,0,0,.3) !important">Sticky header over the whole page</header><p>Page</p>'
    const { page } = await visitor(browser)
    screenshotAtEnd(t, page, 'embed-hostile-css')
    await page.goto(`${edge.shop}/`)
    await dialog(page).waitFor({ state: 'visible', timeout: 5000 })
    const box = await dialog(page).boundingBox()
    t.ok(box && box.width > 200 && box.height > 150, `laid out (${JSON.stringify(box)})`)
    const onTop = await page.evaluate(
      ({ x, y }) => {
        const hit = document.elementFromPoint(x, y)
        return hit?.hasAttribute('data-nudge-campaign') === true
      },
      { x: (box?.x ?? 0) + (box?.width ?? 0) / 2, y: (box?.y ?? 0) + (box?.height ?? 0) / 2 },
    )
    t.ok(onTop, 'the popup is above the page’s highest element')
    await screenshot(page, 'embed-hostile-css-open')
    await page.getByRole('button', { name: 'No thanks' }).click()
    await dialog(page).waitFor({ state: 'detached' })
  })

  t.test('keyboard only: Tab stays inside, Esc closes, focus returns', async (t) => {
    const edge = await startMemoryEdge(t)
    edge.campaigns.set(
      CAMPAIGN_ID,
      exampleCampaign({ targeting: { trigger: { type: 'delay', seconds: 3 } } }),
    )
    edge.page.body = '<button id="buy">Buy</button><a href="#x">Link</a>'
    const { page } = await visitor(browser)
    screenshotAtEnd(t, page, 'embed-keyboard')
    await page.goto(`${edge.shop}/`, { waitUntil: 'domcontentloaded' })
    await page.focus('#buy')
    t.equal(await dialog(page).count(), 0, 'the visitor is on the page’s button when it opens')
    await dialog(page).waitFor({ state: 'visible', timeout: 5000 })
    const inside = () =>
      page.evaluate(() => document.activeElement?.hasAttribute('data-nudge-campaign') === true)
    t.ok(await inside(), 'focus moved into the popup')
    let stayed = true
    for (let i = 0; i < 12; i += 1) {
      await page.keyboard.press(i % 3 === 2 ? 'Shift+Tab' : 'Tab')
      stayed &&= await inside()
    }
    t.ok(stayed, 'Tab and Shift+Tab never leave it')
    await page.keyboard.press('Escape')
    await dialog(page).waitFor({ state: 'detached' })
    t.equal(await page.evaluate(() => document.activeElement?.id), 'buy', 'focus is back where it was')
    await settle(page, 1500)
    t.same(
      edge.events.map((e) => e.type),
      ['impression', 'close'],
    )
  })

  t.test('nudge_preview shows the test version at once, ignoring targeting and frequency', async (t) => {
    const edge = await startMemoryEdge(t)
    edge.campaigns.set(
      CAMPAIGN_ID,
      exampleCampaign({
        targeting: { countries: { mode: 'allow', codes: ['FR'] }, trigger: { type: 'exit-intent' } },
      }),
    )
    const { page } = await visitor(browser)
    screenshotAtEnd(t, page, 'embed-preview')
    await page.goto(`${edge.shop}/?nudge_preview=${CAMPAIGN_ID}`)
    await dialog(page).waitFor({ state: 'visible', timeout: 5000 })
    t.match(await dialog(page).textContent(), /preview/i)
    t.equal(
      await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('nudge:h:')).length),
      0,
    )
  })

  t.test('pasted twice, broken answers, no storage: one popup or none, and never an error', async (t) => {
    const edge = await startMemoryEdge(t)
    edge.campaigns.set(CAMPAIGN_ID, exampleCampaign())
    edge.page.snippet = [1, 2]
      .map(() => `<script async src="${edge.edge}/nudge.js" data-site="site-1"></script>`)
      .join('')
    const { page, errors, context } = await visitor(browser)
    await page.goto(`${edge.shop}/`)
    await dialog(page).waitFor({ state: 'visible', timeout: 5000 })
    await settle(page, 500)
    t.equal(await page.locator('[data-nudge-campaign]').count(), 1, 'one popup')

    await context.route('**/domains/*.json', (route) => route.fulfill({ status: 200, body: '{not json' }))
    await page.goto(`${edge.shop}/`)
    await settle(page, 800)
    t.equal(await dialog(page).count(), 0)
    await context.unroute('**/domains/*.json')

    await context.addInitScript(() => {
      Object.defineProperty(window, 'localStorage', {
        get() {
          throw new DOMException('denied', 'SecurityError')
        },
      })
    })
    await page.goto(`${edge.shop}/`)
    await dialog(page).waitFor({ state: 'visible', timeout: 5000 })
    t.same(errors, [], 'nothing reached the page')
  })

  t.test('click, inactivity and exit-intent triggers fire on what the visitor does', async (t) => {
    const edge = await startMemoryEdge(t)
    edge.page.body = '<button id="deal" class="deal">See the deal</button><p>Text</p>'
    const { page } = await visitor(browser)
    const cases: Array<[string, Record<string, unknown>, () => Promise<void>]> = [
      ['click', { type: 'click', selector: '.deal' }, () => page.click('#deal')],
      ['inactivity', { type: 'inactivity', seconds: 2 }, () => page.waitForTimeout(2500)],
      [
        'exit-intent',
        { type: 'exit-intent' },
        async () => {
          await page.mouse.move(600, 300)
          await page.mouse.move(600, 0)
          await page.mouse.move(600, -20)
          // Headless Chromium sends no mouseout when the pointer leaves the viewport: the page gets
          // the event Chromium would send.
          await page.evaluate(() =>
            document.documentElement.dispatchEvent(
              new MouseEvent('mouseout', { bubbles: true, clientY: -5, relatedTarget: null }),
            ),
          )
        },
      ],
    ]
    for (const [name, trigger, act] of cases) {
      edge.campaigns.set(
        CAMPAIGN_ID,
        exampleCampaign({ targeting: { trigger }, frequency: { show: 'every-page-view' } }),
      )
      await page.goto(`${edge.shop}/`)
      await settle(page, 500)
      t.equal(await dialog(page).count(), 0, `${name}: not before`)
      await act()
      await dialog(page).waitFor({ state: 'visible', timeout: 5000 })
      t.pass(`${name}: shown after`)
    }
  })

  t.test(
    'two campaigns firing together: one popup at a time, the second when the first closes',
    async (t) => {
      const edge = await startMemoryEdge(t)
      const second = '0193b1a2-4c5d-7e6f-8a9b-0c1d2e3f4a5c'
      edge.campaigns.set(CAMPAIGN_ID, exampleCampaign())
      edge.campaigns.set(second, exampleCampaign({ id: second }))
      const { page } = await visitor(browser)
      await page.goto(`${edge.shop}/`)
      await dialog(page).waitFor({ state: 'visible', timeout: 5000 })
      await settle(page, 500)
      t.equal(await page.locator('[data-nudge-campaign]').count(), 1, 'one on screen')
      const first = await page.locator('[data-nudge-campaign]').getAttribute('data-nudge-campaign')
      await page.getByRole('button', { name: 'No thanks' }).click()
      await page.waitForFunction(
        (id) => {
          const host = document.querySelector('[data-nudge-campaign]')
          return host !== null && host.getAttribute('data-nudge-campaign') !== id
        },
        first,
        { timeout: 5000 },
      )
      t.pass('the other one follows')
    },
  )

  t.test('leaving the page at once: the pending impression goes by sendBeacon as text/plain', async (t) => {
    const edge = await startMemoryEdge(t)
    edge.campaigns.set(CAMPAIGN_ID, exampleCampaign())
    const { page } = await visitor(browser)
    await page.goto(`${edge.shop}/`)
    await dialog(page).waitFor({ state: 'visible', timeout: 5000 })
    t.equal(edge.events.length, 0, 'still waiting for its batch')
    await page.goto('about:blank')
    await new Promise((resolve) => setTimeout(resolve, 1000))
    t.match(counted(edge.events), [{ type: 'impression', campaignId: CAMPAIGN_ID }])
    // Sent as the page went (its batch may have started just before, on a slow machine).
    t.match(edge.eventTypes.at(-1), /^text\/plain/)
  })

  t.test('steps and links: moving on sends a step event, a link button a conversion', async (t) => {
    const edge = await startMemoryEdge(t)
    edge.campaigns.set(
      CAMPAIGN_ID,
      exampleCampaign({
        variants: [
          {
            id: 'a',
            name: 'Two steps',
            weight: 100,
            steps: [
              {
                blocks: [{ type: 'text', text: 'Want a tip?', style: 'heading' }],
                buttons: [{ label: 'Yes please', action: 'next-step' }],
              },
              {
                blocks: [{ type: 'text', text: 'Our sale is on', style: 'heading' }],
                buttons: [{ label: 'See the sale', action: 'link', url: `${edge.shop}/sale` }],
              },
            ],
          },
        ],
      }),
    )
    const { page, errors } = await visitor(browser)
    screenshotAtEnd(t, page, 'embed-steps')
    await page.goto(`${edge.shop}/`)
    await dialog(page).waitFor({ state: 'visible', timeout: 5000 })
    await page.getByRole('button', { name: 'Yes please' }).click()
    await page.getByRole('button', { name: 'See the sale' }).click()
    await page.waitForURL(`${edge.shop}/sale`)
    await settle(page, 1500)
    t.match(counted(edge.events), [
      { type: 'impression', variantId: 'a' },
      { type: 'step', step: 2 },
      { type: 'conversion' },
    ])
    t.equal(counted(edge.events).length, 3, 'the conversion left with the page (sendBeacon)')
    t.same(errors, [])
  })

  t.test('an old snippet (Go-Live: /widget.js, data-account) shows the popup and reports', async (t) => {
    const edge = await startMemoryEdge(t)
    edge.campaigns.set(CAMPAIGN_ID, exampleCampaign())
    edge.page.snippet = `<script async src="${edge.edge}/widget.js" data-account="17"></script>`
    for (const currentScript of ['given', 'hidden']) {
      const { page, errors, context } = await visitor(browser)
      // As under a tag manager that runs the script where document.currentScript is not its tag:
      // the script finds its tag by the old snippet's attributes.
      if (currentScript === 'hidden') {
        await context.addInitScript(() => {
          Object.defineProperty(Document.prototype, 'currentScript', { get: () => null })
        })
      }
      screenshotAtEnd(t, page, `embed-old-snippet-${currentScript}`)
      const before = edge.events.length
      await page.goto(`${edge.shop}/`)
      await dialog(page).waitFor({ state: 'visible', timeout: 5000 })
      t.match(await dialog(page).textContent(), /Spring sale: 10% off|Get our best offers first/)
      await settle(page, 1500)
      t.match(edge.events.slice(before), [{ campaignId: CAMPAIGN_ID, type: 'impression' }], currentScript)
      t.same(errors, [])
      await context.close()
    }
  })
}
