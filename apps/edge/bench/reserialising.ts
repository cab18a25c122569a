import type { EdgeRequest, Env } from '../src/env.ts'
import worker from '../src/index.ts'

/*
 * The old way, for the bench only: the same Worker, but every object is read whole, parsed and
 * serialised again before it goes out (what the old system's Worker did to add the country).
 */
export default {
  async fetch(request: EdgeRequest, env: Env): Promise<Response> {
    const response = await worker.fetch(request, env)
    if (response.status !== 200) return response
    const body = JSON.stringify(JSON.parse(await response.text()))
    return new Response(body, { status: 200, headers: response.headers })
  },
}
