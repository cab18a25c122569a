import type { Cache } from '@nudge/cache'
import type { AfterCommit } from '@nudge/db'
import type { Deps } from '../../deps.ts'
import { encodeCursor, MAX_PAGE_SIZE } from '../../pagination.ts'
import { listCampaigns } from './repository.ts'
import { toSummary } from './schemas.ts'

// Lists are not security answers (the permission check before them never comes from here), and
// every change drops the entry on every worker after its commit; the TTL only bounds memory.
const FIRST_PAGE_TTL_SECONDS = 300
const firstPageKey = (teamId: string) => `campaigns:first:${teamId}`

/**
 * The first page of a team's campaigns without filters (what the dashboard opens on), for any
 * page size: the newest MAX_PAGE_SIZE + 1 summaries are cached in response shape and sliced.
 */
export async function firstCampaignPage(deps: Deps, input: { teamId: string; limit: number }) {
  const newest = await deps.cache.wrap(firstPageKey(input.teamId), FIRST_PAGE_TTL_SECONDS, async () =>
    (await listCampaigns(deps.db, input.teamId, { limit: MAX_PAGE_SIZE })).map(toSummary),
  )
  const items = newest.slice(0, input.limit)
  const last = items.at(-1)
  return {
    items,
    nextCursor:
      newest.length > input.limit && last
        ? encodeCursor({ createdAt: new Date(last.createdAt), id: last.id })
        : null,
  }
}

/** After a change to any of a team's campaigns commits: its cached first page, on every worker. */
export function forgetCampaignList(cache: Cache, afterCommit: AfterCommit, teamId: string) {
  afterCommit(() => cache.del(firstPageKey(teamId)))
}
