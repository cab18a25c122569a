import type { LightMyRequestResponse } from 'fastify'

type Injectable = {
  inject(options: {
    method: 'GET' | 'POST'
    url: string
    headers?: Record<string, string>
    payload?: unknown
  }): Promise<LightMyRequestResponse>
}

/**
 * What the SuperTokens frontend SDK sends, in header mode (tokens in headers, as the Vue
 * dashboard on another origin does) or cookie mode.
 */
export function dashboard(app: Injectable, mode: 'header' | 'cookie' = 'header') {
  const base = { 'st-auth-mode': mode, origin: 'https://app.nudge.test' }
  return {
    requestLink: (email: string, headers: Record<string, string> = {}) =>
      app.inject({
        method: 'POST',
        url: '/auth/signinup/code',
        headers: { ...base, rid: 'passwordless', ...headers },
        payload: { email },
      }),
    consumeLink: (link: { preAuthSessionId: string; linkCode: string }) =>
      app.inject({
        method: 'POST',
        url: '/auth/signinup/code/consume',
        headers: { ...base, rid: 'passwordless' },
        payload: { preAuthSessionId: link.preAuthSessionId, linkCode: link.linkCode },
      }),
    refresh: (refreshToken: string) =>
      app.inject({
        method: 'POST',
        url: '/auth/session/refresh',
        headers: { ...base, rid: 'session', authorization: `Bearer ${refreshToken}` },
      }),
    signOut: (accessToken: string) =>
      app.inject({
        method: 'POST',
        url: '/auth/signout',
        headers: { ...base, rid: 'session', authorization: `Bearer ${accessToken}` },
      }),
    me: (accessToken: string) =>
      app.inject({
        method: 'GET',
        url: '/v1/me',
        headers: { ...base, authorization: `Bearer ${accessToken}` },
      }),
  }
}

export function tokensFrom(res: LightMyRequestResponse) {
  return {
    accessToken: res.headers['st-access-token'] as string | undefined,
    refreshToken: res.headers['st-refresh-token'] as string | undefined,
  }
}
