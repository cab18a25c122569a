import type { DB } from '@nudge/db'
import type { Kysely } from 'kysely'

/** A campaign with its site's hostname and settings, as visitors' reports check it (none without a site). */
export async function findVisitorCampaign(db: Kysely<DB>, campaignId: string) {
  return db
    .selectFrom('campaigns')
    .innerJoin('sites', 'sites.id', 'campaigns.site_id')
    .select([
      'campaigns.id',
      'campaigns.team_id',
      'campaigns.site_id',
      'campaigns.status',
      'campaigns.status_changed_at',
      'campaigns.variants',
      'campaigns.published_variant_ids',
      'campaigns.published_consent_versions',
      'sites.hostname',
      'sites.settings',
    ])
    .where('campaigns.id', '=', campaignId)
    .executeTakeFirst()
}
