import type { Cache } from '@nudge/cache'
import type { AfterCommit, CampaignStatus, CampaignType, DB } from '@nudge/db'
import type { Kysely } from 'kysely'
import { encodeCursor, MAX_PAGE_SIZE } from '../../pagination.ts'
import { listCampaigns } from './repository.ts'

export interface CampaignSummaryView {
  id: string
  siteId: string | null
  name: string
  type: CampaignType
  status: CampaignStatus
  variantCount: number
  version: number
  publishedVersion: number | null
  publishedAt: string | null
  createdAt: string
  updatedAt: string
}

// Lists are not security answers (the permission check before them never comes from here), and
// every change drops the entry on every worker after its commit; the TTL only bounds memory.
const FIRST_PAGE_TTL_SECONDS = 300
const firstPageKey = (teamId: string) => `campaigns:first:${teamId}`

export function toSummary(row: Awaited<ReturnType<typeof listCampaigns>>[number]): CampaignSummaryView {
  return {
    id: row.id,
    siteId: row.site_id,
    name: row.name,
    type: row.type,
    status: row.status,
    variantCount: row.variant_count,
    version: row.version,
    publishedVersion: row.published_version,
    publishedAt: row.published_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  }
}

/**
 * The first page of a team's campaigns without filters (what the dashboard opens on), for any
 * page size: the newest MAX_PAGE_SIZE + 1 summaries are cached in response shape and sliced.
 */
export async function firstCampaignPage(
  deps: { db: Kysely<DB>; cache: Cache },
  teamId: string,
  limit: number,
) {
  const newest = await deps.cache.wrap(firstPageKey(teamId), FIRST_PAGE_TTL_SECONDS, async () =>
    (await listCampaigns(deps.db, teamId, { limit: MAX_PAGE_SIZE })).map(toSummary),
  )
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
