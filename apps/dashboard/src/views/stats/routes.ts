import type { RouteRecordRaw } from 'vue-router'

/** Team pages (children of /t/:teamId). */
export const routes: RouteRecordRaw[] = [
  {
    path: 'campaigns/:campaignId/stats',
    name: 'campaign-stats',
    component: () => import('./StatsPage.vue'),
    meta: { title: 'Stats' },
  },
]
