import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}

/**
 * Where the profiled process spent its CPU, from the .cpuprofile files Node wrote in `dir`
 * (--cpu-prof): self time per function, and per package or our own file, largest first.
 */
export async function summariseProfiles(dir: string, top = 15): Promise<string> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile'))
  const byFunction = new Map<string, number>()
  const byPlace = new Map<string, number>()
  let total = 0
  for (const file of files) {
    const profile = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as { nodes: ProfileNode[] }
    for (const node of profile.nodes) {
      const hits = node.hitCount ?? 0
      if (hits === 0) continue
      total += hits
      const { functionName, url, lineNumber } = node.callFrame
      const place = placeOf(url, functionName)
      const name = `${functionName || '(anonymous)'} ${url ? `${shorten(url)}:${lineNumber + 1}` : ''}`.trim()
      byFunction.set(name, (byFunction.get(name) ?? 0) + hits)
      byPlace.set(place, (byPlace.get(place) ?? 0) + hits)
    }
  }
  if (total === 0) return `no samples in ${dir}`
  const rows = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, hits]) => `  ${((hits / total) * 100).toFixed(1).padStart(5)} %  ${name}`)
  return [
    `CPU profile of the API (${files.length} file${files.length === 1 ? '' : 's'}, ${total} samples), self time:`,
    'by package or file:',
    ...rows(byPlace),
    'by function:',
    ...rows(byFunction),
  ].join('\n')
}

function shorten(url: string): string {
  const at = url.lastIndexOf('node_modules/')
  if (at >= 0) return url.slice(at + 'node_modules/'.length)
  return url.replace(/^file:\/\/.*?\/(apps|libs|tools)\//, '$1/')
}

function placeOf(url: string, functionName: string): string {
  if (!url)
    return functionName === '(idle)' || functionName === '(program)' || functionName === '(garbage collector)'
      ? functionName
      : '(native)'
  const at = url.lastIndexOf('node_modules/')
  if (at >= 0) {
    const parts = url.slice(at + 'node_modules/'.length).split('/')
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url)
  }
  if (url.startsWith('node:')) return 'node (core)'
  return shorten(url)
}
