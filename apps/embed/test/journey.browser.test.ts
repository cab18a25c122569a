import t from 'tap'
import { launchChromium, screenshotAtEnd } from '../../../tools/dev/browser.ts'
import { FULL_CAMPAIGN_EXAMPLE } from '../../api/src/modules/campaigns/content.ts'
import { asBrowserTest, dialog, settle, visitor } from './helpers/pages.ts'
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
]
const browser = await launchChromium(asBrowserTest(t), { hosts: [...SHOPS, EDGE_HOST] })

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
    screenshotAtEnd(asBrowserTest(t), page, 'journey-1-delay-0')
    const events = sentEvents(page)
    await page.goto(shop.url)
    await dialog(page).waitFor({ state: 'visible', timeout: 10_000 })
    await settle(page, 2000)
    t.equal(events.unique('impression'), 1, 'the browser sent one impression')
    t.equal((await stack.stats(live.id)).impressions, 1, 'the API counted it')
    t.same(errors, [])
  })
}
