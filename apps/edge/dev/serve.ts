/**
 * The edge on this machine: the Worker under Miniflare (the real workerd), its R2 bucket a mirror
 * of the API's folder storage, with demo pages on. `npm start` runs it once the API is ready.
 *   node apps/edge/dev/serve.ts
 * env: STORAGE_DIR (the API's, default .data/published), API_ORIGIN (default
 * http://127.0.0.1:$PORT), EDGE_SECRET (the API's), EDGE_PORT (8787), EDGE_COUNTRY (DE; XX for
 * unknown). Builds apps/embed first (`npm run build -w apps/embed`).
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Miniflare } from 'miniflare'
import { EMBED_DIST, workerScript } from '../build/worker.ts'
import { type MirrorChange, mirrorFolder } from './mirror.ts'

export interface LocalEdgeOptions {
  /** The API's STORAGE_DIR folder: what it publishes is what the Worker serves. */
  storageDir: string
  /** Where visitors' writes and domain documents missing from the folder are asked for. */
  apiOrigin: string
  /** The API's EDGE_SECRET, so the API believes the country and address the Worker forwards. */
  edgeSecret: string
  /** 8787 by default; 0 picks a free one (see `url`). */
  port?: number
  /** The address to listen on (127.0.0.1). */
  host?: string
  /** Every visitor's `request.cf.country` (DE); XX is unknown. */
  country?: string
  /** The popup script served (apps/embed/dist/nudge.js). */
  scriptFile?: string
  /** Told what each mirror pass copied or removed (after the first). */
  onChange?: (change: MirrorChange) => void
}

export async function startLocalEdge(options: LocalEdgeOptions) {
  const scriptFile = options.scriptFile ?? EMBED_DIST
  if (!existsSync(scriptFile))
    throw new Error(`${scriptFile} does not exist: run \`npm run build -w apps/embed\` first`)
  const mf = new Miniflare({
    modules: true,
    script: await workerScript({ scriptFile }),
    compatibilityDate: '2026-04-26',
    r2Buckets: ['OBJECTS'],
    bindings: {
      API_ORIGIN: options.apiOrigin.replace(/\/+$/, ''),
      EDGE_SECRET: options.edgeSecret,
      DEMO_PAGES: 'true',
    },
    // Given, so Miniflare fetches nothing to make one up.
    cf: { country: options.country ?? 'DE' },
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 8787,
  })
  try {
    const listening = await mf.ready
    const bucket = await mf.getR2Bucket('OBJECTS')
    const mirror = await mirrorFolder(options.storageDir, bucket, options.onChange)
    return {
      /** Where the Worker listens, e.g. http://127.0.0.1:8787 (no trailing slash). */
      url: listening.origin,
      mf,
      /** Resolves once what changed in the folder so far is in the bucket. */
      settled: () => mirror.settled(),
      onError: mirror.onError,
      async close() {
        mirror.close()
        await mf.dispose()
      },
    }
  } catch (error) {
    await mf.dispose()
    throw error
  }
}

const root = fileURLToPath(new URL('../../..', import.meta.url))

async function main() {
  const say = (line: string) => process.stdout.write(`[edge] ${line}\n`)
  try {
    execFileSync('npm', ['run', 'build', '-w', 'apps/embed'], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim()
    throw new Error(
      `\`npm run build -w apps/embed\` failed, so there is no popup script to serve:\n${stderr}`,
    )
  }
  const port = Number(process.env.EDGE_PORT ?? 8787)
  const storageDir = path.resolve(root, process.env.STORAGE_DIR ?? '.data/published')
  const edgeSecret = process.env.EDGE_SECRET ?? ''
  if (!edgeSecret) say('EDGE_SECRET not set: the API will not believe the country the edge forwards')
  const origin = `http://localhost:${port}`
  const demo = (key: string) => {
    const hostname = /^domains\/(.+)\.json$/.exec(key)?.[1]
    return hostname ? `${origin}/demo/${hostname}` : null
  }
  const edge = await startLocalEdge({
    storageDir,
    apiOrigin: process.env.API_ORIGIN ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`,
    edgeSecret,
    port,
    ...(process.env.EDGE_COUNTRY ? { country: process.env.EDGE_COUNTRY } : {}),
    onChange: ({ put, deleted }) => {
      for (const key of put) say(`published ${key}${demo(key) ? ` (demo: ${demo(key)})` : ''}`)
      for (const key of deleted) say(`withdrawn ${key}`)
    },
  })
  edge.onError((error) => say(`mirroring ${storageDir} failed: ${error.message}`))
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      edge.close().finally(() => process.exit(0))
    })
  }
  say(`mirroring ${path.relative(root, storageDir) || storageDir} into the Worker's bucket`)
  say(`${origin} (demo: ${origin}/demo/<hostname>)`)
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: Error) => {
    process.stderr.write(`[edge] could not start: ${error.message}\n`)
    process.exit(1)
  })
}
