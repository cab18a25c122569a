import { MailerliteError } from '@nudge/marketing'
import { type Deps, inTransaction, type TxDeps } from '../../deps.ts'
import {
  type DeliveryToSend,
  insertAttempt,
  lockDeliveryStatus,
  lockDeliveryToSend,
  takeRateSlot,
  updateDelivery,
} from './delivery-repository.ts'
import { postJson } from './outbound.ts'
import { countConsecutiveFailure, resetConsecutiveFailures, stopActiveIntegration } from './repository.ts'
import { decryptSecret } from './secrets.ts'
import { claimStaleMs, deliverySettings, mailerliteClient } from './settings.ts'
import { NOTICE_JOB, type StopNotice } from './stop-notice.ts'
import { activeWebhookSecrets, webhookHeaders } from './webhook-signing.ts'

export const DELIVERY_JOB = 'deliveries.attempt'

/** The webhook-id of a delivery: the same for every attempt and every redelivery of it. */
export const webhookId = (deliveryId: string) => `msg_${deliveryId}`

/** A delivery attempt job: which delivery, and how many attempts it had when the job was made. */
export interface AttemptJob {
  deliveryId: string
  attempts: number
}

/** The job that attempts a delivery now (or at `startAfter`). */
export function attemptJob(delivery: { id: string; attempts: number }, startAfter?: Date) {
  return {
    data: { deliveryId: delivery.id, attempts: delivery.attempts } satisfies AttemptJob,
    ...(startAfter ? { startAfter } : {}),
  }
}

/** How one attempt went, whatever the receiver. */
interface Outcome {
  ok: boolean
  status: number
  latencyMs: number
  body: string
  error?: string | undefined
  retryAfterSeconds?: number | undefined
  /** What it means for the integration and the delivery, beyond "retry later". */
  verdict: 'delivered' | 'retry' | 'give-up' | 'disable' | 'pause'
}

/**
 * Runs one attempt of a delivery, idempotently: the job names the attempt count it expects, so a
 * job made stale by a redelivery or a resume does nothing, and only one worker claims an attempt.
 * A claim whose worker died (still 'delivering' past the timeout) is taken over with the same
 * webhook-id and the same payload.
 */
export async function attemptDelivery(deps: Deps, job: AttemptJob): Promise<void> {
  const staleMs = claimStaleMs(deps.config)
  const claim = await inTransaction(deps, async (tx) => {
    const row = await lockDeliveryToSend(tx.db, job.deliveryId)
    if (!row) return undefined
    const fresh = (row.status === 'pending' || row.status === 'retrying') && row.attempts === job.attempts
    const abandoned =
      row.status === 'delivering' &&
      row.attempts === job.attempts + 1 &&
      row.claimed_at !== null &&
      Date.now() - row.claimed_at.getTime() > staleMs
    if (!fresh && !abandoned) return undefined
    if (row.payload === null) {
      await updateDelivery(tx.db, row.id, { status: 'cancelled', last_error: 'the lead was erased' })
      return undefined
    }
    if (row.integration_status !== 'active') {
      await updateDelivery(tx.db, row.id, { status: 'held', next_attempt_at: null })
      return undefined
    }
    if (row.kind === 'mailerlite' && row.account_key) {
      const { mailerliteRequestsPerMinute } = deliverySettings(tx.config)
      if (!(await takeRateSlot(tx.db, row.account_key, mailerliteRequestsPerMinute))) {
        // Not an attempt: the account's minute is used up (by any of our workers). Wait for the
        // next minute to begin.
        const wait = 60000 - (Date.now() % 60000)
        const startAfter = new Date(Date.now() + wait + Math.random() * 1000)
        await updateDelivery(tx.db, row.id, { status: 'retrying', next_attempt_at: startAfter })
        await tx.jobs.insert(DELIVERY_JOB, [attemptJob(row, startAfter)], { db: tx.db })
        return undefined
      }
    }
    const attempt = abandoned ? row.attempts : row.attempts + 1
    await updateDelivery(tx.db, row.id, { status: 'delivering', attempts: attempt, claimed_at: new Date() })
    return { ...row, attempts: attempt }
  })
  if (!claim) return
  const outcome = await send(deps, claim)
  await recordOutcome(deps, { delivery: claim, outcome })
}

/** Sends a delivery's payload to its receiver; never throws. */
export async function send(
  deps: Deps,
  delivery: Pick<DeliveryToSend, 'id' | 'kind' | 'url' | 'secret' | 'payload' | 'event'>,
): Promise<Outcome> {
  const { keyring, policy, timeoutMs } = deliverySettings(deps.config)
  const payload = delivery.payload ?? '{}'
  if (delivery.kind === 'webhook') {
    const secrets = activeWebhookSecrets(decryptSecret(keyring, delivery.secret))
    const headers = webhookHeaders({
      id: webhookId(delivery.id),
      timestamp: new Date(),
      body: payload,
      secrets,
    })
    const result = await postJson(delivery.url ?? '', payload, headers, { policy, timeoutMs })
    const verdict = result.ok ? 'delivered' : result.status === 410 ? 'disable' : 'retry'
    return {
      ok: result.ok,
      status: result.status,
      latencyMs: result.latencyMs,
      body: result.bodyExcerpt,
      error: result.error,
      retryAfterSeconds: result.retryAfterSeconds,
      verdict,
    }
  }
  const started = performance.now()
  const client = mailerliteClient(deps.config, decryptSecret(keyring, delivery.secret))
  try {
    const status =
      delivery.event === 'lead.erased' ? await erase(client, payload) : await upsert(client, payload)
    return {
      ok: true,
      status,
      latencyMs: Math.round(performance.now() - started),
      body: '',
      verdict: 'delivered',
    }
  } catch (error) {
    if (!(error instanceof MailerliteError)) throw error
    const verdict =
      error.code === 'unauthenticated' || error.status === 403
        ? 'pause'
        : error.code === 'validation' || error.code === 'not_found'
          ? 'give-up'
          : 'retry'
    return {
      ok: false,
      status: error.status,
      latencyMs: Math.round(performance.now() - started),
      body: JSON.stringify({
        message: error.message,
        ...(error.fieldErrors ? { errors: error.fieldErrors } : {}),
      }).slice(0, 1024),
      error: error.status === 0 ? error.message : undefined,
      retryAfterSeconds: error.retryAfterSeconds,
      verdict,
    }
  }
}

/** Longest wait a receiver's Retry-After may ask for. */
const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000

/**
 * Writes what an attempt did: its log row, the delivery's new state (done, or the next attempt
 * scheduled with jitter, or Retry-After when the receiver gave one), and what it means for the
 * integration (a 410 disables it, Mailerlite refusing the key pauses it, N leads in a row failing
 * pauses it; the team's owners and admins are told).
 *
 * The lead may have been erased while the receiver was answering: the delivery is then cancelled
 * (the erasure holds its row lock until it commits, so this reads what it wrote). The attempt is
 * logged without the answer's body, which often echoes the lead, and the delivery stays cancelled.
 * An erasure event keeps no body either, and its payload (the address it names) goes once it is done.
 */
export async function recordOutcome(deps: Deps, input: { delivery: DeliveryToSend; outcome: Outcome }) {
  const { delivery, outcome } = input
  const { retrySchedule, pauseAfterFailedLeads } = deliverySettings(deps.config)
  await inTransaction(deps, async (tx) => {
    const current = await lockDeliveryStatus(tx.db, delivery.id)
    const erased = current === undefined || current.status === 'cancelled'
    const keepsNoBody = erased || delivery.event === 'lead.erased'
    await insertAttempt(tx.db, {
      delivery_id: delivery.id,
      attempt: delivery.attempts,
      at: new Date(),
      response_status: outcome.status === 0 ? null : outcome.status,
      latency_ms: outcome.latencyMs,
      response_body: outcome.body === '' || keepsNoBody ? null : outcome.body,
      error: outcome.error ?? null,
    })
    if (erased) {
      if (current) await updateDelivery(tx.db, delivery.id, { claimed_at: null })
      return
    }
    // Once an erasure event is done (whichever way), the address it carried is not kept.
    const done = delivery.event === 'lead.erased' ? { payload: null } : {}
    const last = {
      last_response_status: outcome.status === 0 ? null : outcome.status,
      last_error: outcome.error ?? (outcome.ok ? null : `HTTP ${outcome.status}`),
      claimed_at: null,
    }
    if (outcome.verdict === 'delivered') {
      await updateDelivery(tx.db, delivery.id, {
        ...last,
        ...done,
        status: 'succeeded',
        completed_at: new Date(),
        next_attempt_at: null,
      })
      await resetConsecutiveFailures(tx.db, delivery.integration_id)
      return
    }
    const isTest = delivery.event === 'test'
    if (outcome.verdict === 'disable' && !isTest) {
      await updateDelivery(tx.db, delivery.id, {
        ...last,
        ...done,
        status: 'failed',
        completed_at: new Date(),
        next_attempt_at: null,
      })
      await stopIntegration(tx, {
        integrationId: delivery.integration_id,
        status: 'disabled',
        reason: 'the receiver answered 410 Gone',
      })
      return
    }
    if (outcome.verdict === 'pause' && !isTest) {
      // Kept for the resume: the lead was not refused, the key was.
      await updateDelivery(tx.db, delivery.id, { ...last, status: 'held', next_attempt_at: null })
      await stopIntegration(tx, {
        integrationId: delivery.integration_id,
        status: 'paused',
        reason: `Mailerlite refused the API key (HTTP ${outcome.status})`,
      })
      return
    }
    const delay =
      outcome.retryAfterSeconds !== undefined && (outcome.status === 429 || outcome.status === 503)
        ? Math.min(outcome.retryAfterSeconds * 1000, MAX_RETRY_AFTER_MS)
        : jittered(retrySchedule[delivery.attempts - 1])
    const retry = !isTest && outcome.verdict === 'retry' && delay !== undefined
    if (retry) {
      const startAfter = new Date(Date.now() + delay)
      await updateDelivery(tx.db, delivery.id, { ...last, status: 'retrying', next_attempt_at: startAfter })
      await tx.jobs.insert(DELIVERY_JOB, [attemptJob(delivery, startAfter)], { db: tx.db })
    } else {
      await updateDelivery(tx.db, delivery.id, {
        ...last,
        ...done,
        status: 'failed',
        completed_at: new Date(),
        next_attempt_at: null,
      })
    }
    // A lead counts once towards "N leads in a row failed": on its first failed attempt.
    if (!isTest && delivery.attempts === 1) {
      const integration = await countConsecutiveFailure(tx.db, delivery.integration_id)
      if (
        integration &&
        integration.status === 'active' &&
        integration.consecutive_failures >= pauseAfterFailedLeads
      ) {
        await stopIntegration(tx, {
          integrationId: delivery.integration_id,
          status: 'paused',
          reason: `${integration.consecutive_failures} leads in a row could not be delivered`,
        })
      }
    }
  })
}

/** Exponential-ish schedule with up to 20% jitter, so retries of many leads do not arrive together. */
function jittered(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms * (1 + Math.random() * 0.2))
}

/** Pauses or disables an integration (once) and tells the team's owners and admins, by a job. */
async function stopIntegration(
  tx: TxDeps,
  input: { integrationId: string; status: 'paused' | 'disabled'; reason: string },
) {
  const changed = await stopActiveIntegration(tx.db, input.integrationId, input.status, input.reason)
  if (changed) {
    const notice: StopNotice = {
      integrationId: input.integrationId,
      status: input.status,
      reason: input.reason,
    }
    await tx.jobs.send(NOTICE_JOB, notice, { db: tx.db })
  }
}

/**
 * Mailerlite deletes by subscriber id; one already gone (unsubscribed and removed by the
 * customer, or an earlier erasure) is what was asked for: 204 deleted, 404 already gone.
 */
async function erase(client: ReturnType<typeof mailerliteClient>, payload: string): Promise<number> {
  const { email } = JSON.parse(payload) as { email: string }
  const subscriber = await client.getSubscriber(email)
  return subscriber && (await client.deleteSubscriber(subscriber.id)) ? 204 : 404
}

/** 201 for a new subscriber, 200 for one updated. */
async function upsert(client: ReturnType<typeof mailerliteClient>, payload: string): Promise<number> {
  const { created } = await client.upsertSubscriber(JSON.parse(payload))
  return created ? 201 : 200
}
