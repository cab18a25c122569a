import { type DB, newId } from '@nudge/db'
import type { Kysely } from 'kysely'
import { type PageRequest, page } from '../../pagination.ts'

/** Who did it: a signed-in user (with the address they came from), or the system or Stripe. */
export type Actor = { type: 'user'; id: string; ip: string | null } | { type: 'system' | 'stripe' }

export interface AuditEntry {
  teamId: string
  actor: Actor
  action: string
  target: { type: string; id: string | null }
  data?: Record<string, unknown>
}

/**
 * Appends to the audit log. Call it with the transaction of the change it records: a change
 * that rolls back leaves no row, a committed one always has its row. Nothing updates or deletes
 * these rows (the table refuses it).
 */
export async function recordAudit(db: Kysely<DB>, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      id: newId(),
      team_id: entry.teamId,
      actor_type: entry.actor.type,
      actor_id: entry.actor.type === 'user' ? entry.actor.id : null,
      action: entry.action,
      target_type: entry.target.type,
      target_id: entry.target.id,
      data: JSON.stringify(entry.data ?? {}),
      ip: entry.actor.type === 'user' ? entry.actor.ip : null,
    })
    .execute()
}

/** A page of the team's audit log, newest first, of one action or one user's if asked. */
export async function listAuditEvents(
  db: Kysely<DB>,
  teamId: string,
  filter: { action?: string | undefined; actorId?: string | undefined },
  request: PageRequest,
) {
  let select = db.selectFrom('audit_events').selectAll().where('team_id', '=', teamId)
  if (filter.action) select = select.where('action', '=', filter.action)
  if (filter.actorId) select = select.where('actor_id', '=', filter.actorId)
  return page(select, request).execute()
}
