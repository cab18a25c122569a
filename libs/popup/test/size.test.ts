import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import t from 'tap'

/*
 * The renderer ships inside the script every visitor of every customer downloads, which must stay
 * within 15 KB gzip with the rules and the embed runtime: the renderer's share is 7 KB.
 */

async function gzipSize(entry: string): Promise<{ raw: number; gzip: number }> {
  const result = await build({
    entryPoints: [new URL(entry, import.meta.url).pathname],
    bundle: true,
    minify: true,
    format: 'iife',
    globalName: 'NudgePopup',
    target: 'es2022',
    write: false,
  })
  const code = result.outputFiles[0]!.contents
  return { raw: code.length, gzip: gzipSync(code, { level: 9 }).length }
}

t.test('the renderer is at most 7 KB gzip, minified', async (t) => {
  const renderer = await gzipSize('../src/render/index.ts')
  const library = await gzipSize('../src/index.ts')
  t.comment(`renderer: ${renderer.raw} bytes minified, ${renderer.gzip} bytes gzip`)
  t.comment(`renderer + rules: ${library.raw} bytes minified, ${library.gzip} bytes gzip`)
  t.ok(renderer.gzip <= 7 * 1024, `renderer ${renderer.gzip} bytes gzip`)
})
