// PM2 process file: `pm2 start ecosystem.config.js` (production) or `npm start` (development):
// `api` (the HTTP API, one per core) and `worker` (the job worker).
// ESM like the rest of the repo; PM2 `require`s it, which Node 24 answers with the
// 'module.exports' export below.
import os from 'node:os'
import path from 'node:path'

const root = import.meta.dirname
const graceMs = Number(process.env.SHUTDOWN_GRACE_MS ?? 10000)
const drainMs = Number(process.env.DRAIN_MS ?? 1500)

// The NewRelic agent must load before anything else, so it is preloaded here (absolute paths,
// whatever the cwd) and only when there is a licence key; its settings come from env alone.
const newrelic = process.env.NEW_RELIC_LICENSE_KEY
  ? [
      `--import=${path.join(root, 'node_modules/newrelic/esm-loader.mjs')}`,
      `--require=${path.join(root, 'node_modules/newrelic/index.js')}`,
    ]
  : []

const config = {
  apps: [
    {
      name: 'api',
      script: path.join(root, 'apps/api/src/main.ts'),
      cwd: root,
      exec_mode: 'cluster',
      instances: process.env.PM2_INSTANCES ?? os.availableParallelism(),
      node_args: newrelic,
      // A worker gets traffic only once it listens (it sends 'ready').
      wait_ready: true,
      listen_timeout: 20000,
      // Longer than drain + grace, so PM2 never kills a worker that is still finishing requests.
      kill_timeout: drainMs + graceMs + 2000,
      max_memory_restart: process.env.PM2_MAX_MEMORY ?? '1G',
      merge_logs: true,
      env: {
        NEW_RELIC_NO_CONFIG_FILE: 'true',
        NEW_RELIC_ENABLED: process.env.NEW_RELIC_LICENSE_KEY ? 'true' : 'false',
        NEW_RELIC_APP_NAME: process.env.NEW_RELIC_APP_NAME ?? 'nudge-api',
        NEW_RELIC_DISTRIBUTED_TRACING_ENABLED: 'true',
        NEW_RELIC_ATTRIBUTES_EXCLUDE:
          'request.headers.cookie,request.headers.authorization,request.headers.setCookie*',
      },
    },
    {
      // The job worker (apps/api/src/worker.ts): deliveries, schedules. Stopped gracefully: the
      // jobs in progress finish within SHUTDOWN_GRACE_MS, or go back to the queue.
      name: 'worker',
      script: path.join(root, 'apps/api/src/worker.ts'),
      cwd: root,
      exec_mode: 'fork',
      instances: Number(process.env.PM2_WORKER_INSTANCES ?? 1),
      node_args: newrelic,
      wait_ready: true,
      listen_timeout: 60000,
      kill_timeout: graceMs + 5000,
      max_memory_restart: process.env.PM2_MAX_MEMORY ?? '1G',
      merge_logs: true,
      env: {
        NEW_RELIC_NO_CONFIG_FILE: 'true',
        NEW_RELIC_ENABLED: process.env.NEW_RELIC_LICENSE_KEY ? 'true' : 'false',
        NEW_RELIC_APP_NAME: `${process.env.NEW_RELIC_APP_NAME ?? 'nudge-api'}-worker`,
      },
    },
  ],
}

export { config as 'module.exports' }
