import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { ErrorResponse, type FieldProblem, invalidInput, NotFound } from '../../errors.ts'
import { Input } from '../../schemas.ts'
import { impressionKey, utcDay, uuidv7Time } from './event-ids.ts'
import { ensureEventPartitions } from './event-partitions.ts'
import { EventWriter, type StoredEvent } from './event-writer.ts'
import { visitorLimits } from './limits.ts'
import { checkOrigin, checkThroughEdge } from './origin.ts'
import {
  checkAccepting,
  isPreview,
  publishedVariant,
  type VisitorCampaign,
  visitorCampaign,
} from './published.ts'

const MAX_EVENTS = 50
const PAST_MS = 7 * 86_400_000
const FUTURE_MS = 5 * 60_000

// A strict UUID: AJV's `uuid` format also takes "urn:uuid:…", which PostgreSQL refuses; one such
// id in a group-committed write would fail every request sharing it.
const Uuid = Type.String({
  format: 'uuid',
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
})

export const VisitorEvent = Input({
  eventId: Type.String({
    ...Uuid,
    description:
      'a UUIDv7 made by the visitor’s browser when the event happened: its time (within the last 7 days, at most 5 minutes ahead) is the day it counts on; the same event sent again counts once',
  }),
  pageViewId: Type.String({
    ...Uuid,
    description:
      'a UUIDv7 made once per page load (within the last 7 days): a campaign’s impressions count once per page view',
  }),
  campaignId: Uuid,
  variantId: Type.String({
    pattern: '^[a-z0-9][a-z0-9-]{0,19}$',
    description: 'the variant the visitor was shown: one the campaign has published, current or retired',
  }),
  type: Type.Union([Type.Literal('impression'), Type.Literal('close'), Type.Literal('conversion')]),
  at: Type.Optional(
    Type.String({
      format: 'date-time',
      description:
        'when it happened, in the visitor’s clock: not used (the eventId’s time is), taken for older scripts',
    }),
  ),
})

export const EventBatch = Input(
  { events: Type.Array(VisitorEvent, { minItems: 1, maxItems: MAX_EVENTS }) },
  {
    description: `Up to ${MAX_EVENTS} events, all for campaigns of the site the request comes from (its Origin)`,
    examples: [
      {
        events: [
          {
            eventId: '0192f1de-7a4b-7c3d-9e2f-1a2b3c4d5e6f',
            pageViewId: '0192f1de-7a40-7000-8000-1a2b3c4d5e6f',
            campaignId: '0192f1d0-0000-7000-8000-000000000001',
            variantId: 'a',
            type: 'impression',
          },
        ],
      },
    ],
  },
)

export const EventsAccepted = Type.Object({
  accepted: Type.Integer({ description: 'events counted now' }),
  duplicates: Type.Integer({
    description:
      'events already counted (sent before, or an impression of a campaign already counted in this page view): not counted again',
  }),
  ignored: Type.Integer({
    description:
      'events taken but not counted: preview traffic (campaigns in test), and impressions beyond what one address may add to a site in an hour',
  }),
})

/**
 * What visitors' browsers report: impressions, closes and conversions. Stored durably before the
 * 202, by group commit (event-writer.ts); each eventId counts once.
 */
export const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { perClient, perSite } = visitorLimits(app)
  const impressionAllowance = app.allowance('visitor-impressions', {
    max: app.config.VISITOR_IMPRESSIONS_PER_CLIENT_PER_HOUR,
    windowSeconds: 3600,
  })
  const writer = new EventWriter(app.db, {
    windowMs: app.config.EVENTS_GROUP_COMMIT_MS,
    log: app.log.child({ module: 'events' }),
  })
  writers.set(app.server, writer)

  // Raw events are bounded by day partitions: made when the app is ready, and every hour by the
  // worker's maintenance.event-partitions job. A failure is logged and tried again by that job;
  // the partitions run 3 days ahead. Not awaited
  // by onReady (a worker starts serving at once): only the first write waits for the first run.
  const partitions = async () => {
    try {
      const { created, dropped } = await ensureEventPartitions(app.db)
      if (created.length || dropped.length) app.log.info({ created, dropped }, 'event partitions')
    } catch (error) {
      app.log.warn({ err: error }, 'event partitions not maintained; retried within the hour')
    }
  }
  let partitionsMade = Promise.resolve()
  app.addHook('onReady', async () => {
    partitionsMade = partitions()
  })
  app.addHook('onClose', async () => {
    await partitionsMade
    await writer.close()
  })

  app.post(
    '/public/v1/events',
    {
      // 50 events of ~200 bytes, with room to spare.
      bodyLimit: 32 * 1024,
      config: { rateLimit: perClient },
      schema: {
        tags: ['visitors'],
        operationId: 'sendVisitorEvents',
        summary: 'Report what visitors saw and did; answered once the events are durably stored',
        description:
          'Each eventId counts once (its UUIDv7 time is the day it counts on); an impression counts once per ' +
          'campaign and page view (pageViewId), and one client address adds a limited number of impressions ' +
          'to a site per hour (beyond: `ignored`). Campaigns in test are preview traffic: taken, never counted. ' +
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
      const { events } = request.body
      const ids = [...new Set(events.map((event) => event.campaignId.toLowerCase()))]
      const found = await Promise.all(ids.map((id) => visitorCampaign(app, { campaignId: id })))
      const campaigns = new Map<string, VisitorCampaign>()
      for (const [index, campaign] of found.entries()) {
        if (!campaign) throw new NotFound(`Campaign ${ids[index]}`)
        campaigns.set(campaign.id, campaign)
      }
      // Every campaign must belong to the site the page is on, before anything else is said of it.
      for (const campaign of campaigns.values()) checkOrigin(request, campaign)
      const now = Date.now()
      for (const campaign of campaigns.values()) checkAccepting(campaign, now)

      const country = request.edge.country ?? ''
      const problems: FieldProblem[] = []
      const recent = (ms: number | null): ms is number =>
        ms !== null && ms >= now - PAST_MS && ms <= now + FUTURE_MS
      const counted: StoredEvent[] = []
      let ignored = 0
      for (const [index, event] of events.entries()) {
        const campaign = campaigns.get(event.campaignId.toLowerCase()) as VisitorCampaign
        // Current or retired (a page opened before an edit), but published: a variant visitors
        // never saw would appear in the campaign's stats.
        if (!publishedVariant(campaign, event.variantId)) {
          problems.push({
            field: `body.events.${index}.variantId`,
            message: 'is not a variant the campaign has shown visitors',
          })
        }
        // The day an event is stored and counted under comes from its id, so one primary key
        // (day, id) settles every resend and every race, on any worker.
        const eventTime = uuidv7Time(event.eventId)
        if (!recent(eventTime)) {
          problems.push({
            field: `body.events.${index}.eventId`,
            message: 'must be a UUIDv7 made within the last 7 days and at most 5 minutes ahead',
          })
        }
        const viewTime = uuidv7Time(event.pageViewId)
        if (!recent(viewTime)) {
          problems.push({
            field: `body.events.${index}.pageViewId`,
            message: 'must be a UUIDv7 made within the last 7 days and at most 5 minutes ahead',
          })
        }
        if (problems.length > 0) continue
        if (isPreview(campaign)) {
          ignored++
          continue
        }
        const impression = event.type === 'impression'
        counted.push({
          day: utcDay(impression ? (viewTime as number) : (eventTime as number)),
          eventId: impression ? impressionKey(campaign.id, event.pageViewId) : event.eventId.toLowerCase(),
          campaignId: campaign.id,
          variantId: event.variantId,
          type: event.type,
          country,
          siteId: campaign.siteId,
        })
      }
      if (problems.length > 0) throw invalidInput(problems.slice(0, 20))

      for (const siteId of new Set(counted.map((event) => event.siteId))) await perSite(siteId)
      // Fresh page view ids cost nothing to make: what one address adds to a site's impressions is
      // bounded, past which its impressions are taken and not counted (a visitor's popup still works).
      // One count per site for the whole batch; repeats of one impression in a batch spend nothing
      // more. Within a site the first impressions are the ones that fit.
      const impressionsBySite = new Map<string, Set<string>>()
      for (const event of counted) {
        if (event.type !== 'impression') continue
        const keys = impressionsBySite.get(event.siteId) ?? new Set<string>()
        impressionsBySite.set(event.siteId, keys.add(event.eventId))
      }
      const allowed = new Set<string>()
      for (const [siteId, keys] of impressionsBySite) {
        const fit = await impressionAllowance(`${request.edge.clientKey}:${siteId}`, keys.size)
        for (const key of [...keys].slice(0, fit)) allowed.add(key)
      }
      const stored: StoredEvent[] = []
      for (const event of counted) {
        if (event.type === 'impression' && !allowed.has(event.eventId)) {
          ignored++
          continue
        }
        stored.push(event)
      }
      if (stored.length === 0) return reply.code(202).send({ accepted: 0, duplicates: 0, ignored })
      await partitionsMade
      return reply.code(202).send({ ...(await writer.write(stored)), ignored })
    },
  )
}

// The routes are encapsulated, so the writer is found through the app's server, which every
// context of one app shares.
const writers = new WeakMap<object, EventWriter>()

/** The group-commit writer of an app: for tests (its `flushes`), not on the HTTP API. */
export function eventWriterOf(app: FastifyInstance): EventWriter | undefined {
  return writers.get(app.server)
}
