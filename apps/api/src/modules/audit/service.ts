import type { Deps } from '../../deps.ts'
import type { PageRequest } from '../../pagination.ts'
import * as audit from './repository.ts'

/** A page of the team's audit log (limit + 1 rows: `toPage` makes the cursor). */
export function auditEvents(
  deps: Deps,
  input: { teamId: string; action?: string | undefined; actorId?: string | undefined } & PageRequest,
) {
  const { teamId, action, actorId, limit, cursor } = input
  return audit.listAuditEvents(deps.db, teamId, { action, actorId }, { limit, cursor })
}
