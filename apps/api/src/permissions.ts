import type { Role } from '@nudge/db'

/** Higher ranks may do what lower ranks may; an admin manages up to admin, never an owner. */
const ROLE_RANK: Record<Role, number> = { owner: 3, admin: 2, editor: 1, viewer: 0 }

/** Whether a member with role `by` may give someone `role` (by invite or by a role change). */
export function canGrant(by: Role, role: Role): boolean {
  return ROLE_RANK[role] <= ROLE_RANK[by]
}

/**
 * The one permission model: each action a team-scoped route may declare, and the roles allowed
 * to perform it. Every route under /v1/teams/:teamId names one of these (see plugins/team-access).
 */
export const PERMISSIONS = {
  'team:read': ['owner', 'admin', 'editor', 'viewer'],
  'team:update': ['owner', 'admin'],
  'team:delete': ['owner'],
  'member:read': ['owner', 'admin', 'editor', 'viewer'],
  'member:invite': ['owner', 'admin'],
  'member:update': ['owner', 'admin'],
  'member:remove': ['owner', 'admin'],
  'billing:read': ['owner', 'admin'],
  'billing:manage': ['owner'],
  'site:read': ['owner', 'admin', 'editor', 'viewer'],
  'site:write': ['owner', 'admin', 'editor'],
  'campaign:read': ['owner', 'admin', 'editor', 'viewer'],
  'campaign:write': ['owner', 'admin', 'editor'],
  'campaign:publish': ['owner', 'admin', 'editor'],
  // Visitors' personal data is for the roles that work with it: viewers get stats and campaigns.
  'lead:read': ['owner', 'admin', 'editor'],
  'lead:export': ['owner', 'admin'],
  'lead:delete': ['owner', 'admin'],
  'integration:read': ['owner', 'admin', 'editor', 'viewer'],
  'integration:write': ['owner', 'admin'],
  // A delivery's attempt log holds what receivers answered, often an echo of the lead.
  'delivery:read': ['owner', 'admin', 'editor'],
  'audit:read': ['owner', 'admin'],
} as const satisfies Record<string, readonly Role[]>

export type Action = keyof typeof PERMISSIONS

export function isAction(value: unknown): value is Action {
  return typeof value === 'string' && Object.hasOwn(PERMISSIONS, value)
}

export function can(role: Role, action: Action): boolean {
  return (PERMISSIONS[action] as readonly Role[]).includes(role)
}
