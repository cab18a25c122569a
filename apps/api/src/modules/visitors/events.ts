import { httpErrorFromDatabase, isRetryableConflict } from '@nudge/db'
import type { Static } from 'typebox'
import type { Deps } from '../../deps.ts'
import { EventsNotStored, type FieldProblem, invalidInput, NotFound, OriginNotAllowed } from '../../errors.ts'
import { GroupCommit } from '../../group-commit.ts'
import { impressionKey, utcDay, uuidv7Time } from './event-ids.ts'
import { type StoredEvent, storeEvents } from './event-repository.ts'
import type { VisitorLimits } from './limits.ts'
import { originMatches } from './origin.ts'
import {
  checkAccepting,
  isPreview,
  publishedVariant,
  type VisitorCampaign,
  variantHasStep,
  visitorCampaign,
} from './published.ts'
import type { VisitorEvent } from './schemas.ts'

const PAST_MS = 7 * 86_400_000
const FUTURE_MS = 5 * 60_000

/** What one request's events came to: newly counted, or already counted before. */
export interface Outcome {
  accepted: number
  duplicates: number
}

/** Each request hands over its events and is answered once they are committed. */
export type EventWriter = GroupCommit<StoredEvent[], Outcome>

/** A statement that deadlocked with another worker's is run again this many times. */
const RETRIES = 1
/** Most events one statement stores (a request's batch larger than that still goes alone). */
const MAX_EVENTS_PER_WRITE = 1000

/**
 * The app's group-commit writer of events: the events that arrive within EVENTS_GROUP_COMMIT_MS
 * of the first are stored by ONE statement (event-repository.ts), and every waiting request is
 * answered after its commit, or all of them fail with the same 503. `partitionsMade` is the
 * partitions' run at start, which the first write waits for.
 */
export function eventWriter(deps: Deps, partitionsMade: () => Promise<void>): EventWriter {
  return new GroupCommit({
    windowMs: deps.config.EVENTS_GROUP_COMMIT_MS,
    maxSize: MAX_EVENTS_PER_WRITE,
    sizeOf: (events) => events.length,
    write: async (group) => {
      try {
        await partitionsMade()
        return (await countGroup(deps, group)).map((result) => ({ ok: true, result }))
      } catch (error) {
        deps.log.error({ err: error, requests: group.length }, 'events not stored')
        throw error
      }
    },
    groupFailed: notStored,
    closed: () => notStored(undefined),
  })
}

/** Stores the group's events, each eventId once; what each request's events came to. */
async function countGroup(deps: Deps, group: StoredEvent[][]): Promise<Outcome[]> {
  // The first request to carry an event owns it; later ones (a resend in the same group, or a
  // repeat within one batch) are duplicates without asking the database.
  const outcomes = group.map(() => ({ accepted: 0, duplicates: 0 }))
  const owners = new Map<string, { event: StoredEvent; outcome: Outcome }>()
  for (const [index, events] of group.entries()) {
    const outcome = outcomes[index] as Outcome
    for (const given of events) {
      // PostgreSQL reads uuids case-blind: so must the keys, or one row would join twice.
      const event = { ...given, eventId: given.eventId.toLowerCase() }
      if (owners.has(event.eventId)) outcome.duplicates++
      else owners.set(event.eventId, { event, outcome })
    }
  }
  // Rows in (day, eventId) order, the primary key's: writes of other workers then take their
  // locks in the same order.
  const unique = [...owners.values()]
    .map((owner) => owner.event)
    .sort((a, b) => (a.day !== b.day ? (a.day < b.day ? -1 : 1) : a.eventId < b.eventId ? -1 : 1))
  const siteIds = [...new Set(unique.map((event) => event.siteId))].sort()
  let duplicates: Set<string>
  for (let attempt = 0; ; attempt++) {
    try {
      duplicates = await storeEvents(deps.db, unique, siteIds)
      break
    } catch (error) {
      // Another worker's write took the same rows in another order: the statement did nothing.
      if (attempt >= RETRIES || !isRetryableConflict(error)) throw error
    }
  }
  for (const [eventId, owner] of owners) {
    if (duplicates.has(eventId)) owner.outcome.duplicates++
    else owner.outcome.accepted++
  }
  return outcomes
}

function notStored(error: unknown): Error {
  const database = httpErrorFromDatabase(error)
  // The database's own 503s keep their code (DATABASE_UNAVAILABLE, DATABASE_TIMEOUT); anything
  // else (a day without a partition, say) is still ours to retry: never a 500 or a 4xx.
  const answer = new EventsNotStored(
    database?.statusCode === 503
      ? `${database.message}; the events were not stored, send them again`
      : 'The events could not be stored; send them again',
  )
  if (database?.statusCode === 503) answer.code = database.code
  return answer
}

/** Who sent a report, as the edge saw them. */
export interface Visitor {
  /** The page's `Origin` header. */
  origin: string | undefined
  /** The client address's key, for what one address may add. */
  clientKey: string
  /** ISO country from the edge, null when unknown. */
  country: string | null
}

/**
 * What visitors' browsers report: impressions, closes, conversions and steps, checked against the
 * campaigns they name and stored durably (by `writer`, a group commit) before the answer; each
 * eventId counts once. Returns what the events came to.
 */
export async function recordEvents(
  deps: Deps,
  input: {
    writer: EventWriter
    limits: VisitorLimits
    events: Static<typeof VisitorEvent>[]
    visitor: Visitor
  },
): Promise<Outcome & { ignored: number }> {
  const { writer, limits, events, visitor } = input
  const ids = [...new Set(events.map((event) => event.campaignId.toLowerCase()))]
  const found = await Promise.all(ids.map((id) => visitorCampaign(deps, { campaignId: id })))
  const campaigns = new Map<string, VisitorCampaign>()
  for (const [index, campaign] of found.entries()) {
    if (!campaign) throw new NotFound(`Campaign ${ids[index]}`)
    campaigns.set(campaign.id, campaign)
  }
  // Every campaign must belong to the site the page is on, before anything else is said of it.
  for (const campaign of campaigns.values()) {
    if (!originMatches(visitor.origin, campaign)) throw new OriginNotAllowed()
  }
  const now = Date.now()
  for (const campaign of campaigns.values()) checkAccepting(campaign, now)

  const country = visitor.country ?? ''
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
    // The schema bounds `step`; which types carry it is said here, naming the field.
    if (event.type === 'step' && event.step === undefined) {
      problems.push({ field: `body.events.${index}.step`, message: 'is required for a step event' })
    } else if (event.type !== 'step' && event.step !== undefined) {
      problems.push({ field: `body.events.${index}.step`, message: 'is only for step events' })
    }
    if (problems.length > 0) continue
    if (isPreview(campaign)) {
      ignored++
      continue
    }
    // A page opened before the variant lost a step may still report it: refusing it would refuse
    // the batch's other events with it, and counting it would show reach of a step that is gone.
    if (event.type === 'step' && !variantHasStep(campaign, event.variantId, event.step as number)) {
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
      step: event.type === 'step' ? (event.step as number) : null,
      country,
      siteId: campaign.siteId,
    })
  }
  if (problems.length > 0) throw invalidInput(problems.slice(0, 20))

  for (const siteId of new Set(counted.map((event) => event.siteId))) await limits.perSite(siteId)
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
    const fit = await limits.impressions(`${visitor.clientKey}:${siteId}`, keys.size)
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
  if (stored.length === 0) return { accepted: 0, duplicates: 0, ignored }
  return { ...(await writer.write(stored)), ignored }
}
