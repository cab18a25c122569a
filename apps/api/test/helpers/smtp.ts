import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import type { Test } from 'tap'

export interface ReceivedMail {
  to: string[]
  raw: string
  /** The raw message with quoted-printable soft breaks and escapes undone. */
  decoded: string
}

function decodeQuotedPrintable(raw: string): string {
  return raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
}

/** A real SMTP server in-process; what it receives is kept for the test to read. */
export async function startSmtpServer(t: Test) {
  const received: ReceivedMail[] = []
  const taken = new Set<ReceivedMail>()
  const waiting: Array<() => void> = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let raw = ''
      stream.on('data', (chunk: Buffer) => {
        raw += chunk.toString('utf8')
      })
      stream.on('end', () => {
        received.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          decoded: decodeQuotedPrintable(raw),
        })
        for (const wake of waiting.splice(0)) wake()
        callback()
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { port } = server.server.address() as AddressInfo
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    /** The next message to `to` not returned before, waiting for it to arrive. */
    async next(to: string, timeoutMs = 5000): Promise<ReceivedMail> {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const mail = received.find(
          (m) => m.to.some((r) => r.toLowerCase() === to.toLowerCase()) && !taken.has(m),
        )
        if (mail) {
          taken.add(mail)
          return mail
        }
        if (Date.now() > deadline) throw new Error(`no email to ${to} within ${timeoutMs} ms`)
        await new Promise<void>((resolve) => {
          waiting.push(resolve)
          setTimeout(resolve, 100)
        })
      }
    },
  }
}

/** The magic link in a sign-in email, split as the dashboard sees it. */
export function magicLinkIn(mail: ReceivedMail) {
  const match = mail.decoded.match(/https?:\/\/[^\s"<]+\/auth\/verify\?[^\s"<]+/)
  if (!match) throw new Error('no magic link in the email')
  const url = new URL(match[0].replaceAll('&amp;', '&'))
  return {
    url,
    preAuthSessionId: url.searchParams.get('preAuthSessionId') ?? '',
    linkCode: url.hash.slice(1),
  }
}
