import t from 'tap'
import {
  attemptWords,
  type Delivery,
  integrationStatusLine,
  whyNotRedeliverable,
} from '../src/views/integrations/deliveries.ts'

function delivery(overrides: Partial<Delivery> = {}): Delivery {
  return {
    id: '0190e6a0-0000-7000-8000-000000000001',
    integrationId: '0190e6a0-0000-7000-8000-000000000002',
    leadId: '0190e6a0-0000-7000-8000-000000000003',
    event: 'lead.created',
    status: 'failed',
    attempts: 6,
    nextAttemptAt: null,
    lastResponseStatus: 500,
    lastError: null,
    createdAt: '2026-12-07T10:00:00Z',
    completedAt: '2026-12-07T11:00:00Z',
    ...overrides,
  }
}

t.test('Redeliver is offered only where the API allows it', async (t) => {
  const active = { status: 'active' as const }
  t.equal(whyNotRedeliverable(delivery(), active), null, 'a failed lead delivery')
  t.equal(whyNotRedeliverable(delivery({ status: 'succeeded' }), active), null, 'a delivered one, again')
  t.match(whyNotRedeliverable(delivery({ event: 'test' }), active), /send another test/)
  t.match(whyNotRedeliverable(delivery({ leadId: null }), active), /erased/)
  t.equal(whyNotRedeliverable(delivery({ event: 'lead.erased', leadId: null }), active), null)
  t.match(whyNotRedeliverable(delivery({ status: 'pending' }), active), /on its way/i)
  t.match(whyNotRedeliverable(delivery(), { status: 'paused' }), /Resume/)
})

t.test('attempts and statuses in words', async (t) => {
  t.equal(attemptWords({ responseStatus: 200, latencyMs: 42, error: null }), 'HTTP 200 in 42 ms')
  t.equal(
    attemptWords({ responseStatus: null, latencyMs: 5000, error: 'timed out after 5000 ms' }),
    'No answer: timed out after 5000 ms',
  )
  t.equal(integrationStatusLine({ status: 'active', statusReason: null }), 'Active')
  t.equal(
    integrationStatusLine({ status: 'disabled', statusReason: 'the API key was refused' }),
    'Stopped: the API key was refused',
  )
})
