/**
 * Builds the script customers paste: src/main.ts bundled with @nudge/popup into one minified IIFE,
 * dist/nudge.js, for the browsers of the last years (ES2019: what Safari, Chromium and Firefox of the last years run). Prints its
 * size and fails above 15 KB gzip, the budget a script on every page of a customer's site gets.
 *   npm run build -w apps/embed
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

export const LIMIT_GZIP_BYTES = 15_360
const here = import.meta.dirname
export const OUTPUT = path.join(here, 'dist/nudge.js')

export async function buildScript(): Promise<{ raw: number; gzip: number; code: string }> {
  const result = await build({
    entryPoints: [path.join(here, 'src/main.ts')],
    bundle: true,
    format: 'iife',
    minify: true,
    target: 'es2019',
    platform: 'browser',
    legalComments: 'none',
    write: false,
    logLevel: 'warning',
  })
  const code = result.outputFiles[0]?.text ?? ''
  mkdirSync(path.dirname(OUTPUT), { recursive: true })
  writeFileSync(OUTPUT, code)
  return { raw: Buffer.byteLength(code), gzip: gzipSync(code, { level: 9 }).length, code }
}

const kb = (bytes: number) => (bytes / 1024).toFixed(1)

if (import.meta.main) {
  const { raw, gzip } = await buildScript()
  process.stdout.write(
    `nudge.js  ${kb(raw)} KB raw, ${kb(gzip)} KB gzip (limit ${LIMIT_GZIP_BYTES / 1024} KB)\n`,
  )
  if (gzip > LIMIT_GZIP_BYTES) {
    console.error(`nudge.js is ${gzip - LIMIT_GZIP_BYTES} bytes over the ${LIMIT_GZIP_BYTES}-byte gzip limit`)
    process.exit(1)
  }
}
