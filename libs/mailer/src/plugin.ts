import { tmpdir } from 'node:os'
import path from 'node:path'
import type {} from '@nudge/config'
import fp from 'fastify-plugin'
import { DevMailbox } from './dev-mailbox.ts'
import type { Mailer } from './mailer.ts'
import { devMailboxRoutes } from './routes.ts'
import { createSmtpMailer } from './smtp.ts'

declare module 'fastify' {
  interface FastifyInstance {
    mailer: Mailer
  }
}

/**
 * Decorates `app.mailer`: nodemailer over a pooled SMTP connection when SMTP_URL is set, or,
 * only when DEV_MAILBOX=true (development and test; config refuses it in production), the dev
 * mailbox and `GET /dev/mailbox`, which hands every sign-in link to whoever asks.
 */
export const mailerPlugin = fp(
  async (app) => {
    const { config } = app
    const log = app.log.child({ layer: 'mailer' })
    if (config.SMTP_URL) {
      const mailer = createSmtpMailer({ smtpUrl: config.SMTP_URL, from: config.MAIL_FROM }, log)
      app.decorate('mailer', mailer)
      app.addHook('onClose', async () => mailer.close())
      return
    }
    // Checked here rather than in config: tools that load the config without sending email
    // (migrations, the token CLI) need neither. Production refuses DEV_MAILBOX in config too.
    if (!config.DEV_MAILBOX || config.NODE_ENV === 'production')
      throw new Error(
        'SMTP_URL is not set and DEV_MAILBOX is not true: set SMTP_URL, or DEV_MAILBOX=true in development to keep emails in the dev mailbox',
      )
    // Printed for a person running the API; tests read the mailbox over HTTP instead.
    // In development the PM2 workers share one mailbox file (per port, under the OS temp dir).
    const mailbox = new DevMailbox({
      print: config.NODE_ENV === 'development',
      file:
        config.NODE_ENV === 'development'
          ? path.join(tmpdir(), `nudge-dev-mailbox-${config.PORT}.jsonl`)
          : undefined,
    })
    app.decorate('mailer', mailbox)
    devMailboxRoutes(app, mailbox)
  },
  { name: 'mailer', dependencies: ['config', 'logging'], fastify: '5.x' },
)
