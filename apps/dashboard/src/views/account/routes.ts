import type { RouteRecordRaw } from 'vue-router'

/** Children of the signed-in frame, outside any team. */
export const routes: RouteRecordRaw[] = [
  {
    path: 'account',
    name: 'account',
    component: () => import('./AccountPage.vue'),
    meta: { title: 'Account' },
  },
]
