import { isViolation, type Site } from '@nudge/db'
import { type Deps, inTransaction } from '../../deps.ts'
import { HostnameTaken, invalidInput, NotFound } from '../../errors.ts'
import type { PageRequest } from '../../pagination.ts'
import { type Actor, recordAudit } from '../audit/repository.ts'
import { checkPlanLimit } from '../billing/plan-limits.ts'
import { detachCampaignsFromSite } from '../campaigns/repository.ts'
import { forgetCampaign } from '../campaigns/service.ts'
import { lockSiteForPublish } from '../publishing/repository.ts'
import { publishSite } from '../publishing/service.ts'
import { forgetVisitorCampaign } from '../visitors/published.ts'
import { forgetSiteDocument } from '../visitors/site-document-service.ts'
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
    return await inTransaction(deps, async (tx) => {
      await checkPlanLimit(tx, { teamId: input.teamId, resource: 'sites' })
      const site = await sites.insertSite(tx.db, { teamId: input.teamId, hostname })
      await lockSiteForPublish(tx.db, site.id)
      await publishSite(tx, { siteId: site.id, hostname, campaignIds: [] })
      await recordAudit(tx.db, {
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
  await inTransaction(deps, async (tx) => {
    const site = await lockSiteForPublish(tx.db, input.siteId)
    if (!site || site.team_id !== input.teamId) throw new NotFound('Site')
    const detached = await detachCampaignsFromSite(tx.db, site.id)
    forgetCampaign(
      deps.cache,
      tx.afterCommit,
      input.teamId,
      detached.map((campaign) => campaign.id),
    )
    await sites.deleteSite(tx.db, site.id)
    await publishSite(tx, {
      siteId: site.id,
      hostname: site.hostname,
      campaignIds: detached.filter((c) => c.status === 'test' || c.status === 'live').map((c) => c.id),
    })
    await recordAudit(tx.db, {
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
  deps: Deps,
  input: { teamId: string; siteId: string; allowSubdomains: boolean; actor: Actor },
): Promise<Site> {
  return inTransaction(deps, async (tx) => {
    const site = await sites.lockSite(tx.db, input.teamId, input.siteId)
    if (!site) throw new NotFound('Site')
    const before = site.settings.allowSubdomains === true
    if (before === input.allowSubdomains) return site
    const updated = await sites.updateSiteSettings(tx.db, site.id, {
      ...site.settings,
      allowSubdomains: input.allowSubdomains,
    })
    await recordAudit(tx.db, {
      teamId: input.teamId,
      actor: input.actor,
      action: 'site.updated',
      target: { type: 'site', id: site.id },
      data: { hostname: site.hostname, allowSubdomains: { from: before, to: input.allowSubdomains } },
    })
    // The site's document carries its CORS answer: dropped with the known host.
    forgetSiteDocument(deps.cache, tx.afterCommit, site.hostname)
    for (const campaignId of await sites.campaignIdsOfSite(tx.db, site.id)) {
      forgetVisitorCampaign(deps.cache, tx.afterCommit, campaignId)
    }
    return updated
  })
}

/** A site of the team; NotFound for any other id. */
export async function getSite(deps: Deps, input: { teamId: string; siteId: string }) {
  const site = await sites.findSite(deps.db, input.teamId, input.siteId)
  if (!site) throw new NotFound('Site')
  return site
}

/** A page of the team's sites, newest first (rows; `toPage` makes the page). */
export async function listSites(deps: Deps, input: { teamId: string; page: PageRequest }) {
  return sites.listSites(deps.db, input.teamId, input.page)
}
