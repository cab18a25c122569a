import type { Cache } from '@nudge/cache'
import { type DB, isViolation, type Site, transaction } from '@nudge/db'
import type { Kysely, Transaction } from 'kysely'
import type { Deps } from '../../deps.ts'
import { HostnameTaken, invalidInput, NotFound } from '../../errors.ts'
import { type Actor, recordAudit } from '../audit/repository.ts'
import { checkPlanLimit } from '../billing/plan-limits.ts'
import { forgetCampaign } from '../campaigns/service.ts'
import { lockSiteForPublish } from '../publishing/repository.ts'
import { publishSite } from '../publishing/service.ts'
import { forgetKnownHost } from '../visitors/origin.ts'
import { forgetVisitorCampaign } from '../visitors/published.ts'
import { normaliseHostname } from './hostname.ts'
import * as sites from './repository.ts'

/** The tag a customer pastes into their pages: the Worker serves the script, which reads the site's document. */
export function installSnippet(edgeUrl: string, site: Pick<Site, 'id'>): string {
  return `<script async src="${edgeUrl}/nudge.js" data-site="${site.id}"></script>`
}

/**
 * Adds a site and publishes its (empty) domain document, so the edge answers for it from the
 * start. One hostname belongs to one team; the 409 does not say which.
 */
export async function createSite(deps: Deps, input: { teamId: string; hostname: string; actor: Actor }) {
  const normalised = normaliseHostname(input.hostname)
  if ('problem' in normalised) throw invalidInput([{ field: 'body.hostname', message: normalised.problem }])
  const { hostname } = normalised
  try {
    return await transaction(deps.db, async (trx, afterCommit) => {
      await checkPlanLimit({ db: trx }, { teamId: input.teamId, resource: 'sites' })
      const site = await sites.insertSite(trx, { teamId: input.teamId, hostname })
      await lockSiteForPublish(trx, site.id)
      await publishSite(
        { ...deps, db: trx, afterCommit, pool: deps.db },
        { siteId: site.id, hostname, campaignIds: [] },
      )
      await recordAudit(trx, {
        teamId: input.teamId,
        actor: input.actor,
        action: 'site.created',
        target: { type: 'site', id: site.id },
        data: { hostname },
      })
      return site
    })
  } catch (error) {
    if (isViolation(error, 'unique', 'sites_hostname_key')) throw new HostnameTaken(hostname)
    throw error
  }
}

/**
 * Deletes a site. Its campaigns stay (with their leads and stats) as unpublished drafts without
 * a site; their edge objects and the site's document are deleted in the same publish.
 */
export async function deleteSite(deps: Deps, input: { teamId: string; siteId: string; actor: Actor }) {
  await transaction(deps.db, async (trx, afterCommit) => {
    const site = await lockSiteForPublish(trx, input.siteId)
    if (!site || site.team_id !== input.teamId) throw new NotFound('Site')
    const detached = await detachCampaigns(trx, site.id)
    forgetCampaign(
      deps.cache,
      afterCommit,
      input.teamId,
      detached.map((campaign) => campaign.id),
    )
    await sites.deleteSite(trx, site.id)
    await publishSite(
      { ...deps, db: trx, afterCommit, pool: deps.db },
      {
        siteId: site.id,
        hostname: site.hostname,
        campaignIds: detached.filter((c) => c.status === 'test' || c.status === 'live').map((c) => c.id),
      },
    )
    await recordAudit(trx, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'site.deleted',
      target: { type: 'site', id: site.id },
      data: { hostname: site.hostname, detachedCampaigns: detached.map((c) => c.id) },
    })
  })
}

/**
 * Changes a site's settings (whether pages on its subdomains count as the site's). Nothing the
 * edge serves changes, so nothing is published; what every worker remembers about the site's
 * origins (the CORS answer per hostname, each campaign's Origin check) is dropped after the commit.
 */
export async function updateSite(
  deps: { db: Kysely<DB>; cache: Cache },
  input: { teamId: string; siteId: string; allowSubdomains: boolean; actor: Actor },
): Promise<Site> {
  return transaction(deps.db, async (trx, afterCommit) => {
    const site = await sites.lockSite(trx, input.teamId, input.siteId)
    if (!site) throw new NotFound('Site')
    const before = site.settings.allowSubdomains === true
    if (before === input.allowSubdomains) return site
    const updated = await sites.updateSiteSettings(trx, site.id, {
      ...site.settings,
      allowSubdomains: input.allowSubdomains,
    })
    await recordAudit(trx, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'site.updated',
      target: { type: 'site', id: site.id },
      data: { hostname: site.hostname, allowSubdomains: { from: before, to: input.allowSubdomains } },
    })
    forgetKnownHost(deps.cache, afterCommit, site.hostname)
    for (const campaignId of await sites.campaignIdsOfSite(trx, site.id)) {
      forgetVisitorCampaign(deps.cache, afterCommit, campaignId)
    }
    return updated
  })
}

/** Campaigns of a site lose it: published or paused ones go back to draft, each gets a new version. */
async function detachCampaigns(trx: Transaction<DB>, siteId: string) {
  const before = await trx
    .selectFrom('campaigns')
    .select(['id', 'status'])
    .where('site_id', '=', siteId)
    .forUpdate()
    .execute()
  if (before.length === 0) return before
  await trx
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
