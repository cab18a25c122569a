import t from 'tap'
import { screenshot } from '../../../tools/dev/browser.ts'
import { browserForFile, campaignOf, leadStep, openPage, render } from './popup-page.ts'

/*
 * Every campaign type where a visitor expects it, on a desktop and on a 360 px phone, with nothing
 * wider than the screen. The screenshots (.data/screenshots/popup-*.png) are looked at.
 */

type Box = { x: number; y: number; width: number; height: number }

const browser = await browserForFile()

async function dialogBox(page: import('playwright-core').Page): Promise<Box> {
  const box = await page.locator('[data-nudge-campaign] >> [role=dialog]').boundingBox()
  if (!box) throw new Error('the dialog is not visible')
  return box
}

const TYPES = [
  { type: 'modal', design: { position: 'center' as const } },
  { type: 'slide-in', design: { position: 'bottom-right' as const } },
  { type: 'bar', design: { position: 'top' as const } },
  { type: 'full-screen', design: {} },
]

for (const width of [1280, 360]) {
  for (const { type, design } of TYPES) {
    t.test(`${type} at ${width} px`, { skip: !browser }, async (t) => {
      const height = width === 360 ? 740 : 800
      const page = await openPage(browser!, { width, height })
      const step =
        type === 'bar'
          ? {
              blocks: [{ type: 'text' as const, text: 'Free shipping on orders over €50 this week only.' }],
              buttons: [{ label: 'Shop now', action: 'link' as const, url: 'https://acme.example/sale' }],
              design,
            }
          : leadStep(design)
      await render(page, campaignOf(type, [step]))
      await page.waitForTimeout(300)
      await screenshot(page, `popup-${type}-${width}`)

      const box = await dialogBox(page)
      t.ok(
        box.x >= 0 && box.x + box.width <= width + 0.5,
        `inside the viewport horizontally (${JSON.stringify(box)})`,
      )
      t.ok(box.y >= 0 && box.y + box.height <= height + 0.5, 'inside the viewport vertically')
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
      t.ok(overflow <= 0, 'the page does not scroll sideways')
      const centre = { x: box.x + box.width / 2, y: box.y + box.height / 2 }
      if (type === 'modal') {
        t.ok(Math.abs(centre.x - width / 2) < 2, 'a modal is centred')
        if (width === 360) t.ok(box.width >= 320, 'a modal takes the phone’s width less margins')
        else t.equal(Math.round(box.width), 440, 'a modal is 440 px wide by default')
      }
      if (type === 'slide-in') {
        t.ok(
          width - (box.x + box.width) <= 16 && height - (box.y + box.height) <= 16,
          'in the bottom-right corner',
        )
      }
      if (type === 'bar') {
        t.equal(Math.round(box.width), width, 'a bar spans the width')
        t.equal(Math.round(box.y), 0, 'at the top')
      }
      if (type === 'full-screen') {
        t.same(
          [box.x, box.y, Math.round(box.width), Math.round(box.height)],
          [0, 0, width, height],
          'fills the screen',
        )
      }
    })
  }
}

t.test('position and design tokens are followed', { skip: !browser }, async (t) => {
  const page = await openPage(browser!)
  await render(
    page,
    campaignOf('bar', [
      {
        blocks: [{ type: 'text', text: 'We use a <b>new</b> checkout.' }],
        buttons: [{ label: 'Dismiss', action: 'close' }],
        design: {
          position: 'bottom',
          colors: { background: '#111827', text: '#f9fafb', accent: '#f59e0b', buttonText: '#111827' },
          font: { family: 'Georgia, serif', sizePx: 18 },
        },
      },
    ]),
  )
  const box = await dialogBox(page)
  t.equal(Math.round(box.y + box.height), 800, 'a bottom bar sits on the bottom edge')
  const styles = await page.evaluate(() => {
    const root = document.querySelector('[data-nudge-campaign]')!.shadowRoot!
    const dialog = getComputedStyle(root.querySelector('[role=dialog]')!)
    const button = getComputedStyle(root.querySelector('.b button')!)
    return {
      bg: dialog.backgroundColor,
      color: dialog.color,
      font: dialog.fontFamily,
      size: dialog.fontSize,
      button: button.color,
    }
  })
  t.equal(styles.bg, 'rgb(17, 24, 39)')
  t.equal(styles.color, 'rgb(249, 250, 251)')
  t.match(styles.font, /^Georgia, serif/)
  t.equal(styles.size, '18px')
  t.equal(styles.button, 'rgb(249, 250, 251)', 'a close button is a quiet outline in the text colour')
  await screenshot(page, 'popup-bar-bottom-dark')

  const slide = await openPage(browser!)
  await render(
    slide,
    campaignOf('slide-in', [
      {
        ...leadStep({ position: 'top-left', widthPx: 320, borderRadiusPx: 0, colors: { accent: '#0f766e' } }),
      },
    ]),
  )
  const corner = await dialogBox(slide)
  t.ok(corner.x <= 16 && corner.y <= 16, 'a top-left slide-in is in the top-left corner')
  t.equal(Math.round(corner.width), 320, 'widthPx')
  const radius = await slide.evaluate(
    () =>
      getComputedStyle(
        document.querySelector('[data-nudge-campaign]')!.shadowRoot!.querySelector('[role=dialog]')!,
      ).borderTopLeftRadius,
  )
  t.equal(radius, '0px', 'borderRadiusPx')
  await screenshot(slide, 'popup-slide-in-top-left')
})

for (const width of [1280, 360]) {
  t.test(`a bar with a form at ${width} px`, { skip: !browser }, async (t) => {
    const page = await openPage(browser!, { width, height: 740 })
    await render(
      page,
      campaignOf('bar', [
        {
          blocks: [{ type: 'text', style: 'heading', text: 'Get 10% off' }],
          form: {
            fields: [{ name: 'email', type: 'email', label: '', placeholder: 'Your email', required: true }],
          },
          buttons: [{ label: 'Subscribe', action: 'submit' }],
          design: { position: 'bottom', colors: { background: '#fff7ed', accent: '#c2410c' } },
        },
      ]),
    )
    await screenshot(page, `popup-bar-form-${width}`)
    const box = await dialogBox(page)
    t.equal(Math.round(box.y + box.height), 740, 'on the bottom edge')
    t.ok(
      await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
      'no sideways scroll',
    )
    t.equal(
      await page.getByLabel('Your email').getAttribute('type'),
      'email',
      'a field without a label is named by its placeholder',
    )
  })
}

t.test('a campaign written in Arabic reads right to left', { skip: !browser }, async (t) => {
  const page = await openPage(browser!, { width: 360, height: 740 })
  await render(
    page,
    campaignOf('modal', [
      {
        blocks: [
          { type: 'text', style: 'heading', text: 'خصم ١٠٪ على طلبك الأول' },
          { type: 'text', text: 'اشترك في نشرتنا الإخبارية واحصل على الخصم.' },
        ],
        form: { fields: [{ name: 'email', type: 'email', label: 'البريد الإلكتروني', required: true }] },
        buttons: [{ label: 'اشترك', action: 'submit' }],
      },
    ]),
  )
  const direction = await page.evaluate(
    () =>
      getComputedStyle(document.querySelector('[data-nudge-campaign]')!.shadowRoot!.querySelector('h2')!)
        .direction,
  )
  t.equal(direction, 'rtl')
  await screenshot(page, 'popup-modal-rtl-360')
})
