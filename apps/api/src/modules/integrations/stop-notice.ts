import type { Deps } from '../../deps.ts'
import { memberEmails } from '../teams/repository.ts'
import { noticeEmail } from './notice-email.ts'
import { findIntegrationWithTeam } from './repository.ts'
import { deliverySettings } from './settings.ts'

export const NOTICE_JOB = 'integrations.notice'

/** What the notice job carries: which integration stopped, how, and why. */
export interface StopNotice {
  integrationId: string
  status: string
  reason: string
}

/** Emails the owners and admins of the integration's team that it stopped, and why. */
export async function sendNotice(deps: Deps, data: StopNotice) {
  const integration = await findIntegrationWithTeam(deps.db, data.integrationId)
  if (!integration) return
  const { dashboardOrigin } = deliverySettings(deps.config)
  const recipients = await memberEmails(deps.db, integration.team_id, ['owner', 'admin'])
  for (const email of recipients) {
    await deps.mailer.send(
      noticeEmail({
        to: email,
        teamName: integration.team_name,
        integrationName: integration.name,
        status: data.status,
        reason: data.reason,
        link: `${dashboardOrigin}/teams/${integration.team_id}/integrations/${integration.id}`,
      }),
    )
  }
}
