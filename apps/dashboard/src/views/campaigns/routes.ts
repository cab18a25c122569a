import type { RouteRecordRaw } from 'vue-router'

/** Team pages (children of /t/:teamId). `campaigns?siteId=` filters by site. */
export const routes: RouteRecordRaw[] = [
  {
    path: 'campaigns',
    name: 'campaigns',
    component: () => import('./CampaignsPage.vue'),
    meta: { title: 'Campaigns' },
  },
  {
    path: 'campaigns/:campaignId',
    name: 'campaign',
    component: () => import('./CampaignEditor.vue'),
    meta: { title: 'Campaign' },
  },
]
