import type { RouteRecordRaw } from 'vue-router'

/** Team pages (children of /t/:teamId). */
export const routes: RouteRecordRaw[] = [
  { path: 'leads', name: 'leads', component: () => import('./LeadsPage.vue'), meta: { title: 'Leads' } },
]
