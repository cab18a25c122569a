import type {
  BlockInput,
  ButtonInput,
  FieldInput,
  FormInput,
  FrequencyInput,
  ScheduleInput,
  StepInput,
  TargetingInput,
  TriggerInput,
  VariantInput,
} from './content.ts'
import {
  hasControlCharacter,
  httpUrlProblem,
  markupProblem,
  normalisedHttpUrl,
  plainTextProblem,
} from './markup.ts'

/*
 * The rules on campaign content that JSON Schema cannot say (sums, uniqueness, one field
 * depending on another, markup, URLs). Run on input the schema has already accepted; each problem
 * names its field the way the error handler names AJV's ("body.variants.0.steps.1.buttons.0.url").
 */

export interface ContentProblem {
  field: string
  message: string
}

type Add = (field: string, message: string | null | undefined) => void

const MAX_VARIANTS = 4

export function campaignProblems(
  input: {
    name?: string | undefined
    variants?: VariantInput[] | undefined
    targeting?: TargetingInput | undefined
    frequency?: FrequencyInput | undefined
    schedule?: ScheduleInput | null | undefined
  },
  base = 'body',
): ContentProblem[] {
  const problems: ContentProblem[] = []
  const add: Add = (field, message) => {
    if (message) problems.push({ field, message })
  }
  if (input.name !== undefined) add(`${base}.name`, oneLineProblem(input.name))
  if (input.variants !== undefined) variantsProblems(input.variants, `${base}.variants`, add)
  if (input.targeting) targetingProblems(input.targeting, `${base}.targeting`, add)
  if (input.frequency) frequencyProblems(input.frequency, `${base}.frequency`, add)
  if (input.schedule) scheduleProblems(input.schedule, `${base}.schedule`, add)
  return problems
}

function variantsProblems(variants: VariantInput[], path: string, add: Add) {
  if (variants.length < 1 || variants.length > MAX_VARIANTS) {
    add(path, `must have 1 to ${MAX_VARIANTS} variants (has ${variants.length})`)
  }
  const sum = variants.reduce((total, variant) => total + variant.weight, 0)
  if (variants.length > 0 && sum !== 100) add(path, `must have weights that sum to 100 (they sum to ${sum})`)
  const ids = new Map<string, number>()
  variants.forEach((variant, index) => {
    const at = `${path}.${index}`
    if (variant.id !== undefined) {
      const first = ids.get(variant.id)
      if (first !== undefined)
        add(`${at}.id`, `must be unique ("${variant.id}" is also the id of variant ${first})`)
      else ids.set(variant.id, index)
    }
    if (variant.name.trim() === '') add(`${at}.name`, 'must not be blank')
    else add(`${at}.name`, oneLineProblem(variant.name))
    variant.steps.forEach((step, stepIndex) => {
      stepProblems(step, stepIndex, variant.steps.length, `${at}.steps.${stepIndex}`, add)
    })
  })
}

function stepProblems(step: StepInput, index: number, stepCount: number, path: string, add: Add) {
  step.blocks.forEach((block, blockIndex) => {
    blockProblems(block, `${path}.blocks.${blockIndex}`, add)
  })
  step.buttons.forEach((button, buttonIndex) => {
    buttonProblems(button, { step, index, stepCount }, `${path}.buttons.${buttonIndex}`, add)
  })
  if (step.form) {
    formProblems(step.form, `${path}.form`, add)
    if (!step.buttons.some((button) => button.action === 'submit')) {
      add(
        `${path}.buttons`,
        'must include a submit button: the step has a form that could not be sent otherwise',
      )
    }
  }
}

function blockProblems(block: BlockInput, path: string, add: Add) {
  if (block.type === 'text') {
    if (block.text === undefined) add(`${path}.text`, 'is required for a text block')
    else add(`${path}.text`, markupProblem(block.text))
    if (block.url !== undefined) add(`${path}.url`, 'is only for image blocks')
    if (block.alt !== undefined) add(`${path}.alt`, 'is only for image blocks')
    return
  }
  if (block.url === undefined) add(`${path}.url`, 'is required for an image block')
  else add(`${path}.url`, httpUrlProblem(block.url))
  if (block.alt === undefined) {
    add(`${path}.alt`, 'is required for an image block (an empty string for a decorative image)')
  } else add(`${path}.alt`, plainTextProblem(block.alt, { allowEmpty: true }))
  if (block.text !== undefined) add(`${path}.text`, 'is only for text blocks')
  if (block.style !== undefined) add(`${path}.style`, 'is only for text blocks')
}

function buttonProblems(
  button: ButtonInput,
  at: { step: StepInput; index: number; stepCount: number },
  path: string,
  add: Add,
) {
  add(`${path}.label`, plainTextProblem(button.label))
  if (button.action === 'link') {
    if (button.url === undefined) add(`${path}.url`, 'is required for a link button')
    else add(`${path}.url`, httpUrlProblem(button.url))
  } else if (button.url !== undefined) {
    add(`${path}.url`, `is only for link buttons (this button's action is ${button.action})`)
  }
  if (button.action === 'submit' && !at.step.form) {
    add(`${path}.action`, 'submit needs a form in the same step')
  }
  if (button.action === 'next-step' && at.index >= at.stepCount - 1) {
    add(`${path}.action`, 'next-step needs a later step (this is the last step)')
  }
}

function formProblems(form: FormInput, path: string, add: Add) {
  const capturesLeads = form.capturesLeads ?? true
  if (capturesLeads && !form.fields.some((field) => field.type === 'email' && field.required === true)) {
    add(
      `${path}.fields`,
      'must include an email field with required: true when the form captures leads (or set capturesLeads: false)',
    )
  }
  const names = new Map<string, number>()
  form.fields.forEach((field, index) => {
    const at = `${path}.fields.${index}`
    const first = names.get(field.name)
    if (first !== undefined)
      add(`${at}.name`, `must be unique in the form ("${field.name}" is also field ${first})`)
    else names.set(field.name, index)
    // The lead's consent and its errors travel under that name (body.consent): a field of the
    // same name would be mistaken for the consent checkbox, whether the form has one or not.
    if (field.name.toLowerCase() === 'consent') {
      add(`${at}.name`, 'consent is reserved for the form’s consent checkbox: use another name')
    }
    fieldProblems(field, at, add)
  })
  if (form.consent) {
    add(`${path}.consent.text`, markupProblem(form.consent.text))
    // Stored with each lead and published with the form, where a renderer may put it in an attribute.
    add(`${path}.consent.version`, plainTextProblem(form.consent.version))
  }
}

function fieldProblems(field: FieldInput, path: string, add: Add) {
  add(`${path}.label`, plainTextProblem(field.label, { allowEmpty: true }))
  if (field.placeholder !== undefined) {
    add(`${path}.placeholder`, plainTextProblem(field.placeholder, { allowEmpty: true }))
  }
  if (field.type === 'select') {
    if (field.options === undefined) add(`${path}.options`, 'is required for a select field')
    else {
      field.options.forEach((option, index) => {
        add(`${path}.options.${index}`, plainTextProblem(option))
      })
    }
  } else if (field.options !== undefined) {
    add(`${path}.options`, `is only for select fields (this field is ${field.type})`)
  }
  if (field.type === 'hidden') {
    if (field.value === undefined) add(`${path}.value`, 'is required for a hidden field')
    else add(`${path}.value`, plainTextProblem(field.value, { allowEmpty: true }))
  } else if (field.value !== undefined) {
    add(`${path}.value`, `is only for hidden fields (this field is ${field.type})`)
  }
}

/**
 * Text that is neither markup nor plain text shown to visitors (names, versions, URL rules): one
 * line of whole characters. PostgreSQL refuses NUL (and \u0000 in JSON) and replaces or refuses
 * lone surrogates, so these are refused here, naming the field, rather than there, as a 500.
 */
export function oneLineProblem(text: string): string | null {
  if (hasControlCharacter(text)) return 'must be one line of text without control characters'
  if (!text.isWellFormed()) return 'contains an invalid character (a lone UTF-16 surrogate)'
  return null
}

/** Which trigger types each optional trigger field belongs to, and the bounds of `seconds`. */
const TRIGGER_FIELDS = {
  seconds: ['delay', 'inactivity'],
  percent: ['scroll'],
  selector: ['click'],
} as const satisfies Record<string, ReadonlyArray<TriggerInput['type']>>

const SECONDS = { delay: { min: 0, max: 600 }, inactivity: { min: 1, max: 3600 } } as const

function triggerProblems(trigger: TriggerInput, path: string, add: Add) {
  for (const [key, types] of Object.entries(TRIGGER_FIELDS) as Array<
    [keyof typeof TRIGGER_FIELDS, ReadonlyArray<string>]
  >) {
    const needed = types.includes(trigger.type)
    const present = trigger[key] !== undefined
    if (needed && !present) add(`${path}.${key}`, `is required for a ${trigger.type} trigger`)
    if (!needed && present) {
      add(`${path}.${key}`, `is only for ${types.join(' and ')} triggers (this trigger is ${trigger.type})`)
    }
  }
  if ((trigger.type === 'delay' || trigger.type === 'inactivity') && trigger.seconds !== undefined) {
    const { min, max } = SECONDS[trigger.type]
    if (trigger.seconds < min || trigger.seconds > max) {
      add(`${path}.seconds`, `must be ${min} to ${max} for a ${trigger.type} trigger (is ${trigger.seconds})`)
    }
  }
  if (trigger.type === 'click' && trigger.selector !== undefined) {
    add(`${path}.selector`, selectorProblem(trigger.selector))
  }
}

/**
 * A sanity check, not a CSS parser: the selector goes to querySelector on the customer's page, so
 * what could end a style rule or a tag is refused, and brackets and quotes must pair up.
 */
export function selectorProblem(selector: string): string | null {
  if (selector.trim() === '') return 'must not be blank'
  const forbidden = /[<>{};]/.exec(selector)
  if (forbidden)
    return `must be a CSS selector such as "#signup" or ".cta button" ("${forbidden[0]}" is not allowed)`
  if (hasControlCharacter(selector)) return 'must not contain control characters'
  const closers: Record<string, string> = { '(': ')', '[': ']' }
  const expected: string[] = []
  let quote: string | undefined
  for (let index = 0; index < selector.length; index += 1) {
    const char = selector[index]!
    if (char === '\\') {
      index += 1
      continue
    }
    if (quote) {
      if (char === quote) quote = undefined
      continue
    }
    if (char === '"' || char === "'") quote = char
    else if (closers[char]) expected.push(closers[char])
    else if (char === ')' || char === ']') {
      if (expected.pop() !== char) return `has an unmatched "${char}"`
    }
  }
  if (quote) return `has an unclosed ${quote} quote`
  const unclosed = expected.at(-1)
  if (unclosed) return `has an unclosed bracket (missing "${unclosed}")`
  return null
}

function duplicateOf(values: readonly string[]): string | undefined {
  const seen = new Set<string>()
  for (const value of values) {
    if (seen.has(value)) return value
    seen.add(value)
  }
  return undefined
}

function targetingProblems(targeting: TargetingInput, path: string, add: Add) {
  triggerProblems(targeting.trigger, `${path}.trigger`, add)
  for (const list of ['include', 'exclude'] as const) {
    targeting.urls?.[list]?.forEach((rule, index) => {
      add(`${path}.urls.${list}.${index}.value`, oneLineProblem(rule.value))
    })
  }
  const device = targeting.devices && duplicateOf(targeting.devices)
  if (device) add(`${path}.devices`, `must not repeat a device ("${device}" is listed twice)`)
  const country = targeting.countries && duplicateOf(targeting.countries.codes)
  if (country) add(`${path}.countries.codes`, `must not repeat a country ("${country}" is listed twice)`)
}

/**
 * The host a URL rule names, lower case and without port, or undefined when the rule is a path or
 * text ("/checkout", "sale"). May hold * (a glob).
 */
function ruleHost(value: string): string | undefined {
  const match = /^(?:[A-Za-z][A-Za-z0-9+.-]*:)?\/\/([^/?#]*)/.exec(value.trim())
  if (!match) return undefined
  const authority = match[1]!.replace(/^.*@/, '')
  return authority
    .replace(/:[0-9*]*$/, '')
    .replace(/\.$/, '')
    .toLowerCase()
}

/** Whether a rule's host (maybe a glob) covers the site: the hostname itself or a subdomain of it. */
function coversSite(host: string, hostname: string): boolean {
  if (!host.includes('*')) return host === hostname || host.endsWith(`.${hostname}`)
  const glob = new RegExp(`^${host.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`)
  return glob.test(hostname) || glob.test(`www.${hostname}`)
}

/**
 * URL rules that name a host other than the campaign's site: the popup only ever runs on the
 * site's pages, so an include rule for another host hides it everywhere and an exclude rule does
 * nothing; either is a mistake the marketer would not see, so it is refused, naming the rule.
 */
export function urlRuleHostProblems(
  targeting: TargetingInput,
  hostname: string,
  base = 'body.targeting',
): ContentProblem[] {
  const problems: ContentProblem[] = []
  for (const list of ['include', 'exclude'] as const) {
    targeting.urls?.[list]?.forEach((rule, index) => {
      const host = ruleHost(rule.value)
      if (host === undefined || coversSite(host, hostname)) return
      problems.push({
        field: `${base}.urls.${list}.${index}.value`,
        message: `names the host ${host.slice(0, 100)}, but the campaign runs on ${hostname}: use a path such as "/products/", or a URL on ${hostname}`,
      })
    })
  }
  return problems
}

/**
 * The variants as stored and published: image and link URLs in the one form `URL` gives them
 * (percent-encoded, lower-case scheme and host), so what reaches a page is what was checked.
 * Run on variants that passed the rules.
 */
export function withNormalisedUrls<T extends VariantInput>(variants: T[]): T[] {
  const normalised = (url: string | undefined) => (url === undefined ? undefined : normalisedHttpUrl(url))
  return variants.map((variant) => ({
    ...variant,
    steps: variant.steps.map((step) => ({
      ...step,
      blocks: step.blocks.map((block) =>
        block.url === undefined ? block : { ...block, url: normalised(block.url) },
      ),
      buttons: step.buttons.map((button) =>
        button.url === undefined ? button : { ...button, url: normalised(button.url) },
      ),
    })),
  }))
}

function frequencyProblems(frequency: FrequencyInput, path: string, add: Add) {
  if (frequency.show === 'every-n-days' && frequency.days === undefined) {
    add(`${path}.days`, 'is required when show is every-n-days')
  }
  if (frequency.show !== 'every-n-days' && frequency.days !== undefined) {
    add(`${path}.days`, `is only for show: every-n-days (show is ${frequency.show})`)
  }
}

function scheduleProblems(schedule: ScheduleInput, path: string, add: Add) {
  if (schedule.startAt !== undefined && schedule.endAt !== undefined) {
    const start = Date.parse(schedule.startAt)
    const end = Date.parse(schedule.endAt)
    if (!(end > start)) add(`${path}.endAt`, `must be later than startAt (${schedule.startAt})`)
  }
  add(`${path}.timeZone`, timeZoneProblem(schedule.timeZone))
}

/** IANA zone names only ("Europe/Berlin", "UTC", aliases such as "US/Eastern"); not offsets. */
export function timeZoneProblem(timeZone: string): string | null {
  const unknown = `must be an IANA time zone such as "Europe/Berlin" or "UTC" ("${timeZone.slice(0, 64)}" is not one)`
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(timeZone)) return unknown
  let resolved: string
  try {
    resolved = new Intl.DateTimeFormat('en', { timeZone }).resolvedOptions().timeZone
  } catch {
    return unknown
  }
  if (resolved !== timeZone && resolved.toLowerCase() === timeZone.toLowerCase()) {
    return `must be written "${resolved}"`
  }
  return null
}
