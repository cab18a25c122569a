import { readdir, readFile } from 'node:fs/promises'
import t from 'tap'

/*
 * src/ runs in visitors' browsers and in the dashboard, bundled with nothing else: it may import
 * only its own files and use no Node global. (tsc cannot say so: the tests beside it need Node's
 * types.)
 */
const SRC = new URL('../src/', import.meta.url)

t.test('src imports only its own files and no Node API', async (t) => {
  const files = (await readdir(SRC, { recursive: true })).filter((name) => name.endsWith('.ts'))
  t.ok(files.length >= 9)
  for (const name of files) {
    const code = await readFile(new URL(name, SRC), 'utf8')
    for (const [, from] of code.matchAll(/\bfrom\s+'([^']+)'/g)) {
      t.match(from, /^\.\.?\/([a-z-]+\/)*[a-z-]+\.ts$/, `${name} imports ${from}`)
    }
    t.notMatch(code, /\b(process|Buffer|require|__dirname|setImmediate)\b|node:/, `${name} uses no Node API`)
  }
})
