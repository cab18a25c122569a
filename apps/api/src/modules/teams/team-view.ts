import type { Role } from '@nudge/db'
import { effectivePlan, type TeamBilling } from '@nudge/payments'

/** A team as the API shows it: the plan is the one in effect now (the trial's, during the trial). */
export function toTeam(
  row: { id: string; name: string; personal: boolean; created_at: Date } & TeamBilling,
  role: Role,
) {
  return {
    id: row.id,
    name: row.name,
    personal: row.personal,
    plan: effectivePlan(row).plan.id,
    role,
    createdAt: row.created_at.toISOString(),
  }
}
