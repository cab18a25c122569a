import { dashboardOrigin, durationsMs } from '@nudge/config'
import { type DB, type Integration, type IntegrationDelivery, newId, transaction } from '@nudge/db'
import type { Jobs } from '@nudge/jobs'
import type { Mailer } from '@nudge/mailer'
import { createMailerliteClient, MailerliteError } from '@nudge/marketing'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { type Kysely, sql, type Transaction } from 'kysely'
import { memberEmails } from '../teams/repository.ts'
import { noticeEmail } from './notice-email.ts'
import { type OutboundPolicy, postJson } from './outbound.ts'
import {
  erasedWebhookPayload,
  type LeadForDelivery,
  type MailerliteSettings,
  mailerliteErasurePayload,
  mailerlitePayload,
  webhookPayload,
} from './payloads.ts'
import type { ErasureReceiver } from './repository.ts'
import {
  DEV_SECRETS_KEYRING,
  decryptSecret,
  encryptSecret,
  type Keyring,
  needsReencryption,
  parseKeyring,
} from './secrets.ts'
import { webhookHeaders } from './webhook-signing.ts'

export const DELIVERY_JOB = 'deliveries.attempt'
export const OUTBOX_JOB = 'leads.outbox'
export const NOTICE_JOB = 'integrations.notice'

/** Outbox rows one relay transaction turns into deliveries. */
const RELAY_BATCH = 200

export interface DeliveryDeps {
  db: Kysely<DB>
  jobs: Jobs
  mailer: Mailer
  log: FastifyBaseLogger
  keyring: Keyring
  /** Waits before each retry; attempts = retries + 1. */
  retrySchedule: number[]
  timeoutMs: number
  pauseAfterFailedLeads: number
  policy: OutboundPolicy
  mailerliteUrl: string
  mailerliteRequestsPerMinute: number
  dashboardOrigin: string
}

export function deliveryDeps(app: FastifyInstance): DeliveryDeps {
  const { config } = app
  return {
    db: app.db,
    jobs: app.jobs,
    mailer: app.mailer,
    log: app.log.child({ module: 'integrations' }),
    keyring: parseKeyring(config.SECRETS_ENCRYPTION_KEYS ?? DEV_SECRETS_KEYRING),
    retrySchedule: durationsMs(config.DELIVERY_RETRY_SCHEDULE),
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    pauseAfterFailedLeads: config.DELIVERY_PAUSE_AFTER_FAILED_LEADS,
    policy: { allowLoopback: config.OUTBOUND_ALLOW_LOOPBACK, requireHttps: config.NODE_ENV === 'production' },
    mailerliteUrl: config.MAILERLITE_API_URL,
    mailerliteRequestsPerMinute: config.MAILERLITE_REQUESTS_PER_MINUTE,
    dashboardOrigin: dashboardOrigin(config),
  }
}

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

/**
 * Turns stored leads (the outbox rows their transaction wrote) into one delivery per connected
 * integration, each with its payload fixed now, and their attempt jobs, in one transaction with
 * the rows' removal. SKIP LOCKED lets several workers relay at once without taking the same rows.
 * Each row's lead is locked too (key share: a visitor updating the lead does not stop it), and a
 * lead that an erasure holds is skipped: its rows go with it, and no delivery of it is made while
 * the erasure decides what to cancel (a delivery made then would keep the person's data, with
 * lead_id set null, out of that erasure's and every later one's reach).
 * Returns how many outbox rows were relayed.
 */
export async function relayOutbox(deps: DeliveryDeps): Promise<number> {
  let relayed = 0
  for (;;) {
    const count = await transaction(deps.db, async (trx) => {
      const rows = await sql<{ id: string; lead_id: string; event: 'created' | 'updated' }>`
        SELECT o.id, o.lead_id, o.event FROM lead_outbox o JOIN leads l ON l.id = o.lead_id
        ORDER BY o.created_at, o.id LIMIT ${RELAY_BATCH}
        FOR UPDATE OF o SKIP LOCKED FOR KEY SHARE OF l SKIP LOCKED`.execute(trx)
      if (rows.rows.length === 0) return 0
      const leadIds = [...new Set(rows.rows.map((row) => row.lead_id))]
      const leads = await trx
        .selectFrom('leads')
        .leftJoin('campaigns', 'campaigns.id', 'leads.campaign_id')
        .select([
          'leads.id',
          'leads.team_id',
          'leads.email',
          'leads.fields',
          'leads.consent',
          'leads.consent_version',
          'leads.country',
          'leads.page_url',
          'leads.campaign_id',
          'campaigns.name as campaign_name',
          'leads.variant_id',
          'leads.created_at',
          'leads.updated_at',
        ])
        .where('leads.id', 'in', leadIds)
        .execute()
      const campaignIds = [...new Set(leads.flatMap((lead) => (lead.campaign_id ? [lead.campaign_id] : [])))]
      const links =
        campaignIds.length === 0
          ? []
          : await trx
              .selectFrom('campaign_integrations as ci')
              .innerJoin('integrations as i', 'i.id', 'ci.integration_id')
              .select(['ci.campaign_id', 'ci.integration_id', 'ci.settings', 'i.kind', 'i.status'])
              .where('ci.campaign_id', 'in', campaignIds)
              .execute()
      const byLead = new Map(leads.map((lead) => [lead.id, lead]))
      const now = new Date()
      const deliveries = rows.rows.flatMap((row) => {
        const lead = byLead.get(row.lead_id)
        if (!lead) return []
        const event = row.event === 'created' ? ('lead.created' as const) : ('lead.updated' as const)
        return links
          .filter((link) => link.campaign_id === lead.campaign_id)
          .map((link) => ({
            id: newId(),
            team_id: lead.team_id,
            integration_id: link.integration_id,
            lead_id: lead.id,
            source_id: row.id,
            event,
            status: startingStatus(link.status),
            payload:
              link.kind === 'webhook'
                ? webhookPayload(event, lead as LeadForDelivery, now)
                : mailerlitePayload(lead as LeadForDelivery, link.settings as MailerliteSettings),
          }))
      })
      if (deliveries.length > 0) {
        const created = await trx
          .insertInto('integration_deliveries')
          .values(deliveries)
          .onConflict((oc) => oc.columns(['source_id', 'integration_id']).doNothing())
          .returning(['id', 'status', 'attempts'])
          .execute()
        await deps.jobs.insert(
          DELIVERY_JOB,
          created.filter((d) => d.status === 'pending').map((d) => attemptJob(d)),
          { db: trx },
        )
      }
      await trx
        .deleteFrom('lead_outbox')
        .where(
          'id',
          'in',
          rows.rows.map((row) => row.id),
        )
        .execute()
      return rows.rows.length
    })
    relayed += count
    if (count < RELAY_BATCH) return relayed
  }
}

type Claimed = IntegrationDelivery & {
  kind: Integration['kind']
  url: string | null
  secret: string
  account_key: string | null
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
/** How long after its claim an attempt can still be running: past it, its worker is taken as dead. */
export const claimStaleMs = (timeoutMs: number) => timeoutMs + 5000

export async function attemptDelivery(deps: DeliveryDeps, job: AttemptJob): Promise<void> {
  const staleMs = claimStaleMs(deps.timeoutMs)
  const claim = await transaction(deps.db, async (trx) => {
    const row = (await trx
      .selectFrom('integration_deliveries as d')
      .innerJoin('integrations as i', 'i.id', 'd.integration_id')
      .selectAll('d')
      .select(['i.kind', 'i.url', 'i.secret', 'i.account_key', 'i.status as integration_status'])
      .where('d.id', '=', job.deliveryId)
      .forUpdate('d')
      .executeTakeFirst()) as (Claimed & { integration_status: Integration['status'] }) | undefined
    if (!row) return undefined
    const fresh = (row.status === 'pending' || row.status === 'retrying') && row.attempts === job.attempts
    const abandoned =
      row.status === 'delivering' &&
      row.attempts === job.attempts + 1 &&
      row.claimed_at !== null &&
      Date.now() - row.claimed_at.getTime() > staleMs
    if (!fresh && !abandoned) return undefined
    if (row.payload === null) {
      await setDelivery(trx, row.id, { status: 'cancelled', last_error: 'the lead was erased' })
      return undefined
    }
    if (row.integration_status !== 'active') {
      await setDelivery(trx, row.id, { status: 'held', next_attempt_at: null })
      return undefined
    }
    if (row.kind === 'mailerlite' && row.account_key) {
      const wait = await takeRateSlot(trx, row.account_key, deps.mailerliteRequestsPerMinute)
      if (wait !== null) {
        // Not an attempt: the account's minute is used up (by any of our workers).
        const startAfter = new Date(Date.now() + wait + Math.random() * 1000)
        await setDelivery(trx, row.id, { status: 'retrying', next_attempt_at: startAfter })
        await deps.jobs.insert(DELIVERY_JOB, [attemptJob(row, startAfter)], { db: trx })
        return undefined
      }
    }
    const attempt = abandoned ? row.attempts : row.attempts + 1
    await setDelivery(trx, row.id, { status: 'delivering', attempts: attempt, claimed_at: new Date() })
    return { ...row, attempts: attempt }
  })
  if (!claim) return
  const outcome = await send(deps, claim)
  await recordOutcome(deps, claim, outcome)
}

function setDelivery(
  trx: Transaction<DB>,
  id: string,
  values: Partial<{
    status: IntegrationDelivery['status']
    attempts: number
    claimed_at: Date | null
    next_attempt_at: Date | null
    last_response_status: number | null
    last_error: string | null
    completed_at: Date | null
    payload: null
  }>,
) {
  return trx
    .updateTable('integration_deliveries')
    .set({ ...values, updated_at: sql`now()` })
    .where('id', '=', id)
    .execute()
}

/**
 * One request of the account's per-minute allowance, counted in PostgreSQL so every worker
 * process shares it. Returns null when taken, or how many ms until the next minute begins.
 */
async function takeRateSlot(
  trx: Transaction<DB>,
  accountKey: string,
  perMinute: number,
): Promise<number | null> {
  const { rows } = await sql<{ used: number }>`
    INSERT INTO outbound_rate_windows (account_key, window_start, used)
    VALUES (${accountKey}, date_trunc('minute', now()), 1)
    ON CONFLICT (account_key, window_start)
    DO UPDATE SET used = outbound_rate_windows.used + 1 WHERE outbound_rate_windows.used < ${perMinute}
    RETURNING used`.execute(trx)
  if (rows.length > 0) return null
  return 60000 - (Date.now() % 60000)
}

/** Sends a delivery's payload to its receiver; never throws. */
export async function send(
  deps: DeliveryDeps,
  delivery: Pick<Claimed, 'id' | 'kind' | 'url' | 'secret' | 'payload' | 'event'>,
): Promise<Outcome> {
  const payload = delivery.payload ?? '{}'
  if (delivery.kind === 'webhook') {
    const secrets = activeWebhookSecrets(decryptSecret(deps.keyring, delivery.secret))
    const headers = webhookHeaders({
      id: webhookId(delivery.id),
      timestamp: new Date(),
      body: payload,
      secrets,
    })
    const result = await postJson(delivery.url ?? '', payload, headers, {
      policy: deps.policy,
      timeoutMs: deps.timeoutMs,
    })
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
  const client = createMailerliteClient({
    apiKey: decryptSecret(deps.keyring, delivery.secret),
    baseUrl: deps.mailerliteUrl,
    timeoutMs: deps.timeoutMs,
  })
  try {
    if (delivery.event === 'lead.erased') {
      // Mailerlite deletes by subscriber id; one already gone (unsubscribed and removed by the
      // customer, or an earlier erasure) is what was asked for.
      const { email } = JSON.parse(payload) as { email: string }
      const subscriber = await client.getSubscriber(email)
      const deleted = subscriber ? await client.deleteSubscriber(subscriber.id) : false
      return {
        ok: true,
        status: deleted ? 204 : 404,
        latencyMs: Math.round(performance.now() - started),
        body: '',
        verdict: 'delivered',
      }
    }
    const { created } = await client.upsertSubscriber(JSON.parse(payload))
    return {
      ok: true,
      status: created ? 201 : 200,
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

/** A webhook integration's signing secrets: the current one first, then one still overlapping. */
export interface WebhookSecrets {
  current: string
  previous?: { secret: string; until: string } | undefined
}

export function activeWebhookSecrets(stored: string, now = Date.now()): string[] {
  const secrets = JSON.parse(stored) as WebhookSecrets
  const overlapping =
    secrets.previous && Date.parse(secrets.previous.until) > now ? [secrets.previous.secret] : []
  return [secrets.current, ...overlapping]
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
export async function recordOutcome(deps: DeliveryDeps, delivery: Claimed, outcome: Outcome) {
  await transaction(deps.db, async (trx) => {
    const current = await trx
      .selectFrom('integration_deliveries')
      .select('status')
      .where('id', '=', delivery.id)
      .forUpdate()
      .executeTakeFirst()
    const erased = current === undefined || current.status === 'cancelled'
    const keepsNoBody = erased || delivery.event === 'lead.erased'
    await trx
      .insertInto('integration_delivery_attempts')
      .values({
        delivery_id: delivery.id,
        attempt: delivery.attempts,
        at: new Date(),
        response_status: outcome.status === 0 ? null : outcome.status,
        latency_ms: outcome.latencyMs,
        response_body: outcome.body === '' || keepsNoBody ? null : outcome.body,
        error: outcome.error ?? null,
      })
      .onConflict((oc) => oc.columns(['delivery_id', 'attempt']).doNothing())
      .execute()
    if (erased) {
      if (current) await setDelivery(trx, delivery.id, { claimed_at: null })
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
      await setDelivery(trx, delivery.id, {
        ...last,
        ...done,
        status: 'succeeded',
        completed_at: new Date(),
        next_attempt_at: null,
      })
      await trx
        .updateTable('integrations')
        .set({ consecutive_failures: 0 })
        .where('id', '=', delivery.integration_id)
        .where('consecutive_failures', '>', 0)
        .execute()
      return
    }
    const isTest = delivery.event === 'test'
    if (outcome.verdict === 'disable' && !isTest) {
      await setDelivery(trx, delivery.id, {
        ...last,
        ...done,
        status: 'failed',
        completed_at: new Date(),
        next_attempt_at: null,
      })
      await stopIntegration(deps, trx, delivery.integration_id, 'disabled', 'the receiver answered 410 Gone')
      return
    }
    if (outcome.verdict === 'pause' && !isTest) {
      // Kept for the resume: the lead was not refused, the key was.
      await setDelivery(trx, delivery.id, { ...last, status: 'held', next_attempt_at: null })
      await stopIntegration(
        deps,
        trx,
        delivery.integration_id,
        'paused',
        `Mailerlite refused the API key (HTTP ${outcome.status})`,
      )
      return
    }
    const delay =
      outcome.retryAfterSeconds !== undefined && (outcome.status === 429 || outcome.status === 503)
        ? Math.min(outcome.retryAfterSeconds * 1000, MAX_RETRY_AFTER_MS)
        : jittered(deps.retrySchedule[delivery.attempts - 1])
    const retry = !isTest && outcome.verdict === 'retry' && delay !== undefined
    if (retry) {
      const startAfter = new Date(Date.now() + delay)
      await setDelivery(trx, delivery.id, { ...last, status: 'retrying', next_attempt_at: startAfter })
      await deps.jobs.insert(DELIVERY_JOB, [attemptJob(delivery, startAfter)], { db: trx })
    } else {
      await setDelivery(trx, delivery.id, {
        ...last,
        ...done,
        status: 'failed',
        completed_at: new Date(),
        next_attempt_at: null,
      })
    }
    // A lead counts once towards "N leads in a row failed": on its first failed attempt.
    if (!isTest && delivery.attempts === 1) {
      const integration = await trx
        .updateTable('integrations')
        .set({ consecutive_failures: sql`consecutive_failures + 1` })
        .where('id', '=', delivery.integration_id)
        .returning(['consecutive_failures', 'status'])
        .executeTakeFirst()
      if (
        integration &&
        integration.status === 'active' &&
        integration.consecutive_failures >= deps.pauseAfterFailedLeads
      ) {
        await stopIntegration(
          deps,
          trx,
          delivery.integration_id,
          'paused',
          `${integration.consecutive_failures} leads in a row could not be delivered`,
        )
      }
    }
  })
}

/** A stopped (paused or disabled) integration keeps what it is sent until it is active again. */
function startingStatus(integrationStatus: string): 'pending' | 'held' {
  return integrationStatus === 'active' ? 'pending' : 'held'
}

/**
 * Tells each integration that received a person that they were erased, in the erasure's
 * transaction: a `lead.erased` webhook event (signed like every delivery), or a subscriber delete
 * at Mailerlite. Each is a delivery with its own retries, made after any attempt still in flight
 * could have landed (`inFlightMs`), so a late upsert does not bring the subscriber back. Held while
 * the integration is stopped, like leads. Returns how many were queued.
 */
export async function enqueueErasures(
  trx: Transaction<DB>,
  jobs: Jobs,
  receivers: ErasureReceiver[],
  inFlightMs: number,
): Promise<number> {
  if (receivers.length === 0) return 0
  const now = new Date()
  const created = await trx
    .insertInto('integration_deliveries')
    .values(
      receivers.map((receiver) => ({
        id: newId(),
        team_id: receiver.team_id,
        integration_id: receiver.integration_id,
        lead_id: null,
        source_id: null,
        event: 'lead.erased' as const,
        status: startingStatus(receiver.status),
        payload:
          receiver.kind === 'webhook'
            ? erasedWebhookPayload(receiver, now)
            : mailerliteErasurePayload(receiver.email),
      })),
    )
    .returning(['id', 'status', 'attempts'])
    .execute()
  const startAfter = receivers.some((receiver) => receiver.in_flight)
    ? new Date(now.getTime() + inFlightMs)
    : undefined
  await jobs.insert(
    DELIVERY_JOB,
    created.filter((d) => d.status === 'pending').map((d) => attemptJob(d, startAfter)),
    { db: trx },
  )
  return created.length
}

/** Exponential-ish schedule with up to 20% jitter, so retries of many leads do not arrive together. */
function jittered(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms * (1 + Math.random() * 0.2))
}

/** Pauses or disables an integration (once) and tells the team's owners and admins, by a job. */
async function stopIntegration(
  deps: DeliveryDeps,
  trx: Transaction<DB>,
  integrationId: string,
  status: 'paused' | 'disabled',
  reason: string,
) {
  const changed = await trx
    .updateTable('integrations')
    .set({ status, status_reason: reason, updated_at: sql`date_trunc('milliseconds', now())` })
    .where('id', '=', integrationId)
    .where('status', '=', 'active')
    .returning(['id'])
    .executeTakeFirst()
  if (changed) await deps.jobs.send(NOTICE_JOB, { integrationId, status, reason }, { db: trx })
}

/** Emails the owners and admins of the integration's team that it stopped, and why. */
export async function sendNotice(
  deps: DeliveryDeps,
  data: { integrationId: string; status: string; reason: string },
) {
  const integration = await deps.db
    .selectFrom('integrations')
    .innerJoin('teams', 'teams.id', 'integrations.team_id')
    .select(['integrations.id', 'integrations.name', 'integrations.team_id', 'teams.name as team_name'])
    .where('integrations.id', '=', data.integrationId)
    .executeTakeFirst()
  if (!integration) return
  const recipients = await memberEmails(deps.db, integration.team_id, ['owner', 'admin'])
  for (const email of recipients) {
    await deps.mailer.send(
      noticeEmail({
        to: email,
        teamName: integration.team_name,
        integrationName: integration.name,
        status: data.status,
        reason: data.reason,
        link: `${deps.dashboardOrigin}/teams/${integration.team_id}/integrations/${integration.id}`,
      }),
    )
  }
}

/** Moves every stored secret encrypted with an older key to the current one; returns how many. */
export async function reencryptSecrets(deps: DeliveryDeps): Promise<number> {
  const rows = await deps.db.selectFrom('integrations').select(['id', 'secret']).execute()
  let moved = 0
  for (const row of rows) {
    if (!needsReencryption(deps.keyring, row.secret)) continue
    const secret = encryptSecret(deps.keyring, decryptSecret(deps.keyring, row.secret))
    // Only if nobody changed it meanwhile (a new key saved, a rotation).
    const result = await deps.db
      .updateTable('integrations')
      .set({ secret })
      .where('id', '=', row.id)
      .where('secret', '=', row.secret)
      .executeTakeFirst()
    moved += Number(result.numUpdatedRows)
  }
  if (moved > 0) deps.log.info({ moved }, 'integration secrets re-encrypted with the current key')
  return moved
}
