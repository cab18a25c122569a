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
 * Signs in through the real magic-link flow with the dev mailbox (no SMTP_URL in the test's
 * config); returns the user id and headers that carry the session.
 */
export async function signInAs(app: Injectable, email: string) {
  const base = { 'st-auth-mode': 'header', rid: 'passwordless', origin: 'https://app.nudge.test' }
  const asked = await app.inject({
    method: 'POST',
    url: '/auth/signinup/code',
    headers: base,
    payload: { email },
  })
  if (asked.statusCode !== 200) throw new Error(`link request failed: ${asked.body}`)
  const listed = await app.inject({ method: 'GET', url: `/dev/mailbox?to=${encodeURIComponent(email)}` })
  if (listed.statusCode !== 200) throw new Error(`dev mailbox: ${listed.statusCode} ${listed.body}`)
  const mailbox = listed.json()
  // Newest first; other emails (an invite, say) may have arrived too.
  const found = (mailbox.messages as Array<{ text: string }>)
    .map((message) => message.text.match(/https?:\/\/\S+\/auth\/verify\?\S+/))
    .find((match) => match !== null)
  if (!found) throw new Error('no magic link in the dev mailbox')
  const link = new URL(found[0])
  const consumed = await app.inject({
    method: 'POST',
    url: '/auth/signinup/code/consume',
    headers: base,
    payload: { preAuthSessionId: link.searchParams.get('preAuthSessionId'), linkCode: link.hash.slice(1) },
  })
  const token = consumed.headers['st-access-token'] as string | undefined
  if (!token) throw new Error(`sign-in failed: ${consumed.body}`)
  const headers = { authorization: `Bearer ${token}`, origin: base.origin }
  const me = await app.inject({ method: 'GET', url: '/v1/me', headers })
  return { id: me.json().id as string, email, token, headers }
}
