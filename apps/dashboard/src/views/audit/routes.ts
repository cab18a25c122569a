import type { RouteRecordRaw } from 'vue-router'

/** Team pages (children of /t/:teamId). */
export const routes: RouteRecordRaw[] = [
  { path: 'audit', name: 'audit', component: () => import('./AuditPage.vue'), meta: { title: 'Audit log' } },
]
