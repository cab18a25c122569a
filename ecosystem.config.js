// PM2 process file: `pm2 start ecosystem.config.js` (production) or `npm start` (development):
// `api` (the HTTP API, one per core) and `worker` (the job worker).
// ESM like the rest of the repo; PM2 `require`s it, which Node 24 answers with the
// 'module.exports' export below.
import { existsSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const root = import.meta.dirname
const graceMs = Number(process.env.SHUTDOWN_GRACE_MS ?? 10000)
const drainMs = Number(process.env.DRAIN_MS ?? 1500)

// The NewRelic agent must load before anything else, so it is preloaded here (absolute paths,
// whatever the cwd) and only when there is a licence key; its settings come from env alone.
// Measured cost: see "Memory" in README.md.
const newrelic = process.env.NEW_RELIC_LICENSE_KEY
  ? [
      `--import=${path.join(root, 'node_modules/newrelic/esm-loader.mjs')}`,
      `--require=${path.join(root, 'node_modules/newrelic/index.js')}`,
    ]
  : []

// V8 sizes the young generation from the machine's memory (up to 64 MB per semi-space on a large
// host, 128 MB of new space): most of a worker's RSS for no gain. Measured with `npm run bench`
// at 1, 2, 4, 8 and 16 MB (README.md, "Memory"), SEMI_SPACE_MB overrides it.
const nodeArgs = [`--max-semi-space-size=${process.env.SEMI_SPACE_MB ?? 8}`, ...newrelic]
// The job worker waits on PostgreSQL and receivers more than on GC, and its new space used 1–4 MB
// of the 16 it kept at 8: 2 MB saves ~14 MB of RSS for 4–11 % more CPU per webhook delivery
// (`npm run bench:deliveries`, worker CPU 1300–1450 µs at 8, 1357–1620 µs at 2; README "Memory").
const workerNodeArgs = ['--max-semi-space-size=2', ...newrelic]

// glibc's malloc, held to what a long-running process needs (README "Memory"). It gives each thread
// that allocates an arena of its own (V8's compiler and GC helpers, libuv's pool): at most 2. And
// after a large block (a compiler zone, a big buffer) is freed it raises its mmap and trim thresholds
// to that size, up to 32 and 64 MB, so memory freed later stays in the process: fixed at glibc's own
// starting values (128 KB), freed memory goes back to the system. API after 10 s of load: 151–167 →
// 132–149 MB RSS; CPU per request unchanged within the bench's noise.
// glibc reads them when a process starts. The job worker (fork mode) gets its app `env` then; an API
// worker (cluster mode) is forked by the PM2 daemon with the daemon's own environment and gets its
// app `env` only once running: so whoever starts the daemon passes these too (the deploy host's
// `start`, `npm start`, the bench).
export const mallocEnv = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_TRIM_THRESHOLD_: '131072',
  MALLOC_MMAP_THRESHOLD_: '131072',
}

// A release runs the plain JavaScript of `npm run build -w apps/api` (apps/api/dist/, which deploy
// builds into every artifact): no process loads Node's type stripper. `npm start` runs the sources
// (NUDGE_RUN_SOURCE=true), so an edit is what runs, never a stale build.
const dist = path.join(root, 'apps/api/dist')
const fromSource = process.env.NUDGE_RUN_SOURCE === 'true' || !existsSync(path.join(dist, 'main.js'))
const entry = (name) =>
  fromSource ? path.join(root, `apps/api/src/${name}.ts`) : path.join(dist, `${name}.js`)

const config = {
  apps: [
    {
      name: 'api',
      script: entry('main'),
      cwd: root,
      exec_mode: 'cluster',
      instances: process.env.PM2_INSTANCES ?? os.availableParallelism(),
      node_args: nodeArgs,
      // A worker gets traffic only once it listens (it sends 'ready').
      wait_ready: true,
      listen_timeout: 20000,
      // Longer than drain + grace, so PM2 never kills a worker that is still finishing requests.
      kill_timeout: drainMs + graceMs + 2000,
      max_memory_restart: process.env.PM2_MAX_MEMORY ?? '1G',
      merge_logs: true,
      disable_source_map_support: true,
      // PM2 otherwise requires its metrics module (pm2-io-bpm) into every process, and without an
      // `io` or `trace` setting never starts it: ~1.3 MB of heap for nothing (README "Memory").
      pmx: false,
      env: {
        ...mallocEnv,
        NEW_RELIC_NO_CONFIG_FILE: 'true',
        NEW_RELIC_ENABLED: process.env.NEW_RELIC_LICENSE_KEY ? 'true' : 'false',
        NEW_RELIC_APP_NAME: process.env.NEW_RELIC_APP_NAME ?? 'nudge-api',
        NEW_RELIC_DISTRIBUTED_TRACING_ENABLED: 'true',
        NEW_RELIC_ATTRIBUTES_EXCLUDE:
          'request.headers.cookie,request.headers.authorization,request.headers.setCookie*',
      },
    },
    {
      // The job worker (worker.ts): deliveries, schedules. Stopped gracefully: the
      // jobs in progress finish within SHUTDOWN_GRACE_MS, or go back to the queue.
      name: 'worker',
      script: entry('worker'),
      cwd: root,
      exec_mode: 'fork',
      instances: Number(process.env.PM2_WORKER_INSTANCES ?? 1),
      node_args: workerNodeArgs,
      wait_ready: true,
      listen_timeout: 60000,
      kill_timeout: graceMs + 5000,
      max_memory_restart: process.env.PM2_MAX_MEMORY ?? '1G',
      merge_logs: true,
      disable_source_map_support: true,
      pmx: false,
      env: {
        ...mallocEnv,
        NEW_RELIC_NO_CONFIG_FILE: 'true',
        NEW_RELIC_ENABLED: process.env.NEW_RELIC_LICENSE_KEY ? 'true' : 'false',
        NEW_RELIC_APP_NAME: `${process.env.NEW_RELIC_APP_NAME ?? 'nudge-api'}-worker`,
      },
    },
  ],
}

export { config as 'module.exports' }
