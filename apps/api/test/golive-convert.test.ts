import AjvCompiler from '@fastify/ajv-compiler'
import t from 'tap'
import { campaignContent, HOSTILE_TEXT } from '../../../tools/legacy/src/content.ts'
import { Random } from '../../../tools/legacy/src/random.ts'
import { markupProblem } from '../src/modules/campaigns/markup.ts'
import { campaignProblems, urlRuleHostProblems } from '../src/modules/campaigns/rules.ts'
import { NewCampaign } from '../src/modules/campaigns/schemas.ts'
import {
  type Change,
  convertButton,
  convertCampaign,
  convertColor,
  convertDesign,
  convertForm,
  convertFrequency,
  convertImageUrl,
  convertName,
  convertPlan,
  convertPosition,
  convertStatus,
  convertSuccessText,
  convertTargeting,
  convertText,
  convertTitle,
  convertTrigger,
  convertType,
  convertUrlPattern,
  LEGACY_VARIANT_ID,
  normaliseEmail,
  normaliseHostname,
  OLD_DEFAULTS,
  withoutWww,
} from '../src/modules/golive/convert.ts'
import { campaignDocument } from '../src/modules/publishing/documents.ts'
import { fieldProblems } from '../src/plugins/error-handler.ts'

const SITE = 'shop.example.com'
const SITE_ID = '0190b5a4-3c2e-7d1a-9f00-1c2d3e4f5a6b'

/** The create route's body validator, built as server.ts builds it (allErrors, defaults, no coercion). */
const validateBody = (() => {
  const factory = (AjvCompiler as unknown as () => (s: unknown, o: object) => (r: object) => unknown)()
  const compile = factory(
    {},
    { customOptions: { allErrors: true, useDefaults: true, removeAdditional: false, coerceTypes: false } },
  )
  const validate = compile({ schema: NewCampaign, method: 'POST', url: '/', httpPart: 'body' }) as ((
    data: unknown,
  ) => boolean) & {
    errors?: Array<{ instancePath: string; message?: string; params: Record<string, unknown> }>
  }
  return (data: unknown): string[] =>
    validate(data) ? [] : fieldProblems(validate.errors ?? [], 'body').map((p) => `${p.field} ${p.message}`)
})()

/** Everything the API checks before it stores a campaign: the schema, rules.ts, the site's host. */
function apiProblems(campaign: ReturnType<typeof convertCampaign>['value']): string[] {
  const body = {
    name: campaign.name,
    siteId: SITE_ID,
    type: campaign.type,
    variants: structuredClone(campaign.variants),
    targeting: structuredClone(campaign.targeting),
    frequency: structuredClone(campaign.frequency),
    schedule: campaign.schedule,
  }
  const schema = validateBody(body)
  if (schema.length > 0) return schema
  return [...campaignProblems(body), ...urlRuleHostProblems(body.targeting, SITE)].map(
    (p) => `${p.field} ${p.message}`,
  )
}

/** The allowlist's verdict on every text block of the published document (null: it renders as markup). */
function renderedTexts(campaign: ReturnType<typeof convertCampaign>['value']) {
  const document = JSON.parse(
    campaignDocument({ id: SITE_ID, version: 1, ...campaign } as never).toString(),
  ) as { variants: Array<{ steps: Array<{ blocks: Array<{ type: string; text?: string }> }> }> }
  return document.variants.flatMap((v) =>
    v.steps.flatMap((s) => s.blocks.filter((b) => b.type === 'text').map((b) => markupProblem(b.text!))),
  )
}

const kinds = (changes: Change[]) => changes.map((c) => `${c.field}:${c.kind}`)

t.test('a campaign of the old defaults only: valid today, and what the old script showed', async (t) => {
  const { value, changes } = convertCampaign(
    { id: 1, name: 'Welcome', type: 'popup', status: 'active', content: {} },
    { siteHostname: SITE },
  )
  t.same(changes, [], 'nothing to report: every field took its documented default')
  t.same(apiProblems(value), [])
  t.equal(value.status, 'live', 'an active campaign stays live')
  t.equal(value.type, 'modal')
  t.same(value.variants, [
    {
      id: LEGACY_VARIANT_ID,
      name: 'Variant A',
      weight: 100,
      steps: [
        {
          blocks: [],
          buttons: [{ label: OLD_DEFAULTS.button_text, action: 'close' }],
          design: { position: 'center' },
        },
      ],
    },
  ])
  t.same(value.targeting, {
    devices: ['desktop', 'mobile', 'tablet'],
    visitors: 'all',
    trigger: { type: 'delay', seconds: OLD_DEFAULTS.delay_seconds },
  })
  t.same(value.frequency, { show: 'once', stopAfterConversion: false, stopAfterClose: false })
  t.equal(value.schedule, null)
})

t.test(
  'content.text: the old editor’s hostile HTML is reduced to the allowlist, and each removal named',
  async (t) => {
    const { value, changes } = convertText(HOSTILE_TEXT, '9')
    t.same(value, [
      { type: 'text', text: '<p>Win a prize!</p><p>Claim now</p><p>Hurry</p>Ends tonight', style: 'body' },
    ])
    t.ok(changes.length >= 9, 'one change per thing removed')
    for (const each of changes) {
      t.match(each, { kind: 'markup-removed', legacyId: '9', field: 'content.text' })
    }
    const [change] = changes
    const reasons = changes.map((c) => c.reason).join('\n')
    for (const removed of [
      '<script> with its content',
      'onerror attribute of <img>',
      '<img>',
      'javascript:',
      '<iframe> with its content',
      'onclick attribute of <p>',
      'style attribute of <span>',
      '<style> with its content',
      'an HTML comment',
    ]) {
      t.match(reasons, removed, `reports ${removed}`)
    }
    t.equal(change?.before?.startsWith('<p>Win a prize!<script>'), true, 'keeps what was there')
    t.equal(change?.after, value[0]?.text)
    t.notOk(
      changes.slice(1).some((c) => c.before !== undefined),
      'the text once, with the first',
    )
    for (const hostile of ['script', 'onerror', 'javascript', 'iframe', 'style', 'cookie', 'alert']) {
      t.notMatch(value[0]?.text, hostile)
    }
  },
)

t.test('content.text: what the old WYSIWYG editor wrote, kept where today allows it', async (t) => {
  const cases: Array<[string, string]> = [
    ['<p><font color="red" face="Arial">Limited</font> <b>time</b></p>', '<p>Limited <b>time</b></p>'],
    ['<span style="color:#333">Handmade</span>', 'Handmade'],
    ['<div>Line one</div><div>Line two</div>', 'Line one<br>Line two'],
    ['<p>a<p>b</p>', '<p>a</p><p>b</p>'],
    ['<b><i>bold</b> rest</i>', '<b><i>bold</i></b> rest'],
    ['<STRONG>Yes</STRONG> <strike>49</strike> <h2>Now</h2>', '<strong>Yes</strong> <s>49</s> <b>Now</b>'],
    ['Tom &amp; Jerry &copy; 2023 &ndash; 3 < 4 & more', 'Tom &amp; Jerry © 2023 – 3 &lt; 4 &amp; more'],
    [
      '<a href="https://Example.com/a b" target="_blank">policy</a>',
      '<a href="https://example.com/a%20b">policy</a>',
    ],
    ['<a href="mailto:hello@example.com">mail</a>', '<a href="mailto:hello@example.com">mail</a>'],
    ['<a href=" JaVaScRiPt:alert(1)">x</a>', 'x'],
    ['<a href="data:text/html,<script>">x</a>', 'x'],
    ['<svg onload="alert(1)"><circle/></svg>after', 'after'],
    ['<p>unclosed <b>bold', '<p>unclosed <b>bold</b></p>'],
    ['a\u0000b\u0007c', 'abc'],
  ]
  for (const [before, after] of cases) {
    const { value } = convertText(before, '1')
    t.equal(value[0]?.text, after, before)
    t.equal(markupProblem(after), null, `today's allowlist takes ${after}`)
  }
  t.same(convertText('<p>Plain and allowed</p>', '1').changes, [], 'allowed markup is not a change')
})

t.test('content.text: a text longer than a block holds is split where no element is open', async (t) => {
  const paragraph = `<p>${'word '.repeat(150)}</p>` // 757 characters
  const { value, changes } = convertText(paragraph.repeat(5), '3')
  t.equal(value.length, 3, 'two paragraphs a block (three would be 2271 characters)')
  t.equal(value.map((b) => b.text).join(''), paragraph.repeat(5), 'nothing lost')
  t.same(changes, [])
  const huge = `<p>${'x'.repeat(3000)}</p>`
  const cut = convertText(huge, '3')
  t.equal(cut.value[0]?.text?.length, 2000)
  t.same(kinds(cut.changes), ['content.text:text-shortened'])
})

t.test('content.text and title: absent, empty or not text', async (t) => {
  t.same(convertText(undefined, '1'), { value: [], changes: [] })
  t.same(convertText('', '1'), { value: [], changes: [] })
  t.same(kinds(convertText(42, '1').changes), ['content.text:value-ignored'])
  t.same(kinds(convertText('<script>x</script>', '1').changes), [
    'content.text:markup-removed',
    'content.text:value-ignored',
  ])
  t.same(convertTitle('Get <b>10% off</b>', '1').value, [
    { type: 'text', text: 'Get <b>10% off</b>', style: 'heading' },
  ])
})

t.test('name, type, status', async (t) => {
  t.same(convertName('Spring sale', '1'), { value: 'Spring sale', changes: [] })
  t.equal(convertName('  ', '5').value, 'Campaign 5')
  t.equal(convertName('a\nb', '5').value, 'a b')
  t.equal(convertName('x'.repeat(200), '5').value.length, 120)
  t.same(kinds(convertName('x'.repeat(200), '5').changes), ['name:name-changed'])
  for (const [old, now] of [
    ['popup', 'modal'],
    ['slidein', 'slide-in'],
    ['bar', 'bar'],
    ['fullscreen', 'full-screen'],
  ]) {
    t.same(convertType(old, '1'), { value: now, changes: [] }, `type ${old}`)
  }
  t.same(kinds(convertType('carousel', '1').changes), ['type:value-replaced'])
  for (const [old, now] of [
    ['active', 'live'],
    ['draft', 'draft'],
    ['paused', 'paused'],
    ['archived', 'archived'],
  ]) {
    t.same(convertStatus(old, '1'), { value: now, changes: [] }, `status ${old}`)
  }
  const unknown = convertStatus('deleted', '1')
  t.equal(unknown.value, 'draft', 'an unknown status never goes live')
  t.same(kinds(unknown.changes), ['status:value-replaced'])
})

t.test('content.image_url', async (t) => {
  t.same(convertImageUrl('https://CDN.example.com/a.jpg', '1').value, {
    type: 'image',
    url: 'https://cdn.example.com/a.jpg',
    alt: '',
  })
  t.same(convertImageUrl(undefined, '1'), { value: null, changes: [] })
  for (const bad of ['javascript:alert(1)', '/img/a.jpg', 'https://x.com/a".jpg', 7]) {
    const { value, changes } = convertImageUrl(bad, '1')
    t.equal(value, null, String(bad))
    t.same(kinds(changes), ['content.image_url:value-ignored'])
  }
})

t.test('content.collect_email and collect_name → the form', async (t) => {
  t.same(convertForm({}, '1').value, null, 'old default: no form')
  t.same(convertForm({ collect_email: true }, '1').value, {
    capturesLeads: true,
    fields: [
      { name: 'email', type: 'email', label: 'Email', required: true, placeholder: 'you@example.com' },
    ],
  })
  t.same(
    convertForm({ collect_email: 'true', collect_name: true }, '1').value?.fields.map((f) => f.name),
    ['email', 'name'],
  )
  t.same(kinds(convertForm({ collect_name: true }, '1').changes), ['content.collect_name:value-ignored'])
  t.same(kinds(convertForm({ collect_email: 'maybe' }, '1').changes), [
    'content.collect_email:value-replaced',
  ])
})

t.test('content.button_text and button_url → the button', async (t) => {
  t.same(convertButton({}, false, '1').value, { label: 'Close', action: 'close' })
  t.same(convertButton({}, true, '1').value, { label: 'Subscribe', action: 'submit' })
  t.same(
    convertButton({ button_text: 'Shop', button_url: 'https://shop.example.com/sale' }, false, '1').value,
    {
      label: 'Shop',
      action: 'link',
      url: 'https://shop.example.com/sale',
    },
  )
  const quoted = convertButton({ button_text: 'Claim "offer" <b>now</b>' }, false, '1')
  t.equal(quoted.value.label, 'Claim “offer” now')
  t.same(kinds(quoted.changes), ['content.button_text:label-changed'])
  t.equal(convertButton({ button_text: 'x'.repeat(80) }, false, '1').value.label.length, 60)
  const bad = convertButton({ button_url: 'javascript:void(0)' }, false, '1')
  t.same(bad.value, { label: 'Close', action: 'close' })
  t.same(kinds(bad.changes), ['content.button_url:value-ignored'])
  const both = convertButton({ button_url: 'https://a.example.com/' }, true, '1')
  t.equal(both.value.action, 'submit')
  t.same(kinds(both.changes), ['content.button_url:value-ignored'])
})

t.test('content.success_text → a second step after the form', async (t) => {
  t.same(convertSuccessText(undefined, true, '1').value, {
    blocks: [{ type: 'text', text: OLD_DEFAULTS.success_text, style: 'body' }],
    buttons: [{ label: 'Close', action: 'close' }],
  })
  t.equal(convertSuccessText('Thanks <b>a lot</b>', true, '1').value?.blocks[0]?.text, 'Thanks <b>a lot</b>')
  t.same(convertSuccessText(undefined, false, '1'), { value: null, changes: [] })
  t.same(kinds(convertSuccessText('Thanks', false, '1').changes), ['content.success_text:value-ignored'])
})

t.test('content.delay_seconds, scroll_percent, exit_intent → the trigger', async (t) => {
  t.same(convertTrigger({}, '1').value, { type: 'delay', seconds: 5 })
  t.same(convertTrigger({ delay_seconds: 10 }, '1'), { value: { type: 'delay', seconds: 10 }, changes: [] })
  t.same(convertTrigger({ delay_seconds: '0' }, '1').value, { type: 'delay', seconds: 0 })
  t.same(convertTrigger({ scroll_percent: 50 }, '1').value, { type: 'scroll', percent: 50 })
  t.same(convertTrigger({ exit_intent: true }, '1').value, { type: 'exit-intent' })
  const long = convertTrigger({ delay_seconds: 900 }, '1')
  t.same(long.value, { type: 'delay', seconds: 600 })
  t.same(kinds(long.changes), ['content.delay_seconds:value-clamped'])
  t.same(convertTrigger({ scroll_percent: 120 }, '1').value, { type: 'scroll', percent: 100 })
  const mixed = convertTrigger({ delay_seconds: 3, scroll_percent: 50, exit_intent: true }, '1')
  t.same(mixed.value, { type: 'exit-intent' })
  t.same(kinds(mixed.changes), [
    'content.scroll_percent:trigger-dropped',
    'content.delay_seconds:trigger-dropped',
  ])
  t.same(kinds(convertTrigger({ delay_seconds: 'soon' }, '1').changes), [
    'content.delay_seconds:value-ignored',
  ])
})

t.test('content.show_on_urls and hide_on_urls → URL rules', async (t) => {
  t.same(convertUrlPattern('/blog/*', 'f', '1', SITE).value, { match: 'glob', value: '/blog/*' })
  t.same(convertUrlPattern('/pages/about', 'f', '1', SITE).value, { match: 'exact', value: '/pages/about' })
  t.same(convertUrlPattern('*sale*', 'f', '1', SITE), {
    value: { match: 'glob', value: '/*sale*' },
    changes: [],
  })
  const slash = convertUrlPattern('checkout', 'f', '1', SITE)
  t.same(slash.value, { match: 'exact', value: '/checkout' })
  t.same(kinds(slash.changes), ['f:url-rule-changed'])
  t.same(convertUrlPattern('https://shop.example.com/x*', 'f', '1', SITE).value, {
    match: 'glob',
    value: 'https://shop.example.com/x*',
  })
  for (const dropped of ['https://other.example.net/x', '', '   ', 5, 'x'.repeat(600)]) {
    const { value, changes } = convertUrlPattern(dropped, 'f', '1', SITE)
    t.equal(value, null, String(dropped).slice(0, 20))
    t.same(kinds(changes), ['f:url-rule-dropped'])
  }
  const targeting = convertTargeting(
    { show_on_urls: ['/blog/*', '/blog/*'], hide_on_urls: ['/cart'] },
    '1',
    SITE,
  )
  t.same(targeting.value.urls, {
    include: [{ match: 'glob', value: '/blog/*' }],
    exclude: [{ match: 'exact', value: '/cart' }],
  })
  const nowhere = convertTargeting({ show_on_urls: ['https://elsewhere.example.org/'] }, '1', SITE)
  t.same(
    nowhere.value.urls,
    { include: [], exclude: [{ match: 'glob', value: '*' }] },
    'shown nowhere, as before, not everywhere',
  )
  t.same(kinds(nowhere.changes), [
    'content.show_on_urls:url-rule-dropped',
    'content.show_on_urls:url-rule-changed',
  ])
  const many = convertTargeting({ show_on_urls: Array.from({ length: 60 }, (_, i) => `/p${i}`) }, '1', SITE)
  t.equal(many.value.urls?.include?.length, 50)
  t.same(kinds(many.changes), ['content.show_on_urls:url-rule-dropped'])
})

t.test('content.frequency', async (t) => {
  const off = { stopAfterConversion: false, stopAfterClose: false }
  t.same(convertFrequency(undefined, '1'), { value: { show: 'once', ...off }, changes: [] })
  t.same(convertFrequency('always', '1').value, { show: 'every-page-view', ...off })
  t.same(convertFrequency('once', '1').value, { show: 'once', ...off })
  t.same(convertFrequency('daily', '1'), { value: { show: 'every-n-days', days: 1, ...off }, changes: [] })
  const session = convertFrequency('session', '1')
  t.same(session.value, { show: 'every-n-days', days: 1, ...off })
  t.same(kinds(session.changes), ['content.frequency:value-replaced'])
  t.same(kinds(convertFrequency('hourly', '1').changes), ['content.frequency:value-replaced'])
})

t.test('colours and position → the design', async (t) => {
  const color = (raw: unknown) => convertColor(raw, 'c', '1').value
  t.equal(color('#FFF'), '#ffffff')
  t.equal(color('#E4572E'), '#e4572e')
  t.equal(color('#00000080'), '#00000080')
  t.equal(color('red'), '#ff0000')
  t.equal(color('rgb(0, 128, 255)'), '#0080ff')
  t.equal(color('rgba(0,0,0,0.5)'), '#00000080')
  t.equal(color(undefined), undefined)
  for (const bad of ['bogus', 'rgb(300,0,0)', 'url(javascript:x)', 12]) {
    t.equal(color(bad), undefined, String(bad))
    t.same(kinds(convertColor(bad, 'c', '1').changes), ['c:value-ignored'])
  }
  t.same(convertPosition(undefined, '1').value, 'center')
  t.same(convertPosition('bottom-right', '1'), { value: 'bottom-right', changes: [] })
  t.same(kinds(convertPosition('middle', '1').changes), ['content.position:value-replaced'])
  t.same(convertDesign({ background_color: '#fff', button_color: 'blue', position: 'top' }, '1').value, {
    position: 'top',
    colors: { background: '#ffffff', accent: '#0000ff' },
  })
})

t.test('unknown content fields are reported, not silently dropped', async (t) => {
  const { changes } = convertCampaign({
    id: 4,
    name: 'x',
    type: 'popup',
    status: 'draft',
    content: { title: 'Hi', countdown: '2024-01-01' },
  })
  t.same(kinds(changes), ['content.countdown:value-ignored'])
  const twice = convertCampaign({
    id: 4,
    name: 'x',
    type: 'popup',
    status: 'draft',
    content: JSON.stringify({ title: 'Hi', collect_email: true }),
  })
  t.same(twice.changes, [], 'content stored as a JSON string is read as its JSON')
  t.equal(twice.value.variants[0]?.steps[0]?.form?.fields[0]?.name, 'email')
  const notObject = convertCampaign({ id: 4, name: 'x', type: 'popup', status: 'draft', content: 'oops' })
  t.same(kinds(notObject.changes), ['content:value-replaced'])
  t.same(apiProblems(notObject.value), [])
})

t.test(
  'hostnames: as sites are stored today; www. kept; a hostname no site can have is skipped',
  async (t) => {
    t.same(normaliseHostname('shop.example.com', '1'), { hostname: 'shop.example.com', changes: [] })
    const mixed = normaliseHostname('Shop.Example.com', '2')
    t.equal(mixed.hostname, 'shop.example.com')
    t.same(
      mixed.changes.map((c) => [c.legacyId, c.kind, c.before, c.after]),
      [['2', 'hostname-normalised', 'Shop.Example.com', 'shop.example.com']],
    )
    t.equal(normaliseHostname('example.com.', '3').hostname, 'example.com')
    t.equal(normaliseHostname('www.example.com', '4').hostname, 'www.example.com')
    t.equal(normaliseHostname('bücher.de', '4').hostname, 'xn--bcher-kva.de')
    t.equal(withoutWww('www.example.com'), 'example.com')
    t.equal(withoutWww('www.com'), 'www.com')
    for (const bad of ['localhost:3000', '192.168.0.1', '', 'not a host']) {
      const { hostname, changes } = normaliseHostname(bad, '5')
      t.equal(hostname, null, bad)
      t.same(kinds(changes), ['hostname:site-skipped'])
    }
  },
)

t.test('emails: one spelling per person, no address in the changes', async (t) => {
  t.same(normaliseEmail('Ann.Smith@Example.com', '1'), {
    email: 'Ann.Smith@Example.com',
    key: 'ann.smith@example.com',
    changes: [],
  })
  const spaced = normaliseEmail('  ann@example.com ', '1')
  t.equal(spaced.email, 'ann@example.com')
  t.same(kinds(spaced.changes), ['email:email-normalised'])
  t.equal(
    normaliseEmail('ａｎｎ@example.com', '1').key,
    'ann@example.com',
    'full-width letters are the letters they show',
  )
  for (const bad of ['not-an-address', 'ann@', 'a\u200b@example.com']) {
    const result = normaliseEmail(bad, '7')
    t.equal(result.email, null, bad)
    t.same(kinds(result.changes), ['email:email-invalid'])
    t.notMatch(JSON.stringify(result.changes), bad.slice(0, 3), 'the address is not in the report')
  }
})

t.test('plans: old plans onto today’s, Stripe’s status kept', async (t) => {
  t.same(convertPlan('free', null, '1'), { value: { plan: 'free', subscriptionStatus: null }, changes: [] })
  t.same(convertPlan('pro', 'active', '1'), {
    value: { plan: 'pro', subscriptionStatus: 'active' },
    changes: [],
  })
  const starter = convertPlan('starter', 'past_due', '1')
  t.same(starter.value, { plan: 'pro', subscriptionStatus: 'past_due' })
  t.same(kinds(starter.changes), ['plan:plan-mapped'])
  t.same(convertPlan('agency', 'trialing', '1').value, { plan: 'business', subscriptionStatus: 'trialing' })
  t.same(kinds(convertPlan('gold', 'weird', '1').changes), [
    'plan:value-replaced',
    'subscription_status:value-ignored',
  ])
})

t.test(
  'every campaign the legacy generator makes converts into one the API accepts and the script renders',
  async (t) => {
    const random = new Random(1)
    let converted = 0
    let reported = 0
    for (let index = 0; index < 3000; index++) {
      const hostile = index % 97 === 0
      const content = campaignContent(random, index % 10 === 0 ? null : SITE, { hostile })
      const { value, changes } = convertCampaign(
        {
          id: index + 1,
          name: `Campaign ${index}`,
          type: random.pick(['popup', 'slidein', 'bar', 'fullscreen']),
          status: 'active',
          content,
        },
        { siteHostname: SITE },
      )
      const problems = apiProblems(value)
      if (problems.length > 0) t.fail(`legacy campaign ${index + 1}: ${problems.join('; ')}`, { content })
      const unrendered = renderedTexts(value).filter((problem) => problem !== null).length
      if (unrendered > 0)
        t.fail(`legacy campaign ${index + 1}: ${unrendered} text blocks the script would show as text`)
      for (const change of changes)
        if (change.legacyId !== String(index + 1)) t.fail('a change names another campaign')
      converted += 1
      reported += changes.length
    }
    t.equal(converted, 3000)
    t.ok(reported > 0, 'the old editor’s markup and values are reported')
  },
)
