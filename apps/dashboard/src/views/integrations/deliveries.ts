/**
 * The delivery log in words (tested in test/integrations.test.ts): what each status means to the
 * person reading it, and which deliveries the API lets them send again (integrations/service.ts:
 * not a test, not one whose lead was erased, not one on its way; the integration active).
 */
import type { components } from '@nudge/api-client'

export type Integration = components['schemas']['Integration']
export type Delivery = components['schemas']['Delivery']
export type DeliveryStatus = Delivery['status']

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = [
  'pending',
  'delivering',
  'retrying',
  'held',
  'succeeded',
  'failed',
  'cancelled',
]

export const STATUS_WORDS: Record<DeliveryStatus, string> = {
  pending: 'Waiting to be sent',
  delivering: 'Sending now',
  retrying: 'Failed, will retry',
  held: 'Held while the integration is paused',
  succeeded: 'Delivered',
  failed: 'Failed (no more retries)',
  cancelled: 'Cancelled',
}

export const EVENT_WORDS: Record<string, string> = {
  'lead.created': 'New lead',
  'lead.updated': 'Lead updated',
  'lead.erased': 'Lead erased',
  test: 'Test',
}

export function eventWords(event: string): string {
  return EVENT_WORDS[event] ?? event
}

/** Why a delivery cannot be sent again, or null when the Redeliver button is offered. */
export function whyNotRedeliverable(
  delivery: Delivery,
  integration: Pick<Integration, 'status'>,
): string | null {
  if (delivery.event === 'test') return 'Test deliveries are not sent again: send another test.'
  if (delivery.leadId === null && delivery.event !== 'lead.erased') return 'The lead was erased.'
  if (delivery.status === 'pending' || delivery.status === 'delivering') return 'On its way already.'
  if (integration.status !== 'active') return 'Resume the integration first.'
  return null
}

/** "200 in 42 ms", "no answer: connect ECONNREFUSED", "500 in 3 ms": one attempt in a few words. */
export function attemptWords(attempt: {
  responseStatus: number | null
  latencyMs: number
  error: string | null
}): string {
  if (attempt.responseStatus === null) return `No answer${attempt.error ? `: ${attempt.error}` : ''}`
  const base = `HTTP ${attempt.responseStatus} in ${attempt.latencyMs} ms`
  return attempt.error ? `${base}: ${attempt.error}` : base
}

export const INTEGRATION_STATUS_WORDS: Record<Integration['status'], string> = {
  active: 'Active',
  paused: 'Paused',
  disabled: 'Stopped',
}

/** The integration's state in one line, its reason included when paused or stopped. */
export function integrationStatusLine(integration: Pick<Integration, 'status' | 'statusReason'>): string {
  const words = INTEGRATION_STATUS_WORDS[integration.status]
  return integration.statusReason ? `${words}: ${integration.statusReason}` : words
}
