import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { type DB, isViolation, newId } from '@nudge/db'
import { type Kysely, sql } from 'kysely'
import { Type } from 'typebox'
import {
  ErrorResponse,
  type FieldProblem,
  IdempotencyKeyReused,
  invalidInput,
  NotFound,
  VariantHasNoForm,
} from '../../errors.ts'
import { Input } from '../../schemas.ts'
import { OUTBOX_JOB } from '../integrations/outbox-relay.ts'
import {
  type CheckedLead,
  checkLead,
  MAX_EMAIL_LENGTH,
  MAX_TEXT_LENGTH,
  submissionHash,
} from './lead-form.ts'
import { visitorLimits } from './limits.ts'
import { checkOrigin, checkThroughEdge } from './origin.ts'
import {
  checkAccepting,
  isPreview,
  publishedConsentVersion,
  publishedVariant,
  visitorCampaign,
} from './published.ts'

export const LeadSubmissionBody = Input(
  {
    campaignId: Type.String({ format: 'uuid', description: 'the campaign the form belongs to' }),
    variantId: Type.String({
      pattern: '^[a-z0-9][a-z0-9-]{0,19}$',
      description: 'the variant the visitor was shown: one the campaign has published, current or retired',
    }),
    email: Type.String({
      minLength: 3,
      maxLength: MAX_EMAIL_LENGTH,
      description: 'the value of the form’s email field',
    }),
    fields: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Unknown({
          description: `text (at most ${MAX_TEXT_LENGTH} characters), or true/false for a checkbox`,
        }),
        {
          maxProperties: 50,
          propertyNames: { maxLength: 100 },
          description:
            'the form’s other fields by name, each text or true/false; fields the form does not have are dropped, hidden ones take the form’s value',
        },
      ),
    ),
    consent: Type.Optional(Type.Boolean({ description: 'the consent checkbox was ticked' })),
    consentVersion: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 40,
        description:
          'the version of the consent wording the page showed, one the campaign has published (default: the form’s)',
      }),
    ),
    pageUrl: Type.Optional(
      Type.String({
        maxLength: 2048,
        pattern: '^[hH][tT][tT][pP][sS]?://',
        description: 'the page the form was sent from (http: or https:)',
      }),
    ),
    hp: Type.Optional(
      Type.String({
        maxLength: 1000,
        description: 'the honeypot: a field hidden from people; anything in it marks a bot',
      }),
    ),
    fillMs: Type.Integer({
      minimum: 0,
      maximum: 2_147_483_647,
      description:
        'milliseconds between showing the form and sending it (required: a form sent faster than a person could is a bot’s)',
    }),
  },
  {
    description:
      'A visitor’s form submission. Bots (a filled honeypot, or a form sent faster than a person could) get the same answer and are not stored.',
    examples: [
      {
        campaignId: '0195f3a2-7c1e-7b3a-9f10-4d2c8e6a1b23',
        variantId: 'a',
        email: 'visitor@example.com',
        fields: { firstName: 'Ada' },
        consent: true,
        consentVersion: '2025-03',
        pageUrl: 'https://shop.example.com/products/boots',
        hp: '',
        fillMs: 5200,
      },
    ],
  },
)

export const LeadSubmissionHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: '^[\\x20-\\x7E]+$',
      description:
        'a key of your choosing per submission (e.g. a UUID): a retry with the same key and body answers as the first and stores nothing new',
    }),
  ),
})

export const LeadAccepted = Type.Object(
  {
    status: Type.Literal('accepted'),
    preview: Type.Optional(
      Type.Literal(true, {
        description: 'the campaign is in test: the lead was checked, not stored or delivered',
      }),
    ),
  },
  { description: 'The lead is stored (nothing about it is echoed back)' },
)

const ACCEPTED = { status: 'accepted' as const }
const PREVIEW = { status: 'accepted' as const, preview: true as const }

/**
 * The largest submission a form allows is about 37 KB (10 fields of 1,000 characters of 3 UTF-8
 * bytes each, their names, the page URL, the honeypot); anything above 64 KB is not a form's.
 */
export const LEAD_BODY_LIMIT_BYTES = 64 * 1024

interface Target {
  teamId: string
  campaignId: string
  variantId: string
  country: string | null
}

interface Submission {
  target: Target
  lead: CheckedLead
  idempotency: { key: string; hash: Buffer } | null
}

interface Stored {
  /** False when the Idempotency-Key had already been used: nothing was written. */
  stored: boolean
  /** The request hash the key was first used with, when it had been. */
  earlierHash: Buffer | null
}

/**
 * Stores checked leads and what must follow from each, in one statement (so one transaction and
 * one commit for all of them):
 * - each lead, upserted by (campaign, lower(email)): new, or the existing one's fields merged (new
 *   values win) with the newest consent, page and country;
 * - its outbox row ('created' or 'updated'), which the integrations deliver from;
 * - for new leads, the daily leads count per campaign, variant and visitor country;
 * - with an Idempotency-Key, the submission row (key → lead and request hash).
 *
 * A key already used (committed before this statement began) stops that lead's write, and its
 * request hash comes back for comparison. A key being used by a concurrent statement makes this
 * one fail on the submission's primary key once that one commits, which rolls all of it back.
 * Locks are taken in one order, the leads' emails, then the keys, then the daily counts (the count
 * reads the submissions' result, so it runs after them), each sorted, so concurrent statements
 * wait for each other but do not deadlock. The caller keeps (campaign, lower(email)) and
 * (campaign, key) unique within one call.
 */
async function storeLeads(db: Kysely<DB>, items: Submission[]): Promise<Stored[]> {
  const column = <T>(pick: (item: Submission) => T) => items.map(pick)
  const { rows } = await sql<{ ord: string; lead_id: string | null; earlier_hash: Buffer | null }>`
    WITH input AS (
      SELECT * FROM unnest(
        ${column(() => newId())}::uuid[], ${column(() => newId())}::uuid[],
        ${column((i) => i.target.teamId)}::uuid[], ${column((i) => i.target.campaignId)}::uuid[],
        ${column((i) => i.target.variantId)}::text[], ${column((i) => i.lead.email)}::text[],
        ${column((i) => JSON.stringify(i.lead.fields))}::text[], ${column((i) => i.lead.consent)}::boolean[],
        ${column((i) => i.lead.consentVersion)}::text[], ${column((i) => i.target.country)}::text[],
        ${column((i) => i.lead.pageUrl)}::text[], ${column((i) => i.idempotency?.key ?? null)}::text[],
        ${column((i) => i.idempotency?.hash ?? null)}::bytea[]
      ) WITH ORDINALITY AS i(id, outbox_id, team_id, campaign_id, variant_id, email, fields, consent,
        consent_version, country, page_url, idempotency_key, request_hash, ord)
    ),
    earlier AS (
      SELECT s.campaign_id, s.idempotency_key, s.request_hash
      FROM lead_submissions s
      JOIN input i ON i.campaign_id = s.campaign_id AND i.idempotency_key = s.idempotency_key
    ),
    lead AS (
      INSERT INTO leads (id, team_id, campaign_id, variant_id, email, fields, consent, consent_version, country, page_url)
      SELECT i.id, i.team_id, i.campaign_id, i.variant_id, i.email, i.fields::jsonb, i.consent,
        i.consent_version, i.country, i.page_url
      FROM input i
      WHERE NOT EXISTS (
        SELECT 1 FROM earlier e WHERE e.campaign_id = i.campaign_id AND e.idempotency_key = i.idempotency_key
      )
      ORDER BY i.campaign_id, lower(i.email)
      ON CONFLICT (campaign_id, lower(email)) DO UPDATE SET
        fields = leads.fields || excluded.fields,
        consent = excluded.consent,
        consent_version = excluded.consent_version,
        country = coalesce(excluded.country, leads.country),
        page_url = coalesce(excluded.page_url, leads.page_url),
        updated_at = date_trunc('milliseconds', now())
      RETURNING id, campaign_id, lower(email) AS email_key
    ),
    done AS (
      SELECT i.*, lead.id AS lead_id, lead.id = i.id AS created
      FROM lead JOIN input i ON i.campaign_id = lead.campaign_id AND lower(i.email) = lead.email_key
    ),
    claimed AS (
      INSERT INTO lead_submissions (campaign_id, idempotency_key, lead_id, request_hash)
      SELECT campaign_id, idempotency_key, lead_id, request_hash
      FROM done WHERE idempotency_key IS NOT NULL
      ORDER BY campaign_id, idempotency_key
      RETURNING lead_id
    ),
    outbox AS (
      INSERT INTO lead_outbox (id, lead_id, team_id, event)
      SELECT outbox_id, lead_id, team_id, CASE WHEN created THEN 'created' ELSE 'updated' END FROM done
    ),
    counted AS (
      INSERT INTO campaign_stats_daily (campaign_id, variant_id, day, country, leads)
      SELECT campaign_id, variant_id, (now() AT TIME ZONE 'UTC')::date, coalesce(country, ''), count(*)
      FROM done
      WHERE created AND (SELECT count(*) FROM claimed) >= 0
      GROUP BY 1, 2, 3, 4
      ORDER BY 1, 2, 3, 4
      ON CONFLICT (campaign_id, variant_id, day, country)
      DO UPDATE SET leads = campaign_stats_daily.leads + excluded.leads
    )
    SELECT i.ord, done.lead_id, earlier.request_hash AS earlier_hash
    FROM input i
    LEFT JOIN done ON done.id = i.id
    LEFT JOIN earlier ON earlier.campaign_id = i.campaign_id AND earlier.idempotency_key = i.idempotency_key
  `.execute(db)
  const results: Stored[] = items.map(() => ({ stored: false, earlierHash: null }))
  for (const row of rows) {
    results[Number(row.ord) - 1] = { stored: row.lead_id !== null, earlierHash: row.earlier_hash }
  }
  return results
}

/** Most leads one statement stores. */
const MAX_BATCH = 200

// A statement of many leads that fails because of one of them (a key a concurrent request is
// using, a campaign deleted a moment ago, a value the database refuses) or of a deadlock with
// another writer is retried lead by lead, so each gets its own answer: classes 21 (cardinality),
// 22 (data), 23 (integrity) and 40 (rollback). Anything else (the database unreachable, a timeout)
// fails every lead of the statement.
const RETRIED_ALONE = /^(21|22|23|40)/

/**
 * Group commit for leads. Every new lead adds to its campaign's daily count, one row that each
 * writer locks until it commits: one transaction per lead would commit them one after another, each
 * waiting for the previous one's disk flush. Instead, the leads that arrive while a write is in
 * flight are written together by the next one: no waiting when it is quiet, one commit for many
 * under load. Each request is still answered only after its own lead is committed.
 */
function leadWriter(db: Kysely<DB>, onStored: () => void) {
  type Queued = Submission & { resolve(stored: Stored): void; reject(error: unknown): void }
  let queue: Queued[] = []
  let writing = false

  /** The next batch: in arrival order, at most one per lead and per key (the rest wait a turn). */
  function take(): Queued[] {
    const batch: Queued[] = []
    const rest: Queued[] = []
    const emails = new Set<string>()
    const keys = new Set<string>()
    for (const item of queue) {
      const email = `${item.target.campaignId} ${item.lead.email.toLowerCase()}`
      const key = item.idempotency && `${item.target.campaignId} ${item.idempotency.key}`
      if (batch.length >= MAX_BATCH || emails.has(email) || (key && keys.has(key))) {
        rest.push(item)
        continue
      }
      emails.add(email)
      if (key) keys.add(key)
      batch.push(item)
    }
    queue = rest
    return batch
  }

  async function write(batch: Queued[]) {
    try {
      const results = await storeLeads(db, batch)
      if (results.some((result) => result.stored)) onStored()
      for (const [index, item] of batch.entries()) item.resolve(results[index] as Stored)
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code
      if (batch.length === 1 || typeof code !== 'string' || !RETRIED_ALONE.test(code)) {
        for (const item of batch) item.reject(error)
        return
      }
      for (const item of batch) {
        await storeLeads(db, [item]).then(
          ([result]) => {
            if (result?.stored) onStored()
            item.resolve(result as Stored)
          },
          (alone: unknown) => item.reject(alone),
        )
      }
    }
  }

  async function drain() {
    writing = true
    try {
      while (queue.length > 0) await write(take())
    } finally {
      writing = false
    }
  }

  return (submission: Submission) =>
    new Promise<Stored>((resolve, reject) => {
      queue.push({ ...submission, resolve, reject })
      if (!writing) void drain()
    })
}

/** The visitor's browser sends a lead from a campaign's form. */
export const leadIntakeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { perClient, perSite } = visitorLimits(app)
  // The relay turns the committed outbox rows into deliveries. Its wake-up is throttled (about one
  // a second), and a lost one is made up by the relay's cron within a minute.
  const store = leadWriter(app.db, () =>
    app.jobs.wake(OUTBOX_JOB, (error) =>
      app.log.warn({ err: error }, 'lead relay not woken; its cron relays within a minute'),
    ),
  )

  app.post(
    '/public/v1/leads',
    {
      bodyLimit: LEAD_BODY_LIMIT_BYTES,
      config: { rateLimit: perClient },
      schema: {
        tags: ['visitors'],
        operationId: 'submitLead',
        summary:
          'Send a lead from a campaign’s form (stored before the answer; retries with Idempotency-Key)',
        description:
          'Called by the popup script on a customer’s page: the Origin must be the campaign’s site. The fields are ' +
          'checked against the form of the campaign’s variant. The same email on the same campaign updates its lead. ' +
          'Answered 202 once the lead and its delivery to the team’s integrations are stored. A campaign in test ' +
          '(preview) checks the lead and answers `preview: true` without storing, counting or delivering it; a paused ' +
          'campaign takes leads for 5 minutes after its pause (pages already open), then answers 409 CAMPAIGN_PAUSED.',
        headers: LeadSubmissionHeaders,
        body: LeadSubmissionBody,
        response: {
          202: LeadAccepted,
          400: ErrorResponse,
          403: ErrorResponse,
          404: ErrorResponse,
          409: ErrorResponse,
          422: ErrorResponse,
          413: ErrorResponse,
          429: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      checkThroughEdge(app.config, request)
      const body = request.body
      const campaignId = body.campaignId.toLowerCase()
      const campaign = await visitorCampaign(app, { campaignId })
      if (!campaign) throw new NotFound('Campaign')
      checkOrigin(request, campaign)
      checkAccepting(campaign)
      // Only what the campaign has shown visitors: a made-up variant would appear in its stats,
      // a made-up consent version would be stored as proof of what the person agreed to.
      const named: FieldProblem[] = []
      if (!publishedVariant(campaign, body.variantId)) {
        named.push({ field: 'body.variantId', message: 'is not a variant the campaign has shown visitors' })
      }
      if (body.consentVersion !== undefined && !publishedConsentVersion(campaign, body.consentVersion)) {
        named.push({
          field: 'body.consentVersion',
          message: 'is not a consent version the campaign’s forms have shown visitors',
        })
      }
      if (named.length > 0) throw invalidInput(named)
      // A page opened before its variant was removed still sends that variant: the person's lead
      // is kept, under the variant they saw, checked against the campaign's first lead form.
      const variant = campaign.variants.find((candidate) => candidate.id === body.variantId) ?? {
        id: body.variantId,
        form: campaign.variants.find((candidate) => candidate.form)?.form ?? null,
      }
      if (!variant.form) throw new VariantHasNoForm(variant.id)
      await perSite(campaign.siteId)

      // Bots get the answer a person gets, whatever else they sent, so they learn nothing from
      // it; nothing is stored.
      const bot =
        (body.hp ?? '') !== '' ? 'honeypot' : body.fillMs < app.config.LEAD_MIN_FILL_MS ? 'too fast' : null
      if (bot) {
        request.log.debug({ campaignId, reason: bot }, 'lead dropped as a bot')
        return reply.code(202).send(ACCEPTED)
      }

      const checked = checkLead(variant.form, body)
      if (checked.problems) throw invalidInput(checked.problems)
      // A campaign in test shows only to its team: its form is tried out, not a lead to keep,
      // count, export or deliver. Checked like any other, answered, and stored nowhere.
      if (isPreview(campaign)) return reply.code(202).send(PREVIEW)

      const key = request.headers['idempotency-key']
      const idempotency = key === undefined ? null : { key, hash: submissionHash({ ...body, campaignId }) }
      const target = {
        teamId: campaign.teamId,
        campaignId,
        variantId: variant.id,
        country: request.edge.country,
      }
      let earlierHash: Buffer | null
      try {
        ;({ earlierHash } = await store({ target, lead: checked.lead, idempotency }))
      } catch (error) {
        if (idempotency && isViolation(error, 'unique', 'lead_submissions_pkey')) {
          // A concurrent request with the same key committed first: answer as it was answered.
          const winner = await app.db
            .selectFrom('lead_submissions')
            .select('request_hash')
            .where('campaign_id', '=', campaignId)
            .where('idempotency_key', '=', idempotency.key)
            .executeTakeFirst()
          earlierHash = winner?.request_hash ?? null
          if (!earlierHash) throw error
        } else if (isViolation(error, 'foreignKey')) {
          // The campaign was deleted a moment ago.
          throw new NotFound('Campaign')
        } else {
          throw error
        }
      }
      if (idempotency && earlierHash && !earlierHash.equals(idempotency.hash))
        throw new IdempotencyKeyReused()
      return reply.code(202).send(ACCEPTED)
    },
  )
}
