/**
 * Debian's Chromium for browser tests, driven by playwright-core (never a downloaded browser).
 * Without it a test skips with one line naming the package, and fails instead under CI=true,
 * where .ci/run installs it. Screenshots go to .data/screenshots/, to be looked at.
 */
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { root } from './paths.ts'

type Test = {
  skip(message: string): void
  fail(message: string): void
  teardown(fn: () => unknown): void
  passing(): boolean
}

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const SCREENSHOTS = path.join(root, '.data/screenshots')

/**
 * The flags this machine needs: the network is closed, so every background connection Chromium
 * tries on its own (updates, sync, Google lookups) would be refused, many at a time.
 */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/**
 * A headless Chromium closed when the test ends, or undefined (the test is skipped, or failed
 * under CI=true) when the package is not installed. `hosts` resolves those names to 127.0.0.1,
 * so a page can be served under a customer's hostname from loopback; `args` are more Chromium flags.
 */
export async function launchChromium(
  t: Test,
  options: { hosts?: string[]; args?: string[] } = {},
): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM_PATH)) {
    const message = `Chromium not found at ${CHROMIUM_PATH}: apt-get install chromium`
    if (process.env.CI === 'true') t.fail(message)
    else t.skip(message)
    return undefined
  }
  const rules = (options.hosts ?? []).map((host) => `MAP ${host} 127.0.0.1`).join(',')
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...FLAGS, ...(rules ? [`--host-resolver-rules=${rules}`] : []), ...(options.args ?? [])],
  })
  t.teardown(() => browser.close())
  return browser
}

/** Saves what the page shows as .data/screenshots/<name>.png; returns the file's path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true })
  const file = path.join(SCREENSHOTS, `${name.replace(/[^a-z0-9-]+/gi, '-')}.png`)
  await page.screenshot({ path: file, fullPage: false })
  return file
}

/** At the end of the test, a screenshot of the page as it was, named `failed-…` when it failed. */
export function screenshotAtEnd(t: Test, page: Page, name: string): void {
  t.teardown(async () => {
    if (page.isClosed()) return
    await screenshot(page, t.passing() ? name : `failed-${name}`).catch(() => {})
  })
}
