import type { Page } from 'playwright-core'
import t from 'tap'
import { screenshot } from '../../../tools/dev/browser.ts'
import { browserForFile, calls, campaignOf, HOST_PAGE, leadStep, openPage, render } from './popup-page.ts'

/*
 * What a visitor does with a popup, in Chromium: read it, use it by keyboard, fill its form, press
 * its buttons, on a page whose own CSS does its worst.
 */

const browser = await browserForFile()
const popup = (page: Page) => page.locator('[data-nudge-campaign]')
const inPopup = (page: Page, selector: string) => page.locator(`[data-nudge-campaign] >> ${selector}`)
/** What has focus, seen through the shadow root: 'page:<id or tag>' or 'popup:<tag> <label>'. */
const focused = (page: Page) =>
  page.evaluate(() => {
    const inner = document.querySelector('[data-nudge-campaign]')?.shadowRoot?.activeElement
    if (inner)
      return `popup:${inner.tagName.toLowerCase()} ${inner.getAttribute('aria-label') ?? inner.textContent ?? ''}`
    const outer = document.activeElement
    return `page:${outer?.id || outer?.tagName.toLowerCase()}`
  })

t.test(
  'a modal is a labelled dialog that keeps the keyboard inside and gives focus back',
  { skip: !browser },
  async (t) => {
    const page = await openPage(browser!)
    await render(page, campaignOf('modal', [leadStep()]))

    const dialog = inPopup(page, '[role=dialog]')
    t.equal(await dialog.getAttribute('aria-modal'), 'true')
    const labelId = await dialog.getAttribute('aria-labelledby')
    t.equal(
      await inPopup(page, `#${labelId}`).textContent(),
      'Spring sale: 10% off',
      'labelled by its heading',
    )
    t.equal(await page.getByRole('dialog', { name: 'Spring sale: 10% off' }).count(), 1, 'found by its name')
    t.equal(await page.getByRole('img', { name: 'Jackets on sale' }).count(), 1, 'the image has its alt text')
    t.equal(await page.getByLabel('Email').getAttribute('type'), 'email', 'the email field has its label')
    t.equal(await page.getByLabel('First name').count(), 1)
    t.equal(await page.getByLabel('I agree to the privacy policy.').getAttribute('type'), 'checkbox')
    t.equal(await page.getByRole('button', { name: 'Close' }).textContent(), '×')
    t.equal(await page.getByRole('button', { name: 'Get my code' }).getAttribute('type'), 'submit')
    t.equal(await page.getByRole('button', { name: 'No thanks' }).getAttribute('type'), 'button')
    t.equal(await inPopup(page, 'form').getAttribute('novalidate'), '', 'the form validates itself')
    const link = page.getByRole('link', { name: 'privacy policy' })
    t.same(
      [await link.getAttribute('href'), await link.getAttribute('target'), await link.getAttribute('rel')],
      ['https://acme.example/privacy', '_blank', 'noopener noreferrer'],
    )
    const honeypot = inPopup(page, 'input[name=url]')
    t.same(
      [
        await honeypot.getAttribute('tabindex'),
        await honeypot.getAttribute('autocomplete'),
        await honeypot.getAttribute('aria-hidden'),
        ((await honeypot.boundingBox())?.x ?? 0) < -1000,
      ],
      ['-1', 'off', 'true', true],
      'the honeypot is out of reach',
    )

    t.equal(await focused(page), 'popup:button Close', 'focus moved into the popup')
    const seen = []
    for (let press = 0; press < 8; press += 1) {
      await page.keyboard.press('Tab')
      seen.push(await focused(page))
    }
    t.ok(
      seen.every((entry) => entry.startsWith('popup:')),
      `Tab stays inside: ${seen.join(', ')}`,
    )
    t.ok(seen.includes('popup:button Close'), 'and comes round again')
    for (let press = 0; press < 8; press += 1) {
      await page.keyboard.press('Shift+Tab')
      t.match(await focused(page), /^popup:/, 'Shift+Tab stays inside')
    }
    // A click on text inside leaves focus in the dialog, so the keys keep working.
    await inPopup(page, 'h2').click()
    await page.keyboard.press('Escape')
    t.equal(await popup(page).count(), 0, 'Esc closes it')
    t.same(await calls(page), [['close', 'escape']])
    t.equal(await focused(page), 'page:opener', 'focus is back on the button that had it')
  },
)

t.test('slide-ins and bars leave the page usable', { skip: !browser }, async (t) => {
  const page = await openPage(browser!)
  await render(page, campaignOf('slide-in', [leadStep()]))
  t.equal(await inPopup(page, '[role=dialog]').getAttribute('aria-modal'), null, 'not modal')
  await page.locator('#opener').click()
  t.equal(await focused(page), 'page:opener', 'the page behind can be clicked and focused')
  await page.keyboard.press('Escape')
  t.equal(await popup(page).count(), 1, 'Esc on the page is the page’s')
  const seen = []
  for (let press = 0; press < 10; press += 1) {
    await page.keyboard.press('Tab')
    seen.push(await focused(page))
  }
  t.ok(seen.includes('popup:button Close'), 'Tab reaches it')
  t.ok(
    seen.slice(1).some((entry) => entry.startsWith('page:')),
    `and goes on out of it: ${seen.join(', ')}`,
  )
  const scrolled = await page.evaluate(async () => {
    window.scrollTo(0, 300)
    await new Promise((resolve) => requestAnimationFrame(resolve))
    return window.scrollY
  })
  t.equal(scrolled, 300, 'the page scrolls')

  await inPopup(page, 'input[type=email]').focus()
  await page.keyboard.press('Escape')
  t.equal(await popup(page).count(), 0, 'Esc inside closes it')
  t.same(await calls(page), [['close', 'escape']])
})

t.test(
  'a click on the overlay closes a modal; buttons close, move on and follow links',
  { skip: !browser },
  async (t) => {
    const page = await openPage(browser!)
    await render(page, campaignOf('modal', [leadStep()]))
    const heading = (await inPopup(page, 'h2').boundingBox())!
    await page.mouse.move(heading.x + 5, heading.y + 5)
    await page.mouse.down()
    await page.mouse.move(20, 780, { steps: 4 })
    await page.mouse.up()
    t.equal(await popup(page).count(), 1, 'selecting text and letting go over the overlay does not close it')
    await page.mouse.click(20, 780)
    t.equal(await popup(page).count(), 0)
    t.same(await calls(page), [['close', 'overlay']])

    await render(page, campaignOf('modal', [leadStep()]))
    await page.getByRole('button', { name: 'No thanks' }).click()
    t.same(await calls(page), [['close', 'button']], 'a close action')
    await render(page, campaignOf('modal', [leadStep()]))
    await page.getByRole('button', { name: 'Close' }).click()
    t.same(await calls(page), [['close', 'button']], 'the ×')

    await page.evaluate(() => {
      window.open = ((url: string) => {
        ;(window as unknown as { opened: string }).opened = url
        return null
      }) as typeof window.open
    })
    await render(
      page,
      campaignOf('modal', [
        {
          blocks: [{ type: 'text', style: 'heading', text: 'Two steps' }],
          buttons: [
            { label: 'Next', action: 'next-step' },
            { label: 'Catalogue', action: 'link', url: 'https://acme.example/catalogue', newTab: true },
            { label: 'Sneaky', action: 'link', url: 'javascript:alert(1)' },
          ],
        },
        {
          blocks: [{ type: 'text', text: 'Second step' }],
          buttons: [{ label: 'Done', action: 'next-step' }],
        },
      ]),
    )
    t.equal(
      await page.getByRole('button', { name: 'Sneaky' }).count(),
      0,
      'a javascript: link is not rendered',
    )
    await page.getByRole('button', { name: 'Catalogue' }).click()
    t.equal(
      await page.evaluate(() => (window as unknown as { opened: string }).opened),
      'https://acme.example/catalogue',
    )
    await page.getByRole('button', { name: 'Next' }).click()
    t.equal(await inPopup(page, '.t').textContent(), 'Second step')
    t.match(await focused(page), /^popup:/, 'focus stays in the popup on the next step')
    t.equal(await page.getByRole('dialog', { name: 'Second step' }).count(), 1, 'labelled by its first text')
    await page.getByRole('button', { name: 'Done' }).click() // next-step on the last step closes it
    t.same(await calls(page), [
      ['link', 'https://acme.example/catalogue', true],
      ['step', 1],
      ['close', 'button'],
    ])
  },
)

t.test(
  'the form checks itself, sends once, and shows the answer’s errors at the fields',
  { skip: !browser },
  async (t) => {
    const page = await openPage(browser!)
    await render(
      page,
      campaignOf('modal', [
        {
          ...leadStep(),
          form: {
            ...leadStep().form!,
            fields: [
              ...leadStep().form!.fields,
              { name: 'size', type: 'select', label: 'Size', options: ['S', 'M', 'L'], required: true },
              { name: 'phone', type: 'phone', label: 'Phone' },
              { name: 'news', type: 'checkbox', label: 'Weekly news' },
            ],
          },
        },
        {
          blocks: [{ type: 'text', style: 'heading', text: 'Thank you!' }],
          buttons: [{ label: 'Close', action: 'close' }],
        },
      ]),
    )
    const submit = page.getByRole('button', { name: 'Get my code' })
    await page.getByLabel('Email').fill('not-an-email')
    await submit.click()
    t.same(await calls(page), [], 'nothing sent while the form is wrong')
    const email = page.getByLabel('Email')
    t.equal(await email.getAttribute('aria-invalid'), 'true')
    const describedBy = await email.getAttribute('aria-describedby')
    t.match(
      await inPopup(page, `#${describedBy}`).textContent(),
      /@|email/i,
      'the email error is at the field',
    )
    t.equal(await focused(page), 'popup:input ', 'focus on the first wrong field')
    t.equal(await page.getByLabel('Size').getAttribute('aria-invalid'), 'true', 'a required select')
    t.equal(
      await page.getByLabel('I agree to the privacy policy.').getAttribute('aria-invalid'),
      'true',
      'consent',
    )
    await screenshot(page, 'popup-form-errors')

    await email.fill('ada@example.com')
    await page.getByLabel('First name').fill('  Ada ')
    await page.getByLabel('Size').selectOption('M')
    await page.getByLabel('Phone').fill('+49 30 1234567')
    await page.getByLabel('Weekly news').check()
    await page.getByLabel('I agree to the privacy policy.').check()
    await page.evaluate(() => {
      const w = window as unknown as { nextOutcome: unknown; submitDelayMs: number }
      w.submitDelayMs = 300
      w.nextOutcome = {
        ok: false,
        message: 'Please check the form.',
        fieldErrors: { email: 'this address cannot receive mail', consent: 'consent is required' },
      }
    })
    await submit.click()
    t.equal(await submit.isDisabled(), true, 'the button is disabled while sending')
    t.equal(await inPopup(page, 'form').getAttribute('aria-busy'), 'true')
    await submit.click({ force: true }).catch(() => {})
    await page.keyboard.press('Enter')
    await page.waitForTimeout(400)
    const sent = await calls(page)
    t.equal(sent.length, 1, 'a double submit sends once')
    const submission = sent[0]![1] as Record<string, unknown>
    t.match(submission, {
      step: 0,
      capturesLeads: true,
      email: 'ada@example.com',
      fields: { firstName: 'Ada', source: 'spring-popup', size: 'M', phone: '+49 30 1234567', news: true },
      consent: true,
      consentVersion: 'v1',
      hp: '',
    })
    t.equal(Object.hasOwn(submission.fields as object, 'email'), false, 'the email is not repeated in fields')
    t.ok((submission.fillMs as number) > 0)

    t.equal(await email.getAttribute('aria-invalid'), 'true', 'the answer’s error is at the email field')
    t.equal(await inPopup(page, `#${describedBy}`).textContent(), 'this address cannot receive mail')
    const consentBox = page.getByLabel('I agree to the privacy policy.')
    t.equal(await consentBox.getAttribute('aria-invalid'), 'true')
    t.equal(
      await inPopup(page, `#${await consentBox.getAttribute('aria-describedby')}`).textContent(),
      'consent is required',
    )
    t.equal(
      await page.getByRole('alert').textContent(),
      'Please check the form.',
      'the message is at the form',
    )
    t.equal(await email.inputValue(), 'ada@example.com', 'what was typed is kept')
    t.equal(await submit.isDisabled(), false)
    await screenshot(page, 'popup-form-answer-errors')

    await page.evaluate(() => {
      ;(window as unknown as { nextOutcome: unknown }).nextOutcome = { ok: true }
    })
    await email.fill('ada@example.org')
    await submit.click()
    await page.getByRole('dialog', { name: 'Thank you!' }).waitFor()
    t.same((await calls(page)).at(-1), ['step', 1], 'the next step after the form was accepted')
    t.equal(await page.getByLabel('Email').count(), 0)
  },
)

t.test('the last step’s accepted form closes the popup', { skip: !browser }, async (t) => {
  const page = await openPage(browser!)
  await render(page, campaignOf('slide-in', [leadStep()]))
  await page.getByLabel('Email').fill('ada@example.com')
  await page.getByLabel('I agree to the privacy policy.').check()
  await page.getByLabel('Email').press('Enter')
  await popup(page).waitFor({ state: 'detached' })
  t.same(
    (await calls(page)).map(([name, value]) => (name === 'submit' ? name : [name, value])),
    ['submit', ['close', 'done']],
  )
})

t.test('hostile markup shows as text and creates nothing', { skip: !browser }, async (t) => {
  const page = await openPage(browser!)
  const hostile = [
    '<img src=x onerror="window.pwned=1">',
    '<a href="javascript:window.pwned=1">click</a>',
    '<scr<script>ipt>window.pwned=1</script>',
    '<b onclick="window.pwned=1">bold</b>',
    '<a href="https://x.example/&quot;onerror=1">x</a>',
    '<svg><script>window.pwned=1</script></svg>',
  ]
  await render(
    page,
    campaignOf('modal', [
      {
        blocks: [
          ...hostile.map((text) => ({ type: 'text' as const, text })),
          { type: 'image', url: 'javascript:alert(1)', alt: 'bad' },
        ],
        buttons: [{ label: '<b>Label</b>', action: 'close' }],
        form: {
          fields: [{ name: 'email', type: 'email', label: '<i>Email</i>', placeholder: '"><img src=x>' }],
          consent: { text: '<iframe src="https://evil.example">', required: false, version: '1' },
        },
      },
    ]),
  )
  await page.waitForTimeout(200)
  const texts = await inPopup(page, '.t').allTextContents()
  t.same(texts, hostile, 'each is shown as it was written')
  const made = await page.evaluate(() => {
    const root = document.querySelector('[data-nudge-campaign]')!.shadowRoot!
    return {
      elements: Array.from(root.querySelectorAll('.c *')).map((element) => element.tagName.toLowerCase()),
      handlers: Array.from(root.querySelectorAll('*')).flatMap((element) =>
        Array.from(element.attributes)
          .map((attribute) => attribute.name)
          .filter((name) => name.startsWith('on')),
      ),
      pwned: (window as unknown as { pwned?: number }).pwned,
    }
  })
  t.same(made.handlers, [], 'no event handler attribute')
  t.equal(made.pwned, undefined, 'nothing ran')
  t.notOk(
    made.elements.some((tag) => ['img', 'script', 'a', 'svg', 'iframe', 'b', 'i'].includes(tag)),
    `only the popup's own elements: ${[...new Set(made.elements)].join(' ')}`,
  )
  t.equal(await page.getByRole('button', { name: '<b>Label</b>' }).count(), 1, 'a label is plain text')
  t.equal(await page.getByLabel('<i>Email</i>').getAttribute('placeholder'), '"><img src=x>')
  await screenshot(page, 'popup-hostile-markup')
})

t.test('the host page’s CSS neither hides nor restyles it', { skip: !browser }, async (t) => {
  const hostile = HOST_PAGE.replace(
    '</style>',
    `* { all: unset !important } div { display: none !important } button { color: red !important; font-size: 40px !important }
     </style><style>#cover { display: block !important; position: fixed !important; inset: 0 !important; z-index: 2147483647 !important; background: #0f0 !important }</style>`,
  ).replace('<main>', '<main><aside id="cover"></aside>')
  const page = await openPage(browser!, { html: hostile })
  await render(page, campaignOf('modal', [leadStep()]))
  await page.evaluate(() => {
    // A widget the page adds later, after the popup, above every z-index it can.
    const late = document.createElement('aside')
    late.id = 'late'
    late.style.cssText =
      'display:block!important;position:fixed!important;inset:0!important;z-index:2147483647!important;background:#00f8!important'
    document.body.append(late)
  })
  await page.waitForTimeout(300)
  const box = (await inPopup(page, '[role=dialog]').boundingBox())!
  t.ok(box.width > 400 && box.height > 300, `it keeps its size (${box.width}×${box.height})`)
  const hit = await page.evaluate(
    ({ x, y }) => document.elementFromPoint(x, y)?.closest('[data-nudge-campaign]') !== null,
    { x: box.x + box.width / 2, y: box.y + box.height / 2 },
  )
  t.ok(hit, 'the popup is on top at its centre')
  const style = await page.evaluate(() => {
    const button = document.querySelector('[data-nudge-campaign]')!.shadowRoot!.querySelector('.b button')!
    const computed = getComputedStyle(button)
    return { color: computed.color, size: computed.fontSize }
  })
  t.same(style, { color: 'rgb(255, 255, 255)', size: '16px' }, 'its buttons keep their own look')
  await screenshot(page, 'popup-hostile-page')
  t.equal(
    await page.evaluate(() => getComputedStyle(document.querySelector('#opener')!).color),
    'rgb(255, 0, 0)',
    'and the page’s own buttons keep the page’s style',
  )
})

t.test(
  'a preview shows a badge; close() removes it without telling the handlers',
  { skip: !browser },
  async (t) => {
    const page = await openPage(browser!)
    await render(page, campaignOf('modal', [leadStep(), leadStep()]), { preview: true })
    t.equal(await inPopup(page, '.p').textContent(), 'Preview')
    await page.evaluate(() =>
      (window as unknown as { popup: { showStep(index: number): void } }).popup.showStep(1),
    )
    t.equal(await page.getByLabel('Email').count(), 1, 'showStep draws another step')
    await page.evaluate(() => (window as unknown as { popup: { close(): void } }).popup.close())
    t.equal(await popup(page).count(), 0)
    t.same(await calls(page), [])
    t.equal(await focused(page), 'page:opener')
  },
)

t.test(
  'in a container of the dashboard it stays there and leaves focus alone',
  { skip: !browser },
  async (t) => {
    const page = await openPage(browser!, {
      html: '<input id="editor"><div id="frame" style="position:relative;width:420px;height:560px;margin:40px;border:1px solid #ccc"></div>',
    })
    await page.locator('#editor').focus()
    await page.evaluate(() => {
      const w = window as unknown as { NudgePopup: typeof import('../src/index.ts') }
      w.NudgePopup.renderPopup({
        campaign: {
          id: 'c',
          type: 'modal',
          variants: [
            { id: 'a', weight: 100, steps: [{ blocks: [{ type: 'text', text: 'Hi' }], buttons: [] }] },
          ],
        },
        variantId: 'a',
        container: document.getElementById('frame')!,
        preview: true,
        handlers: { onClose() {}, onStep() {}, onLink() {}, onSubmit: async () => ({ ok: true }) },
      })
    })
    const frame = (await page.locator('#frame').boundingBox())!
    const overlay = (await page.locator('[data-nudge-campaign]').boundingBox())!
    t.same(
      [overlay.x, overlay.y, overlay.width, overlay.height].map(Math.round),
      [frame.x + 1, frame.y + 1, 420, 560].map(Math.round),
      'it covers the container only',
    )
    t.equal(await focused(page), 'page:editor')
    await page.keyboard.press('Escape')
    t.equal(await page.locator('[data-nudge-campaign]').count(), 1, 'Esc outside it is not its')
  },
)

t.test(
  'a full-screen popup holds the keyboard too; a host the page removed lets go',
  { skip: !browser },
  async (t) => {
    const page = await openPage(browser!)
    await render(page, campaignOf('full-screen', [leadStep()]))
    t.equal(await inPopup(page, '[role=dialog]').getAttribute('aria-modal'), 'true')
    for (let press = 0; press < 9; press += 1) {
      await page.keyboard.press('Tab')
      t.match(await focused(page), /^popup:/, 'Tab stays inside')
    }
    await page.evaluate(() => document.querySelector('[data-nudge-campaign]')!.remove())
    await page.locator('#opener').focus()
    await page.keyboard.press('Tab')
    await page.keyboard.press('Shift+Tab')
    t.equal(await focused(page), 'page:opener', 'the page’s focus is its own again')
    await page.keyboard.press('Escape')
    t.same(await calls(page), [], 'and its Esc too')
  },
)
