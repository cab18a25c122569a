import { loadConfigOrExit } from '@nudge/config'
import closeWithGrace from 'close-with-grace'
import { answerMemoryReports } from './memory-report.ts'
import { buildApp } from './server.ts'

// Fail before listening, naming every bad variable, so a broken deploy never takes traffic.
const config = loadConfigOrExit(process.env)

const app = await buildApp(config)

closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'closing after an unhandled error')
  else app.log.info({ signal }, 'closing: finishing in-flight requests')
  await app.close()
})

try {
  await app.listen({ port: config.PORT, host: config.HOST })
} catch (error) {
  app.log.fatal({ err: error }, 'could not listen')
  process.exit(1)
}
// PM2 (`wait_ready`) switches traffic to this worker only after it listens.
process.send?.('ready')
answerMemoryReports()
