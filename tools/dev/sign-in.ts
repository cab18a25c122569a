/**
 * Signs in through the real magic-link flow (the link read from the dev mailbox, so the API must
 * run with DEV_MAILBOX=true) and returns the access token. For the bench and the deploy rehearsal.
 */
export async function signInByMagicLink(
  baseUrl: string,
  email = `dev-${Date.now()}@example.com`,
): Promise<string> {
  const headers = { 'content-type': 'application/json', rid: 'passwordless', 'st-auth-mode': 'header' }
  const asked = await fetch(`${baseUrl}/auth/signinup/code`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ email }),
  })
  if (!asked.ok) throw new Error(`sign-in link request failed: ${asked.status} ${await asked.text()}`)
  const mailbox = (await (await fetch(`${baseUrl}/dev/mailbox?to=${encodeURIComponent(email)}`)).json()) as {
    messages: Array<{ text: string }>
  }
  const link = mailbox.messages[0]?.text.match(/https?:\/\/\S+\/auth\/verify\?\S+/)?.[0]
  if (!link) throw new Error('no magic link in the dev mailbox')
  const url = new URL(link)
  const consumed = await fetch(`${baseUrl}/auth/signinup/code/consume`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      preAuthSessionId: url.searchParams.get('preAuthSessionId'),
      linkCode: url.hash.slice(1),
    }),
  })
  const token = consumed.headers.get('st-access-token')
  if (!token) throw new Error(`sign-in failed: ${consumed.status} ${await consumed.text()}`)
  return token
}
