import type { Cache } from '@nudge/cache'
import type { AfterCommit } from '@nudge/db'
import type { Deps } from '../../deps.ts'
import { encodeCursor, MAX_PAGE_SIZE } from '../../pagination.ts'
import { listCampaigns } from './repository.ts'
import { type CampaignSummaryView, toSummary } from './schemas.ts'

// Lists are not security answers (the permission check before them never comes from here), and
// every change drops the entry on every worker after its commit; the TTL only bounds memory.
const FIRST_PAGE_TTL_SECONDS = 300
const firstPageKey = (teamId: string) => `campaigns:first:${teamId}`

/**
 * The newest MAX_PAGE_SIZE + 1 summaries of a team's campaigns, in response shape: every first
 * page without filters (what the dashboard opens on) is cut from them, whatever its size. The
 * worker's cache hands out the same array until a change drops it, so what is derived from it
 * (a page, its bytes) may be kept by the array.
 */
export async function newestCampaigns(deps: Deps, input: { teamId: string }): Promise<CampaignSummaryView[]> {
  return deps.cache.wrap(firstPageKey(input.teamId), FIRST_PAGE_TTL_SECONDS, async () =>
    (await listCampaigns(deps.db, input.teamId, { limit: MAX_PAGE_SIZE })).map(toSummary),
  )
}

/** The first page of `limit` summaries cut from `newestCampaigns`. */
export function firstPageOf(newest: CampaignSummaryView[], limit: number) {
  const items = newest.slice(0, limit)
  const last = items.at(-1)
  return {
    items,
    nextCursor:
      newest.length > limit && last
        ? encodeCursor({ createdAt: new Date(last.createdAt), id: last.id })
        : null,
  }
}

/** After a change to any of a team's campaigns commits: its cached first page, on every worker. */
export function forgetCampaignList(cache: Cache, afterCommit: AfterCommit, teamId: string) {
  afterCommit(() => cache.del(firstPageKey(teamId)))
}
