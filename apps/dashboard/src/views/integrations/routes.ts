import type { RouteRecordRaw } from 'vue-router'

/** Team pages (children of /t/:teamId). */
export const routes: RouteRecordRaw[] = [
  {
    path: 'integrations',
    name: 'integrations',
    component: () => import('./IntegrationsPage.vue'),
    meta: { title: 'Integrations' },
  },
  {
    path: 'integrations/:integrationId',
    name: 'integration',
    component: () => import('./IntegrationPage.vue'),
    meta: { title: 'Integration' },
  },
  // The link of the email saying an integration stopped (apps/api integrations/stop-notice.ts).
  {
    path: '/teams/:teamId/integrations/:integrationId',
    redirect: (to) => ({ name: 'integration', params: to.params, query: to.query }),
  },
]
