/*
 * A page in Chromium with the library bundled into it as the script bundles it (esbuild, IIFE),
 * where a test renders a campaign and reads back what the handlers were told.
 */
import { build } from 'esbuild'
import type { Browser, Page } from 'playwright-core'
import t from 'tap'
import { launchChromium } from '../../../tools/dev/browser.ts'
import type { Step } from '../src/render/types.ts'
import type { PublishedCampaign } from '../src/rules/types.ts'

let bundle: Promise<string> | undefined

/** One Chromium for the whole test file, or undefined (its tests skip) without the package. */
export function browserForFile(): Promise<Browser | undefined> {
  return launchChromium({
    skip: (message) => t.pass(`skipped: ${message}`),
    fail: (message) => t.fail(message),
    teardown: (fn) => t.teardown(fn),
    passing: () => t.passing(),
  })
}

/** src/index.ts as one IIFE exposing `NudgePopup`, built once per test file. */
export function popupBundle(): Promise<string> {
  bundle ??= build({
    entryPoints: [new URL('../src/index.ts', import.meta.url).pathname],
    bundle: true,
    format: 'iife',
    globalName: 'NudgePopup',
    target: 'es2022',
    write: false,
  }).then((result) => result.outputFiles[0]!.text)
  return bundle
}

/** A small SVG answered for https://images.example/*, so image blocks load without a network. */
const IMAGE = `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="240" viewBox="0 0 600 240">
<defs><linearGradient id="g" x1="0" x2="1" y1="0" y2="1"><stop offset="0" stop-color="#ffb347"/><stop offset="1" stop-color="#e4572e"/></linearGradient></defs>
<rect width="600" height="240" fill="url(#g)"/><text x="300" y="140" font-family="sans-serif" font-size="56" font-weight="700" fill="#fff" text-anchor="middle">SPRING SALE</text></svg>`

export const HOST_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{font:16px/1.6 Georgia,serif;margin:0;padding:24px;color:#333;background:#f4f1ea}main{max-width:720px;margin:auto}</style>
</head><body><main><h1>Acme Outdoor</h1><button id="opener">Open offer</button>
${'<p>Our jackets are made for wind and rain. Free returns within 30 days, shipping to all of Europe. </p>'.repeat(30)}
</main></body></html>`

export async function openPage(
  browser: Browser,
  options: { width?: number; height?: number; html?: string } = {},
): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
  })
  const page = await context.newPage()
  await page.route('https://images.example/**', (route) =>
    route.fulfill({ contentType: 'image/svg+xml', body: IMAGE }),
  )
  await page.setContent(options.html ?? HOST_PAGE)
  await page.addScriptTag({ content: await popupBundle() })
  return page
}

export function campaignOf(type: string, steps: Step[], id = 'cmp_1'): PublishedCampaign {
  return { id, v: 1, type, variants: [{ id: 'a', weight: 100, steps }] }
}

/**
 * Renders `campaign` on the page from the focused #opener. Calls to the handlers are recorded in
 * window.calls; onSubmit answers with window.nextOutcome (default { ok: true }) after
 * window.submitDelayMs.
 */
export async function render(
  page: Page,
  campaign: PublishedCampaign,
  options: { preview?: boolean } = {},
): Promise<void> {
  await page.evaluate(
    ({ campaign, preview }) => {
      type Recorder = Window & {
        calls: unknown[][]
        nextOutcome?: unknown
        submitDelayMs?: number
        NudgePopup: typeof import('../src/index.ts')
        popup: unknown
      }
      const w = window as unknown as Recorder
      w.calls = []
      document.getElementById('opener')?.focus()
      w.popup = w.NudgePopup.renderPopup({
        campaign,
        variantId: 'a',
        preview,
        handlers: {
          onClose: (how) => w.calls.push(['close', how]),
          onStep: (index) => w.calls.push(['step', index]),
          onLink: (url, newTab) => w.calls.push(['link', url, newTab]),
          onSubmit: async (submission) => {
            w.calls.push(['submit', submission])
            await new Promise((resolve) => setTimeout(resolve, w.submitDelayMs ?? 0))
            return (w.nextOutcome ?? { ok: true }) as { ok: true }
          },
        },
      })
    },
    { campaign, preview: options.preview ?? false },
  )
  await settled(page)
}

/** Once the popup's entrance animation has finished, so that boxes are where they stay. */
export function settled(page: Page): Promise<unknown> {
  return page.evaluate(() => {
    const root = document.querySelector('[data-nudge-campaign]')?.shadowRoot
    return Promise.all(root?.getAnimations().map((animation) => animation.finished) ?? [])
  })
}

export function calls(page: Page): Promise<unknown[][]> {
  return page.evaluate(() => (window as unknown as { calls: unknown[][] }).calls)
}

/** The sample content of most tests: heading, text with markup, image, a lead form, two buttons. */
export function leadStep(design: Step['design'] = {}): Step {
  return {
    blocks: [
      { type: 'image', url: 'https://images.example/spring.svg', alt: 'Jackets on sale' },
      { type: 'text', style: 'heading', text: 'Spring sale: 10% off' },
      { type: 'text', text: 'Join our newsletter and get <b>10% off</b> your first order.' },
    ],
    form: {
      fields: [
        { name: 'email', type: 'email', label: 'Email', required: true, placeholder: 'you@example.com' },
        { name: 'firstName', type: 'text', label: 'First name' },
        { name: 'source', type: 'hidden', label: '', value: 'spring-popup' },
      ],
      consent: {
        text: 'I agree to the <a href="https://acme.example/privacy">privacy policy</a>.',
        required: true,
        version: 'v1',
      },
    },
    buttons: [
      { label: 'Get my code', action: 'submit' },
      { label: 'No thanks', action: 'close' },
    ],
    design,
  }
}
