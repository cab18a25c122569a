import { randomUUID } from 'node:crypto'
import type { Mailer, MailMessage } from './mailer.ts'

export interface StoredMessage extends MailMessage {
  id: string
  sentAt: string
}

/** How many messages the dev mailbox keeps; older ones are dropped. */
export const DEV_MAILBOX_SIZE = 50

/**
 * The development stand-in for SMTP: messages are kept in memory and, for a developer at the
 * console, printed to stdout. The memory is per process: under PM2 with 2 workers each worker
 * has its own mailbox, so `GET /dev/mailbox` only lists what the worker that answers sent
 * (the console print shows every message, whichever worker sent it).
 */
export class DevMailbox implements Mailer {
  readonly transport = 'dev-mailbox' as const
  readonly #messages: StoredMessage[] = []
  readonly #print: boolean

  constructor(options: { print: boolean }) {
    this.#print = options.print
  }

  async send(message: MailMessage): Promise<void> {
    const stored: StoredMessage = {
      id: randomUUID(),
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html,
      sentAt: new Date().toISOString(),
    }
    this.#messages.unshift(stored)
    this.#messages.length = Math.min(this.#messages.length, DEV_MAILBOX_SIZE)
    if (this.#print) process.stdout.write(formatForConsole(stored))
  }

  /** Newest first; `to` matches the whole address, ignoring case. */
  list(to?: string): StoredMessage[] {
    const wanted = to?.trim().toLowerCase()
    return this.#messages.filter((message) => !wanted || message.to.toLowerCase() === wanted)
  }
}

function formatForConsole(message: StoredMessage): string {
  return [
    '',
    `--- dev mailbox: email to ${message.to} ---`,
    `Subject: ${message.subject}`,
    '',
    message.text.trimEnd(),
    `--- end of email (${message.id}) ---`,
    '',
    '',
  ].join('\n')
}
