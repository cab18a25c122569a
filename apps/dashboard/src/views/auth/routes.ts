import type { RouteRecordRaw } from 'vue-router'

/** Pages outside the signed-in frame. */
export const routes: RouteRecordRaw[] = [
  {
    path: '/signin',
    name: 'signin',
    component: () => import('./SignIn.vue'),
    meta: { public: true, title: 'Sign in' },
  },
  // The magic link: /auth/verify?preAuthSessionId=…#<linkCode> (SuperTokens' websiteBasePath is /auth).
  {
    path: '/auth/verify',
    name: 'verify',
    component: () => import('./VerifyLink.vue'),
    meta: { public: true, title: 'Signing in' },
  },
  // The invite link: /invites/accept#<token>. Public: it signs in first when needed, keeping the token.
  {
    path: '/invites/accept',
    name: 'invite-accept',
    component: () => import('./AcceptInvite.vue'),
    meta: { public: true, title: 'Join a team' },
  },
  {
    path: '/unavailable',
    name: 'unavailable',
    component: () => import('./ApiUnavailable.vue'),
    meta: { public: true, title: 'API unavailable' },
  },
]
