import type { RouteRecordRaw } from 'vue-router'

/** Team pages (children of /t/:teamId). */
export const routes: RouteRecordRaw[] = [
  {
    path: 'members',
    name: 'members',
    component: () => import('./MembersPage.vue'),
    meta: { title: 'Members' },
  },
]

/** Pages about teams outside any one team. */
export const teamRoutes: RouteRecordRaw[] = [
  {
    path: 'teams/new',
    name: 'team-new',
    component: () => import('./NewTeam.vue'),
    meta: { title: 'New team' },
  },
]
