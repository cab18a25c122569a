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
]
