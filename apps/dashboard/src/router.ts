/**
 * Every page of the dashboard. Each area adds its pages in ONE place, `views/<area>/routes.ts`
 * (lazy-loaded components); team pages are children of `/t/:teamId` with paths relative to it.
 * Route meta: `public` (no session needed), `title` (the document's title).
 */
import { createRouter, createWebHistory, type RouteLocationNormalized, type Router } from 'vue-router'
import AppLayout from './components/AppLayout.vue'
import { ApiFailure, messageOf } from './failure.ts'
import { useSession } from './stores/session.ts'
import { routes as accountRoutes } from './views/account/routes.ts'
import { routes as auditRoutes } from './views/audit/routes.ts'
import { routes as authRoutes } from './views/auth/routes.ts'
import { routes as billingRoutes } from './views/billing/routes.ts'
import { routes as campaignRoutes } from './views/campaigns/routes.ts'
import { routes as integrationRoutes } from './views/integrations/routes.ts'
import { routes as leadRoutes } from './views/leads/routes.ts'
import { routes as memberRoutes, teamRoutes } from './views/members/routes.ts'
import { routes as siteRoutes } from './views/sites/routes.ts'
import { routes as statsRoutes } from './views/stats/routes.ts'

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without a session (sign-in, the magic link, the invite page which signs in first). */
    public?: boolean
    title?: string
  }
}

export function createDashboardRouter(): Router {
  const router = createRouter({
    history: createWebHistory(import.meta.env.BASE_URL),
    routes: [
      ...authRoutes,
      {
        path: '/',
        component: AppLayout,
        children: [
          { path: '', name: 'home', component: () => import('./views/errors/HomeRedirect.vue') },
          ...accountRoutes,
          ...teamRoutes,
          {
            path: 't/:teamId',
            children: [
              { path: '', redirect: (to) => ({ name: 'campaigns', params: to.params }) },
              ...siteRoutes,
              ...campaignRoutes,
              ...statsRoutes,
              ...leadRoutes,
              ...integrationRoutes,
              ...billingRoutes,
              ...auditRoutes,
              ...memberRoutes,
            ],
          },
          {
            path: ':rest(.*)*',
            name: 'not-found',
            component: () => import('./views/errors/NotFound.vue'),
            meta: { title: 'Not found' },
          },
        ],
      },
    ],
    scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
  })

  router.beforeEach(async (to) => guard(to))
  router.afterEach((to) => {
    document.title = to.meta.title ? `${to.meta.title} · nudge` : 'nudge'
  })
  return router
}

async function guard(to: RouteLocationNormalized) {
  if (to.meta.public) return true
  const session = useSession()
  if (!session.signedIn) {
    let signedIn: boolean
    try {
      signedIn = await session.load()
    } catch (error) {
      // The session was refused even after the SDK's refresh (revoked elsewhere): sign in again.
      if (error instanceof ApiFailure && error.status === 401)
        return { name: 'signin', query: { next: to.fullPath, expired: '1' } }
      // The API is down (or failing): say so with a retry, never a blank page.
      return { name: 'unavailable', query: { next: to.fullPath, why: messageOf(error) } }
    }
    if (!signedIn) return { name: 'signin', query: to.fullPath === '/' ? {} : { next: to.fullPath } }
  }
  const teamId = typeof to.params.teamId === 'string' ? to.params.teamId : undefined
  if (teamId) {
    if (!session.teams.some((team) => team.id === teamId)) {
      // A team just joined or created in another tab: look again before saying not found.
      await session.reloadTeams().catch(() => {})
      if (!session.teams.some((team) => team.id === teamId))
        return { name: 'not-found', params: { rest: to.path.slice(1).split('/') } }
    }
    session.selectTeam(teamId)
  }
  return true
}
