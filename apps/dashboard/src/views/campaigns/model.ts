/**
 * The campaign editor's logic, free of Vue so tests run it in Node: the content model's types (from
 * the API client, never written by hand), the lifecycle (apps/api/src/modules/campaigns/
 * lifecycle.ts, mirrored and checked against it by test/campaign-model.test.ts), variant weights,
 * what the preview renders, what a save sends, and what changed under a 412.
 */
import type { operations } from '@nudge/api-client'
import type { PublishedCampaign } from '@nudge/popup'

export type Campaign = operations['getCampaign']['responses'][200]['content']['application/json']
export type CampaignSummary =
  operations['listCampaigns']['responses'][200]['content']['application/json']['items'][number]
export type CampaignPatch = operations['updateCampaign']['requestBody']['content']['application/json']
export type NewCampaign = operations['createCampaign']['requestBody']['content']['application/json']
export type CampaignStatus = Campaign['status']
export type CampaignType = Campaign['type']
export type Variant = Campaign['variants'][number]
export type Step = Variant['steps'][number]
export type Block = Step['blocks'][number]
export type Button = Step['buttons'][number]
export type Form = NonNullable<Step['form']>
export type Field = Form['fields'][number]
export type Consent = NonNullable<Form['consent']>
export type Design = NonNullable<Step['design']>
export type Targeting = Campaign['targeting']
export type Trigger = Targeting['trigger']
export type UrlRule = NonNullable<NonNullable<Targeting['urls']>['include']>[number]
export type Frequency = Campaign['frequency']
export type Schedule = NonNullable<Campaign['schedule']>

/** What the editor edits: everything a PATCH may change. */
export interface Draft {
  name: string
  siteId: string | null
  type: CampaignType
  variants: Variant[]
  targeting: Targeting
  frequency: Frequency
  schedule: Schedule | null
}

export const CONTENT_FIELDS = [
  'name',
  'siteId',
  'type',
  'variants',
  'targeting',
  'frequency',
  'schedule',
] as const
export type ContentField = (typeof CONTENT_FIELDS)[number]

export const FIELD_LABELS: Record<ContentField, string> = {
  name: 'Name',
  siteId: 'Site',
  type: 'Type',
  variants: 'Variants and their content',
  targeting: 'Targeting',
  frequency: 'Frequency',
  schedule: 'Schedule',
}

export const STATUSES: readonly CampaignStatus[] = ['draft', 'test', 'live', 'paused', 'archived']
export const TYPES: readonly CampaignType[] = ['modal', 'slide-in', 'bar', 'full-screen']

export const TYPE_LABELS: Record<CampaignType, string> = {
  modal: 'Modal (centred)',
  'slide-in': 'Slide-in (a corner)',
  bar: 'Bar (top or bottom)',
  'full-screen': 'Full screen',
}

/** Where each status may go (the API's lifecycle.ts). */
export const TRANSITIONS: Record<CampaignStatus, readonly CampaignStatus[]> = {
  draft: ['test', 'archived'],
  test: ['live', 'draft'],
  live: ['paused'],
  paused: ['live', 'archived'],
  archived: ['draft'],
}

/** What a move is called on its button, and what it does, by target status. */
const MOVES: Record<CampaignStatus, { label: string; explains: string }> = {
  test: { label: 'Test', explains: 'Publishes it for the preview link only; visitors do not see it.' },
  live: { label: 'Go live', explains: 'Visitors of the site see it, as targeted.' },
  paused: { label: 'Pause', explains: 'Visitors stop seeing it; stats and leads stay.' },
  archived: { label: 'Archive', explains: 'Retires it; it can then be deleted or moved to another site.' },
  draft: { label: 'Back to draft', explains: 'Unpublishes it so it can be changed quietly.' },
}

export interface Move {
  to: CampaignStatus
  label: string
  explains: string
}

/** The lifecycle buttons a campaign in `status` offers, in the order they appear. */
export function movesFrom(status: CampaignStatus): Move[] {
  return TRANSITIONS[status].map((to) => ({ to, ...MOVES[to] }))
}

/** Only campaigns that never reached visitors, or were retired, may be deleted or moved (lifecycle.ts isRetired). */
export function isRetired(status: CampaignStatus): boolean {
  return status === 'draft' || status === 'archived'
}

export const MAX_VARIANTS = 4
export const MAX_STEPS = 5
export const MAX_BLOCKS = 20
export const MAX_BUTTONS = 4
export const MAX_FIELDS = 10

/** Weights of `count` variants that sum to 100, as even as integers allow (34, 33, 33). */
export function evenWeights(count: number): number[] {
  const base = Math.floor(100 / count)
  return Array.from({ length: count }, (_, index) => base + (index < 100 - base * count ? 1 : 0))
}

export function weightSum(variants: readonly Pick<Variant, 'weight'>[]): number {
  return variants.reduce(
    (total, variant) => total + (Number.isFinite(variant.weight) ? variant.weight : 0),
    0,
  )
}

/** Words for the weights when they do not sum to 100, or null. */
export function weightProblem(variants: readonly Pick<Variant, 'weight'>[]): string | null {
  const sum = weightSum(variants)
  return sum === 100 ? null : `The weights sum to ${sum}; they must sum to 100.`
}

const LETTERS = 'ABCD'

/** A new variant: a copy of `from` (its content, without its id, which the API assigns) named by its letter. */
export function copyVariant(from: Variant, index: number): Variant {
  const copy = structuredClone(toRaw(from))
  delete copy.id
  return { ...copy, name: `Variant ${LETTERS[index] ?? index + 1}` }
}

/** Adds a variant copied from the last one and spreads the weights evenly. */
export function addVariant(variants: Variant[]): Variant[] {
  const last = variants[variants.length - 1]
  if (!last || variants.length >= MAX_VARIANTS) return variants
  const next = [...variants, copyVariant(last, variants.length)]
  const weights = evenWeights(next.length)
  return next.map((variant, index) => ({ ...variant, weight: weights[index] ?? 0 }))
}

/** Removes a variant and gives its weight to the first remaining one, so they still sum to 100. */
export function removeVariant(variants: Variant[], index: number): Variant[] {
  if (variants.length <= 1) return variants
  const removed = variants[index]
  const rest = variants.filter((_, at) => at !== index)
  const first = rest[0]
  if (removed && first) rest[0] = { ...first, weight: first.weight + removed.weight }
  return rest
}

export function newStep(): Step {
  return {
    blocks: [{ type: 'text', text: 'A new step', style: 'heading' }],
    buttons: [{ label: 'Close', action: 'close' }],
  }
}

export function newBlock(type: Block['type']): Block {
  return type === 'text'
    ? { type: 'text', text: 'Some text', style: 'body' }
    : { type: 'image', url: 'https://', alt: '' }
}

export function newField(existing: readonly Field[]): Field {
  const names = new Set(existing.map((field) => field.name))
  if (!names.has('email'))
    return { name: 'email', type: 'email', label: 'Email', required: true, placeholder: 'you@example.com' }
  let index = existing.length + 1
  while (names.has(`field${index}`)) index += 1
  return { name: `field${index}`, type: 'text', label: 'Your answer', required: false }
}

/** A form with a required email field (what capturing leads needs). */
export function newForm(): Form {
  return {
    capturesLeads: true,
    fields: [
      { name: 'email', type: 'email', label: 'Email', required: true, placeholder: 'you@example.com' },
    ],
  }
}

/** The text shown next to markup fields: what the API accepts (content.ts, markup.ts). */
export const MARKUP_HELP =
  'Up to 2000 characters. Allowed markup: <b> <strong> <i> <em> <u> <s> <br> <p> and <a href="https://…">. ' +
  'Write &lt; for a literal < and &amp; for a literal &. Anything else is refused when you save.'

export const CONSENT_HELP =
  'Up to 500 characters, same markup as text blocks. The version is your name for this wording, stored with each lead.'

/** Plain values of a (possibly reactive) object, so structuredClone accepts them. */
function toRaw<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T
}

export function draftOf(campaign: Campaign): Draft {
  return toRaw({
    name: campaign.name,
    siteId: campaign.siteId,
    type: campaign.type,
    variants: campaign.variants,
    targeting: campaign.targeting,
    frequency: campaign.frequency,
    schedule: campaign.schedule,
  })
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/** The fields of `draft` that differ from `base`. */
export function changedFields(base: Draft, draft: Draft): ContentField[] {
  return CONTENT_FIELDS.filter((field) => !same(base[field], draft[field]))
}

/**
 * The PATCH body: only what the user changed, so a change by someone else to another field is
 * not overwritten. The site is sent only when it changed (the API moves only retired campaigns).
 */
export function patchOf(base: Draft, draft: Draft): CampaignPatch {
  const patch: Record<string, unknown> = {}
  for (const field of changedFields(base, draft)) {
    if (field === 'siteId' && draft.siteId === null) continue
    patch[field] = toRaw(draft[field])
  }
  return patch as CampaignPatch
}

/** Under a 412: which fields someone else changed, and which of those the user changed too. */
export function conflictOf(
  base: Draft,
  mine: Draft,
  theirs: Draft,
): { theirs: ContentField[]; both: ContentField[] } {
  const changedByThem = changedFields(base, theirs)
  const changedByMe = new Set(changedFields(base, mine))
  return { theirs: changedByThem, both: changedByThem.filter((field) => changedByMe.has(field)) }
}

/** An id for variants the API has not named yet (new ones), stable within the editor. */
export function previewVariantId(variant: Variant, index: number): string {
  return variant.id ?? `new-${index}`
}

/**
 * The campaign as the popup script receives it (apps/api publishing/documents.ts), from the
 * editor's draft: every variant (a weight of 0 too, so each can be previewed).
 */
export function toPublished(id: string, draft: Draft): PublishedCampaign {
  const plain = toRaw(draft)
  return {
    id,
    type: plain.type,
    variants: plain.variants.map((variant, index) => ({
      id: previewVariantId(variant, index),
      weight: variant.weight,
      steps: variant.steps,
    })),
    targeting: plain.targeting as PublishedCampaign['targeting'],
    frequency: plain.frequency,
    ...(plain.schedule ? { schedule: plain.schedule } : {}),
  }
}

/** A 400 `details` field ("body.variants.0.steps.1.buttons.0.url", or with slashes) in one form. */
export function normaliseField(field: string): string {
  return field.replaceAll('/', '.').replace(/^request\./, '')
}

/** The path of a field in a PATCH body, as the API names it in `details`. */
export function fieldPath(...parts: Array<string | number>): string {
  return ['body', ...parts].join('.')
}

export const TRIGGER_LABELS: Record<Trigger['type'], string> = {
  delay: 'After a delay',
  scroll: 'After scrolling',
  'exit-intent': 'On exit intent (pointer leaves towards the browser bar)',
  click: 'On a click on an element',
  inactivity: 'After inactivity',
  'tab-return': 'When the visitor returns to the tab',
}

/** A trigger of another type, keeping only the fields that type uses. */
export function triggerOfType(type: Trigger['type']): Trigger {
  if (type === 'delay') return { type, seconds: 3 }
  if (type === 'inactivity') return { type, seconds: 30 }
  if (type === 'scroll') return { type, percent: 50 }
  if (type === 'click') return { type, selector: '#offer-button' }
  return { type }
}

/** Country codes typed as "de, AT ch" → ["DE", "AT", "CH"], without repeats. */
export function parseCodes(
  text: string,
  transform: (code: string) => string = (code) => code.toUpperCase(),
): string[] {
  return [
    ...new Set(
      text
        .split(/[\s,;]+/)
        .map((code) => transform(code.trim()))
        .filter(Boolean),
    ),
  ]
}

/* Schedules: the API stores instants (RFC 3339); the marketer edits wall time in the campaign's zone. */

function partsIn(date: Date, timeZone: string): Record<string, number> {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(date)
  const result: Record<string, number> = {}
  for (const part of parts) if (part.type !== 'literal') result[part.type] = Number(part.value)
  return result
}

/** Minutes `timeZone` is ahead of UTC at `date`. */
export function offsetMinutes(date: Date, timeZone: string): number {
  const p = partsIn(date, timeZone)
  const asUtc = Date.UTC(
    p.year ?? 0,
    (p.month ?? 1) - 1,
    p.day ?? 1,
    p.hour ?? 0,
    p.minute ?? 0,
    p.second ?? 0,
  )
  return Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / 60000)
}

const pad = (value: number, length = 2) => String(Math.abs(value)).padStart(length, '0')

/** "2030-03-20T08:00" read in `timeZone` → "2030-03-20T08:00:00+01:00"; null when not a date. */
export function wallTimeToInstant(local: string, timeZone: string): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(local)
  if (!match) return null
  const [, y, mo, d, h, mi] = match.map(Number) as [number, number, number, number, number, number]
  const guess = Date.UTC(y, mo - 1, d, h, mi)
  // The offset at the guess, then again at the corrected instant (right across a DST change).
  let offset = offsetMinutes(new Date(guess), timeZone)
  offset = offsetMinutes(new Date(guess - offset * 60000), timeZone)
  const sign = offset < 0 ? '-' : '+'
  return `${y}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:00${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`
}

/** An instant → "YYYY-MM-DDTHH:mm" on the wall clock of `timeZone` (for <input type=datetime-local>). */
export function instantToWallTime(instant: string, timeZone: string): string {
  const date = new Date(instant)
  if (Number.isNaN(date.getTime())) return ''
  const p = partsIn(date, timeZone)
  return `${p.year}-${pad(p.month ?? 1)}-${pad(p.day ?? 1)}T${pad(p.hour ?? 0)}:${pad(p.minute ?? 0)}`
}

/** Whether the browser knows `timeZone` (an IANA name). */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone })
    return true
  } catch {
    return false
  }
}

export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
}

/** The IANA zones the browser knows, for the schedule's picker. */
export function timeZones(): string[] {
  const supported = (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf
  const zones = supported ? supported('timeZone') : []
  return zones.includes('UTC') ? zones : ['UTC', ...zones]
}

/* Legibility: the contrast of what the preview actually drew (computed styles), WCAG's formula. */

/** "rgb(17, 34, 51)" or "rgba(17, 34, 51, 0.5)" → [17, 34, 51, alpha]; null for anything else. */
export function parseRgb(css: string): [number, number, number, number] | null {
  const match = /^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)$/.exec(
    css.trim(),
  )
  if (!match) return null
  const alphaText = match[4]
  const alpha =
    alphaText === undefined
      ? 1
      : alphaText.endsWith('%')
        ? Number.parseFloat(alphaText) / 100
        : Number(alphaText)
  return [Number(match[1]), Number(match[2]), Number(match[3]), alpha]
}

function luminance([r, g, b]: readonly number[]): number {
  const channel = (value: number) => {
    const s = value / 255
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
  }
  return 0.2126 * channel(r ?? 0) + 0.7152 * channel(g ?? 0) + 0.0722 * channel(b ?? 0)
}

/** The contrast ratio of two opaque colours, 1 to 21. */
export function contrastRatio(a: readonly number[], b: readonly number[]): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number]
  return (light + 0.05) / (dark + 0.05)
}

/** WCAG AA for normal text. */
export const MIN_CONTRAST = 4.5

export type EditorTab = 'content' | 'design' | 'targeting' | 'when'

/** Where the input of a field path is: its tab, and the variant and step it belongs to. */
export function locate(path: string): { tab: EditorTab | null; variant?: number; step?: number } {
  const step = /^variants\.(\d+)\.steps\.(\d+)(\.design)?/.exec(path)
  if (step) return { tab: step[3] ? 'design' : 'content', variant: Number(step[1]), step: Number(step[2]) }
  const variant = /^variants\.(\d+)/.exec(path)
  if (variant) return { tab: 'content', variant: Number(variant[1]) }
  if (path.startsWith('variants')) return { tab: 'content' }
  if (path.startsWith('targeting')) return { tab: 'targeting' }
  if (path.startsWith('frequency') || path.startsWith('schedule')) return { tab: 'when' }
  return { tab: null }
}
