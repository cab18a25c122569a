import { type CampaignStatus, type CampaignType, type DB, newId } from '@nudge/db'
import { type Kysely, sql } from 'kysely'
import { type PageRequest, page } from '../../pagination.ts'

/** Content columns as the service holds them; written as JSON. */
export interface CampaignContent {
  name: string
  type: CampaignType
  variants: unknown[]
  targeting: Record<string, unknown>
  frequency: Record<string, unknown>
  schedule: Record<string, unknown> | null
}

function contentColumns(content: CampaignContent) {
  return {
    name: content.name,
    type: content.type,
    variants: JSON.stringify(content.variants),
    targeting: JSON.stringify(content.targeting),
    frequency: JSON.stringify(content.frequency),
    schedule: content.schedule === null ? null : JSON.stringify(content.schedule),
  }
}

export async function insertCampaign(
  db: Kysely<DB>,
  input: CampaignContent & { teamId: string; siteId: string | null; createdBy: string | null },
) {
  return db
    .insertInto('campaigns')
    .values({
      id: newId(),
      team_id: input.teamId,
      site_id: input.siteId,
      created_by: input.createdBy,
      ...contentColumns(input),
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function findCampaign(db: Kysely<DB>, teamId: string, campaignId: string) {
  return db
    .selectFrom('campaigns')
    .selectAll()
    .where('team_id', '=', teamId)
    .where('id', '=', campaignId)
    .executeTakeFirst()
}

/** The campaign's row, locked for the rest of the transaction. */
export async function lockCampaignRow(db: Kysely<DB>, teamId: string, campaignId: string) {
  return db
    .selectFrom('campaigns')
    .selectAll()
    .where('team_id', '=', teamId)
    .where('id', '=', campaignId)
    .forUpdate()
    .executeTakeFirst()
}

/** Writes a new version of the campaign (content, site or status). */
export async function updateCampaign(
  db: Kysely<DB>,
  campaignId: string,
  change: { content?: CampaignContent; siteId?: string | null; status?: CampaignStatus; version: number },
) {
  return db
    .updateTable('campaigns')
    .set({
      ...(change.content ? contentColumns(change.content) : {}),
      ...(change.siteId !== undefined ? { site_id: change.siteId } : {}),
      // Any status change by the team ends a pause its plan made (see billing/quotas.ts).
      // status_changed_at: a paused campaign takes visitors' leads a few minutes more (visitors/published.ts).
      ...(change.status
        ? { status: change.status, paused_by_plan_at: null, status_changed_at: new Date() }
        : {}),
      version: change.version,
      updated_at: new Date(),
    })
    .where('id', '=', campaignId)
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function deleteCampaign(db: Kysely<DB>, campaignId: string) {
  await db.deleteFrom('campaigns').where('id', '=', campaignId).execute()
}

export interface CampaignFilter extends PageRequest {
  siteId?: string | undefined
  status?: CampaignStatus | undefined
  search?: string | undefined
}

/** A page of a team's campaigns, newest first, without their content (lists show summaries). */
export async function listCampaigns(db: Kysely<DB>, teamId: string, filter: CampaignFilter) {
  let select = db
    .selectFrom('campaigns')
    .select([
      'id',
      'site_id',
      'name',
      'type',
      'status',
      'version',
      'published_version',
      'published_at',
      'created_at',
      'updated_at',
      sql<number>`jsonb_array_length(variants)`.as('variant_count'),
    ])
    .where('team_id', '=', teamId)
  if (filter.siteId) select = select.where('site_id', '=', filter.siteId)
  if (filter.status) select = select.where('status', '=', filter.status)
  if (filter.search) {
    const pattern = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
    select = select.where('name', 'ilike', pattern)
  }
  return page(select, filter).execute()
}

export type CampaignSummaryRow = Awaited<ReturnType<typeof listCampaigns>>[number]

export async function siteOfTeam(db: Kysely<DB>, teamId: string, siteId: string) {
  return db
    .selectFrom('sites')
    .select(['id', 'hostname'])
    .where('team_id', '=', teamId)
    .where('id', '=', siteId)
    .executeTakeFirst()
}

/**
 * Campaigns of a site lose it: published or paused ones go back to draft, each gets a new
 * version. Returns them (locked) as they were before, with their status then.
 */
export async function detachCampaignsFromSite(db: Kysely<DB>, siteId: string) {
  const before = await db
    .selectFrom('campaigns')
    .select(['id', 'status'])
    .where('site_id', '=', siteId)
    .forUpdate()
    .execute()
  if (before.length === 0) return before
  await db
    .updateTable('campaigns')
    .set((eb) => ({
      site_id: null,
      status: eb
        .case()
        .when('status', 'in', ['test', 'live', 'paused'])
        .then('draft' as const)
        .else(eb.ref('status'))
        .end(),
      version: eb('version', '+', 1),
      updated_at: new Date(),
    }))
    .where('site_id', '=', siteId)
    .execute()
  return before
}
