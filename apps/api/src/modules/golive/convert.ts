import type { CampaignStatus, CampaignType } from '@nudge/db'
import type {
  BlockInput,
  ButtonInput,
  DesignInput,
  FieldInput,
  FrequencyInput,
  StepInput,
  TargetingInput,
  TriggerInput,
  UrlRuleInput,
  VariantInput,
} from '../campaigns/content.ts'
import { httpUrlProblem, markupProblem, normalisedHttpUrl, plainTextProblem } from '../campaigns/markup.ts'
import { urlRuleHostProblems } from '../campaigns/rules.ts'
import { normaliseHostname as siteHostname } from '../sites/hostname.ts'
import { emailProblem, normalEmail } from '../visitors/lead-form.ts'

/*
 * The old system's values → today's model, one pure function per old field (Go-Live, issue 22).
 * Nothing is dropped or altered without a Change saying which row, which field, what and why: the
 * migration prints them in its report, and the owner of the campaign may read them. What these
 * produce passes the API's own checks (the campaign schemas, rules.ts, markup.ts): where the old
 * value cannot, it is reduced until it does, and the reduction is the Change.
 *
 * The old content format and the old editor's defaults are described in tools/legacy/README.md.
 */

export interface Change {
  /** what happened, stable for grouping in the report: 'markup-removed', 'trigger-dropped', … */
  kind: string
  legacyId: string
  /** the old field: 'content.text', 'hostname', 'status', … */
  field: string
  reason: string
  before?: string
  after?: string
}

/** A campaign row of the old database, as `SELECT * FROM campaigns` gives it. */
export interface LegacyCampaign {
  id: number | string
  account_id?: number | string
  domain_id?: number | string | null
  name: string
  type: string
  status: string
  content: unknown
  created_at?: Date | string
  updated_at?: Date | string
}

/** What the `campaigns` table needs of a campaign, in today's model. */
export interface ConvertedCampaign {
  name: string
  type: CampaignType
  status: Extract<CampaignStatus, 'draft' | 'live' | 'paused' | 'archived'>
  variants: Array<VariantInput & { id: string }>
  targeting: TargetingInput
  frequency: FrequencyInput
  schedule: null
}

export interface Converted<T> {
  value: T
  changes: Change[]
}

/** The old content JSON: every field optional, any type (the old API checked none of them). */
export interface LegacyContent {
  title?: unknown
  text?: unknown
  button_text?: unknown
  button_url?: unknown
  collect_email?: unknown
  collect_name?: unknown
  success_text?: unknown
  image_url?: unknown
  delay_seconds?: unknown
  scroll_percent?: unknown
  exit_intent?: unknown
  show_on_urls?: unknown
  hide_on_urls?: unknown
  frequency?: unknown
  background_color?: unknown
  text_color?: unknown
  button_color?: unknown
  position?: unknown
  [field: string]: unknown
}

/** The old editor's defaults, which the old script applied to a field absent from a row. */
export const OLD_DEFAULTS = {
  button_text: 'Close',
  collect_email: false,
  collect_name: false,
  success_text: 'Thank you!',
  delay_seconds: 5,
  exit_intent: false,
  frequency: 'once',
  position: 'center',
} as const

/** The id of the one variant a converted campaign has; old events without a variant count on it. */
export const LEGACY_VARIANT_ID = 'legacy'

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its purpose
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]+/g

/** Limits of today's model that old values can exceed (content.ts). */
const LIMITS = { name: 120, text: 2000, label: 60, blocks: 20, urlRules: 50, urlRule: 500 }

type Note = (change: Omit<Change, 'legacyId'>) => void

function noter(legacyId: string, changes: Change[]): Note {
  return (change) => changes.push({ legacyId, ...change })
}

/** Shown in a Change: long old values are cut, so a report stays readable. */
function excerpt(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value))
  return text.length > 300 ? `${text.slice(0, 300)}…` : text
}

// ---------------------------------------------------------------------------------------------
// Markup: the old editor's HTML reduced to the allowlist of markup.ts
// ---------------------------------------------------------------------------------------------

const KEPT_TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 's', 'br', 'p', 'a'])
/** Old tags with an allowed equivalent. */
const RENAMED_TAGS: Record<string, string> = { strike: 's', del: 's', ins: 'u', h1: 'b', h2: 'b', h3: 'b' }
/** Elements whose content is code or another document, not text: dropped with their content. */
const DROPPED_WITH_CONTENT = new Set([
  'script',
  'style',
  'iframe',
  'noscript',
  'template',
  'object',
  'embed',
  'svg',
  'math',
  'textarea',
  'title',
  'select',
])
/** Elements without text of their own (images, media, form controls): dropped. */
const EMBEDDED = new Set(['img', 'video', 'audio', 'source', 'input', 'button', 'link', 'meta', 'base', 'hr'])
/** Elements that end a line where they start or end (an old `<div>` per line). */
const LINE_BREAKING = new Set(['div', 'li', 'tr', 'h4', 'h5', 'h6', 'blockquote'])
/** Named entities the old editor wrote that markup.ts does not take: written as characters. */
const OLD_ENTITIES: Record<string, string> = {
  copy: '©',
  reg: '®',
  trade: '™',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  euro: '€',
  pound: '£',
  laquo: '«',
  raquo: '»',
  lsquo: '‘',
  rsquo: '’',
  ldquo: '“',
  rdquo: '”',
  bull: '•',
  middot: '·',
  deg: '°',
  times: '×',
  auml: 'ä',
  ouml: 'ö',
  uuml: 'ü',
  Auml: 'Ä',
  Ouml: 'Ö',
  Uuml: 'Ü',
  szlig: 'ß',
  eacute: 'é',
  egrave: 'è',
  agrave: 'à',
  ccedil: 'ç',
}
const KEPT_ENTITIES = new Set(['amp', 'lt', 'gt', 'quot', 'apos', 'nbsp'])

function escapeText(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}

function escapeAttribute(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('"', '&quot;')
}

/** Decodes the entities of an old attribute value, leniently (as a browser would). */
function decodeLoosely(text: string): string {
  return text.replace(/&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[A-Za-z][A-Za-z0-9]{0,31});?/g, (whole, name) => {
    if (name.startsWith('#')) {
      const code = /^#[xX]/.test(name)
        ? Number.parseInt(name.slice(2), 16)
        : Number.parseInt(name.slice(1), 10)
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ''
    }
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' }
    return named[name] ?? OLD_ENTITIES[name] ?? whole
  })
}

interface Tag {
  name: string
  closing: boolean
  attributes: Array<[string, string]>
  end: number
}

/** Reads a tag at `start` (text[start] is '<') the way a browser's tokenizer would; null: not a tag. */
function readOldTag(text: string, start: number): Tag | null {
  const closing = text[start + 1] === '/'
  let index = start + (closing ? 2 : 1)
  if (!/[A-Za-z]/.test(text[index] ?? '')) return null
  const nameStart = index
  while (index < text.length && !/[\s/>]/.test(text[index]!)) index += 1
  const name = text.slice(nameStart, index).toLowerCase()
  const attributes: Array<[string, string]> = []
  for (;;) {
    while (index < text.length && /[\s/]/.test(text[index]!)) index += 1
    if (index >= text.length) return { name, closing, attributes, end: text.length }
    if (text[index] === '>') return { name, closing, attributes, end: index + 1 }
    const attributeStart = index
    index += 1
    while (index < text.length && !/[\s/>=]/.test(text[index]!)) index += 1
    const attribute = text.slice(attributeStart, index).toLowerCase()
    while (index < text.length && /\s/.test(text[index]!)) index += 1
    let value = ''
    if (text[index] === '=') {
      index += 1
      while (index < text.length && /\s/.test(text[index]!)) index += 1
      const quote = text[index]
      if (quote === '"' || quote === "'") {
        const close = text.indexOf(quote, index + 1)
        const stop = close === -1 ? text.length : close
        value = text.slice(index + 1, stop)
        index = close === -1 ? text.length : close + 1
      } else {
        const valueStart = index
        while (index < text.length && !/[\s>]/.test(text[index]!)) index += 1
        value = text.slice(valueStart, index)
      }
    }
    attributes.push([attribute, decodeLoosely(value)])
  }
}

/** The href an `<a>` keeps (one markup.ts accepts: http:, https:, mailto:), or why not. */
function keptHref(href: string): { href: string } | { problem: string } {
  // Old editors left spaces in URLs that browsers sent as %20.
  const trimmed = href.trim().replaceAll(' ', '%20')
  const candidate =
    /^https?:/i.test(trimmed) && httpUrlProblem(trimmed) === null ? normalisedHttpUrl(trimmed) : trimmed
  const problem = markupProblem(`<a href="${escapeAttribute(candidate)}">x</a>`)
  return problem === null ? { href: candidate } : { problem }
}

interface Reduced {
  html: string
  /** offsets in `html` where no element is open: where it may be split into blocks */
  splits: number[]
  /** what was removed or rewritten, one phrase each, in order of appearance, without repeats */
  removed: string[]
}

/**
 * The old editor's HTML with only what markup.ts allows: b strong i em u s br p, and a with an
 * http(s)/mailto href. Other elements are unwrapped (their text kept), code and embedded documents
 * (script, style, iframe, …) removed with their content, attributes removed, unknown entities
 * written as characters, controls removed, and tags closed in the order they were opened.
 */
export function reduceMarkup(html: string): Reduced {
  const removed = new Set<string>()
  const open: string[] = []
  const splits: number[] = []
  let out = ''
  const closeUntil = (name: string) => {
    while (open.length > 0) {
      const top = open.pop()!
      out += `</${top}>`
      if (top === name) break
    }
    if (open.length === 0) splits.push(out.length)
  }
  let index = 0
  while (index < html.length) {
    const char = html[index]!
    if (char === '<') {
      if (html.startsWith('<!--', index)) {
        const end = html.indexOf('-->', index + 4)
        removed.add('an HTML comment')
        index = end === -1 ? html.length : end + 3
        continue
      }
      if (html[index + 1] === '!' || html[index + 1] === '?') {
        const end = html.indexOf('>', index)
        removed.add(`a declaration <${html[index + 1]}…>`)
        index = end === -1 ? html.length : end + 1
        continue
      }
      const tag = readOldTag(html, index)
      if (!tag) {
        out += '&lt;'
        index += 1
        continue
      }
      index = tag.end
      if (tag.closing) {
        const name = RENAMED_TAGS[tag.name] ?? tag.name
        if (KEPT_TAGS.has(name) && name !== 'br' && open.includes(name)) closeUntil(name)
        else if (LINE_BREAKING.has(tag.name) && out !== '' && !out.endsWith('<br>')) out += '<br>'
        continue
      }
      if (DROPPED_WITH_CONTENT.has(tag.name)) {
        removed.add(`<${tag.name}> with its content`)
        const close = new RegExp(`</${tag.name}[\\s/>]`, 'i').exec(html.slice(index))
        index = close ? index + close.index + close[0].length : html.length
        if (close && !close[0].endsWith('>')) {
          const end = html.indexOf('>', index)
          index = end === -1 ? html.length : end + 1
        }
        continue
      }
      const name = RENAMED_TAGS[tag.name] ?? tag.name
      if (name !== tag.name) removed.add(`<${tag.name}> (now <${name}>)`)
      for (const [attribute] of tag.attributes) {
        if (!(name === 'a' && attribute === 'href'))
          removed.add(`the ${attribute} attribute of <${tag.name}>`)
      }
      if (EMBEDDED.has(tag.name)) {
        removed.add(`<${tag.name}>`)
        continue
      }
      if (!KEPT_TAGS.has(name)) {
        removed.add(`<${tag.name}> (its text kept)`)
        if (LINE_BREAKING.has(tag.name) && out !== '' && !out.endsWith('<br>')) out += '<br>'
        continue
      }
      if (name === 'br') {
        out += '<br>'
        if (open.length === 0) splits.push(out.length)
        continue
      }
      let attributes = ''
      if (name === 'a') {
        const href = tag.attributes.find(([attribute]) => attribute === 'href')?.[1]
        const kept = href === undefined ? { problem: 'it has no href' } : keptHref(href)
        if ('problem' in kept) {
          // A link without a usable target is its text: `javascript:` and friends go with it.
          removed.add(`a link, its text kept (${kept.problem})`)
          continue
        }
        attributes = ` href="${escapeAttribute(kept.href)}"`
      }
      // What a browser does with an inner <p> or <a>: the outer one ends first.
      if ((name === 'p' || name === 'a') && open.includes(name)) closeUntil(name)
      out += `<${name}${attributes}>`
      open.push(name)
      continue
    }
    if (char === '&') {
      const entity = /^&(?:([A-Za-z][A-Za-z0-9]{0,31})|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8}));/.exec(
        html.slice(index, index + 40),
      )
      const name = entity?.[1]
      if (entity && (name === undefined || KEPT_ENTITIES.has(name))) {
        // markup.ts decides whether the number is a character it takes.
        if (markupProblem(entity[0]) === null) out += entity[0]
        else removed.add(`the character reference ${entity[0]}`)
        index += entity[0].length
        continue
      }
      if (entity && name !== undefined && OLD_ENTITIES[name] !== undefined) {
        out += OLD_ENTITIES[name]
        index += entity[0].length
        continue
      }
      out += '&amp;'
      index += 1
      continue
    }
    if (char === '>') {
      out += '&gt;'
      index += 1
      continue
    }
    const code = char.charCodeAt(0)
    if ((code < 0x20 && char !== '\t' && char !== '\n' && char !== '\r') || (code >= 0x7f && code <= 0x9f)) {
      removed.add('control characters')
      index += 1
      continue
    }
    if (code >= 0xd800 && code <= 0xdfff) {
      const pair = html.codePointAt(index)!
      if (pair > 0xffff) {
        out += String.fromCodePoint(pair)
        index += 2
        continue
      }
      removed.add('an invalid character (a lone UTF-16 surrogate)')
      index += 1
      continue
    }
    out += char
    index += 1
  }
  // The line an old block element ended needs no break after the last of them.
  while (out.endsWith('<br>')) out = out.slice(0, -'<br>'.length)
  while (open.length > 0) out += `</${open.pop()}>`
  return {
    html: out,
    splits: [...splits.filter((split) => split < out.length), out.length],
    removed: [...removed],
  }
}

/** Text without any markup, entities decoded, whitespace collapsed: what a person reads. */
function textOf(html: string): string {
  const { html: reduced } = reduceMarkup(html)
  return decodeLoosely(reduced.replace(/<br>|<\/p>/g, ' ').replace(/<[^>]*>/g, ''))
    .replace(/\s+/g, ' ')
    .trim()
}

/**
 * An old HTML field as text blocks of today's model: the markup reduced to the allowlist, split
 * where no element is open when longer than a block holds (cut, as a last resort, as plain text).
 */
function markupBlocks(
  raw: unknown,
  field: string,
  style: 'heading' | 'body',
  note: Note,
): Array<BlockInput & { type: 'text' }> {
  if (raw === undefined || raw === null) return []
  if (typeof raw !== 'string') {
    note({
      kind: 'value-ignored',
      field,
      reason: `is not text (${typeof raw}); left out`,
      before: excerpt(raw),
    })
    return []
  }
  const reduced = reduceMarkup(raw)
  // One change per thing removed, so a report can count them ("312 × <font>"); the text before
  // and after goes with the first.
  reduced.removed.forEach((removed, index) => {
    note({
      kind: 'markup-removed',
      field,
      reason: `removed (today's popups do not allow it): ${removed}`,
      ...(index === 0 && { before: excerpt(raw), after: excerpt(reduced.html) }),
    })
  })
  const texts: string[] = []
  let start = 0
  let last = 0
  for (const split of reduced.splits) {
    if (split - start > LIMITS.text && last > start) {
      texts.push(reduced.html.slice(start, last))
      start = last
    }
    last = split
  }
  texts.push(reduced.html.slice(start))
  const blocks: Array<BlockInput & { type: 'text' }> = []
  for (let text of texts) {
    if (text.trim() === '' || textOf(text) === '') continue
    if (text.length > LIMITS.text || markupProblem(text) !== null) {
      const plain = escapeText(textOf(text))
      const cut =
        plain.length > LIMITS.text ? `${plain.slice(0, LIMITS.text - 1).replace(/&[a-z]*$/, '')}…` : plain
      note({
        kind: 'text-shortened',
        field,
        reason:
          text.length > LIMITS.text
            ? `one paragraph is longer than a text block holds (${LIMITS.text} characters): kept as plain text${cut === plain ? '' : ', cut'}`
            : 'kept as plain text',
        before: excerpt(text),
        after: excerpt(cut),
      })
      text = cut
    }
    blocks.push({ type: 'text', text, style })
  }
  if (blocks.length === 0 && raw.trim() !== '') {
    note({
      kind: 'value-ignored',
      field,
      reason: 'holds no text once reduced; left out',
      before: excerpt(raw),
    })
  }
  return blocks
}

/** A plain-text field of today's model (labels, alt text) from an old value that may hold markup. */
function plainText(raw: string, max: number): string {
  let text = textOf(raw)
  // markup.ts refuses " and a < that starts a tag in plain text: they end attributes and tags.
  let quote = 0
  text = text.replace(/"/g, () => (quote++ % 2 === 0 ? '“' : '”')).replace(/<(?=[A-Za-z!?/])/g, '‹')
  if (text.length > max) text = `${text.slice(0, max - 1).trimEnd()}…`
  return plainTextProblem(text) === null ? text : ''
}

// ---------------------------------------------------------------------------------------------
// One function per old field
// ---------------------------------------------------------------------------------------------

/** campaigns.name: one line, not blank, at most 120 characters. */
export function convertName(raw: unknown, legacyId: string): Converted<string> {
  const changes: Change[] = []
  const note = noter(legacyId, changes)
  const original = typeof raw === 'string' ? raw : ''
  let name = original.replace(CONTROLS, ' ').replace(/\s+/g, ' ').trim()
  if (!name.isWellFormed()) name = name.toWellFormed()
  if (name.length > LIMITS.name) name = `${name.slice(0, LIMITS.name - 1).trimEnd()}…`
  if (name === '') name = `Campaign ${legacyId}`
  if (name !== original) {
    note({
      kind: 'name-changed',
      field: 'name',
      reason:
        original.trim() === ''
          ? 'was blank: named after its old id'
          : 'made one line of at most 120 characters',
      before: excerpt(original),
      after: name,
    })
  }
  return { value: name, changes }
}

const TYPES: Record<string, CampaignType> = {
  popup: 'modal',
  slidein: 'slide-in',
  bar: 'bar',
  fullscreen: 'full-screen',
}

/** campaigns.type: popup → modal, slidein → slide-in, bar, fullscreen → full-screen. */
export function convertType(raw: unknown, legacyId: string): Converted<CampaignType> {
  const type = typeof raw === 'string' ? TYPES[raw.trim().toLowerCase()] : undefined
  if (type) return { value: type, changes: [] }
  return {
    value: 'modal',
    changes: [
      {
        kind: 'value-replaced',
        legacyId,
        field: 'type',
        reason: 'unknown type: made a modal',
        before: excerpt(raw),
        after: 'modal',
      },
    ],
  }
}

const STATUSES: Record<string, ConvertedCampaign['status']> = {
  draft: 'draft',
  active: 'live',
  paused: 'paused',
  archived: 'archived',
}

/** campaigns.status: active → live (it stays live on customers' pages); the others keep their name. */
export function convertStatus(raw: unknown, legacyId: string): Converted<ConvertedCampaign['status']> {
  const status = typeof raw === 'string' ? STATUSES[raw.trim().toLowerCase()] : undefined
  if (status) return { value: status, changes: [] }
  return {
    value: 'draft',
    changes: [
      {
        kind: 'value-replaced',
        legacyId,
        field: 'status',
        reason: 'unknown status: made a draft, so nothing is shown that was not before',
        before: excerpt(raw),
        after: 'draft',
      },
    ],
  }
}

/** content.title: the heading, with the markup today's popups allow. */
export function convertTitle(raw: unknown, legacyId: string): Converted<BlockInput[]> {
  const changes: Change[] = []
  return { value: markupBlocks(raw, 'content.title', 'heading', noter(legacyId, changes)), changes }
}

/** content.text: the body, its HTML reduced to what today's popups allow (each removal reported). */
export function convertText(raw: unknown, legacyId: string): Converted<BlockInput[]> {
  const changes: Change[] = []
  return { value: markupBlocks(raw, 'content.text', 'body', noter(legacyId, changes)), changes }
}

/** content.image_url: an image block above the text (no alt text: the old editor had none). */
export function convertImageUrl(raw: unknown, legacyId: string): Converted<BlockInput | null> {
  if (raw === undefined || raw === null || raw === '') return { value: null, changes: [] }
  const url = typeof raw === 'string' ? raw.trim() : ''
  const problem = typeof raw === 'string' ? httpUrlProblem(url) : 'is not text'
  if (problem !== null) {
    return {
      value: null,
      changes: [
        {
          kind: 'value-ignored',
          legacyId,
          field: 'content.image_url',
          reason: `the image was left out: the URL ${problem}`,
          before: excerpt(raw),
        },
      ],
    }
  }
  return { value: { type: 'image', url: normalisedHttpUrl(url), alt: '' }, changes: [] }
}

function booleanField(raw: unknown, fallback: boolean, field: string, note: Note): boolean {
  if (raw === undefined || raw === null) return fallback
  if (typeof raw === 'boolean') return raw
  if (raw === 'true' || raw === 1 || raw === '1') return true
  if (raw === 'false' || raw === 0 || raw === '0' || raw === '') return false
  note({
    kind: 'value-replaced',
    field,
    reason: `is not true or false: the old default (${fallback}) applies`,
    before: excerpt(raw),
    after: String(fallback),
  })
  return fallback
}

/**
 * content.collect_email and content.collect_name: the lead form. `email` and `name` are the keys
 * the old leads used (leads.email, leads.extra.name), so old and new leads line up.
 */
export function convertForm(
  content: Pick<LegacyContent, 'collect_email' | 'collect_name'>,
  legacyId: string,
): Converted<StepInput['form'] | null> {
  const changes: Change[] = []
  const note = noter(legacyId, changes)
  const email = booleanField(content.collect_email, OLD_DEFAULTS.collect_email, 'content.collect_email', note)
  const name = booleanField(content.collect_name, OLD_DEFAULTS.collect_name, 'content.collect_name', note)
  if (!email) {
    if (name) {
      note({
        kind: 'value-ignored',
        field: 'content.collect_name',
        reason: 'the old script asked for a name only with an email: no form',
      })
    }
    return { value: null, changes }
  }
  const fields: FieldInput[] = [
    { name: 'email', type: 'email', label: 'Email', required: true, placeholder: 'you@example.com' },
  ]
  if (name) fields.push({ name: 'name', type: 'text', label: 'Name', required: false })
  return { value: { capturesLeads: true, fields }, changes }
}

/**
 * content.button_text and content.button_url: the button. With a form it sends the form (the old
 * script then showed the success text; a button_url after it is not supported today); with a URL
 * it is a link; otherwise it closes the popup.
 */
export function convertButton(
  content: Pick<LegacyContent, 'button_text' | 'button_url'>,
  hasForm: boolean,
  legacyId: string,
): Converted<ButtonInput> {
  const changes: Change[] = []
  const note = noter(legacyId, changes)
  const raw = content.button_text
  let label = typeof raw === 'string' ? plainText(raw, LIMITS.label) : ''
  if (label === '') label = hasForm ? 'Subscribe' : OLD_DEFAULTS.button_text
  if (raw !== undefined && raw !== null && label !== raw) {
    note({
      kind: 'label-changed',
      field: 'content.button_text',
      reason: 'a button label is one line of plain text, up to 60 characters',
      before: excerpt(raw),
      after: label,
    })
  }
  const url = content.button_url
  const hasUrl = url !== undefined && url !== null && url !== ''
  if (hasForm) {
    if (hasUrl) {
      note({
        kind: 'value-ignored',
        field: 'content.button_url',
        reason: 'the button sends the form: today it cannot also open a page',
        before: excerpt(url),
      })
    }
    return { value: { label, action: 'submit' }, changes }
  }
  if (hasUrl) {
    const problem = typeof url === 'string' ? httpUrlProblem(url.trim()) : 'is not text'
    if (problem === null) {
      return { value: { label, action: 'link', url: normalisedHttpUrl((url as string).trim()) }, changes }
    }
    note({
      kind: 'value-ignored',
      field: 'content.button_url',
      reason: `the button closes the popup instead: the URL ${problem}`,
      before: excerpt(url),
    })
  }
  return { value: { label, action: 'close' }, changes }
}

/** content.success_text: after the form is sent, a second step with it and a Close button. */
export function convertSuccessText(
  raw: unknown,
  hasForm: boolean,
  legacyId: string,
): Converted<StepInput | null> {
  const changes: Change[] = []
  const note = noter(legacyId, changes)
  if (!hasForm) {
    if (raw !== undefined && raw !== null && raw !== '') {
      note({
        kind: 'value-ignored',
        field: 'content.success_text',
        reason: 'the campaign has no form, so nothing is ever sent to succeed',
        before: excerpt(raw),
      })
    }
    return { value: null, changes }
  }
  let blocks = markupBlocks(raw ?? OLD_DEFAULTS.success_text, 'content.success_text', 'body', note)
  if (blocks.length === 0) blocks = [{ type: 'text', text: OLD_DEFAULTS.success_text, style: 'body' }]
  return {
    value: { blocks: blocks.slice(0, LIMITS.blocks), buttons: [{ label: 'Close', action: 'close' }] },
    changes,
  }
}

function integerField(raw: unknown, field: string, note: Note): number | undefined {
  if (raw === undefined || raw === null || raw === '' || raw === false) return undefined
  const number = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw.trim()) : Number.NaN
  if (!Number.isFinite(number)) {
    note({ kind: 'value-ignored', field, reason: 'is not a number', before: excerpt(raw) })
    return undefined
  }
  return Math.round(number)
}

function clamp(value: number, min: number, max: number, field: string, note: Note): number {
  const clamped = Math.min(max, Math.max(min, value))
  if (clamped !== value) {
    note({
      kind: 'value-clamped',
      field,
      reason: `today's range is ${min} to ${max}`,
      before: String(value),
      after: String(clamped),
    })
  }
  return clamped
}

/**
 * content.delay_seconds, content.scroll_percent, content.exit_intent: the trigger. The old script
 * showed the popup on the first of them to happen; today's has one trigger, so the one that
 * waits for the visitor's own move is kept (exit intent, then scroll, then delay) and the others
 * are reported. None: the old default delay.
 */
export function convertTrigger(
  content: Pick<LegacyContent, 'delay_seconds' | 'scroll_percent' | 'exit_intent'>,
  legacyId: string,
): Converted<TriggerInput> {
  const changes: Change[] = []
  const note = noter(legacyId, changes)
  const delay = integerField(content.delay_seconds, 'content.delay_seconds', note)
  const scroll = integerField(content.scroll_percent, 'content.scroll_percent', note)
  const exit = booleanField(content.exit_intent, OLD_DEFAULTS.exit_intent, 'content.exit_intent', note)
  const candidates: Array<{ field: string; trigger: () => TriggerInput }> = []
  if (exit) candidates.push({ field: 'content.exit_intent', trigger: () => ({ type: 'exit-intent' }) })
  if (scroll !== undefined && scroll > 0) {
    candidates.push({
      field: 'content.scroll_percent',
      trigger: () => ({ type: 'scroll', percent: clamp(scroll, 1, 100, 'content.scroll_percent', note) }),
    })
  }
  if (delay !== undefined) {
    candidates.push({
      field: 'content.delay_seconds',
      trigger: () => ({ type: 'delay', seconds: clamp(delay, 0, 600, 'content.delay_seconds', note) }),
    })
  }
  const [kept, ...dropped] = candidates
  for (const other of dropped) {
    note({
      kind: 'trigger-dropped',
      field: other.field,
      reason: `today a campaign has one trigger: ${kept!.field.replace('content.', '')} was kept`,
      before: excerpt(content[other.field.replace('content.', '') as keyof typeof content]),
    })
  }
  return { value: kept ? kept.trigger() : { type: 'delay', seconds: OLD_DEFAULTS.delay_seconds }, changes }
}

/**
 * One old URL pattern (content.show_on_urls / hide_on_urls). The old script compared patterns with
 * the page's path, `*` standing for any characters, a missing leading / added; a full URL was
 * compared with the whole address. Today: `glob` (with *) or `exact` rules on the path, or on the
 * URL for a full one, which must be on the campaign's site.
 */
export function convertUrlPattern(
  raw: unknown,
  field: string,
  legacyId: string,
  siteHostname?: string,
): Converted<UrlRuleInput | null> {
  const changes: Change[] = []
  const note = noter(legacyId, changes)
  if (typeof raw !== 'string') {
    note({ kind: 'url-rule-dropped', field, reason: 'is not text', before: excerpt(raw) })
    return { value: null, changes }
  }
  let value = raw.replace(CONTROLS, '').trim()
  if (value === '') {
    note({ kind: 'url-rule-dropped', field, reason: 'is empty', before: excerpt(raw) })
    return { value: null, changes }
  }
  if (value.length > LIMITS.urlRule) {
    note({
      kind: 'url-rule-dropped',
      field,
      reason: `is longer than ${LIMITS.urlRule} characters`,
      before: excerpt(raw),
    })
    return { value: null, changes }
  }
  const absolute = /^(?:[A-Za-z][A-Za-z0-9+.-]*:)?\/\//.test(value)
  if (!absolute && !value.startsWith('/')) {
    value = `/${value}`
    if (!raw.trim().startsWith('*')) {
      note({
        kind: 'url-rule-changed',
        field,
        reason: 'the old script added the leading / itself',
        before: excerpt(raw),
        after: value,
      })
    }
  }
  const rule: UrlRuleInput = { match: value.includes('*') ? 'glob' : 'exact', value }
  if (absolute && siteHostname !== undefined) {
    const problems = urlRuleHostProblems(
      { urls: { include: [rule] }, trigger: { type: 'delay', seconds: 0 } },
      siteHostname,
    )
    if (problems.length > 0) {
      note({
        kind: 'url-rule-dropped',
        field,
        reason: `names another host than the campaign's site ${siteHostname}, where it never matched`,
        before: excerpt(raw),
      })
      return { value: null, changes }
    }
  }
  return { value: rule, changes }
}

function urlRules(
  raw: unknown,
  field: string,
  legacyId: string,
  siteHostname: string | undefined,
  note: Note,
  changes: Change[],
) {
  if (raw === undefined || raw === null) return []
  const patterns = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : [raw]
  if (!Array.isArray(raw) && typeof raw === 'string') {
    note({
      kind: 'url-rule-changed',
      field,
      reason: 'was one text, not a list: read as a comma-separated list',
      before: excerpt(raw),
    })
  }
  const rules: UrlRuleInput[] = []
  const seen = new Set<string>()
  for (const pattern of patterns) {
    const converted = convertUrlPattern(pattern, field, legacyId, siteHostname)
    changes.push(...converted.changes)
    if (!converted.value) continue
    const key = `${converted.value.match} ${converted.value.value}`
    if (seen.has(key)) continue
    seen.add(key)
    rules.push(converted.value)
  }
  if (rules.length > LIMITS.urlRules) {
    note({
      kind: 'url-rule-dropped',
      field,
      reason: `today a campaign has up to ${LIMITS.urlRules} rules per list: the rest were left out`,
      before: `${rules.length} rules`,
    })
    return rules.slice(0, LIMITS.urlRules)
  }
  return rules
}

/**
 * content.show_on_urls, hide_on_urls and the trigger fields: today's targeting (every device,
 * every visitor, as the old script did). An include list whose every pattern was dropped would
 * show the popup everywhere, so then the campaign is reported as needing a look.
 */
export function convertTargeting(
  content: LegacyContent,
  legacyId: string,
  siteHostname?: string,
): Converted<TargetingInput> {
  const changes: Change[] = []
  const note = noter(legacyId, changes)
  const trigger = convertTrigger(content, legacyId)
  changes.push(...trigger.changes)
  const include = urlRules(
    content.show_on_urls,
    'content.show_on_urls',
    legacyId,
    siteHostname,
    note,
    changes,
  )
  const exclude = urlRules(
    content.hide_on_urls,
    'content.hide_on_urls',
    legacyId,
    siteHostname,
    note,
    changes,
  )
  const hadInclude = Array.isArray(content.show_on_urls)
    ? content.show_on_urls.length > 0
    : Boolean(content.show_on_urls)
  const targeting: TargetingInput = {
    devices: ['desktop', 'mobile', 'tablet'],
    visitors: 'all',
    trigger: trigger.value,
  }
  if (hadInclude && include.length === 0) {
    // The old script then showed it nowhere: an exclude-all rule keeps it so.
    note({
      kind: 'url-rule-changed',
      field: 'content.show_on_urls',
      reason:
        'none of its patterns could be kept: the campaign is shown on no page until its owner sets new ones',
      after: 'exclude *',
    })
    exclude.unshift({ match: 'glob', value: '*' })
  }
  if (include.length > 0 || exclude.length > 0)
    targeting.urls = { include, exclude: exclude.slice(0, LIMITS.urlRules) }
  return { value: targeting, changes }
}

const FREQUENCIES: Record<string, Pick<FrequencyInput, 'show' | 'days'>> = {
  always: { show: 'every-page-view' },
  once: { show: 'once' },
  daily: { show: 'every-n-days', days: 1 },
  // No per-session frequency today; at most once a day is the nearest that never shows it more.
  session: { show: 'every-n-days', days: 1 },
}

/** content.frequency: how often a visitor sees it. The old script never stopped after a conversion or a close. */
export function convertFrequency(raw: unknown, legacyId: string): Converted<FrequencyInput> {
  const changes: Change[] = []
  const key =
    typeof raw === 'string'
      ? raw.trim().toLowerCase()
      : raw === undefined || raw === null
        ? OLD_DEFAULTS.frequency
        : ''
  let mapped = FREQUENCIES[key]
  if (!mapped) {
    mapped = FREQUENCIES[OLD_DEFAULTS.frequency]!
    changes.push({
      kind: 'value-replaced',
      legacyId,
      field: 'content.frequency',
      reason: 'unknown frequency: the old default (once) applies',
      before: excerpt(raw),
      after: 'once',
    })
  } else if (key === 'session') {
    changes.push({
      kind: 'value-replaced',
      legacyId,
      field: 'content.frequency',
      reason: 'today has no once-per-session: at most once a day instead',
      before: 'session',
      after: 'every-n-days (1)',
    })
  }
  return { value: { ...mapped, stopAfterConversion: false, stopAfterClose: false }, changes }
}

const NAMED_COLORS: Record<string, string> = {
  white: '#ffffff',
  black: '#000000',
  red: '#ff0000',
  green: '#008000',
  blue: '#0000ff',
  yellow: '#ffff00',
  orange: '#ffa500',
  purple: '#800080',
  gray: '#808080',
  grey: '#808080',
  navy: '#000080',
  transparent: '#00000000',
}

/** One old colour (#rgb, #rrggbb, rgb(), a CSS name) as #rrggbb(aa), or undefined with a Change. */
export function convertColor(raw: unknown, field: string, legacyId: string): Converted<string | undefined> {
  if (raw === undefined || raw === null || raw === '') return { value: undefined, changes: [] }
  const text = typeof raw === 'string' ? raw.trim().toLowerCase() : ''
  let color: string | undefined
  if (/^#[0-9a-f]{6}([0-9a-f]{2})?$/.test(text)) color = text
  else if (/^#[0-9a-f]{3,4}$/.test(text))
    color = `#${[...text.slice(1)].map((digit) => digit + digit).join('')}`
  else if (NAMED_COLORS[text]) color = NAMED_COLORS[text]
  else {
    const rgb = /^rgba?\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*(?:,\s*([0-9.]+)\s*)?\)$/.exec(text)
    if (rgb && [rgb[1], rgb[2], rgb[3]].every((part) => Number(part) <= 255)) {
      const hex = (value: number) => value.toString(16).padStart(2, '0')
      const alpha = rgb[4] === undefined ? '' : hex(Math.round(Math.min(1, Number(rgb[4])) * 255))
      color = `#${hex(Number(rgb[1]))}${hex(Number(rgb[2]))}${hex(Number(rgb[3]))}${alpha}`
    }
  }
  if (color !== undefined) return { value: color, changes: [] }
  return {
    value: undefined,
    changes: [
      {
        kind: 'value-ignored',
        legacyId,
        field,
        reason: 'is not a colour today’s design takes: the theme’s applies',
        before: excerpt(raw),
      },
    ],
  }
}

const POSITIONS = new Set(['center', 'top', 'bottom', 'top-left', 'top-right', 'bottom-left', 'bottom-right'])

/** content.position: the same names today. */
export function convertPosition(
  raw: unknown,
  legacyId: string,
): Converted<NonNullable<DesignInput['position']>> {
  const position =
    typeof raw === 'string'
      ? raw.trim().toLowerCase()
      : raw === undefined || raw === null
        ? OLD_DEFAULTS.position
        : ''
  if (POSITIONS.has(position)) return { value: position as NonNullable<DesignInput['position']>, changes: [] }
  return {
    value: OLD_DEFAULTS.position,
    changes: [
      {
        kind: 'value-replaced',
        legacyId,
        field: 'content.position',
        reason: 'unknown position: centred, the old default',
        before: excerpt(raw),
        after: OLD_DEFAULTS.position,
      },
    ],
  }
}

/** content.background_color, text_color, button_color, position: today's design. */
export function convertDesign(content: LegacyContent, legacyId: string): Converted<DesignInput> {
  const changes: Change[] = []
  const colors: NonNullable<DesignInput['colors']> = {}
  const map = [
    ['background_color', 'background'],
    ['text_color', 'text'],
    ['button_color', 'accent'],
  ] as const
  for (const [old, now] of map) {
    const color = convertColor(content[old], `content.${old}`, legacyId)
    changes.push(...color.changes)
    if (color.value !== undefined) colors[now] = color.value
  }
  const position = convertPosition(content.position, legacyId)
  changes.push(...position.changes)
  const design: DesignInput = { position: position.value }
  if (Object.keys(colors).length > 0) design.colors = colors
  return { value: design, changes }
}

const KNOWN_FIELDS = new Set([
  'title',
  'text',
  'button_text',
  'button_url',
  'collect_email',
  'collect_name',
  'success_text',
  'image_url',
  'delay_seconds',
  'scroll_percent',
  'exit_intent',
  'show_on_urls',
  'hide_on_urls',
  'frequency',
  'background_color',
  'text_color',
  'button_color',
  'position',
])

/**
 * An old campaign row in today's model: one variant of one step (two with a success text), the
 * targeting, frequency and design its content described, its status (live stays live). Every
 * change to what the old script showed is in `changes`. `siteHostname`: the site it goes to, which
 * full-URL rules must name.
 */
export function convertCampaign(
  old: LegacyCampaign,
  context: { siteHostname?: string } = {},
): { value: ConvertedCampaign; changes: Change[] } {
  const legacyId = String(old.id)
  const changes: Change[] = []
  const take = <T>(converted: Converted<T>): T => {
    changes.push(...converted.changes)
    return converted.value
  }
  let content: LegacyContent = {}
  let raw = old.content
  if (typeof raw === 'string') {
    // Some old rows hold their JSON as a JSON string (written through JSON.stringify twice).
    try {
      raw = JSON.parse(raw)
    } catch {}
  }
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    content = raw as LegacyContent
  } else {
    changes.push({
      legacyId,
      kind: 'value-replaced',
      field: 'content',
      reason: 'is not an object: the old defaults apply',
      before: excerpt(old.content),
    })
  }
  for (const key of Object.keys(content)) {
    if (!KNOWN_FIELDS.has(key)) {
      changes.push({
        legacyId,
        kind: 'value-ignored',
        field: `content.${key}`,
        reason: 'not a field the old script read',
        before: excerpt(content[key]),
      })
    }
  }

  const name = take(convertName(old.name, legacyId))
  const type = take(convertType(old.type, legacyId))
  const status = take(convertStatus(old.status, legacyId))
  const image = take(convertImageUrl(content.image_url, legacyId))
  const title = take(convertTitle(content.title, legacyId))
  const text = take(convertText(content.text, legacyId))
  const form = take(convertForm(content, legacyId))
  const button = take(convertButton(content, form !== null, legacyId))
  const success = take(convertSuccessText(content.success_text, form !== null, legacyId))
  const design = take(convertDesign(content, legacyId))

  let blocks: BlockInput[] = [...(image ? [image] : []), ...title, ...text]
  if (blocks.length > LIMITS.blocks) {
    changes.push({
      legacyId,
      kind: 'text-shortened',
      field: 'content.text',
      reason: `today a step holds up to ${LIMITS.blocks} blocks: the text was cut after the ${LIMITS.blocks}th`,
    })
    blocks = blocks.slice(0, LIMITS.blocks)
  }
  const first: StepInput = { blocks, buttons: [button], design }
  if (form) first.form = form
  const steps: StepInput[] = [first]
  if (success) steps.push({ ...success, design })

  return {
    value: {
      name,
      type,
      status,
      variants: [{ id: LEGACY_VARIANT_ID, name: 'Variant A', weight: 100, steps }],
      targeting: take(convertTargeting(content, legacyId, context.siteHostname)),
      frequency: take(convertFrequency(content.frequency, legacyId)),
      schedule: null,
    },
    changes,
  }
}

// ---------------------------------------------------------------------------------------------
// Accounts, domains, leads
// ---------------------------------------------------------------------------------------------

/**
 * domains.hostname → sites.hostname, by the same rule as a site added today (sites/hostname.ts:
 * lower case, punycode, no trailing dot, scheme, port or path). `www.` is kept: visitors on
 * www.example.com fetch domains/www.example.com.json and send that Origin, so it is a hostname of
 * its own (a www. twin of a hostname in the same account is the migration's to pair, which it can
 * see). null: a hostname no site can have (an IP address, localhost), with the reason.
 */
export function normaliseHostname(
  raw: string,
  legacyId = '',
): { hostname: string | null; changes: Change[] } {
  const result = siteHostname(raw)
  if ('problem' in result) {
    return {
      hostname: null,
      changes: [
        {
          kind: 'site-skipped',
          legacyId,
          field: 'hostname',
          reason: `the hostname ${result.problem}`,
          before: excerpt(raw),
        },
      ],
    }
  }
  const changes: Change[] =
    result.hostname === raw
      ? []
      : [
          {
            kind: 'hostname-normalised',
            legacyId,
            field: 'hostname',
            reason: 'written as sites are today: lower case, no trailing dot',
            before: raw,
            after: result.hostname,
          },
        ]
  return { hostname: result.hostname, changes }
}

/** The hostname without a leading `www.`: two domains with the same one are the same site to a person. */
export function withoutWww(hostname: string): string {
  return hostname.startsWith('www.') && hostname.split('.').length > 2 ? hostname.slice(4) : hostname
}

/**
 * An old email (accounts.email, leads.email): `email` as today stores it for a lead (trimmed,
 * NFKC, case kept), `key` the one spelling people are matched by (lower case; users are stored so).
 * null with the reason when it is not an address today's lead form takes. Changes never hold
 * the address: reports must not carry personal data.
 */
export function normaliseEmail(
  raw: string,
  legacyId = '',
  field = 'email',
): { email: string | null; key: string | null; changes: Change[] } {
  const problem = emailProblem(raw)
  if (problem !== null) {
    return {
      email: null,
      key: null,
      changes: [{ kind: 'email-invalid', legacyId, field, reason: `the address ${problem}` }],
    }
  }
  const email = normalEmail(raw)
  const changes: Change[] =
    email === raw
      ? []
      : [
          {
            kind: 'email-normalised',
            legacyId,
            field,
            reason:
              'spaces around it or compatibility characters (full-width letters) written as today stores them',
          },
        ]
  return { email, key: email.toLowerCase(), changes }
}

/** Today's plans: the old starter had no counterpart, and is given the next plan up (nobody loses anything). */
const PLANS: Record<string, 'free' | 'pro' | 'business'> = {
  free: 'free',
  starter: 'pro',
  pro: 'pro',
  agency: 'business',
}

const SUBSCRIPTION_STATUSES = new Set([
  'active',
  'trialing',
  'past_due',
  'canceled',
  'incomplete',
  'incomplete_expired',
  'unpaid',
  'paused',
])

/**
 * accounts.plan and subscription_status → teams.plan and subscription_status. The Stripe
 * subscription itself is untouched: its status is kept as Stripe wrote it, and the next webhook
 * from Stripe brings the truth either way.
 */
export function convertPlan(
  plan: unknown,
  subscriptionStatus: unknown,
  legacyId: string,
): Converted<{ plan: 'free' | 'pro' | 'business'; subscriptionStatus: string | null }> {
  const changes: Change[] = []
  const key = typeof plan === 'string' ? plan.trim().toLowerCase() : ''
  let mapped = PLANS[key]
  if (!mapped) {
    mapped = 'free'
    changes.push({
      kind: 'value-replaced',
      legacyId,
      field: 'plan',
      reason: 'unknown plan: free (the Stripe subscription, if any, stays as it is)',
      before: excerpt(plan),
      after: 'free',
    })
  } else if (key !== mapped) {
    changes.push({
      kind: 'plan-mapped',
      legacyId,
      field: 'plan',
      reason: `the ${key} plan is now ${mapped}`,
      before: key,
      after: mapped,
    })
  }
  let status: string | null = null
  if (typeof subscriptionStatus === 'string' && subscriptionStatus !== '') {
    if (SUBSCRIPTION_STATUSES.has(subscriptionStatus)) status = subscriptionStatus
    else {
      changes.push({
        kind: 'value-ignored',
        legacyId,
        field: 'subscription_status',
        reason: 'not a Stripe subscription status',
        before: excerpt(subscriptionStatus),
      })
    }
  }
  return { value: { plan: mapped, subscriptionStatus: status }, changes }
}
