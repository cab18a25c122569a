import http from 'node:http'
import https from 'node:https'

/**
 * Where a name answers: a URL, and the Host header to send when the URL is a proxy's address
 * rather than the name itself (the local driver's HAProxy plays api.<domain> and both colours).
 */
export interface Target {
  name: string
  url: string
  host?: string
}

export interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
  ms: number
}

/** One GET (bounded in time and size) through `target`; a network failure throws. */
export function get(
  target: Target,
  path: string,
  options: { headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Answer> {
  const url = new URL(path, target.url)
  const client = url.protocol === 'https:' ? https : http
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const request = client.request(
      url,
      {
        method: 'GET',
        headers: { ...(target.host ? { host: target.host } : {}), ...options.headers },
        timeout: options.timeoutMs ?? 5000,
        agent: false,
      },
      (response) => {
        let body = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => {
          if (body.length < 65536) body += chunk
        })
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body,
            ms: performance.now() - started,
          }),
        )
        response.on('error', reject)
      },
    )
    request.on('timeout', () =>
      request.destroy(new Error(`no answer from ${target.name} within ${options.timeoutMs ?? 5000} ms`)),
    )
    request.on('error', reject)
    request.end()
  })
}

/** The release a target's API reports on GET /health, or undefined when it does not answer. */
export async function releaseAt(target: Target): Promise<string | undefined> {
  try {
    const answer = await get(target, '/health', { timeoutMs: 3000 })
    if (answer.status !== 200) return undefined
    return (JSON.parse(answer.body) as { release?: string }).release
  } catch {
    return undefined
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
