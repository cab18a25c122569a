/**
 * `npm run jobs -- list | failed <queue> | retry <queue> <jobId>... | redrive <dead-letter queue>`:
 * the operator's view of the job queue (pg-boss, schema pgboss) and its dead letters.
 * env: DATABASE_URL (development: the embedded PostgreSQL)
 */
import { loadConfigOrExit } from '@nudge/config'
import { queueSummaries } from '@nudge/jobs'
import { PgBoss } from 'pg-boss'

const usage = `usage: npm run jobs -- <command>
  list                       every queue: waiting, deferred, active, failed, oldest waiting job
  failed <queue>             the failed jobs of a queue (id, when, last error), newest first
  retry <queue> <jobId>...   run failed jobs again
  redrive <queue>.dead       move a dead-letter queue's jobs back to the queue they came from
env: DATABASE_URL (development: the embedded PostgreSQL)
`
const [command, ...args] = process.argv.slice(2)
if (!command || command === '--help' || command === 'help') {
  process.stdout.write(usage)
  process.exit(command ? 0 : 2)
}

const config = loadConfigOrExit({ LOG_LEVEL: 'warn', ...process.env }, { code: 2 })
if (!config.DATABASE_URL) {
  process.stderr.write('DATABASE_URL is not set\n')
  process.exit(2)
}

// Sends and reads only: no maintenance, no schedules, no schema changes.
const boss = new PgBoss({
  connectionString: config.DATABASE_URL,
  schema: 'pgboss',
  max: 2,
  supervise: false,
  schedule: false,
  migrate: false,
})
boss.on('error', (error) => process.stderr.write(`${error.message}\n`))
let code = 0
try {
  await boss.start()
  code = await run(command, args)
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`)
  code = 1
} finally {
  await boss.stop({ graceful: false, close: true })
}
process.exit(code)

async function run(name: string, rest: string[]): Promise<number> {
  const queueArg = () => {
    const queue = rest[0]
    if (!queue) throw new Error(`${name}: name a queue (see: npm run jobs -- list)`)
    return queue
  }
  switch (name) {
    case 'list': {
      const rows = (await queueSummaries(boss)).map((q) => ({
        queue: q.name,
        waiting: q.waiting,
        deferred: q.deferred,
        active: q.active,
        failed: q.failed,
        'oldest waiting (s)': q.oldestWaitingSeconds ?? '',
      }))
      printTable(rows)
      return 0
    }
    case 'failed': {
      const jobs = await boss.findJobs(queueArg(), { limit: 100 })
      const failed = jobs
        .filter((job) => job.state === 'failed')
        .map((job) => ({
          id: job.id,
          at: job.completedOn?.toISOString() ?? '',
          retries: job.retryCount,
          error: JSON.stringify(job.output ?? null).slice(0, 120),
        }))
      printTable(failed)
      return 0
    }
    case 'retry': {
      const [queue, ...ids] = rest
      if (!queue || ids.length === 0) throw new Error('retry: name the queue and one or more job ids')
      const result = (await boss.retry(queue, ids)) as { affected?: number; updated?: number }
      const retried = result.affected ?? result.updated ?? 0
      process.stdout.write(`retried ${retried} of ${ids.length}\n`)
      return retried === ids.length ? 0 : 1
    }
    case 'redrive': {
      const queue = queueArg()
      if (!queue.endsWith('.dead'))
        throw new Error(`redrive: ${queue} is not a dead-letter queue (<queue>.dead)`)
      const moved = await boss.redrive(queue)
      process.stdout.write(`redrove ${moved} job(s) from ${queue}\n`)
      return 0
    }
    default:
      process.stderr.write(`unknown command ${name}\n${usage}`)
      return 2
  }
}

/** Rows as aligned columns, the header first. */
function printTable(rows: Array<Record<string, string | number>>) {
  const first = rows[0]
  if (!first) {
    process.stdout.write('(none)\n')
    return
  }
  const columns = Object.keys(first)
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)))
  const line = (cells: string[]) => `${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}\n`
  process.stdout.write(line(columns))
  for (const row of rows) process.stdout.write(line(columns.map((c) => String(row[c] ?? ''))))
}
