import { readFile } from 'node:fs/promises'
import { gzipSync } from 'node:zlib'
import t from 'tap'
import { buildScript, LIMIT_GZIP_BYTES, OUTPUT } from '../build.ts'

t.test('the script builds to one file within 15 KB gzip', async (t) => {
  const { raw, gzip } = await buildScript()
  t.comment(`nudge.js ${raw} bytes raw, ${gzip} bytes gzip (limit ${LIMIT_GZIP_BYTES})`)
  t.ok(gzip <= LIMIT_GZIP_BYTES, `${gzip} bytes gzip`)
  const code = await readFile(OUTPUT, 'utf8')
  t.equal(gzipSync(code, { level: 9 }).length, gzip)
  t.match(code, /^("use strict";)?\(\(\)=>\{/, 'one IIFE: nothing leaks into the page’s globals')
  t.notMatch(code, /\brequire\(|\bimport\s*\(|\bprocess\.env\b/, 'no module loading, no Node')
  t.notMatch(code, /randomUUID|document\.cookie/, 'no randomUUID (absent on http pages), no cookies')
})
