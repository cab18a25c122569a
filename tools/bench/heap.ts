/**
 * `node tools/bench/heap.ts FILE.heapsnapshot [--top N]`: what a V8 heap snapshot holds, summarised.
 *
 * Prints the heap by constructor (self size), then by package: every object is counted once, for
 * the package of its nearest dominator that is code (a function, its shared info or its script, or
 * the context of a module's top-level variables): what would go if that package's code were never
 * loaded. Our own code is one bundle in apps/api/dist, so it shows as one row; node's internals
 * as `node:internal`; what no code dominates (V8's own tables, strings held from several places)
 * as `(shared/runtime)`. Then the single objects retaining the most.
 *
 * Snapshots: `npm run bench -- --rss --heap` (one per PM2 process, after the load), or any
 * process started with `node --heapsnapshot-signal=SIGUSR2` and sent SIGUSR2.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[]
      node_types: [string[], ...unknown[]]
      edge_fields: string[]
      edge_types: [string[], ...unknown[]]
    }
  }
  nodes: number[]
  edges: number[]
  strings: string[]
}

export function summarise(file: string, top = 25): string {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot
  const { meta } = snap.snapshot
  const nf = meta.node_fields.length
  const ef = meta.edge_fields.length
  const [TYPE, NAME, SIZE, EDGES] = ['type', 'name', 'self_size', 'edge_count'].map((f) =>
    meta.node_fields.indexOf(f),
  ) as [number, number, number, number]
  const [ETYPE, ENAME, ETO] = ['type', 'name_or_index', 'to_node'].map((f) =>
    meta.edge_fields.indexOf(f),
  ) as [number, number, number]
  const nodeTypes = meta.node_types[0]
  const edgeTypes = meta.edge_types[0]
  const { nodes, edges, strings } = snap
  const count = nodes.length / nf
  const firstEdge = new Uint32Array(count + 1)
  for (let i = 0, e = 0; i < count; i++) {
    firstEdge[i] = e
    e += (nodes[i * nf + EDGES] as number) * ef
  }
  firstEdge[count] = edges.length
  const type = (i: number) => nodeTypes[nodes[i * nf + TYPE] as number] as string
  const name = (i: number) => strings[nodes[i * nf + NAME] as number] as string
  const size = (i: number) => nodes[i * nf + SIZE] as number
  const weak = edgeTypes.indexOf('weak')
  const named = (e: number) => {
    const t = edgeTypes[edges[e + ETYPE] as number]
    return t === 'element' || t === 'hidden' ? '' : (strings[edges[e + ENAME] as number] as string)
  }

  // Depth-first from the root (node 0) over strong edges: postorder numbers.
  const post = new Int32Array(count).fill(-1)
  const order: number[] = []
  const visited = new Uint8Array(count)
  const stack: number[] = [0]
  const cursor = new Uint32Array(count)
  visited[0] = 1
  cursor[0] = firstEdge[0] as number
  while (stack.length > 0) {
    const v = stack[stack.length - 1] as number
    let pushed = false
    for (let e = cursor[v] as number; e < (firstEdge[v + 1] as number); e += ef) {
      if (edges[e + ETYPE] === weak) continue
      const w = (edges[e + ETO] as number) / nf
      if (visited[w]) continue
      cursor[v] = e + ef
      visited[w] = 1
      cursor[w] = firstEdge[w] as number
      stack.push(w)
      pushed = true
      break
    }
    if (!pushed) {
      stack.pop()
      post[v] = order.length
      order.push(v)
    }
  }
  const reached = order.length

  // Predecessors, in postorder numbers.
  const predCount = new Uint32Array(reached + 1)
  for (let v = 0; v < count; v++) {
    if ((post[v] as number) < 0) continue
    for (let e = firstEdge[v] as number; e < (firstEdge[v + 1] as number); e += ef) {
      if (edges[e + ETYPE] === weak) continue
      const w = post[(edges[e + ETO] as number) / nf] as number
      if (w >= 0) (predCount[w] as number)++
    }
  }
  const predStart = new Uint32Array(reached + 1)
  for (let i = 0; i < reached; i++) predStart[i + 1] = (predStart[i] as number) + (predCount[i] as number)
  const preds = new Int32Array(predStart[reached] as number)
  const fill = predStart.slice()
  for (let v = 0; v < count; v++) {
    const pv = post[v] as number
    if (pv < 0) continue
    for (let e = firstEdge[v] as number; e < (firstEdge[v + 1] as number); e += ef) {
      if (edges[e + ETYPE] === weak) continue
      const w = post[(edges[e + ETO] as number) / nf] as number
      if (w >= 0) preds[(fill[w] as number)++] = pv
    }
  }

  // Dominators (Cooper, Harvey, Kennedy), over postorder numbers; the root is the last.
  const rootPost = reached - 1
  const idom = new Int32Array(reached).fill(-1)
  idom[rootPost] = rootPost
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (a < b) a = idom[a] as number
      while (b < a) b = idom[b] as number
    }
    return a
  }
  for (let changed = true; changed; ) {
    changed = false
    for (let b = rootPost - 1; b >= 0; b--) {
      let dom = -1
      for (let p = predStart[b] as number; p < (predStart[b + 1] as number); p++) {
        const q = preds[p] as number
        if (idom[q] === -1) continue
        dom = dom === -1 ? q : intersect(q, dom)
      }
      if (dom !== -1 && idom[b] !== dom) {
        idom[b] = dom
        changed = true
      }
    }
  }
  const retained = new Float64Array(reached)
  for (let b = 0; b < reached; b++) retained[b] = size(order[b] as number)
  for (let b = 0; b < rootPost; b++) {
    const d = idom[b] as number
    retained[d] = (retained[d] as number) + (retained[b] as number)
  }

  // Code labels: scripts by URL; shared function infos and closures by their script; a module's
  // context by the closures closing over it.
  const label = new Map<number, string>()
  const edgeTo = (v: number, edgeName: string) => {
    for (let e = firstEdge[v] as number; e < (firstEdge[v + 1] as number); e += ef) {
      if (named(e) === edgeName) return (edges[e + ETO] as number) / nf
    }
    return -1
  }
  const scriptOf = (sfi: number) => {
    const script = edgeTo(sfi, 'script')
    return script >= 0 && type(script) === 'code' ? packageOf(name(script)) : undefined
  }
  for (let v = 0; v < count; v++) {
    if ((post[v] as number) < 0) continue
    if (type(v) !== 'closure') continue
    const sfi = edgeTo(v, 'shared')
    const pkg = sfi >= 0 ? scriptOf(sfi) : undefined
    if (!pkg) continue
    label.set(v, pkg)
    label.set(sfi, pkg)
    const context = edgeTo(v, 'context')
    if (context >= 0 && !label.has(context)) label.set(context, pkg)
    const script = edgeTo(sfi, 'script')
    if (script >= 0) label.set(script, pkg)
  }
  const owner: string[] = new Array(reached)
  owner[rootPost] = '(shared/runtime)'
  for (let b = rootPost - 1; b >= 0; b--) {
    owner[b] = label.get(order[b] as number) ?? (owner[idom[b] as number] as string)
  }

  const byConstructor = new Map<string, { size: number; count: number }>()
  const byPackage = new Map<string, { size: number; count: number }>()
  let total = 0
  for (let b = 0; b < reached; b++) {
    const v = order[b] as number
    const s = size(v)
    total += s
    const t = type(v)
    const key = t === 'object' || t === 'closure' || t === 'code' || t === 'hidden' ? name(v) : `(${t})`
    add(byConstructor, t === 'closure' ? '(closures)' : key, s)
    add(byPackage, owner[b] as string, s)
  }
  const largest: number[] = []
  for (let b = 0; b < rootPost; b++) {
    const v = order[b] as number
    const t = type(v)
    if ((t === 'object' || t === 'closure') && (retained[b] as number) > 262_144) largest.push(b)
  }
  largest.sort((a, b) => (retained[b] as number) - (retained[a] as number))

  const mb = (n: number) => `${(n / 1048576).toFixed(2)} MB`
  const rows = (map: Map<string, { size: number; count: number }>) =>
    [...map]
      .sort((a, b) => b[1].size - a[1].size)
      .slice(0, top)
      .map(
        ([k, { size: s, count: c }]) =>
          `  ${mb(s).padStart(10)}  ${String(c).padStart(8)}  ${k.slice(0, 90)}`,
      )
  return [
    `${file}: ${mb(total)} reachable in ${reached} objects`,
    '',
    `by constructor (self size, count), top ${top}:`,
    ...rows(byConstructor),
    '',
    `by package (objects owned through their nearest code dominator), top ${top}:`,
    ...rows(byPackage),
    '',
    `largest single retainers (retained size, owner), top ${top}:`,
    ...largest
      .slice(0, top)
      .map(
        (b) =>
          `  ${mb(retained[b] as number).padStart(10)}  ${type(order[b] as number)} ${name(order[b] as number).slice(0, 50)}  [${owner[b]}]`,
      ),
    '',
  ].join('\n')
}

function add(map: Map<string, { size: number; count: number }>, key: string, bytes: number) {
  const entry = map.get(key)
  if (entry) {
    entry.size += bytes
    entry.count++
  } else map.set(key, { size: bytes, count: 1 })
}

/** The package a script URL belongs to: node_modules/<pkg>, node:internal, or our bundle's file. */
function packageOf(url: string): string | undefined {
  if (!url) return undefined
  if (url.startsWith('node:')) return 'node:internal'
  const at = url.lastIndexOf('node_modules/')
  if (at >= 0) {
    const parts = url.slice(at + 'node_modules/'.length).split('/')
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]
  }
  const dist = url.indexOf('/apps/api/dist/')
  if (dist >= 0) return `(ours) ${url.slice(dist + 1)}`
  if (url.startsWith('file://') || url.startsWith('/')) return `(ours) ${url.replace(/^file:\/\//, '')}`
  return undefined
}

// The command line; bench --rss --heap imports summarise() alone.
if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, help: { type: 'boolean', default: false } },
  })
  if (values.help || positionals.length === 0) {
    process.stdout.write(`usage: node tools/bench/heap.ts FILE.heapsnapshot... [--top N]
  Summarises a V8 heap snapshot: by constructor, by package (dominator-owned), the largest retainers.
  `)
    process.exit(values.help ? 0 : 2)
  }
  const top = Number(values.top)

  for (const file of positionals) process.stdout.write(`${summarise(file, top)}\n`)
}
