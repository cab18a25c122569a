/**
 * Time from DOMContentLoaded to the popup on screen for a delay-0 campaign, through the local
 * Worker (Miniflare) and API, in Debian's Chromium: the median of 20 loads by new visitors (empty
 * cache) and of 20 reloads by one returning visitor (cache revalidated by ETag). Printed, never
 * asserted: timings on a shared machine are a measurement, not a test.
 *   npm run measure -w apps/embed   (needs PostgreSQL and memcached, as the API's tests do)
 */
import t from 'tap'
import { launchChromium } from '../../tools/dev/browser.ts'
import { FULL_CAMPAIGN_EXAMPLE } from '../api/src/modules/campaigns/content.ts'
import { buildScript } from './build.ts'
import { dialog } from './test/helpers/pages.ts'
import { EDGE_HOST, startStack } from './test/helpers/stack.ts'

const LOADS = 20
const SHOP = 'measure.shop.example'

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

/** Runs in the page before anything else: notes when the popup's host is first painted. */
function watchForPopup() {
  const w = window as unknown as { __nudgeVisibleAt?: number }
  new MutationObserver((_, observer) => {
    if (!document.querySelector('[data-nudge-campaign]')) return
    observer.disconnect()
    requestAnimationFrame(() => requestAnimationFrame(() => (w.__nudgeVisibleAt = performance.now())))
  }).observe(document, { childList: true, subtree: true })
}

const browser = await launchChromium(t, { hosts: [SHOP, EDGE_HOST] })
if (browser) {
  const { gzip } = await buildScript()
  const stack = await startStack(t)
  const shop = await stack.addShop(SHOP)
  await stack.liveCampaign(shop.site.id, {
    name: 'Measure',
    type: 'modal',
    variants: FULL_CAMPAIGN_EXAMPLE.variants,
    targeting: { visitors: 'all', trigger: { type: 'delay', seconds: 0 } },
    frequency: { show: 'every-page-view', stopAfterConversion: false },
  })

  const once = async (page: import('playwright-core').Page) => {
    await page.goto(shop.url)
    await dialog(page).waitFor({ state: 'visible', timeout: 10_000 })
    await page.waitForFunction(() => (window as unknown as { __nudgeVisibleAt?: number }).__nudgeVisibleAt)
    return page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming
      const dcl = nav.domContentLoadedEventStart
      const done = (part: string) =>
        (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
          .filter((entry) => entry.name.includes(part))
          .map((entry) => entry.responseEnd - dcl)[0] ?? Number.NaN
      return {
        visible: (window as unknown as { __nudgeVisibleAt: number }).__nudgeVisibleAt - dcl,
        script: done('/nudge.js'),
        domain: done('/domains/'),
        campaign: done('/campaigns/'),
      }
    })
  }

  const ms = (v: number) => `${v.toFixed(0)} ms`
  t.test(`DOMContentLoaded → popup visible, median of ${LOADS}`, async (t) => {
    type Timing = Awaited<ReturnType<typeof once>>
    const freshRuns: Timing[] = []
    for (let i = 0; i < LOADS; i += 1) {
      const context = await browser.newContext()
      await context.addInitScript(watchForPopup)
      freshRuns.push(await once(await context.newPage()))
      await context.close()
    }
    const fresh = freshRuns.map((run) => run.visible)
    const context = await browser.newContext()
    await context.addInitScript(watchForPopup)
    const page = await context.newPage()
    await once(page)
    const warmRuns: Timing[] = []
    for (let i = 0; i < LOADS; i += 1) warmRuns.push(await once(page))
    const warm = warmRuns.map((run) => run.visible)
    // Where a new visitor's time goes: each response's end, from DOMContentLoaded (medians).
    const part = (runs: Timing[], key: 'script' | 'domain' | 'campaign') =>
      ms(median(runs.map((run) => run[key])))
    await context.close()
    const line = [
      `nudge.js ${(gzip / 1024).toFixed(1)} KB gzip`,
      `DOMContentLoaded → popup visible (delay 0, local Worker): new visitors median ${ms(median(fresh))} (min ${ms(Math.min(...fresh))}, max ${ms(Math.max(...fresh))})`,
      `returning visitor median ${ms(median(warm))} (min ${ms(Math.min(...warm))}, max ${ms(Math.max(...warm))})`,
      `new visitors' responses end after DOMContentLoaded: script ${part(freshRuns, 'script')}, domain document ${part(freshRuns, 'domain')}, campaign ${part(freshRuns, 'campaign')}`,
    ].join('; ')
    process.stdout.write(`${line}\n`)
    t.comment(line)
    t.equal(fresh.length + warm.length, 2 * LOADS)
  })
}
