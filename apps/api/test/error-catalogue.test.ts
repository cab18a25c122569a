import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Type } from '@fastify/type-provider-typebox'
import t from 'tap'
import * as errors from '../src/errors.ts'
import { ERROR_CODES } from '../src/errors.ts'
import { buildTestApp } from './helpers/app.ts'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const catalogue = new Set<string>(ERROR_CODES)

/** Every .ts file under these folders of the repository, with its text. */
function sources(...folders: string[]): Array<{ file: string; text: string }> {
  return folders.flatMap((folder) =>
    readdirSync(path.join(root, folder), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .map((file) => path.join(folder, file))
      .map((file) => ({ file, text: readFileSync(path.join(root, file), 'utf8') })),
  )
}

const libSources = readdirSync(path.join(root, 'libs')).map((lib) => `libs/${lib}/src`)
const all = sources('apps/api/src', ...libSources)

t.test('the OpenAPI ErrorResponse.code is an enum of every code in the catalogue', async (t) => {
  const app = await buildTestApp(t)
  const doc = (await app.inject({ url: '/docs/json' })).json()
  const code = doc.components.schemas.ErrorResponse.properties.code
  t.equal(code.type, 'string')
  t.same([...code.enum].sort(), [...ERROR_CODES].sort())
  t.equal(catalogue.size, ERROR_CODES.length, 'no code is listed twice')
})

t.test('every code an error is created with is in the catalogue, and defined once', async (t) => {
  const definitions = new Map<string, string[]>()
  for (const { file, text } of all) {
    // createError('CODE', …) and createError<[…]>(\n  'CODE', …)
    for (const [, code] of text.matchAll(/\bcreateError(?:<.*?>)?\(\s*'([^']+)'/gs)) {
      definitions.set(code as string, [...(definitions.get(code as string) ?? []), file])
    }
  }
  t.ok(definitions.size > 40, `found the errors (${definitions.size} codes)`)
  for (const [code, files] of definitions) {
    t.ok(catalogue.has(code), `${code} (${files.join(', ')}) is in ERROR_CODES`)
    t.equal(files.length, 1, `${code} is defined once (${files.join(', ')})`)
  }
})

t.test('the database errors answer codes of the catalogue', async (t) => {
  const text = readFileSync(path.join(root, 'libs/db/src/errors.ts'), 'utf8')
  const codes = [...text.matchAll(/\bcode: '([A-Z_]+)'/g)].map(([, code]) => code as string)
  t.ok(codes.length >= 6, 'found them')
  for (const code of codes) t.ok(catalogue.has(code), `${code} is in ERROR_CODES`)
})

t.test('every code in the catalogue is answered somewhere', async (t) => {
  const list = /export const ERROR_CODES = \[[^\]]*\]/
  const text = all.map((source) => source.text.replace(list, '')).join('\n')
  for (const code of ERROR_CODES) t.ok(text.includes(`'${code}'`), `${code} is used outside the list`)
})

t.test('every error class errors.ts exports has a code of the catalogue', async (t) => {
  const classes = Object.entries(errors).filter(
    (entry): entry is [string, new (...args: unknown[]) => Error & { code: string }] =>
      typeof entry[1] === 'function' && entry[1].prototype instanceof Error,
  )
  t.ok(classes.length > 40, `found them (${classes.length})`)
  for (const [name, ErrorClass] of classes) {
    const { code } = new ErrorClass('a', 'b', 1)
    t.ok(catalogue.has(code), `${name}: ${code}`)
  }
})

t.test('answers carry codes of the catalogue', async (t) => {
  const app = await buildTestApp(t)
  app.post(
    '/v1/test/echo',
    { schema: { body: Type.Object({ name: Type.String() }, { additionalProperties: false }) } },
    async (request) => request.body,
  )
  app.get('/v1/test/raised', async () => {
    throw new errors.NotFound('Thing')
  })
  app.get('/v1/test/fastify', async () => {
    throw Object.assign(new Error('from a library'), { statusCode: 418, code: 'SOME_LIBRARY_CODE' })
  })

  const route = await app.inject({ url: '/v1/nothing' })
  t.same(route.json(), { statusCode: 404, code: 'NOT_FOUND', message: 'Route GET /v1/nothing not found' })

  const invalid = await app.inject({ method: 'POST', url: '/v1/test/echo', payload: { name: 1 } })
  t.equal(invalid.statusCode, 400)
  t.equal(invalid.json().code, 'VALIDATION_ERROR')

  const raised = await app.inject({ url: '/v1/test/raised' })
  t.same(raised.json(), { statusCode: 404, code: 'NOT_FOUND', message: 'Thing not found' })

  const method = await app.inject({ method: 'PATCH', url: '/health' })
  const library = await app.inject({ url: '/v1/test/fastify' })
  t.equal(library.json().code, 'BAD_REQUEST', 'a code from outside the catalogue answers as its status')
  const auth = await app.inject({
    method: 'POST',
    url: '/auth/signinup/code',
    headers: { 'content-type': 'application/json' },
    payload: '[]',
  })
  t.equal(auth.statusCode, 400)
  t.same(auth.json(), {
    statusCode: 400,
    code: 'VALIDATION_ERROR',
    message: 'Invalid body: must be a JSON object',
    details: [{ field: 'body', message: 'must be a JSON object' }],
  })
  const mediaType = await app.inject({
    method: 'POST',
    url: '/auth/signinup/code',
    headers: { 'content-type': 'text/plain' },
    payload: 'hello',
  })
  t.same(mediaType.json(), {
    statusCode: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'Unsupported content-type: send application/json',
  })

  for (const answer of [route, invalid, raised, method, library, auth, mediaType]) {
    t.ok(catalogue.has(answer.json().code), `${answer.statusCode} ${answer.json().code}`)
  }
})
