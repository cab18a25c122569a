import { type History, type HistoryStore, randomVisitorId } from '@nudge/popup'
import { type KeyValue, readJson } from './storage.ts'

/*
 * What the script keeps in the visitor's localStorage (no cookie, nothing personal):
 *   nudge:vid        a random id (UUIDv4): the sticky variant is a hash of it
 *   nudge:first      when this browser first ran the script (ms since the epoch)
 *   nudge:h:{id}     a campaign's frequency history: times shown, last shown, closed, converted
 *   nudge:pending    events that could not be sent yet (re-sent with the same ids)
 *   nudge:debug      '1' turns the debug log on
 */

export const VISITOR_KEY = 'nudge:vid'
export const FIRST_SEEN_KEY = 'nudge:first'
const HISTORY_PREFIX = 'nudge:h:'

export interface VisitorState {
  id: string
  /**
   * Returning: this browser first ran the script on an earlier calendar day (the visitor's own
   * day). Several pages the same day are one visit; without storage every page view is new.
   */
  returning: boolean
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function visitorState(store: KeyValue, now: number): VisitorState {
  let id = store.get(VISITOR_KEY)
  if (!id || !UUID.test(id)) {
    id = randomVisitorId()
    store.set(VISITOR_KEY, id)
  }
  const first = Number(store.get(FIRST_SEEN_KEY))
  if (!Number.isFinite(first) || first <= 0 || first > now) {
    store.set(FIRST_SEEN_KEY, String(now))
    return { id, returning: false }
  }
  return { id, returning: new Date(first).toDateString() !== new Date(now).toDateString() }
}

export function historyStore(store: KeyValue): HistoryStore {
  return {
    get(campaignId) {
      const history = readJson<History>(store, HISTORY_PREFIX + campaignId)
      return history && typeof history.timesShown === 'number' ? history : undefined
    },
    set(campaignId, history) {
      store.set(HISTORY_PREFIX + campaignId, JSON.stringify(history))
    },
  }
}
