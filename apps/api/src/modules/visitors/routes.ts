import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { depsOf } from '../../deps.ts'
import { ErrorResponse } from '../../errors.ts'
import { ensureEventPartitions } from './event-partitions.ts'
import { type EventWriter, eventWriter, recordEvents, type Visitor } from './events.ts'
import { leadWriter, submitLead } from './leads.ts'
import { resolveEvents, resolveLead } from './legacy-ids.ts'
import { visitorLimits } from './limits.ts'
import { checkThroughEdge } from './origin.ts'
import {
  EventBatch,
  EventsAccepted,
  LEAD_BODY_LIMIT_BYTES,
  LeadAccepted,
  LeadSubmissionBody,
  LeadSubmissionHeaders,
} from './schemas.ts'

/** Who sent the request, as the edge saw them. */
function visitorOf(request: FastifyRequest): Visitor {
  return { origin: request.headers.origin, clientKey: request.edge.clientKey, country: request.edge.country }
}

/**
 * What visitors' browsers report: impressions, closes, conversions and steps. Stored durably before the
 * 202, by group commit (events.ts); each eventId counts once.
 */
export const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const deps = depsOf(app, 'events')
  const limits = visitorLimits(deps)

  // Raw events are bounded by day partitions: made when the app is ready, and every hour by the
  // worker's maintenance.event-partitions job. A failure is logged and tried again by that job;
  // the partitions run 3 days ahead. Not awaited by onReady (a worker starts serving at once):
  // only the first write waits for the first run.
  const partitions = async () => {
    try {
      const { created, dropped } = await ensureEventPartitions(deps)
      if (created.length || dropped.length) app.log.info({ created, dropped }, 'event partitions')
    } catch (error) {
      app.log.warn({ err: error }, 'event partitions not maintained; retried within the hour')
    }
  }
  let partitionsMade = Promise.resolve()
  const writer = eventWriter(deps, () => partitionsMade)
  writers.set(app.server, writer)
  app.addHook('onReady', async () => {
    partitionsMade = partitions()
  })
  // On shutdown, the events still waiting are written and answered before the pool closes.
  app.addHook('onClose', async () => {
    await partitionsMade
    await writer.close()
  })

  app.post(
    '/public/v1/events',
    {
      // 50 events of ~200 bytes, with room to spare.
      bodyLimit: 32 * 1024,
      config: { rateLimit: limits.perClient },
      schema: {
        tags: ['visitors'],
        operationId: 'sendVisitorEvents',
        summary: 'Report what visitors saw and did; answered once the events are durably stored',
        description:
          'Each eventId counts once (its UUIDv7 time is the day it counts on); an impression counts once per ' +
          'campaign and page view (pageViewId), and one client address adds a limited number of impressions ' +
          'to a site per hour (beyond: `ignored`). A step event (`type: "step"`, with `step`) counts towards the ' +
          'variant’s step reach in the campaign’s stats. Campaigns in test are preview traffic: taken, never counted. ' +
          'A paused campaign takes events for 5 minutes after its pause, then 409 CAMPAIGN_PAUSED. In production ' +
          'only requests through the edge are taken (403 NOT_THROUGH_EDGE).',
        body: EventBatch,
        response: {
          202: EventsAccepted,
          400: ErrorResponse,
          403: ErrorResponse,
          404: ErrorResponse,
          409: ErrorResponse,
          413: ErrorResponse,
          429: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      checkThroughEdge(app.config, request)
      const visitor = visitorOf(request)
      const events = await resolveEvents(deps, request.body.events)
      return reply.code(202).send(await recordEvents(deps, { writer, limits, events, visitor }))
    },
  )
}

// The routes are encapsulated, so the writer is found through the app's server, which every
// context of one app shares.
const writers = new WeakMap<object, EventWriter>()

/** The event writer of an app: for tests (its `flushes`), not on the HTTP API. */
export function eventWriterOf(app: FastifyInstance): EventWriter | undefined {
  return writers.get(app.server)
}

const ACCEPTED = { status: 'accepted' as const }
const PREVIEW = { status: 'accepted' as const, preview: true as const }

/** The visitor's browser sends a lead from a campaign's form. */
export const leadIntakeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const deps = depsOf(app, 'leads')
  const limits = visitorLimits(deps)
  const writer = leadWriter(deps)
  // On shutdown, the leads still waiting are written and answered before the pool closes.
  app.addHook('onClose', async () => {
    await writer.close()
  })

  app.post(
    '/public/v1/leads',
    {
      bodyLimit: LEAD_BODY_LIMIT_BYTES,
      // A lead can trigger deliveries (emails, webhooks): counted exactly across workers.
      config: { rateLimit: limits.perClient, limitCounting: 'exact' },
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
      const body = await resolveLead(deps, request.body)
      const { bot, preview } = await submitLead(deps, {
        writer,
        limits,
        body,
        idempotencyKey: request.headers['idempotency-key'],
        visitor: visitorOf(request),
      })
      if (bot) {
        request.log.debug({ campaignId: body.campaignId.toLowerCase(), reason: bot }, 'lead dropped as a bot')
      }
      return reply.code(202).send(preview ? PREVIEW : ACCEPTED)
    },
  )
}
