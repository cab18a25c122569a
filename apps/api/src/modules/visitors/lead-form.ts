import { createHash } from 'node:crypto'
import type { FieldProblem } from '../../errors.ts'
import type { FieldInput, FormInput, VariantInput } from '../campaigns/content.ts'
import { oneLineProblem } from '../campaigns/rules.ts'

/*
 * A visitor's form submission checked against the published form of the campaign's variant.
 * Pure: no I/O, so every rule is testable on its own and the route stays a list of steps.
 */

/** What the visitor's browser sends, as the route's schema has already bounded it. */
export interface LeadSubmission {
  campaignId: string
  variantId: string
  email: string
  /** Checked here, not by the schema: string (at most MAX_TEXT_LENGTH) or boolean. */
  fields?: Record<string, unknown> | undefined
  consent?: boolean | undefined
  consentVersion?: string | undefined
  pageUrl?: string | undefined
}

/** What is stored: only the form's own fields, hidden ones with the form's value. */
export interface CheckedLead {
  email: string
  fields: Record<string, string | boolean>
  consent: boolean
  consentVersion: string | null
  pageUrl: string | null
}

export const MAX_EMAIL_LENGTH = 254
export const MAX_TEXT_LENGTH = 1000
/** As schema validation answers: the first few problems, not one per key of a hostile body. */
const MAX_LISTED = 20

// Syntax only (whether the mailbox exists is not ours to know): one @, a local part of at most 64,
// a domain of dot-separated labels with at least one dot. Letters outside ASCII are allowed
// (internationalised addresses are real leads); spaces, controls and the characters that need
// quoting in an address are not.
const EMAIL =
  /^[^\s@<>()[\]\\,;:"\p{Cc}]{1,64}@(?:[^\s@<>()[\]\\,;:"\p{Cc}.]+\.)+[^\s@<>()[\]\\,;:"\p{Cc}.]+$/u

// Format characters draw nothing (zero-width spaces and joiners, the soft hyphen, word joiners) or
// reorder what is drawn (bidi overrides such as U+202E): an address holding one looks like
// another in the dashboard and the CSV, and erasing the address as the person types it misses it.
const FORMAT_CHARACTER = /\p{Cf}/u

/**
 * The one spelling of an address that is stored, looked for and erased: NFKC folds compatibility
 * forms (full-width ａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ, ligatures, circled letters) into the letters
 * they show. Case is kept (the lead's uniqueness and erasure ignore it).
 */
export function normalEmail(email: string): string {
  return email.trim().normalize('NFKC')
}

/** Why an address is not one a lead can be stored with (or erased by), or null. */
export function emailProblem(email: string): string | null {
  if (email.length > MAX_EMAIL_LENGTH) return `must be at most ${MAX_EMAIL_LENGTH} characters`
  if (!email.isWellFormed()) return 'contains an invalid character (a lone UTF-16 surrogate)'
  if (FORMAT_CHARACTER.test(email)) {
    return 'contains an invisible or text-direction character (such as U+200B or U+202E)'
  }
  const normal = normalEmail(email)
  if (normal.length > MAX_EMAIL_LENGTH) return `must be at most ${MAX_EMAIL_LENGTH} characters`
  if (!EMAIL.test(normal)) return 'must be an email address (name@example.com)'
  return null
}

// Loose on purpose: people write numbers in many ways. Digits, spaces and ( ) . / -, an optional
// leading +, and between 3 and 20 digits.
const PHONE = /^\+?[0-9 ()./-]+$/

export function phoneProblem(phone: string): string | null {
  const digits = phone.replace(/[^0-9]/g, '').length
  if (phone.length > 40 || !PHONE.test(phone) || digits < 3 || digits > 20) {
    return 'must be a phone number (digits, spaces, ( ) . / - and an optional leading +)'
  }
  return null
}

/** The page a lead came from: an absolute http(s) URL of one line. */
export function pageUrlProblem(url: string): string | null {
  if (/[\s\p{Cc}]/u.test(url) || !url.isWellFormed())
    return 'must be a URL without spaces or control characters'
  try {
    const parsed = new URL(url)
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must be an http: or https: URL'
  } catch {
    return 'must be an absolute http: or https: URL'
  }
  return null
}

/** The form of a variant that stores leads: its first step with one (as visitors submit it). */
export function leadForm(variant: VariantInput): FormInput | null {
  return variant.steps.find((step) => step.form && step.form.capturesLeads !== false)?.form ?? null
}

/** The field whose value is the lead's email: the form's first required email field. */
export function leadEmailField(form: FormInput): FieldInput | undefined {
  return (
    form.fields.find((field) => field.type === 'email' && field.required === true) ??
    form.fields.find((field) => field.type === 'email')
  )
}

const isBlank = (value: unknown) => value === undefined || (typeof value === 'string' && value.trim() === '')

function fieldProblem(field: FieldInput, value: string | boolean): string | null {
  switch (field.type) {
    case 'checkbox':
      return typeof value === 'boolean' ? null : 'must be true or false'
    case 'select':
      if (typeof value !== 'string') return 'must be one of the options'
      return (field.options ?? []).includes(value)
        ? null
        : `must be one of: ${(field.options ?? []).join(', ')}`
    case 'email':
      return typeof value === 'string' ? emailProblem(value) : 'must be an email address'
    case 'phone':
      return typeof value === 'string' ? phoneProblem(value) : 'must be a phone number'
    default:
      if (typeof value !== 'string') return 'must be text'
      if (value.length > MAX_TEXT_LENGTH) return `must be at most ${MAX_TEXT_LENGTH} characters`
      return oneLineProblem(value)
  }
}

/**
 * Checks a submission against the form and returns what to store, or the problems, each naming
 * its field (`body.email`, `body.fields.<name>`, `body.consent`, …). Fields the form does not
 * have are dropped; hidden fields take the form's value whatever the client sent; the email is
 * `body.email`, not repeated in the fields.
 */
export function checkLead(
  form: FormInput,
  body: LeadSubmission,
): { lead: CheckedLead; problems?: undefined } | { lead?: undefined; problems: FieldProblem[] } {
  const problems: FieldProblem[] = []
  const add = (field: string, message: string | null) => {
    if (message) problems.push({ field, message })
  }

  add('body.email', emailProblem(body.email))

  // Every value, the form's or not, is text or true/false (one problem each, named): a schema
  // union would name each field three times (not a string, not a boolean, not either).
  const sent = body.fields ?? {}
  const malformed = new Set<string>()
  for (const [name, value] of Object.entries(sent)) {
    if (typeof value === 'boolean' || (typeof value === 'string' && value.length <= MAX_TEXT_LENGTH)) continue
    malformed.add(name)
    if (malformed.size <= MAX_LISTED) {
      add(`body.fields.${name}`, `must be text of at most ${MAX_TEXT_LENGTH} characters, or true or false`)
    }
  }
  const emailField = leadEmailField(form)
  const fields: Record<string, string | boolean> = {}
  for (const field of form.fields) {
    if (field === emailField) continue
    if (field.type === 'hidden') {
      if (field.value !== undefined) fields[field.name] = field.value
      continue
    }
    if (malformed.has(field.name)) continue
    const value = Object.hasOwn(sent, field.name) ? (sent[field.name] as string | boolean) : undefined
    const path = `body.fields.${field.name}`
    if (field.required === true && (isBlank(value) || (field.type === 'checkbox' && value !== true))) {
      add(path, field.type === 'checkbox' ? 'must be ticked (true)' : 'is required')
      continue
    }
    // An optional field left empty is not stored (and does not blank an earlier answer).
    if (value === undefined || (typeof value === 'string' && value.trim() === '')) continue
    const problem = fieldProblem(field, value)
    if (problem) add(path, problem)
    else fields[field.name] = value
  }

  const consent = form.consent ? body.consent === true : false
  if (form.consent?.required && !consent) add('body.consent', 'must be true: the form asks for consent')
  if (body.consentVersion !== undefined) add('body.consentVersion', oneLineProblem(body.consentVersion))
  if (body.pageUrl !== undefined) add('body.pageUrl', pageUrlProblem(body.pageUrl))

  if (problems.length > 0) return { problems }
  return {
    lead: {
      email: normalEmail(body.email),
      fields,
      consent,
      // The version the visitor's page says it showed (it may be a moment older than the form's
      // latest), else the form's own; none without consent.
      consentVersion: consent ? (body.consentVersion ?? form.consent?.version ?? null) : null,
      pageUrl: body.pageUrl ?? null,
    },
  }
}

/** Keys sorted at every level, so the same request always hashes the same. */
function canonical(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(canonical)
  const sorted: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort())
    sorted[key] = canonical((value as Record<string, unknown>)[key])
  return sorted
}

/**
 * SHA-256 of what a submission asks to store, for Idempotency-Key: the ids, the email (case
 * ignored, as the lead's uniqueness does), the fields as sent, consent and page. Not the honeypot
 * or the fill time, which a retry measures anew.
 */
export function submissionHash(body: LeadSubmission): Buffer {
  const normalised = canonical({
    campaignId: body.campaignId.toLowerCase(),
    variantId: body.variantId,
    email: normalEmail(body.email).toLowerCase(),
    fields: body.fields ?? {},
    consent: body.consent === true,
    consentVersion: body.consentVersion ?? null,
    pageUrl: body.pageUrl ?? null,
  })
  return createHash('sha256').update(JSON.stringify(normalised)).digest()
}
