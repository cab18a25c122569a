import type { FormSubmission } from '@nudge/popup'
import t from 'tap'
import {
  emailFieldName,
  fieldErrorsFrom,
  LEAD_ATTEMPTS,
  type LeadTransport,
  leadBody,
  outcomeOf,
  submitLead,
} from '../src/leads.ts'

const form = {
  fields: [
    { name: 'work_email', type: 'email' },
    { name: 'firstName', type: 'text' },
  ],
}

const submission: FormSubmission = {
  step: 0,
  capturesLeads: true,
  email: 'ada@example.com',
  fields: { firstName: 'Ada', plan: 'pro' },
  consent: true,
  consentVersion: '2025-03',
  hp: '',
  fillMs: 5234.7,
}

t.test('the body the API takes from a submission', async (t) => {
  t.same(leadBody('c1', 'a', submission, 'https://shop.test/p?x=1'), {
    campaignId: 'c1',
    variantId: 'a',
    email: 'ada@example.com',
    fields: { firstName: 'Ada', plan: 'pro' },
    consent: true,
    consentVersion: '2025-03',
    pageUrl: 'https://shop.test/p?x=1',
    hp: '',
    fillMs: 5235,
  })
  t.notOk('pageUrl' in leadBody('c1', 'a', submission, 'file:///tmp/x.html'), 'only http(s) pages')
})

t.test('a 400’s details land at the form’s fields by name', async (t) => {
  t.equal(emailFieldName(form), 'work_email')
  const details = [
    { field: 'body.email', message: 'is not an email address' },
    { field: 'body.fields.firstName', message: 'is required' },
    { field: 'body.consent', message: 'must be true' },
    { field: 'body.variantId', message: 'is not a variant the campaign has shown visitors' },
  ]
  t.same(fieldErrorsFrom({ details }, 'work_email'), {
    work_email: 'Is not an email address',
    firstName: 'Is required',
    consent: 'Must be true',
  })
  const result = outcomeOf(400, { message: 'body/email is invalid', details }, 'work_email')
  t.equal(result.ok, false)
  t.match(result, { message: /check/, fieldErrors: { work_email: 'Is not an email address' } })
  t.match(
    outcomeOf(
      400,
      { message: 'campaign is not live', details: [{ field: 'body.campaignId', message: 'x' }] },
      'e',
    ),
    {
      ok: false,
      message: 'Campaign is not live',
    },
  )
  t.match(outcomeOf(429, {}, 'e'), { ok: false, message: /wait a minute/ })
})

function transport(answers: Array<number | 'network'>) {
  const calls: Array<{ key: string; json: string }> = []
  const waits: number[] = []
  const lt: LeadTransport = {
    post: async (_url, json, key) => {
      calls.push({ key, json })
      const answer = answers.shift() ?? 202
      if (answer === 'network') throw new TypeError('Failed to fetch')
      return { status: answer, body: {} }
    },
    sleep: async (ms) => void waits.push(ms),
  }
  return { lt, calls, waits }
}

const body = leadBody('c1', 'a', submission, 'https://shop.test/')

t.test('a cut-off request and a 502 are retried with the same Idempotency-Key and body', async (t) => {
  const { lt, calls, waits } = transport(['network', 502, 202])
  t.same(await submitLead('u', body, 'work_email', lt, 'key-1'), { ok: true })
  t.same(
    calls.map((c) => c.key),
    ['key-1', 'key-1', 'key-1'],
  )
  t.equal(new Set(calls.map((c) => c.json)).size, 1)
  t.same(waits, [500, 1500])
})

t.test('4xx answers are not retried; giving up offline says so', async (t) => {
  const four = transport([409])
  t.match(await submitLead('u', body, 'work_email', four.lt), { ok: false })
  t.equal(four.calls.length, 1)
  const offline = transport(Array(LEAD_ATTEMPTS).fill('network'))
  t.match(await submitLead('u', body, 'work_email', offline.lt), { ok: false, message: /connection/ })
  t.equal(offline.calls.length, LEAD_ATTEMPTS)
})
