import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Miniflare, type ModuleDefinition } from 'miniflare'
import { workerScript } from '../build/worker.ts'

export { workerScript }

export const EDGE_SECRET = 'edge-secret-for-tests-0123456789'

/** A Miniflare running the Worker over an empty bucket; `cf` always given, so nothing is fetched. */
export async function startEdge(
  apiOrigin: string,
  options: {
    script?: string
    /** What wrangler built instead of `script`: its modules (the Worker and the script as text) under `modulesRoot`. */
    modules?: { root: string; modules: ModuleDefinition[] }
    inspectorPort?: number
    bindings?: Record<string, string>
  } = {},
) {
  const mf = new Miniflare({
    ...(options.modules
      ? { modules: options.modules.modules, modulesRoot: options.modules.root }
      : { modules: true, script: options.script ?? (await workerScript()) }),
    compatibilityDate: '2026-04-26',
    r2Buckets: ['OBJECTS'],
    bindings: { API_ORIGIN: apiOrigin, EDGE_SECRET, ...options.bindings },
    cf: { country: 'DE' },
    ...(options.inspectorPort === undefined ? {} : { inspectorPort: options.inspectorPort }),
  })
  await mf.ready
  const bucket = await mf.getR2Bucket('OBJECTS')
  return { mf, bucket }
}

export interface Received {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
}

export type Answer = { status: number; headers?: Record<string, string>; body?: string }

/**
 * A real HTTP server on loopback standing in for the API: records every request it receives and
 * answers with what the test set for the path (404 otherwise).
 */
export async function startApi() {
  const received: Received[] = []
  const answers = new Map<string, (request: Received) => Answer>()
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const got: Received = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      }
      received.push(got)
      const answer = answers.get(got.url.split('?')[0] ?? '')?.(got) ?? {
        status: 404,
        headers: { 'content-type': 'application/json' },
        body: '{"statusCode":404,"code":"NOT_FOUND","message":"stand-in"}',
      }
      response.writeHead(answer.status, answer.headers)
      response.end(answer.body)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    received,
    answer: (path: string, handler: (request: Received) => Answer) => answers.set(path, handler),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** A request's `cf` with this country; workers-types' list of countries leaves out XX, which Cloudflare sends. */
export function cfCountry(country: string | undefined) {
  return { country } as { country?: 'DE' }
}
