import { createSigner } from 'fast-jwt'

/** Callers allowed to hold service tokens: the Cloudflare Worker, Cloudflare Cron and operators (ops). */
export const SERVICE_AUDIENCES = ['worker', 'cron', 'ops'] as const
export type ServiceAudience = (typeof SERVICE_AUDIENCES)[number]

export const SERVICE_ISSUER = 'nudge'

/** Signs a short-lived HS256 service token (operators' CLI, tests, our Worker's twin). */
export function signServiceToken(secret: string, audience: ServiceAudience, lifetimeSeconds: number): string {
  const sign = createSigner({
    key: secret,
    algorithm: 'HS256',
    aud: audience,
    iss: SERVICE_ISSUER,
    sub: `service:${audience}`,
    expiresIn: lifetimeSeconds * 1000,
  })
  return sign({})
}
