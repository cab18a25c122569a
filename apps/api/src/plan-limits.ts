import type { DB } from '@nudge/db'
import type { Transaction } from 'kysely'

/** What a team's plan may limit when something is added or put live. */
export type LimitedResource = 'sites' | 'liveCampaigns'

/**
 * The one place a plan limit is checked, called inside the transaction that adds the resource
 * (after the team's or site's lock, so two requests cannot both take the last slot). No plan
 * limits anything yet: the payments work defines plans and their limits here, and every route
 * that adds a site or puts a campaign live is already covered.
 */
export async function checkPlanLimit(
  _trx: Transaction<DB>,
  _teamId: string,
  _resource: LimitedResource,
): Promise<void> {}
