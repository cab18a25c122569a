import { randomInt } from 'node:crypto'
import type { Cache } from '@nudge/cache'
import type { AfterCommit, Campaign, CampaignStatus, DB } from '@nudge/db'
import type { Kysely } from 'kysely'
import { type Deps, inTransaction, type TxDeps } from '../../deps.ts'
import {
  CampaignConflict,
  type FieldProblem,
  invalidInput,
  NotFound,
  staleVersion,
  statusTransitionNotAllowed,
  VersionRequired,
} from '../../errors.ts'
import { toPage } from '../../pagination.ts'
import { type Actor, recordAudit } from '../audit/repository.ts'
import { checkPlanLimit } from '../billing/plan-limits.ts'
import { lockSiteForPublish } from '../publishing/repository.ts'
import { publishSite } from '../publishing/service.ts'
import { forgetVisitorCampaign } from '../visitors/published.ts'
import {
  DEFAULT_FREQUENCY,
  DEFAULT_TARGETING,
  defaultVariant,
  type FrequencyInput,
  type ScheduleInput,
  type TargetingInput,
  type VariantInput,
} from './content.ts'
import { isPublished, isRetired, TRANSITIONS } from './lifecycle.ts'
import { forgetCampaignList } from './list-cache.ts'
import type { CampaignContent, CampaignFilter } from './repository.ts'
import * as campaigns from './repository.ts'
import { campaignProblems, urlRuleHostProblems, withNormalisedUrls } from './rules.ts'
import { toSummary } from './schemas.ts'

export interface CampaignInput {
  name: string
  siteId: string
  type: CampaignContent['type']
  variants?: VariantInput[] | undefined
  targeting?: TargetingInput | undefined
  frequency?: FrequencyInput | undefined
  schedule?: ScheduleInput | null | undefined
}

export type CampaignPatch = Partial<CampaignInput>

const VARIANT_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789'

function newVariantId(): string {
  let id = ''
  for (let i = 0; i < 8; i++) id += VARIANT_ID_ALPHABET[randomInt(VARIANT_ID_ALPHABET.length)]
  return id
}

/** Variants keep the ids they carry (stats and leads are counted per variant); new ones get one. */
function withVariantIds(variants: VariantInput[]): Array<VariantInput & { id: string }> {
  return variants.map((variant) => ({ ...variant, id: variant.id ?? newVariantId() }))
}

/**
 * Checks the content to be stored, and the name when one was sent (`name`), and its URL rules
 * against the hostname of its site when it has one. Returns it as it is stored (URLs normalised).
 */
function checkContent(
  content: CampaignContent,
  name: string | undefined,
  hostname?: string,
): CampaignContent {
  const problems: FieldProblem[] = campaignProblems({
    name,
    variants: content.variants as VariantInput[],
    targeting: content.targeting as TargetingInput,
    frequency: content.frequency as FrequencyInput,
    schedule: content.schedule as ScheduleInput | null,
  })
  if (hostname !== undefined)
    problems.push(...urlRuleHostProblems(content.targeting as TargetingInput, hostname))
  if (problems.length > 0) throw invalidInput(problems)
  return { ...content, variants: withNormalisedUrls(content.variants as VariantInput[]) }
}

async function requireSite(db: Kysely<DB>, teamId: string, siteId: string) {
  const site = await campaigns.siteOfTeam(db, teamId, siteId)
  if (!site) throw invalidInput([{ field: 'body.siteId', message: 'is not a site of this team' }])
  return site
}

/** `If-Match` against the campaign's version: missing → 428, another version → 412 with the current one. */
export function checkVersion(ifMatch: string | undefined, current: number) {
  if (ifMatch === undefined || ifMatch.trim() === '') throw new VersionRequired()
  const value = ifMatch.trim()
  if (value === '*') return
  const versions = value.split(',').map((tag) =>
    tag
      .trim()
      .replace(/^W\//, '')
      .replace(/^"(.*)"$/, '$1'),
  )
  if (!versions.includes(String(current))) throw staleVersion(value, current)
}

export const etagOf = (campaign: Pick<Campaign, 'version'>) => `"${campaign.version}"`

/**
 * Locks a campaign for a change, and its site first when it has one (the order every publish
 * takes), so a change and a publish of the same site never interleave.
 */
async function lockCampaign(tx: TxDeps, teamId: string, campaignId: string) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const peek = await campaigns.findCampaign(tx.db, teamId, campaignId)
    if (!peek) throw new NotFound('Campaign')
    const site = peek.site_id ? await lockSiteForPublish(tx.db, peek.site_id) : undefined
    const campaign = await campaigns.lockCampaignRow(tx.db, teamId, campaignId)
    if (!campaign) throw new NotFound('Campaign')
    // Moved to another site between the two reads: take that site's lock instead.
    if (campaign.site_id === peek.site_id) return { campaign, site }
  }
  throw new CampaignConflict('The campaign is being moved between sites; try again')
}

async function republishCampaign(
  tx: TxDeps,
  site: { id: string; hostname: string } | undefined,
  campaignId: string,
) {
  if (!site) return
  await publishSite(tx, {
    siteId: site.id,
    hostname: site.hostname,
    campaignIds: [campaignId],
  })
}

/** After a change to campaigns commits: the team's list and visitors' view of each, on every worker. */
export function forgetCampaign(
  cache: Cache,
  afterCommit: AfterCommit,
  teamId: string,
  campaignIds: string[],
) {
  forgetCampaignList(cache, afterCommit, teamId)
  for (const id of campaignIds) forgetVisitorCampaign(cache, afterCommit, id)
}

/** Stores a new draft (created or duplicated) with its audit row. */
async function addCampaign(
  tx: TxDeps,
  input: { teamId: string; actor: Actor },
  content: CampaignContent & { siteId: string | null },
  audit: Record<string, unknown> = {},
): Promise<Campaign> {
  const campaign = await campaigns.insertCampaign(tx.db, {
    ...content,
    teamId: input.teamId,
    createdBy: input.actor.type === 'user' ? input.actor.id : null,
  })
  forgetCampaignList(tx.cache, tx.afterCommit, input.teamId)
  await recordAudit(tx.db, {
    teamId: input.teamId,
    actor: input.actor,
    action: 'campaign.created',
    target: { type: 'campaign', id: campaign.id },
    data: { name: campaign.name, siteId: campaign.site_id, ...audit },
  })
  return campaign
}

export async function createCampaign(
  deps: Deps,
  input: { teamId: string; campaign: CampaignInput; actor: Actor },
): Promise<Campaign> {
  const content: CampaignContent = {
    name: input.campaign.name.trim(),
    type: input.campaign.type,
    variants: withVariantIds(input.campaign.variants ?? [defaultVariant()]),
    targeting: input.campaign.targeting ?? DEFAULT_TARGETING,
    frequency: input.campaign.frequency ?? DEFAULT_FREQUENCY,
    schedule: input.campaign.schedule ?? null,
  }
  // Checked before the site is read, so a body with many problems names them all at once.
  checkContent(content, content.name)
  return inTransaction(deps, async (tx) => {
    const site = await requireSite(tx.db, input.teamId, input.campaign.siteId)
    const stored = checkContent(content, content.name, site.hostname)
    return addCampaign(tx, input, { ...stored, siteId: input.campaign.siteId })
  })
}

/**
 * Applies a change to a campaign at the version the client edited (If-Match). A campaign in
 * test or live is republished in the same transaction: if the upload fails, nothing changes.
 */
export async function updateCampaign(
  deps: Deps,
  input: {
    teamId: string
    campaignId: string
    ifMatch: string | undefined
    patch: CampaignPatch
    actor: Actor
  },
): Promise<Campaign> {
  return inTransaction(deps, async (tx) => {
    const { campaign, site } = await lockCampaign(tx, input.teamId, input.campaignId)
    checkVersion(input.ifMatch, campaign.version)
    const { patch } = input
    let siteId: string | undefined
    let hostname = site?.hostname
    if (patch.siteId !== undefined && patch.siteId !== campaign.site_id) {
      if (!isRetired(campaign.status)) {
        throw new CampaignConflict(
          `A ${campaign.status} campaign stays on its site; duplicate it, or archive it first, to use it on another site`,
        )
      }
      const target = await requireSite(tx.db, input.teamId, patch.siteId)
      siteId = target.id
      hostname = target.hostname
    }
    const content: CampaignContent = {
      name: patch.name?.trim() ?? campaign.name,
      type: patch.type ?? campaign.type,
      variants: patch.variants ? withVariantIds(patch.variants) : campaign.variants,
      targeting: patch.targeting ?? campaign.targeting,
      frequency: patch.frequency ?? campaign.frequency,
      schedule: patch.schedule !== undefined ? patch.schedule : campaign.schedule,
    }
    const stored = checkContent(content, patch.name?.trim(), hostname)
    const updated = await campaigns.updateCampaign(tx.db, campaign.id, {
      content: stored,
      ...(siteId ? { siteId } : {}),
      version: campaign.version + 1,
    })
    if (isPublished(updated.status)) await republishCampaign(tx, site, updated.id)
    forgetCampaign(tx.cache, tx.afterCommit, input.teamId, [campaign.id])
    await recordAudit(tx.db, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'campaign.updated',
      target: { type: 'campaign', id: campaign.id },
      data: { fields: Object.keys(patch).sort(), version: updated.version },
    })
    return (await campaigns.findCampaign(tx.db, input.teamId, campaign.id)) ?? updated
  })
}

/**
 * Moves a campaign along its lifecycle and publishes what the move changes at the edge
 * (test object, production object, the site's list of live campaigns), all or nothing.
 */
export async function changeStatus(
  deps: Deps,
  input: {
    teamId: string
    campaignId: string
    ifMatch: string | undefined
    status: CampaignStatus
    actor: Actor
  },
): Promise<Campaign> {
  return inTransaction(deps, async (tx) => {
    const { campaign, site } = await lockCampaign(tx, input.teamId, input.campaignId)
    checkVersion(input.ifMatch, campaign.version)
    const from = campaign.status
    const to = input.status
    if (from === to) return campaign
    const allowed = TRANSITIONS[from]
    if (!allowed.includes(to)) throw statusTransitionNotAllowed(from, to, allowed)
    if (isPublished(to) && !site) {
      throw new CampaignConflict(
        'The campaign has no site: choose a site for it before it goes to test or live',
      )
    }
    if (to === 'live') await checkPlanLimit(tx, { teamId: input.teamId, resource: 'liveCampaigns' })
    const updated = await campaigns.updateCampaign(tx.db, campaign.id, {
      status: to,
      version: campaign.version + 1,
    })
    if (isPublished(from) || isPublished(to)) await republishCampaign(tx, site, campaign.id)
    forgetCampaign(tx.cache, tx.afterCommit, input.teamId, [campaign.id])
    await recordAudit(tx.db, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'campaign.status_changed',
      target: { type: 'campaign', id: campaign.id },
      data: { from, to, version: updated.version },
    })
    return (await campaigns.findCampaign(tx.db, input.teamId, campaign.id)) ?? updated
  })
}

/** A draft copy of a campaign (same site, content, targeting), named "… (copy)". */
export async function duplicateCampaign(
  deps: Deps,
  input: { teamId: string; campaignId: string; actor: Actor },
): Promise<Campaign> {
  return inTransaction(deps, async (tx) => {
    // Locked like a change, site first: a copy made while its site is deleted is detached with it.
    const { campaign: source } = await lockCampaign(tx, input.teamId, input.campaignId)
    const copy = {
      // Cut by characters, not UTF-16 units: half an emoji would be stored as U+FFFD.
      name: `${Array.from(source.name).slice(0, 113).join('')} (copy)`,
      type: source.type,
      variants: source.variants,
      targeting: source.targeting,
      frequency: source.frequency,
      schedule: source.schedule,
      siteId: source.site_id,
    }
    return addCampaign(tx, input, copy, { duplicatedFrom: source.id })
  })
}

/** Deletes a draft or archived campaign; one that visitors may see must be paused and archived first. */
export async function deleteCampaign(
  deps: Deps,
  input: { teamId: string; campaignId: string; ifMatch: string | undefined; actor: Actor },
) {
  await inTransaction(deps, async (tx) => {
    const { campaign } = await lockCampaign(tx, input.teamId, input.campaignId)
    if (input.ifMatch !== undefined) checkVersion(input.ifMatch, campaign.version)
    if (!isRetired(campaign.status)) {
      throw new CampaignConflict(
        `A ${campaign.status} campaign cannot be deleted; ${campaign.status === 'live' ? 'pause it, then archive it' : 'archive it'} first`,
      )
    }
    await campaigns.deleteCampaign(tx.db, campaign.id)
    forgetCampaign(tx.cache, tx.afterCommit, input.teamId, [campaign.id])
    await recordAudit(tx.db, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'campaign.deleted',
      target: { type: 'campaign', id: campaign.id },
      data: { name: campaign.name },
    })
  })
}

export async function getCampaign(deps: Deps, input: { teamId: string; campaignId: string }) {
  const campaign = await campaigns.findCampaign(deps.db, input.teamId, input.campaignId)
  if (!campaign) throw new NotFound('Campaign')
  return campaign
}

/**
 * A page of the team's campaign summaries, newest first, in response shape, from the database
 * (the first page without filters comes from the cache: see list-cache.ts).
 */
export async function listCampaigns(deps: Deps, input: { teamId: string; filter: CampaignFilter }) {
  return toPage(
    await campaigns.listCampaigns(deps.db, input.teamId, input.filter),
    input.filter.limit,
    toSummary,
  )
}

/** A campaign in test and its site: what a preview shows. Any other status is a conflict. */
export async function previewTarget(deps: Deps, input: { teamId: string; campaignId: string }) {
  const campaign = await getCampaign(deps, input)
  const site = campaign.site_id
    ? await campaigns.siteOfTeam(deps.db, input.teamId, campaign.site_id)
    : undefined
  if (campaign.status !== 'test' || !site) {
    throw new CampaignConflict(`Only a campaign in test can be previewed; this one is ${campaign.status}`)
  }
  return { campaign, site }
}
