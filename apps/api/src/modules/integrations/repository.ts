import { type DB, type IntegrationKind, newId } from '@nudge/db'
import { type Kysely, sql } from 'kysely'
import { type PageRequest, page } from '../../pagination.ts'

export async function insertIntegration(
  db: Kysely<DB>,
  input: {
    teamId: string
    kind: IntegrationKind
    name: string
    url: string | null
    secret: string
    secretLast4: string
    accountKey: string | null
  },
) {
  return db
    .insertInto('integrations')
    .values({
      id: newId(),
      team_id: input.teamId,
      kind: input.kind,
      name: input.name,
      url: input.url,
      secret: input.secret,
      secret_last4: input.secretLast4,
      account_key: input.accountKey,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function findIntegration(db: Kysely<DB>, teamId: string, integrationId: string) {
  return db
    .selectFrom('integrations')
    .selectAll()
    .where('team_id', '=', teamId)
    .where('id', '=', integrationId)
    .executeTakeFirst()
}

/** The row, locked for a change that depends on what it holds (status, secrets). */
export async function lockIntegration(db: Kysely<DB>, integrationId: string) {
  return db
    .selectFrom('integrations')
    .selectAll()
    .where('id', '=', integrationId)
    .forUpdate()
    .executeTakeFirst()
}

export async function listIntegrations(db: Kysely<DB>, teamId: string, request: PageRequest) {
  return page(db.selectFrom('integrations').selectAll().where('team_id', '=', teamId), request).execute()
}

export async function updateIntegration(
  db: Kysely<DB>,
  integrationId: string,
  values: Partial<{
    name: string
    url: string | null
    secret: string
    secret_last4: string
    account_key: string | null
    status: 'active' | 'paused' | 'disabled'
    status_reason: string | null
    consecutive_failures: number
  }>,
) {
  return db
    .updateTable('integrations')
    .set({ ...values, updated_at: sql`date_trunc('milliseconds', now())` })
    .where('id', '=', integrationId)
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function deleteIntegration(db: Kysely<DB>, integrationId: string) {
  await db.deleteFrom('integrations').where('id', '=', integrationId).execute()
}

export async function upsertCampaignIntegration(
  db: Kysely<DB>,
  input: { teamId: string; campaignId: string; integrationId: string; settings: Record<string, unknown> },
) {
  await db
    .insertInto('campaign_integrations')
    .values({
      team_id: input.teamId,
      campaign_id: input.campaignId,
      integration_id: input.integrationId,
      settings: JSON.stringify(input.settings),
    })
    .onConflict((oc) =>
      oc.columns(['campaign_id', 'integration_id']).doUpdateSet({ settings: JSON.stringify(input.settings) }),
    )
    .execute()
}

export async function deleteCampaignIntegration(db: Kysely<DB>, campaignId: string, integrationId: string) {
  const result = await db
    .deleteFrom('campaign_integrations')
    .where('campaign_id', '=', campaignId)
    .where('integration_id', '=', integrationId)
    .executeTakeFirst()
  return result.numDeletedRows > 0n
}

export async function listCampaignIntegrations(db: Kysely<DB>, teamId: string, campaignId: string) {
  return db
    .selectFrom('campaign_integrations as ci')
    .innerJoin('integrations as i', 'i.id', 'ci.integration_id')
    .select(['ci.campaign_id', 'ci.integration_id', 'ci.settings', 'i.kind', 'i.name', 'i.status'])
    .where('ci.team_id', '=', teamId)
    .where('ci.campaign_id', '=', campaignId)
    .orderBy('ci.created_at')
    .execute()
}

/**
 * Pauses or disables the integration if it is active; returns it if it changed (so whoever
 * stopped it tells the team once).
 */
export async function stopActiveIntegration(
  db: Kysely<DB>,
  integrationId: string,
  status: 'paused' | 'disabled',
  reason: string,
) {
  return db
    .updateTable('integrations')
    .set({ status, status_reason: reason, updated_at: sql`date_trunc('milliseconds', now())` })
    .where('id', '=', integrationId)
    .where('status', '=', 'active')
    .returning(['id'])
    .executeTakeFirst()
}

export async function resetConsecutiveFailures(db: Kysely<DB>, integrationId: string) {
  await db
    .updateTable('integrations')
    .set({ consecutive_failures: 0 })
    .where('id', '=', integrationId)
    .where('consecutive_failures', '>', 0)
    .execute()
}

/** One more lead in a row that could not be delivered; returns the count and the status. */
export async function countConsecutiveFailure(db: Kysely<DB>, integrationId: string) {
  return db
    .updateTable('integrations')
    .set({ consecutive_failures: sql`consecutive_failures + 1` })
    .where('id', '=', integrationId)
    .returning(['consecutive_failures', 'status'])
    .executeTakeFirst()
}

/** The integration with its team's name (what a notice about it says). */
export async function findIntegrationWithTeam(db: Kysely<DB>, integrationId: string) {
  return db
    .selectFrom('integrations')
    .innerJoin('teams', 'teams.id', 'integrations.team_id')
    .select(['integrations.id', 'integrations.name', 'integrations.team_id', 'teams.name as team_name'])
    .where('integrations.id', '=', integrationId)
    .executeTakeFirst()
}

export async function listSecrets(db: Kysely<DB>) {
  return db.selectFrom('integrations').select(['id', 'secret']).execute()
}

/** Replaces the stored secret only if it is still `current`; returns how many rows changed (0 or 1). */
export async function replaceSecret(db: Kysely<DB>, integrationId: string, current: string, secret: string) {
  const result = await db
    .updateTable('integrations')
    .set({ secret })
    .where('id', '=', integrationId)
    .where('secret', '=', current)
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}
