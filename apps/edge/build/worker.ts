import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build, type Plugin } from 'esbuild'

/** What `npm run build -w apps/embed` writes: the popup script the Worker serves. */
export const EMBED_DIST = fileURLToPath(new URL('../../embed/dist/nudge.js', import.meta.url))
/** Stands in for the script in tests when apps/embed has not been built (any bytes will do). */
export const SCRIPT_FIXTURE = fileURLToPath(new URL('../test/fixtures/nudge.js', import.meta.url))

/** The script file the Worker is built with: the embed build's, else the tests' fixture. */
export const defaultScriptFile = () => (existsSync(EMBED_DIST) ? EMBED_DIST : SCRIPT_FIXTURE)

/*
 * The Worker as workerd runs it: src bundled into one module by esbuild (as wrangler does), with
 * the popup script inlined as text where wrangler.jsonc makes it a Text module (the same bytes).
 * For the tests, the local loop (dev/serve.ts) and the bench.
 */
export async function workerScript(options: { entry?: string; scriptFile?: string } = {}): Promise<string> {
  const scriptFile = options.scriptFile ?? defaultScriptFile()
  const embedded: Plugin = {
    name: 'embedded-script',
    setup(build) {
      // src/script.ts imports ../bundled/nudge.js, the copy build/embed.ts makes for wrangler.
      build.onResolve({ filter: /\/bundled\/nudge\.js$/ }, () => ({ path: scriptFile, namespace: 'script' }))
      build.onLoad({ filter: /.*/, namespace: 'script' }, async () => ({
        contents: await readFile(scriptFile, 'utf8'),
        loader: 'text',
      }))
    },
  }
  const result = await build({
    entryPoints: [fileURLToPath(new URL(options.entry ?? '../src/index.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    target: 'es2024',
    write: false,
    plugins: [embedded],
  })
  const file = result.outputFiles[0]
  if (!file) throw new Error('esbuild wrote nothing')
  return file.text
}
