/**
 * The API's permission matrix (apps/api/src/permissions.ts), mirrored so the dashboard offers only
 * what a role may do. The API is the source: test/permissions.test.ts fails when the two differ,
 * and a 403 that slips through is still shown in words (messageOf). Mirrored rather than imported:
 * the API's file types its roles from @nudge/db, a Node library the browser bundle must not reach.
 */
import type { components } from '@nudge/api-client'

export type Role = components['schemas']['Team']['role']

export const ROLES: readonly Role[] = ['owner', 'admin', 'editor', 'viewer']

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
  'lead:read': ['owner', 'admin', 'editor'],
  'lead:export': ['owner', 'admin'],
  'lead:delete': ['owner', 'admin'],
  'integration:read': ['owner', 'admin', 'editor', 'viewer'],
  'integration:write': ['owner', 'admin'],
  'delivery:read': ['owner', 'admin', 'editor'],
  'audit:read': ['owner', 'admin'],
} as const satisfies Record<string, readonly Role[]>

export type Action = keyof typeof PERMISSIONS

export function can(role: Role | null | undefined, action: Action): boolean {
  return role != null && (PERMISSIONS[action] as readonly Role[]).includes(role)
}

const RANK: Record<Role, number> = { owner: 3, admin: 2, editor: 1, viewer: 0 }

/** The roles a member with role `by` may give (by invite or a role change): up to their own. */
export function grantable(by: Role | null | undefined): Role[] {
  if (by == null) return []
  return ROLES.filter((role) => RANK[role] <= RANK[by])
}

export const ROLE_HELP: Record<Role, string> = {
  owner: 'everything, billing and deleting the team included',
  admin: 'manages members, integrations, leads and the audit log',
  editor: 'builds and publishes sites and campaigns, reads leads',
  viewer: 'reads campaigns and their stats; changes nothing',
}

/** Each action in words, for a refusal: "Your role does not allow inviting members." */
export const ACTION_WORDS: Record<Action, string> = {
  'team:read': 'seeing this team',
  'team:update': "changing the team's name",
  'team:delete': 'deleting the team',
  'member:read': "seeing the team's members",
  'member:invite': 'inviting members',
  'member:update': "changing members' roles",
  'member:remove': 'removing members',
  'billing:read': 'seeing the plan and billing',
  'billing:manage': 'changing the plan',
  'site:read': 'seeing sites',
  'site:write': 'adding or changing sites',
  'campaign:read': 'seeing campaigns',
  'campaign:write': 'editing campaigns',
  'campaign:publish': 'publishing campaigns',
  'lead:read': 'seeing leads',
  'lead:export': 'exporting leads',
  'lead:delete': 'deleting leads',
  'integration:read': 'seeing integrations',
  'integration:write': 'changing integrations',
  'delivery:read': 'seeing deliveries',
  'audit:read': 'reading the audit log',
}

export function isAction(value: string): value is Action {
  return Object.hasOwn(PERMISSIONS, value)
}
