import { isCausedByRows, isViolation } from '@nudge/db'
import type { Static } from 'typebox'
import type { Deps } from '../../deps.ts'
import {
  type FieldProblem,
  IdempotencyKeyReused,
  invalidInput,
  NotFound,
  OriginNotAllowed,
  VariantHasNoForm,
} from '../../errors.ts'
import { GroupCommit, type ItemOutcome } from '../../group-commit.ts'
import { OUTBOX_JOB } from '../integrations/outbox-relay.ts'
import type { Visitor } from './events.ts'
import { checkLead, submissionHash } from './lead-form.ts'
import { type LeadToStore, leadSubmissionHash, type StoredLead, storeLeads } from './lead-repository.ts'
import type { VisitorLimits } from './limits.ts'
import { originMatches } from './origin.ts'
import {
  checkAccepting,
  isPreview,
  publishedConsentVersion,
  publishedVariant,
  visitorCampaign,
} from './published.ts'
import type { LeadSubmissionBody } from './schemas.ts'

/** Each request hands over its lead and is answered once it is committed. */
export type LeadWriter = GroupCommit<LeadToStore, StoredLead>

/** Most leads one statement stores. */
const MAX_BATCH = 200

/**
 * The app's group-commit writer of leads. Every new lead adds to its campaign's daily count, one
 * row that each writer locks until it commits: one transaction per lead would commit them one
 * after another, each waiting for the previous one's disk flush. Instead, the leads that arrive
 * while a write is in flight are written together by the next one (no window: no waiting when it
 * is quiet, one commit for many under load). Each request is still answered only after its own
 * lead is committed. A group holds at most one submission per lead and per key (the rest wait a
 * turn): one statement cannot upsert one row twice.
 */
export function leadWriter(deps: Deps): LeadWriter {
  // The relay turns the committed outbox rows into deliveries. Its wake-up is throttled (about one
  // a second), and a lost one is made up by the relay's cron within a minute.
  const wakeRelay = () =>
    deps.jobs.wake(OUTBOX_JOB, (error) =>
      deps.log.warn({ err: error }, 'lead relay not woken; its cron relays within a minute'),
    )
  return new GroupCommit({
    maxSize: MAX_BATCH,
    keysOf: (item) => [
      `lead ${item.target.campaignId} ${item.lead.email.toLowerCase()}`,
      item.idempotency && `key ${item.target.campaignId} ${item.idempotency.key}`,
    ],
    write: async (group) => {
      try {
        const results = await storeLeads(deps.db, group)
        if (results.some((result) => result.stored)) wakeRelay()
        return results.map((result) => ({ ok: true, result }))
      } catch (error) {
        // A statement of many leads that fails because of one of them (a key a concurrent request
        // is using, a campaign deleted a moment ago, a value the database refuses) or of a
        // deadlock with another writer is retried lead by lead, so each gets its own answer.
        // Anything else (the database unreachable, a timeout) fails every lead of the statement.
        if (group.length === 1 || !isCausedByRows(error)) throw error
        const outcomes: ItemOutcome<StoredLead>[] = []
        for (const item of group) {
          try {
            const [result] = await storeLeads(deps.db, [item])
            if (result?.stored) wakeRelay()
            outcomes.push({ ok: true, result: result as StoredLead })
          } catch (alone) {
            outcomes.push({ ok: false, error: alone })
          }
        }
        return outcomes
      }
    },
    // Handed over after shutdown began: a 503 (SERVICE_UNAVAILABLE), which the visitor's script
    // sends again, to another worker.
    closed: () =>
      Object.assign(new Error('lead not stored: the lead writer is closed (shutting down)'), {
        statusCode: 503,
      }),
  })
}

/**
 * The visitor's browser sends a lead from a campaign's form: checked against the campaign (its
 * site, status, published variants and consent versions) and the variant's form, then stored with
 * its delivery (by `writer`, a group commit) before the answer. Returns `bot` (and stores nothing)
 * for a submission a bot made, `preview` for a campaign in test (checked, stored nowhere).
 */
export async function submitLead(
  deps: Deps,
  input: {
    writer: LeadWriter
    limits: VisitorLimits
    body: Static<typeof LeadSubmissionBody>
    idempotencyKey: string | undefined
    visitor: Visitor
  },
): Promise<{ bot: 'honeypot' | 'too fast' | null; preview: boolean }> {
  const { writer, body, visitor } = input
  const campaignId = body.campaignId.toLowerCase()
  const campaign = await visitorCampaign(deps, { campaignId })
  if (!campaign) throw new NotFound('Campaign')
  if (!originMatches(visitor.origin, campaign)) throw new OriginNotAllowed()
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
  await input.limits.perSite(campaign.siteId)

  // Bots get the answer a person gets, whatever else they sent, so they learn nothing from
  // it; nothing is stored.
  const bot =
    (body.hp ?? '') !== '' ? 'honeypot' : body.fillMs < deps.config.LEAD_MIN_FILL_MS ? 'too fast' : null
  if (bot) return { bot, preview: false }

  const checked = checkLead(variant.form, body)
  if (checked.problems) throw invalidInput(checked.problems)
  // A campaign in test shows only to its team: its form is tried out, not a lead to keep,
  // count, export or deliver. Checked like any other, answered, and stored nowhere.
  if (isPreview(campaign)) return { bot: null, preview: true }

  const key = input.idempotencyKey
  const idempotency = key === undefined ? null : { key, hash: submissionHash({ ...body, campaignId }) }
  const target = { teamId: campaign.teamId, campaignId, variantId: variant.id, country: visitor.country }
  let earlierHash: Buffer | null
  try {
    ;({ earlierHash } = await writer.write({ target, lead: checked.lead, idempotency }))
  } catch (error) {
    if (idempotency && isViolation(error, 'unique', 'lead_submissions_pkey')) {
      // A concurrent request with the same key committed first: answer as it was answered.
      earlierHash = await leadSubmissionHash(deps.db, campaignId, idempotency.key)
      if (!earlierHash) throw error
    } else if (isViolation(error, 'foreignKey')) {
      // The campaign was deleted a moment ago.
      throw new NotFound('Campaign')
    } else {
      throw error
    }
  }
  if (idempotency && earlierHash && !earlierHash.equals(idempotency.hash)) throw new IdempotencyKeyReused()
  return { bot: null, preview: false }
}
