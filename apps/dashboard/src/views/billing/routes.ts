import type { RouteRecordRaw } from 'vue-router'

/** Team pages (children of /t/:teamId). */
export const routes: RouteRecordRaw[] = [
  {
    path: 'billing',
    name: 'billing',
    component: () => import('./BillingPage.vue'),
    meta: { title: 'Billing' },
  },
]
