import type { FastifyBaseLogger } from 'fastify'
import type { Transporter } from 'nodemailer'
import { MailUnavailableError, RecipientRejectedError } from './errors.ts'
import type { Mailer, MailMessage } from './mailer.ts'

/**
 * A dead or silent SMTP server must fail the request within seconds, not hang it for the
 * nodemailer defaults (2 min to connect, 30 s for the greeting, 10 min of silence).
 */
export const SMTP_TIMEOUTS = {
  connectionTimeout: 3000,
  greetingTimeout: 3000,
  dnsTimeout: 3000,
  socketTimeout: 8000,
} as const

/** Upper bound for one `send`, queueing in the pool included. */
export const SEND_DEADLINE_MS = 15_000

interface SmtpFailure {
  code?: unknown
  responseCode?: unknown
  command?: unknown
  message?: unknown
}

const EMAIL = /[^\s<>"'(),;:@]+@[^\s<>"'(),;:@]+/g

/** Values that must never reach the log, taken from the URL itself (user, password, both decoded). */
function secretsOf(smtpUrl: string): string[] {
  try {
    const url = new URL(smtpUrl)
    return [url.username, url.password, decodeURIComponent(url.username), decodeURIComponent(url.password)]
      .filter((value) => value.length >= 3)
      .sort((a, b) => b.length - a.length)
  } catch {
    return []
  }
}

/**
 * What is safe to log about a failed send: nodemailer's code, SMTP reply code and command,
 * and the message with addresses and credentials blanked (servers echo the recipient back,
 * e.g. "550 <someone@example.com>: Recipient address rejected").
 */
export function describeFailure(error: unknown, secrets: string[]): Record<string, unknown> {
  const failure = (error && typeof error === 'object' ? error : { message: String(error) }) as SmtpFailure
  let message = typeof failure.message === 'string' ? failure.message : 'unknown error'
  for (const secret of secrets) message = message.replaceAll(secret, '[redacted]')
  message = message.replace(EMAIL, '[address]')
  return {
    code: typeof failure.code === 'string' ? failure.code : undefined,
    responseCode: typeof failure.responseCode === 'number' ? failure.responseCode : undefined,
    command: typeof failure.command === 'string' ? failure.command : undefined,
    message,
  }
}

/** Sends through a small pool of SMTP connections; `close` ends them (called from `onClose`). */
export function createSmtpMailer(
  options: { smtpUrl: string; from: string },
  log: FastifyBaseLogger,
): Mailer & { close(): void } {
  const secrets = secretsOf(options.smtpUrl)
  // nodemailer (~5 MB of heap) is loaded for the first email: most processes never send one
  // (an API worker sends sign-in links, now and then).
  let transport: Transporter | undefined
  let loading: Promise<Transporter> | undefined
  const connect = async () => {
    const { createTransport } = await import('nodemailer')
    transport = createTransport(
      {
        url: options.smtpUrl,
        pool: true,
        maxConnections: 3,
        maxMessages: 100,
        // Idle pooled connections are closed by us before the socket timeout or the server does it.
        idleTimeout: 5000,
        // One retry covers a pooled connection that the server dropped just as we used it.
        maxRequeues: 1,
        ...SMTP_TIMEOUTS,
        // nodemailer's own logger would print envelopes (recipients); ours logs failures only.
        logger: false,
        debug: false,
      },
      { from: options.from },
    )
    return transport
  }

  return {
    transport: 'smtp',
    async send(message: MailMessage) {
      const started = performance.now()
      let timer: NodeJS.Timeout | undefined
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${SEND_DEADLINE_MS} ms`)),
          SEND_DEADLINE_MS,
        )
      })
      try {
        loading ??= connect()
        const pool = await loading
        await Promise.race([
          pool.sendMail({
            to: message.to,
            subject: message.subject,
            text: message.text,
            html: message.html,
          }),
          deadline,
        ])
      } catch (error) {
        const cause = describeFailure(error, secrets)
        const ms = Math.round(performance.now() - started)
        if (cause.command === 'RCPT TO' && Number(cause.responseCode) >= 500) {
          log.warn({ cause, ms }, 'email refused: the server rejected the recipient')
          throw new RecipientRejectedError()
        }
        log.error({ cause, ms }, 'email could not be sent')
        throw new MailUnavailableError()
      } finally {
        clearTimeout(timer)
      }
    },
    close() {
      transport?.close()
    },
  }
}
