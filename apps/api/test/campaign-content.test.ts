import AjvCompiler from '@fastify/ajv-compiler'
import t, { type Test } from 'tap'
import { type TSchema, Type } from 'typebox'
import {
  Block,
  CampaignType,
  DEFAULT_FREQUENCY,
  DEFAULT_TARGETING,
  Design,
  defaultVariant,
  Frequency,
  FULL_CAMPAIGN_EXAMPLE,
  Schedule,
  Targeting,
  Variants,
} from '../src/modules/campaigns/content.ts'
import { markupProblem } from '../src/modules/campaigns/markup.ts'
import { campaignProblems } from '../src/modules/campaigns/rules.ts'
import { HostnameInput, normaliseHostname } from '../src/modules/sites/hostname.ts'
import { fieldProblems } from '../src/plugins/error-handler.ts'
import { Input } from '../src/schemas.ts'

type Campaign = typeof FULL_CAMPAIGN_EXAMPLE

/** A create body as the campaigns route declares it (the route adds siteId). */
const CampaignBody = Input({
  name: Type.String({ minLength: 1, maxLength: 120 }),
  type: CampaignType,
  variants: Variants,
  targeting: Targeting,
  frequency: Frequency,
  schedule: Type.Optional(Schedule),
})

/** A validator built the way server.ts builds the body one: allErrors, useDefaults, no coercion. */
function bodyValidator(schema: TSchema, extra: object = {}) {
  const factory = (AjvCompiler as unknown as () => (s: unknown, o: object) => (r: object) => unknown)()
  const compile = factory(
    {},
    {
      customOptions: {
        allErrors: true,
        useDefaults: true,
        removeAdditional: false,
        coerceTypes: false,
        ...extra,
      },
    },
  )
  const validate = compile({ schema, method: 'POST', url: '/', httpPart: 'body' }) as ((
    data: unknown,
  ) => boolean) & {
    errors?: Array<{ instancePath: string; message?: string; params: Record<string, unknown> }> | null
  }
  /** Validates (filling defaults in `data`) and returns the problems as the error handler words them. */
  return (data: unknown) => {
    if (validate(data)) return []
    return fieldProblems(validate.errors ?? [], 'body').map((p) => `${p.field} ${p.message}`)
  }
}

const validateBody = bodyValidator(CampaignBody)

function campaign(): Campaign {
  return structuredClone(FULL_CAMPAIGN_EXAMPLE)
}

function stepOf(c: Campaign, variant = 0, step = 0) {
  return c.variants[variant]!.steps[step]!
}

/** Exactly one problem, on `field`, whose message matches `message`. */
function oneProblem(t: Test, c: Campaign, field: string, message: RegExp) {
  const problems = campaignProblems(c)
  t.equal(problems.length, 1, `one problem: ${JSON.stringify(problems)}`)
  t.equal(problems[0]?.field, field)
  t.match(problems[0]?.message, message)
}

t.test('schemas compile with AJV as Fastify sets it up, in strict mode too', async (t) => {
  t.doesNotThrow(() => bodyValidator(CampaignBody, { strict: true }))
  t.doesNotThrow(() => bodyValidator(Input({ hostname: HostnameInput }), { strict: true }))
})

t.test('the full example and the defaults are valid, to the schema and to the rules', async (t) => {
  const full = campaign()
  t.same(validateBody(full), [])
  t.same(campaignProblems(full), [])
  t.equal(full.variants.length, 2)
  t.same(
    full.variants.map((v) => v.weight),
    [50, 50],
  )
  t.equal(full.schedule.timeZone, 'Europe/Berlin')

  const minimal = {
    name: 'New campaign',
    type: 'modal',
    variants: [defaultVariant()],
    targeting: structuredClone(DEFAULT_TARGETING),
    frequency: structuredClone(DEFAULT_FREQUENCY),
  }
  t.same(validateBody(minimal), [])
  t.same(campaignProblems(minimal), [])
  t.equal(minimal.variants[0]!.weight, 100)
  t.equal(minimal.variants[0]!.steps[0]!.blocks[0]!.style, 'heading')
  t.equal(minimal.variants[0]!.steps[0]!.buttons[0]!.action, 'close')
  t.same(DEFAULT_TARGETING.trigger, { type: 'delay', seconds: 3 })
  t.same(DEFAULT_FREQUENCY, { show: 'once', stopAfterConversion: true, stopAfterClose: false })
  minimal.variants[0]!.steps[0]!.buttons.push({ label: 'Edited', action: 'close' })
  t.equal(defaultVariant().steps[0]!.buttons.length, 1, 'each call gives a fresh variant')
  t.throws(() => {
    ;(DEFAULT_TARGETING.trigger as { seconds?: number }).seconds = 10
  }, 'the shared defaults cannot be changed by accident')
})

t.test('defaults are filled in by validation', async (t) => {
  const body = campaign()
  const form = stepOf(body).form!
  delete form.capturesLeads
  delete form.fields[1]!.required
  delete body.frequency.stopAfterConversion
  delete body.frequency.stopAfterClose
  delete body.targeting.urls!.exclude
  t.same(validateBody(body), [])
  t.equal(form.capturesLeads, true)
  t.equal(form.fields[1]!.required, false)
  t.equal(body.frequency.stopAfterConversion, true)
  t.equal(body.frequency.stopAfterClose, false)
  t.same(body.targeting.urls!.exclude, [])
})

t.test('schema errors name the field, one error per mistake', async (t) => {
  const unknownField = campaign()
  ;(stepOf(unknownField).blocks[0] as Record<string, unknown>).onclick = 'x'
  t.same(validateBody(unknownField), ['body.variants.0.steps.0.blocks.0.onclick is not allowed'])

  // A flat block with an enum type: a wrong type is one readable error, not one per union member.
  const wrongType = campaign()
  ;(stepOf(wrongType).blocks[0] as Record<string, unknown>).type = 'video'
  t.same(validateBody(wrongType), ['body.variants.0.steps.0.blocks.0.type must be one of: text, image'])

  const wrongTrigger = campaign()
  ;(wrongTrigger.targeting.trigger as Record<string, unknown>).type = 'hover'
  t.same(validateBody(wrongTrigger), [
    'body.targeting.trigger.type must be one of: delay, scroll, exit-intent, click, inactivity, tab-return',
  ])

  const bounds = campaign()
  bounds.variants[0]!.weight = 101
  bounds.variants[1]!.name = ''
  stepOf(bounds).design!.colors!.accent = 'red'
  stepOf(bounds).design!.widthPx = 100
  stepOf(bounds).form!.fields[0]!.name = '1email'
  bounds.targeting.devices = ['desktop', 'desktop']
  bounds.targeting.countries!.codes = ['de']
  bounds.targeting.languages = ['german']
  bounds.schedule.startAt = 'tomorrow'
  bounds.frequency.days = 366
  const problems = validateBody(bounds)
  for (const field of [
    'body.variants.0.weight',
    'body.variants.1.name',
    'body.variants.0.steps.0.design.colors.accent',
    'body.variants.0.steps.0.design.widthPx',
    'body.variants.0.steps.0.form.fields.0.name',
    'body.targeting.devices',
    'body.targeting.countries.codes.0',
    'body.targeting.languages.0',
    'body.schedule.startAt',
    'body.frequency.days',
  ]) {
    t.ok(
      problems.some((p) => p.startsWith(`${field} `)),
      `${field} is named`,
    )
  }
  t.equal(problems.length, 10, JSON.stringify(problems))

  const tooMany = campaign()
  stepOf(tooMany).blocks = Array.from({ length: 21 }, () => ({ type: 'text' as const, text: 'x' }))
  stepOf(tooMany).buttons.push(...Array.from({ length: 3 }, () => ({ label: 'x', action: 'close' as const })))
  tooMany.variants.push(...Array.from({ length: 3 }, () => defaultVariant()))
  t.same(validateBody(tooMany), [
    'body.variants must NOT have more than 4 items',
    'body.variants.0.steps.0.blocks must NOT have more than 20 items',
    'body.variants.0.steps.0.buttons must NOT have more than 4 items',
  ])

  const longText = campaign()
  ;(stepOf(longText).blocks[0] as { text: string }).text = 'x'.repeat(2001)
  t.same(validateBody(longText), [
    'body.variants.0.steps.0.blocks.0.text must NOT have more than 2000 characters',
  ])

  const noCoercion = campaign()
  ;(noCoercion.variants[0] as Record<string, unknown>).weight = '50'
  t.same(validateBody(noCoercion), ['body.variants.0.weight must be integer'])
})

t.test('every property carries a description for OpenAPI', async (t) => {
  const missing: string[] = []
  const walk = (schema: Record<string, unknown>, path: string) => {
    const properties = schema.properties as Record<string, Record<string, unknown>> | undefined
    for (const [key, property] of Object.entries(properties ?? {})) {
      if (typeof property.description !== 'string' || property.description === '')
        missing.push(`${path}.${key}`)
      walk(property, `${path}.${key}`)
    }
    if (schema.items) walk(schema.items as Record<string, unknown>, `${path}[]`)
  }
  for (const [name, schema] of Object.entries({ Variants, Targeting, Frequency, Schedule, Block, Design })) {
    walk(schema as unknown as Record<string, unknown>, name)
  }
  t.same(missing, [])
  t.match((CampaignType as { description?: string }).description, /modal/)
})

t.test('variants: weights sum to 100, ids unique, 1 to 4 of them', async (t) => {
  const sum = campaign()
  sum.variants[1]!.weight = 40
  oneProblem(t, sum, 'body.variants', /sum to 100 \(they sum to 90\)/)

  const ids = campaign()
  ids.variants[1]!.id = 'a'
  oneProblem(t, ids, 'body.variants.1.id', /must be unique/)

  const none = campaign()
  none.variants = []
  oneProblem(t, none, 'body.variants', /1 to 4 variants \(has 0\)/)

  const five = campaign()
  five.variants = Array.from({ length: 5 }, (_, i) => ({ ...defaultVariant(), id: `v${i}`, weight: 20 }))
  oneProblem(t, five, 'body.variants', /1 to 4 variants \(has 5\)/)

  const withoutIds = campaign()
  for (const variant of withoutIds.variants) delete variant.id
  t.same(campaignProblems(withoutIds), [], 'ids are optional: the server assigns them')

  const zero = campaign()
  zero.variants[0]!.weight = 100
  zero.variants[1]!.weight = 0
  t.same(campaignProblems(zero), [], 'a variant may have no traffic')

  const based = campaign()
  based.variants[1]!.weight = 0
  t.equal(campaignProblems(based, 'content')[0]?.field, 'content.variants')
  t.same(campaignProblems({}), [], 'a patch without content has nothing to check')
})

t.test('blocks: text needs text with allowed markup, image needs an http(s) url and alt', async (t) => {
  const markup = campaign()
  ;(stepOf(markup).blocks[1] as { text: string }).text = 'Hi <script>alert(1)</script>'
  oneProblem(
    t,
    markup,
    'body.variants.0.steps.0.blocks.1.text',
    /tag <script> is not allowed \(allowed: b, strong/,
  )

  const noText = campaign()
  stepOf(noText).blocks[0] = { type: 'text' }
  oneProblem(t, noText, 'body.variants.0.steps.0.blocks.0.text', /is required for a text block/)

  const textWithUrl = campaign()
  stepOf(textWithUrl).blocks[0] = { type: 'text', text: 'Hi', url: 'https://x.test/a.png' }
  oneProblem(t, textWithUrl, 'body.variants.0.steps.0.blocks.0.url', /only for image blocks/)

  const imageWithText = campaign()
  stepOf(imageWithText, 1).blocks[2] = { type: 'image', url: 'https://x.test/a.png', alt: '', text: 'Hi' }
  oneProblem(t, imageWithText, 'body.variants.1.steps.0.blocks.2.text', /only for text blocks/)

  const noUrl = campaign()
  stepOf(noUrl).blocks[2] = { type: 'image', alt: 'A' }
  oneProblem(t, noUrl, 'body.variants.0.steps.0.blocks.2.url', /is required for an image block/)

  const noAlt = campaign()
  stepOf(noAlt).blocks[2] = { type: 'image', url: 'https://x.test/a.png' }
  oneProblem(t, noAlt, 'body.variants.0.steps.0.blocks.2.alt', /is required for an image block/)

  const decorative = campaign()
  stepOf(decorative).blocks[2] = { type: 'image', url: 'https://x.test/a.png', alt: '' }
  t.same(campaignProblems(decorative), [], 'an empty alt marks a decorative image')

  const markupAlt = campaign()
  stepOf(markupAlt).blocks[2] = { type: 'image', url: 'https://x.test/a.png', alt: '<b>Sale</b>' }
  oneProblem(
    t,
    markupAlt,
    'body.variants.0.steps.0.blocks.2.alt',
    /plain text: markup such as <b> is not rendered/,
  )

  for (const [url, message] of [
    ['javascript:alert(1)', /http: or https: URL \(javascript: is not allowed\)/],
    ['JavaScript:alert(1)', /javascript: is not allowed/],
    ['data:image/png;base64,AAAA', /data: is not allowed/],
    ['/images/a.png', /absolute URL starting with https:\/\//],
    ['//cdn.x.test/a.png', /absolute URL/],
    ['https://user:secret@x.test/a.png', /user name or password/],
    ['https:x.test/a.png', /absolute URL starting with https:\/\//],
    ['https://x.test/a b.png', /spaces/],
    ['https:\\\\x.test\\a.png', /backslashes/],
    ['https://', /not a valid URL/],
  ] as const) {
    const c = campaign()
    stepOf(c).blocks[2] = { type: 'image', url, alt: '' }
    oneProblem(t, c, 'body.variants.0.steps.0.blocks.2.url', message)
  }
  const http = campaign()
  stepOf(http).blocks[2] = { type: 'image', url: 'http://x.test:8080/a.png?v=1#top', alt: '' }
  t.same(campaignProblems(http), [], 'http with port, query and fragment is fine')
})

t.test(
  'buttons: link needs a url, others must not have one; submit needs a form; next-step a later step',
  async (t) => {
    const link = campaign()
    stepOf(link).buttons[1] = { label: 'More', action: 'link' }
    oneProblem(t, link, 'body.variants.0.steps.0.buttons.1.url', /is required for a link button/)

    const badLink = campaign()
    stepOf(badLink).buttons[1] = { label: 'More', action: 'link', url: 'javascript:void(0)', newTab: true }
    oneProblem(t, badLink, 'body.variants.0.steps.0.buttons.1.url', /javascript: is not allowed/)

    const goodLink = campaign()
    stepOf(goodLink).buttons[1] = {
      label: 'More',
      action: 'link',
      url: 'https://shop.example.com/sale',
      newTab: true,
    }
    t.same(campaignProblems(goodLink), [])

    const closeWithUrl = campaign()
    stepOf(closeWithUrl).buttons[1] = { label: 'No', action: 'close', url: 'https://x.test' }
    oneProblem(t, closeWithUrl, 'body.variants.0.steps.0.buttons.1.url', /only for link buttons.*close/)

    const submitWithoutForm = campaign()
    delete stepOf(submitWithoutForm, 1).form
    oneProblem(
      t,
      submitWithoutForm,
      'body.variants.1.steps.0.buttons.0.action',
      /submit needs a form in the same step/,
    )

    const formWithoutSubmit = campaign()
    stepOf(formWithoutSubmit).buttons = [{ label: 'Close', action: 'close' }]
    oneProblem(t, formWithoutSubmit, 'body.variants.0.steps.0.buttons', /must include a submit button/)

    const lastNext = campaign()
    stepOf(lastNext).buttons[1] = { label: 'Next', action: 'next-step' }
    oneProblem(t, lastNext, 'body.variants.0.steps.0.buttons.1.action', /next-step needs a later step/)

    const twoSteps = campaign()
    stepOf(twoSteps).buttons[1] = { label: 'Next', action: 'next-step' }
    twoSteps.variants[0]!.steps.push({ blocks: [{ type: 'text', text: 'Thanks!' }], buttons: [] })
    t.same(campaignProblems(twoSteps), [], 'next-step is fine before another step')
    stepOf(twoSteps, 0, 1).buttons = [{ label: 'Next', action: 'next-step' }]
    oneProblem(t, twoSteps, 'body.variants.0.steps.1.buttons.0.action', /next-step needs a later step/)

    const markupLabel = campaign()
    stepOf(markupLabel).buttons[0]!.label = '<i>Go</i>'
    oneProblem(t, markupLabel, 'body.variants.0.steps.0.buttons.0.label', /plain text/)

    const blankLabel = campaign()
    stepOf(blankLabel).buttons[0]!.label = '   '
    oneProblem(t, blankLabel, 'body.variants.0.steps.0.buttons.0.label', /must not be blank/)

    const newline = campaign()
    stepOf(newline).buttons[0]!.label = 'Get\nit'
    oneProblem(
      t,
      newline,
      'body.variants.0.steps.0.buttons.0.label',
      /one line of plain text \(control character U\+000A/,
    )
  },
)

t.test('forms: leads need a required email field, names unique, options and values by type', async (t) => {
  const path = 'body.variants.0.steps.0.form'

  const noEmail = campaign()
  stepOf(noEmail).form!.fields.shift()
  oneProblem(t, noEmail, `${path}.fields`, /email field with required: true when the form captures leads/)

  const optionalEmail = campaign()
  stepOf(optionalEmail).form!.fields[0]!.required = false
  oneProblem(t, optionalEmail, `${path}.fields`, /email field with required: true/)

  const defaultedRequired = campaign()
  delete stepOf(defaultedRequired).form!.fields[0]!.required
  delete stepOf(defaultedRequired).form!.capturesLeads
  oneProblem(t, defaultedRequired, `${path}.fields`, /email field with required: true/)

  const survey = campaign()
  stepOf(survey).form!.capturesLeads = false
  stepOf(survey).form!.fields.shift()
  t.same(campaignProblems(survey), [], 'a form that does not capture leads needs no email')

  const duplicate = campaign()
  stepOf(duplicate).form!.fields[1]!.name = 'email'
  oneProblem(t, duplicate, `${path}.fields.1.name`, /must be unique in the form/)

  for (const name of ['consent', 'Consent', 'CONSENT']) {
    const reserved = campaign()
    stepOf(reserved).form!.fields[1]!.name = name
    oneProblem(
      t,
      reserved,
      `${path}.fields.1.name`,
      /^consent is reserved for the form’s consent checkbox: use another name$/,
    )
  }
  const withoutConsentBox = campaign()
  delete stepOf(withoutConsentBox).form!.consent
  stepOf(withoutConsentBox).form!.fields[1]!.name = 'consent'
  oneProblem(t, withoutConsentBox, `${path}.fields.1.name`, /reserved for the form’s consent checkbox/)
  const consentLike = campaign()
  stepOf(consentLike).form!.fields[1]!.name = 'consentGiven'
  t.same(campaignProblems(consentLike), [], 'only the name itself is reserved')

  const select = campaign()
  stepOf(select).form!.fields[1] = { name: 'size', type: 'select', label: 'Size', required: false }
  oneProblem(t, select, `${path}.fields.1.options`, /is required for a select field/)
  stepOf(select).form!.fields[1]!.options = ['S', 'M', 'L']
  t.same(campaignProblems(select), [])
  stepOf(select).form!.fields[1]!.options = ['S', '<b>M</b>']
  oneProblem(t, select, `${path}.fields.1.options.1`, /plain text/)

  const optionsOnText = campaign()
  stepOf(optionsOnText).form!.fields[1]!.options = ['a']
  oneProblem(t, optionsOnText, `${path}.fields.1.options`, /only for select fields \(this field is text\)/)

  const hidden = campaign()
  stepOf(hidden).form!.fields[1] = { name: 'source', type: 'hidden', label: '', required: false }
  oneProblem(t, hidden, `${path}.fields.1.value`, /is required for a hidden field/)
  stepOf(hidden).form!.fields[1]!.value = 'spring-popup'
  t.same(campaignProblems(hidden), [])

  const valueOnText = campaign()
  stepOf(valueOnText).form!.fields[1]!.value = 'x'
  oneProblem(t, valueOnText, `${path}.fields.1.value`, /only for hidden fields \(this field is text\)/)

  const label = campaign()
  stepOf(label).form!.fields[1]!.label = 'Name <img src=x onerror=alert(1)>'
  oneProblem(t, label, `${path}.fields.1.label`, /plain text/)

  const consent = campaign()
  stepOf(consent).form!.consent!.text = 'I agree <a href="javascript:alert(1)">terms</a>'
  oneProblem(
    t,
    consent,
    `${path}.consent.text`,
    /href scheme javascript: is not allowed \(allowed: http:, https:, mailto:\)/,
  )
})

t.test('triggers: each type with its own field', async (t) => {
  const path = 'body.targeting.trigger'
  const cases: Array<[Campaign['targeting']['trigger'], string | null, RegExp?]> = [
    [{ type: 'delay', seconds: 0 }, null],
    [{ type: 'delay', seconds: 600 }, null],
    [{ type: 'delay', seconds: 601 }, `${path}.seconds`, /must be 0 to 600 for a delay trigger/],
    [{ type: 'delay' }, `${path}.seconds`, /is required for a delay trigger/],
    [{ type: 'delay', seconds: 3, percent: 50 }, `${path}.percent`, /only for scroll triggers/],
    [{ type: 'scroll', percent: 50 }, null],
    [{ type: 'scroll' }, `${path}.percent`, /is required for a scroll trigger/],
    [
      { type: 'scroll', percent: 50, seconds: 3 },
      `${path}.seconds`,
      /only for delay and inactivity triggers/,
    ],
    [{ type: 'exit-intent' }, null],
    [{ type: 'exit-intent', selector: '#x' }, `${path}.selector`, /only for click triggers/],
    [{ type: 'inactivity', seconds: 3600 }, null],
    [{ type: 'inactivity', seconds: 0 }, `${path}.seconds`, /must be 1 to 3600 for a inactivity trigger/],
    [{ type: 'click', selector: '#signup, .cta > button[data-x="a]b"]:not(.y)' }, `${path}.selector`, /">"/],
    [{ type: 'click', selector: '#signup, .cta button[data-x="a]b"]:not(.y)' }, null],
    [{ type: 'click' }, `${path}.selector`, /is required for a click trigger/],
    [{ type: 'click', selector: 'a<script>' }, `${path}.selector`, /"<" is not allowed/],
    [{ type: 'click', selector: 'a{color:red}' }, `${path}.selector`, /"\{" is not allowed/],
    [{ type: 'click', selector: 'a;b' }, `${path}.selector`, /";" is not allowed/],
    [{ type: 'click', selector: 'a\u0000b' }, `${path}.selector`, /control characters/],
    [{ type: 'click', selector: 'a[href' }, `${path}.selector`, /unclosed bracket/],
    [{ type: 'click', selector: 'a:not(.b' }, `${path}.selector`, /unclosed bracket/],
    [{ type: 'click', selector: 'a)' }, `${path}.selector`, /unmatched "\)"/],
    [{ type: 'click', selector: 'a[x="b]' }, `${path}.selector`, /unclosed " quote/],
    [{ type: 'click', selector: "a[x='b]" }, `${path}.selector`, /unclosed ' quote/],
    [{ type: 'click', selector: '  ' }, `${path}.selector`, /must not be blank/],
  ]
  for (const [trigger, field, message] of cases) {
    const c = campaign()
    c.targeting.trigger = trigger
    if (field === null) t.same(campaignProblems(c), [], `${JSON.stringify(trigger)} is fine`)
    else oneProblem(t, c, field, message!)
  }
})

t.test('targeting lists do not repeat', async (t) => {
  const devices = campaign()
  devices.targeting.devices = ['mobile', 'mobile']
  oneProblem(t, devices, 'body.targeting.devices', /"mobile" is listed twice/)
  t.ok(
    validateBody(structuredClone(devices)).some((p) => p.startsWith('body.targeting.devices ')),
    'the schema refuses it too',
  )

  const countries = campaign()
  countries.targeting.countries = { mode: 'deny', codes: ['DE', 'FR', 'DE'] }
  oneProblem(t, countries, 'body.targeting.countries.codes', /"DE" is listed twice/)
  t.ok(validateBody(structuredClone(countries)).some((p) => p.startsWith('body.targeting.countries.codes ')))
})

t.test('frequency: days with every-n-days, and only then', async (t) => {
  const missing = campaign()
  delete missing.frequency.days
  oneProblem(t, missing, 'body.frequency.days', /is required when show is every-n-days/)

  const extra = campaign()
  extra.frequency = { show: 'once', days: 3 }
  oneProblem(t, extra, 'body.frequency.days', /only for show: every-n-days \(show is once\)/)

  const pageView = campaign()
  pageView.frequency = { show: 'every-page-view' }
  t.same(campaignProblems(pageView), [])
})

t.test('schedule: end after start, a real IANA time zone', async (t) => {
  const backwards = campaign()
  backwards.schedule.endAt = '2030-03-20T06:59:59Z'
  oneProblem(t, backwards, 'body.schedule.endAt', /must be later than startAt/)

  const same = campaign()
  same.schedule.endAt = '2030-03-20T07:00:00Z'
  oneProblem(t, same, 'body.schedule.endAt', /must be later than startAt/)

  const onlyEnd = campaign()
  delete onlyEnd.schedule.startAt
  t.same(campaignProblems(onlyEnd), [])

  for (const timeZone of [
    'UTC',
    'America/Argentina/Buenos_Aires',
    'Asia/Kolkata',
    'US/Eastern',
    'Etc/GMT+1',
  ]) {
    const c = campaign()
    c.schedule.timeZone = timeZone
    t.same(campaignProblems(c), [], `${timeZone} is a zone`)
  }
  for (const [timeZone, message] of [
    ['Europe/Atlantis', /must be an IANA time zone such as "Europe\/Berlin"/],
    ['+01:00', /IANA time zone/],
    ['CET+1', /IANA time zone/],
    ['../../etc/passwd', /IANA time zone/],
    ['europe/berlin', /must be written "Europe\/Berlin"/],
  ] as const) {
    const c = campaign()
    c.schedule.timeZone = timeZone
    oneProblem(t, c, 'body.schedule.timeZone', message)
  }
  t.same(campaignProblems({ schedule: null }), [], 'no schedule: always on')
})

t.test('problems in several places are all reported', async (t) => {
  const c = campaign()
  c.variants[0]!.weight = 10
  stepOf(c, 1).buttons[1]!.url = 'https://x.test'
  c.frequency.show = 'once'
  c.schedule.timeZone = 'Mars/Olympus'
  t.same(
    campaignProblems(c).map((p) => p.field),
    [
      'body.variants',
      'body.variants.1.steps.0.buttons.1.url',
      'body.frequency.days',
      'body.schedule.timeZone',
    ],
  )
})

t.test('markup: the allowed subset passes', async (t) => {
  for (const text of [
    'Get <b>10%</b> off<br>today &amp; tomorrow',
    '<a href="https://x.test/a?b=1&amp;c=2">link</a>',
    "<a href='http://x.test/'>single quotes</a>",
    '<a href="mailto:hello@x.test">mail us</a>',
    '<a>no href</a>',
    'Plain text with unicode: Grüße, 日本語, emoji 🎉👍🏽, and > on its own',
    '<p>One</p><p>Two <strong>strong</strong> <em>em</em> <i>i</i> <u>u</u> <s>s</s></p>',
    '<B>upper case</B> line<br/>break<br />break<BR>',
    '<p><b><i>nested</i></b> <a href="https://x.test"><b>bold link</b></a></p>',
    '&lt;tag&gt; &quot;q&quot; &#39;a&apos; a&nbsp;b &#233; &#x1F600; &#X1f600;',
    'tabs\tand\nnew lines\r\n',
    '',
  ]) {
    t.equal(markupProblem(text), null, text)
  }
})

t.test('markup: anything else is refused with a message saying what and what is allowed', async (t) => {
  const cases: Array<[string, RegExp]> = [
    [
      '<script>alert(1)</script>',
      /^tag <script> is not allowed \(allowed: b, strong, i, em, u, s, br, p, a\)$/,
    ],
    ['<SCRIPT>alert(1)</SCRIPT>', /tag <script> is not allowed/],
    ['<img src=x onerror=alert(1)>', /tag <img> is not allowed/],
    ['<b onmouseover="alert(1)">x</b>', /attribute onmouseover is not allowed on <b> \(allowed: href on <a>/],
    ['<a href="https://x.test" onclick="alert(1)">x</a>', /attribute onclick is not allowed on <a>/],
    ['<p style="color:red">x</p>', /attribute style is not allowed on <p>/],
    [
      '<a href="javascript:alert(1)">x</a>',
      /href scheme javascript: is not allowed \(allowed: http:, https:, mailto:\)/,
    ],
    ['<a href="jav&#x09;ascript:alert(1)">x</a>', /href scheme javascript: is not allowed/],
    ['<a href="jav&#9;ascript:alert(1)">x</a>', /href scheme javascript: is not allowed/],
    ['<a href="jav\tascript:alert(1)">x</a>', /href scheme javascript: is not allowed/],
    ['<a href=" JavaScript:alert(1)">x</a>', /href scheme javascript: is not allowed/],
    ['<a href="&#x6A;avascript:alert(1)">x</a>', /href scheme javascript: is not allowed/],
    ['<a href="javascript&colon;alert(1)">x</a>', /href: entity &colon; is not allowed/],
    ['<a href="&#1;javascript:alert(1)">x</a>', /&#1; is not a valid character/],
    ['<a href="data:text/html,<b>">x</a>', /href: a bare < is not allowed/],
    ['<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>', /href scheme data: is not allowed/],
    ['<a href="vbscript:x">x</a>', /href scheme vbscript: is not allowed/],
    ['<a href="/relative">x</a>', /href must be an absolute http:, https: or mailto: URL/],
    ['<a href="//evil.test">x</a>', /href must be an absolute/],
    ['<a href="https://user:pw@evil.test">x</a>', /href must not contain a user name or password/],
    ['<a href="https://x.test/a b">x</a>', /href must not contain spaces/],
    [
      `<a href='https://x.test/"onmouseover="alert(1)'>x</a>`,
      /href must not contain " \(percent-encode it\)/,
    ],
    ['<a href="https://x.test/&lt;b&gt;">x</a>', /href must not contain </],
    ['<a href=https://x.test>x</a>', /href value must be in quotes/],
    ['<a href>x</a>', /href needs a value/],
    ['<a href="https://x.test>x</a>', /no closing quote/],
    ['<a href="https://a.test" href="https://b.test">x</a>', /more than one href/],
    ['<a href="https://a.test"><a href="https://b.test">x</a></a>', /link cannot contain another link/],
    ['<p>a<p>b</p></p>', /paragraph cannot contain another <p>/],
    ['<!-- hidden -->', /comments .* are not allowed/],
    ['<![CDATA[x]]>', /CDATA sections .* are not allowed/],
    ['<!DOCTYPE html>', /doctype .* is not allowed/],
    ['<?xml version="1.0"?>', /processing instructions .* are not allowed/],
    ['<style>body{}</style>', /tag <style> is not allowed/],
    ['<iframe src="https://x.test"></iframe>', /tag <iframe> is not allowed/],
    ['<svg onload=alert(1)>', /tag <svg> is not allowed/],
    ['<b/onclick=alert(1)>x</b>', /has a \/ that does not end it/],
    ['<b\tonclick="x">y</b>', /attribute onclick is not allowed on <b>/],
    ['<scr<script>ipt>', /tag <scr<script> is not allowed/],
    ['<b>unclosed', /^tag <b> is not closed: add <\/b>$/],
    ['<b><i>x</i>', /tag <b> is not closed/],
    ['<b><i>x</b></i>', /<i> must be closed before <\/b>/],
    ['x</b>', /closing tag <\/b> has no matching <b>/],
    ['</script>', /tag <\/script> is not allowed/],
    ['<b>x</b foo>', /closing tag <\/b> cannot have anything but its name/],
    ['a</br>', /<br> has no closing tag/],
    ['<b/>', /only <br> closes itself/],
    ['<b', /tag <b> is not finished/],
    ['1 < 2', /^a bare < is not allowed: write &lt; for a literal <$/],
    ['a <3 b', /a bare < is not allowed/],
    ['</ b>', /a bare < is not allowed/],
    ['a&b', /^a bare & is not allowed: write &amp; for a literal &$/],
    ['&amp', /a bare & is not allowed/],
    ['&bogus;', /^entity &bogus; is not allowed \(allowed: &amp; &lt; &gt; &quot; &#39; &apos; &nbsp;/],
    ['&AMP;', /entity &AMP; is not allowed/],
    ['&#0;', /&#0; is not a valid character/],
    ['&#xD800;', /&#xD800; is not a valid character/],
    ['&#x110000;', /is not a valid character/],
    ['&#99999999999;', /a bare & is not allowed/],
    ['bell\u0007', /control character U\+0007 is not allowed/],
    ['lone \ud83d surrogate', /lone UTF-16 surrogate/],
  ]
  for (const [text, message] of cases) {
    t.match(markupProblem(text), message, text)
  }
})

t.test('hostnames: what people paste is reduced to the hostname', async (t) => {
  const accepted: Array<[string, string]> = [
    ['shop.example.com', 'shop.example.com'],
    ['  https://Shop.Example.com:8443/path?q#x  ', 'shop.example.com'],
    ['Shop.Example.COM.', 'shop.example.com'],
    ['http://user:pw@shop.example.com/', 'shop.example.com'],
    ['//shop.example.com', 'shop.example.com'],
    ['shop.example.com:443', 'shop.example.com'],
    ['shop.example.com?x', 'shop.example.com'],
    ['bücher.de', 'xn--bcher-kva.de'],
    ['https://BÜCHER.de/katalog', 'xn--bcher-kva.de'],
    ['example.xn--p1ai', 'example.xn--p1ai'],
    ['XN--BCHER-KVA.de', 'xn--bcher-kva.de'],
    ['пример.рф', 'xn--e1afmkfd.xn--p1ai'],
    ['a-b.co.uk', 'a-b.co.uk'],
    ['123.example.com', '123.example.com'],
    [`${'a'.repeat(63)}.com`, `${'a'.repeat(63)}.com`],
  ]
  for (const [input, hostname] of accepted) {
    t.same(normaliseHostname(input), { hostname }, input)
  }
})

t.test('hostnames: what cannot be a site is refused with the reason', async (t) => {
  for (const [input, message] of [
    ['', /is empty/],
    ['   ', /is empty/],
    ['shop example.com', /must not contain spaces/],
    ['shop.example.com\t/x', /must not contain spaces/],
    ['https://', /has no hostname/],
    ['192.168.0.1', /is an IP address/],
    ['http://127.0.0.1:3000/', /is an IP address/],
    ['[::1]', /is an IP address/],
    ['http://[2001:db8::1]:8080/', /is an IP address/],
    ['2001:db8::1', /is an IP address/],
    ['127.1', /not a top-level domain/],
    ['localhost', /is localhost/],
    ['http://localhost:3000', /is localhost/],
    ['app.localhost', /is localhost/],
    ['*.example.com', /must not contain wildcards/],
    ['example', /at least two parts/],
    ['example..com', /empty part/],
    ['.example.com', /empty part/],
    ['-shop.example.com', /starts or ends with -/],
    ['shop-.example.com', /starts or ends with -/],
    ['shop_1.example.com', /characters other than letters, digits and -/],
    ['exa%41mple.com', /must not contain %/],
    [`${'a'.repeat(64)}.com`, /longer than 63 characters/],
    [`${'a.'.repeat(127)}com`, /longer than 253 characters/],
    ['example.123', /not a top-level domain/],
    ['example.c0m', /not a top-level domain/],
    ['shop.example.com:abc', /not followed by a port number/],
    ['xn--zz.com', /^has a part that starts with xn-- but is not valid punycode \("xn--zz"\)$/],
    ['shop.xn--bcher-kva1.de', /not valid punycode \("xn--bcher-kva1"\)/],
    ['xn--a.example.com', /not valid punycode/],
    ['example.xn--zz', /not valid punycode/],
  ]) {
    const result = normaliseHostname(input as string)
    t.ok('problem' in result, `${JSON.stringify(input)} is refused`)
    if ('problem' in result) t.match(result.problem, message as RegExp, JSON.stringify(input))
  }
  const bounds = HostnameInput as unknown as { minLength: number; maxLength: number }
  t.same([bounds.minLength, bounds.maxLength], [1, 300])
})
