import type { RouteRecordRaw } from 'vue-router'

/** Team pages (children of /t/:teamId). */
export const routes: RouteRecordRaw[] = [
  { path: 'sites', name: 'sites', component: () => import('./SitesPage.vue'), meta: { title: 'Sites' } },
  { path: 'sites/:siteId', name: 'site', component: () => import('./SitePage.vue'), meta: { title: 'Site' } },
]
