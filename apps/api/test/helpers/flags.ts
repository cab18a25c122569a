import { signServiceToken } from '@nudge/auth'
import type { LightMyRequestResponse } from 'fastify'

type Injectable = {
  config: { SERVICE_JWT_SECRET: string }
  inject(options: {
    method: 'GET' | 'POST' | 'PUT'
    url: string
    headers?: Record<string, string>
    payload?: unknown
  }): Promise<LightMyRequestResponse>
}

/** An operator calling /internal/v1/flags with an `ops` service token. */
export function flagsApi(app: Injectable) {
  const headers = () => ({
    authorization: `Bearer ${signServiceToken(app.config.SERVICE_JWT_SECRET, 'ops', 60)}`,
  })
  const call = (method: 'GET' | 'POST' | 'PUT', path: string, payload?: unknown) =>
    app.inject({
      method,
      url: `/internal/v1/flags${path}`,
      headers: headers(),
      ...(payload ? { payload } : {}),
    })
  return {
    list: () => call('GET', ''),
    get: (key: string) => call('GET', `/${key}`),
    changes: (key: string) => call('GET', `/${key}/changes`),
    set: (key: string, definition: unknown) => call('PUT', `/${key}`, definition),
    rollout: (key: string, percent: number) => call('POST', `/${key}/rollout`, { percent }),
    enable: (key: string, teamId: string) => call('POST', `/${key}/teams`, { teamId }),
    disable: (key: string) => call('POST', `/${key}/disable`),
    /** Throws unless the answer is 200; returns its body. */
    async ok(res: Promise<LightMyRequestResponse>) {
      const answer = await res
      if (answer.statusCode !== 200) throw new Error(`flags call failed: ${answer.statusCode} ${answer.body}`)
      return answer.json()
    },
  }
}

/** Polls until `check` holds or `ms` pass; returns how long it took, or -1. */
export async function within(ms: number, check: () => Promise<boolean> | boolean): Promise<number> {
  const start = performance.now()
  while (performance.now() - start < ms) {
    if (await check()) return performance.now() - start
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return (await check()) ? performance.now() - start : -1
}

export const BOOLEAN_OFF = { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off' }
