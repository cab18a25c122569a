import { once } from 'node:events'
import { createServer } from 'node:net'

/*
 * The Worker's own CPU, read from V8's sampling profiler over the inspector Miniflare opens: the
 * time the Worker's isolate spent on samples that were not idle. Process CPU would also count
 * Miniflare's entry worker and its R2 simulator, the same for both variants and far larger.
 */

type ProfileNode = { id: number; callFrame: { functionName: string; url: string } }
type Kind = 'idle' | 'program' | 'gc' | 'r2' | 'js'
const KINDS: Record<string, Kind> = {
  '(idle)': 'idle',
  '(program)': 'program',
  '(garbage collector)': 'gc',
}
const kindOf = (node: ProfileNode): Kind =>
  KINDS[node.callFrame.functionName] ??
  (node.callFrame.functionName === 'get' && node.callFrame.url === '' ? 'r2' : 'js')

type Profile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

export async function connectProfiler(inspectorPort: number) {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as Array<{
    webSocketDebuggerUrl: string
  }>
  const target = targets[0]
  if (!target) throw new Error('no inspector target')
  const socket = new WebSocket(target.webSocketDebuggerUrl)
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true })
    socket.addEventListener('error', reject, { once: true })
  })
  let nextId = 1
  const pending = new Map<number, (result: unknown) => void>()
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown }
    if (message.id !== undefined) pending.get(message.id)?.(message.result)
  })
  const send = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++
      pending.set(id, resolve)
      socket.send(JSON.stringify({ id, method, params }))
    })
  await send('Profiler.enable')
  await send('Profiler.setSamplingInterval', { interval: 100 })
  return {
    start: () => send('Profiler.start'),
    /**
     * Microseconds since start per kind of sample: idle, program (native), garbage collector, the
     * R2 binding's `get` (Miniflare's simulator answers it in the call; on Cloudflare it is I/O),
     * and the rest: the Worker's JavaScript.
     */
    stop: async () => {
      const { profile } = (await send('Profiler.stop')) as { profile: Profile }
      const kind = new Map(profile.nodes.map((node) => [node.id, kindOf(node)]))
      const spent: Record<Kind, number> = { idle: 0, program: 0, gc: 0, r2: 0, js: 0 }
      profile.samples.forEach((node, index) => {
        spent[kind.get(node) ?? 'js'] += profile.timeDeltas[index] ?? 0
      })
      return spent
    },
    close: () => socket.close(),
  }
}
