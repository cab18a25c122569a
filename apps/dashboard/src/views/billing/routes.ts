import type { RouteRecordRaw } from 'vue-router'

/** Team pages (children of /t/:teamId). */
export const routes: RouteRecordRaw[] = [
  {
    path: 'billing',
    name: 'billing',
    component: () => import('./BillingPage.vue'),
    meta: { title: 'Billing' },
  },
  // Where the API sends people back from Stripe (Checkout, the portal) and where billing emails
  // link: `/teams/<id>/billing` (apps/api billing/service.ts billingPage). Links already sent keep working.
  {
    path: '/teams/:teamId/billing',
    redirect: (to) => ({ name: 'billing', params: { teamId: to.params.teamId }, query: to.query }),
  },
]
