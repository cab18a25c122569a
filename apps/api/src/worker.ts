import { loadConfigOrExit } from '@nudge/config'
import closeWithGrace from 'close-with-grace'
import { answerMemoryReports } from './memory-report.ts'
import { buildWorker } from './worker-app.ts'

// The job worker: the same build as the API, without a listener, routes or sign-in (worker-app.ts).
// It runs the job handlers and the cron schedules (libs/jobs). On SIGINT/SIGTERM (pm2 stop/reload) the jobs in progress
// finish within SHUTDOWN_GRACE_MS; any still running then stay claimed until they expire and
// another worker runs them again, so a job is never lost.
const config = loadConfigOrExit(process.env)

const app = await buildWorker(config)

closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS + 2000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'worker closing after an unhandled error')
  else app.log.info({ signal }, 'worker closing: finishing the jobs in progress')
  await app.close()
})

try {
  await app.ready()
} catch (error) {
  app.log.fatal({ err: error }, 'worker could not start')
  process.exit(1)
}
app.log.info({ jobs: app.jobs.names }, 'worker running jobs')
process.send?.('ready')
answerMemoryReports()
