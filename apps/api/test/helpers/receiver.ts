import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

/** One request a webhook receiver got. */
export interface Received {
  headers: Record<string, string>
  body: string
  at: number
}

/**
 * A local webhook receiver (127.0.0.1) that records every request and answers what `answer`
 * says: 200 by default; a test switches it to fail, to be slow or to say 410.
 */
export async function startReceiver(t: Test) {
  const received: Received[] = []
  let answer: (request: Received) => {
    status: number
    headers?: Record<string, string>
    body?: string
    delayMs?: number
  } = () => ({
    status: 200,
    body: 'ok',
  })
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const request = {
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      }
      received.push(request)
      const { status, headers = {}, body = '', delayMs = 0 } = answer(request)
      setTimeout(() => res.writeHead(status, headers).end(body), delayMs)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    answer(fn: typeof answer) {
      answer = fn
    },
  }
}

/** Polls `check` until it returns a value (not undefined/false) or `ms` pass. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  ms = 15000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value as T
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
