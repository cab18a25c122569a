import type { Browser, Page } from 'playwright-core'

/**
 * A visitor: a fresh browser context (its own localStorage) with a page that records what the
 * host page would notice of the script (uncaught errors) and what it logged to the console.
 */
export async function visitor(browser: Browser, options: { width?: number; height?: number } = {}) {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
    locale: 'en-US',
  })
  const page = await context.newPage()
  const errors: string[] = []
  const logs: string[] = []
  page.on('pageerror', (error) => errors.push(String(error)))
  page.on('console', (message) => logs.push(message.text()))
  return { context, page, errors, logs }
}

/** The open popup's dialog (Playwright's CSS locators see into open shadow roots). */
export const dialog = (page: Page) => page.locator('[data-nudge-campaign] [role=dialog]')

/** Waits until the script has had its say: settles the network and lets timers of 0 s run. */
export async function settle(page: Page, ms = 600) {
  await page.waitForLoadState('networkidle')
  await page.waitForTimeout(ms)
}
