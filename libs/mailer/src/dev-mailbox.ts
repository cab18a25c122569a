import { randomUUID } from 'node:crypto'
import { appendFile, readFile } from 'node:fs/promises'
import type { Mailer, MailMessage } from './mailer.ts'

export interface StoredMessage extends MailMessage {
  id: string
  sentAt: string
}

/** How many messages the dev mailbox keeps; older ones are dropped. */
export const DEV_MAILBOX_SIZE = 50

/**
 * The development stand-in for SMTP: messages are printed to stdout for a developer at the
 * console and kept for `GET /dev/mailbox`. Under PM2 the workers share one mailbox file
 * (appends of one line are atomic), so whichever worker answers lists every message; without
 * a file (tests) the mailbox lives in this process's memory.
 */
export class DevMailbox implements Mailer {
  readonly transport = 'dev-mailbox' as const
  readonly #messages: StoredMessage[] = []
  readonly #print: boolean
  readonly #file: string | undefined

  constructor(options: { print: boolean; file?: string | undefined }) {
    this.#print = options.print
    this.#file = options.file
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
    if (this.#print) process.stdout.write(formatForConsole(stored))
    if (this.#file) await appendFile(this.#file, `${JSON.stringify(stored)}\n`)
    else {
      this.#messages.unshift(stored)
      this.#messages.length = Math.min(this.#messages.length, DEV_MAILBOX_SIZE)
    }
  }

  /** Newest first; `to` matches the whole address, ignoring case. */
  async list(to?: string): Promise<StoredMessage[]> {
    const wanted = to?.trim().toLowerCase()
    const messages = this.#file ? await this.#readFile() : this.#messages
    return messages.filter((message) => !wanted || message.to.toLowerCase() === wanted)
  }

  async #readFile(): Promise<StoredMessage[]> {
    const content = await readFile(this.#file as string, 'utf8').catch(() => '')
    return content
      .split('\n')
      .filter(Boolean)
      .slice(-DEV_MAILBOX_SIZE)
      .reverse()
      .map((line) => JSON.parse(line) as StoredMessage)
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
