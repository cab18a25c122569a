import { type FormSubmission, type SubmitOutcome, uuidv7 } from '@nudge/popup'

/*
 * A lead goes to the edge's POST /public/v1/leads with an Idempotency-Key made once per
 * submission: a retry after a cut-off request or a 5xx carries the same key, so the API stores
 * the lead once. 4xx answers are final; a 400's details land at the form's fields.
 */

export interface LeadForm {
  fields: Array<{ name: string; type: string }>
}

export interface LeadBody {
  campaignId: string
  variantId: string
  email: string
  fields: Record<string, string | boolean>
  consent?: boolean
  consentVersion?: string
  pageUrl?: string
  hp: string
  fillMs: number
}

export const LEAD_ATTEMPTS = 3
const GENERIC = 'Something went wrong. Please try again.'
const TOO_MANY = 'Too many tries just now. Please wait a minute and try again.'
const OFFLINE = 'We could not reach the server. Please check your connection and try again.'

/** The form's email field: the one whose value the API takes as `email` (the first email field). */
export function emailFieldName(form: LeadForm | undefined): string | undefined {
  return form?.fields.find((field) => field.type === 'email')?.name
}

export function leadBody(
  campaignId: string,
  variantId: string,
  submission: FormSubmission,
  pageUrl: string,
): LeadBody {
  const body: LeadBody = {
    campaignId,
    variantId,
    email: submission.email ?? '',
    fields: submission.fields,
    hp: submission.hp,
    fillMs: Math.max(0, Math.round(submission.fillMs)),
  }
  if (submission.consent !== undefined) body.consent = submission.consent
  if (submission.consentVersion !== undefined) body.consentVersion = submission.consentVersion
  if (/^https?:\/\//i.test(pageUrl)) body.pageUrl = pageUrl.slice(0, 2048)
  return body
}

interface ApiError {
  message?: string
  details?: Array<{ field?: string; message?: string }>
}

/**
 * A 400's details by the form's field names: body.email → the email field, body.fields.X → X,
 * body.consent / body.consentVersion → 'consent'. Problems with no field of the form (the
 * campaign or variant) are left out: they go into the form's message.
 */
export function fieldErrorsFrom(error: ApiError, emailField: string | undefined): Record<string, string> {
  const errors: Record<string, string> = {}
  for (const detail of error.details ?? []) {
    const field = detail.field ?? ''
    const message = sentence(detail.message ?? 'is not valid')
    let name: string | undefined
    if (field === 'body.email') name = emailField
    else if (field.startsWith('body.fields.')) name = field.slice('body.fields.'.length)
    else if (field === 'body.consent' || field === 'body.consentVersion') name = 'consent'
    if (name && !(name in errors)) errors[name] = message
  }
  return errors
}

/** The API words a problem after the field ("is required"): shown at the field it needs a capital. */
function sentence(message: string): string {
  const text = message.trim()
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/** What a final answer means for the visitor. */
export function outcomeOf(status: number, error: ApiError, emailField: string | undefined): SubmitOutcome {
  if (status >= 200 && status < 300) return { ok: true }
  if (status === 429) return { ok: false, message: TOO_MANY }
  if (status === 400) {
    const fieldErrors = fieldErrorsFrom(error, emailField)
    if (Object.keys(fieldErrors).length > 0) {
      return { ok: false, message: 'Please check the highlighted fields.', fieldErrors }
    }
    return { ok: false, message: error.message ? sentence(error.message) : GENERIC }
  }
  return { ok: false, message: GENERIC }
}

export interface LeadTransport {
  /** resolves to the status and parsed JSON body (or {}), rejects on a network failure */
  post(url: string, json: string, idempotencyKey: string): Promise<{ status: number; body: ApiError }>
  sleep(ms: number): Promise<void>
}

export async function submitLead(
  url: string,
  body: LeadBody,
  emailField: string | undefined,
  transport: LeadTransport,
  key: string = uuidv7(),
): Promise<SubmitOutcome> {
  const json = JSON.stringify(body)
  for (let attempt = 1; ; attempt += 1) {
    let answer: { status: number; body: ApiError } | undefined
    try {
      answer = await transport.post(url, json, key)
    } catch {
      answer = undefined
    }
    const retryable = answer === undefined || answer.status >= 500
    if (!retryable || attempt >= LEAD_ATTEMPTS) {
      if (answer === undefined) return { ok: false, message: OFFLINE }
      return outcomeOf(answer.status, answer.body, emailField)
    }
    await transport.sleep(500 * 3 ** (attempt - 1))
  }
}

export const browserLeadTransport: LeadTransport = {
  async post(url, json, idempotencyKey) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: json,
      credentials: 'omit',
    })
    const body = (await response.json().catch(() => ({}))) as ApiError
    return { status: response.status, body: body && typeof body === 'object' ? body : {} }
  },
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}
