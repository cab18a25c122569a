import { startApi, startEdge, workerScript } from '../test/harness.ts'
import { connectProfiler, freePort } from './profile.ts'

/*
 * Worker CPU per object request under Miniflare (the real workerd): the streaming Worker against
 * the same Worker parsing and re-serialising each object (the old way), side by side. CPU is the
 * Worker isolate's busy time from V8's profiler (profile.ts); wall is per request as the client
 * saw it, through Miniflare's entry worker and R2 simulator (the same for both).
 * Run: npm run bench -w apps/edge [-- requests]
 */

const REQUESTS = Number(process.argv[2] ?? 4000)
const CONCURRENCY = 8

// A site with 20 live campaigns and a few released features (about 1.5 KB), and a campaign object
// of a modal with two variants of three steps (about 6 KB): realistic sizes of what publishing writes.
const id = (n: number) => `0190a0b0-0000-7000-8000-${n.toString(16).padStart(12, '0')}`
const domain = JSON.stringify({
  site: id(1),
  hostname: 'shop.example.com',
  campaigns: Array.from({ length: 20 }, (_, n) => ({ id: id(100 + n), v: n + 1 })),
  features: ['popup-v2', 'exit-intent', 'country-targeting'],
})
const step = (n: number) => ({
  id: `step-${n}`,
  blocks: Array.from({ length: 6 }, (_, b) => ({
    type: b % 2 ? 'text' : 'heading',
    text: `Get 10% off your first order — step ${n} block ${b}, with some copy to make it realistic.`,
    style: { color: '#1a1a1a', fontSize: 16 + b, align: 'center' },
  })),
  buttons: [
    { label: 'Yes please', action: { type: 'next' } },
    { label: 'No thanks', action: { type: 'close' } },
  ],
})
const campaign = JSON.stringify({
  id: id(100),
  v: 3,
  type: 'modal',
  variants: ['a', 'b'].map((v) => ({ id: v, weight: 50, steps: [0, 1, 2].map(step) })),
  targeting: {
    urls: [{ match: 'prefix', value: '/shop' }],
    devices: ['desktop', 'mobile'],
    countries: ['DE', 'FR'],
  },
  frequency: { maxImpressions: 3, perDays: 7 },
  schedule: { timezone: 'Europe/Berlin' },
})

async function measure(name: string, script: string, path: string) {
  const api = await startApi()
  const inspectorPort = await freePort()
  const { mf, bucket } = await startEdge(api.origin, { script, inspectorPort })
  const profiler = await connectProfiler(inspectorPort)
  await bucket.put('domains/shop.example.com.json', domain)
  await bucket.put(`campaigns/production/${id(100)}.json`, campaign)
  const url = `http://edge.test${path}`
  // Warm up: compile, fill caches.
  for (let i = 0; i < 200; i++) await (await mf.dispatchFetch(url)).arrayBuffer()
  await profiler.start()
  const started = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < REQUESTS) {
        const response = await mf.dispatchFetch(url)
        if (response.status !== 200) throw new Error(`${name}: ${response.status}`)
        await response.arrayBuffer()
      }
    }),
  )
  const wallMs = performance.now() - started
  const spent = await profiler.stop()
  profiler.close()
  await mf.dispose()
  await api.close()
  const per = (us: number) => (us / REQUESTS).toFixed(1)
  return {
    name,
    js: per(spent.js),
    gc: per(spent.gc),
    program: per(spent.program),
    r2: per(spent.r2),
    wall: per(wallMs * 1000),
  }
}

const streaming = await workerScript()
const reserialising = await workerScript({ entry: '../bench/reserialising.ts' })
const rows: string[][] = []
for (const [object, path, bytes] of [
  ['domain document', '/domains/shop.example.com.json', domain.length],
  ['campaign object', `/campaigns/production/${id(100)}.json`, campaign.length],
] as const) {
  const streamed = await measure('streamed', streaming, path)
  const parsed = await measure('parse+stringify', reserialising, path)
  // The Worker's own CPU: its JavaScript, its garbage collection and the native work it caused.
  const cpu = (result: typeof streamed) => Number(result.js) + Number(result.gc) + Number(result.program)
  for (const result of [streamed, parsed]) {
    rows.push([
      `${object} (${bytes} B)`,
      result.name,
      result.js,
      result.gc,
      result.program,
      cpu(result).toFixed(1),
      result === streamed ? '1.00x' : `${(cpu(parsed) / cpu(streamed)).toFixed(2)}x`,
      result.r2,
      result.wall,
    ])
  }
}
const header = [
  'object',
  'worker',
  'JS µs/req',
  'GC µs/req',
  'native µs/req',
  'CPU µs/req',
  'CPU vs streamed',
  'R2 get µs/req',
  'wall µs/req',
]
process.stdout.write(
  `${REQUESTS} requests each, ${CONCURRENCY} at a time; the Worker isolate's CPU (V8 profiler) per request\n` +
    [header, ...rows].map((row) => `${row.join('\t')}\n`).join(''),
)
