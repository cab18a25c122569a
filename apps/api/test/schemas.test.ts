import t from 'tap'
import { compileEverySchema } from '../src/server.ts'
import { buildTestApp } from './helpers/app.ts'

// Validators and serializers compile on their route's first request (server.ts, `lazily`), so a
// schema that AJV or fast-json-stringify refuses would not stop the start: this compiles them all.
t.test("every route's validators and serializers compile", async (t) => {
  const app = await buildTestApp(t)
  await app.ready()
  const routes = app.printRoutes({ commonPrefix: false }).split('\n').length
  const compiled = compileEverySchema(app)
  t.ok(compiled > 100, `${compiled} validators and serializers compiled (${routes} routes)`)
  t.equal(compileEverySchema(app), 0, 'each once')
})

t.test('a schema that does not compile fails compileEverySchema, and its first request', async (t) => {
  const app = await buildTestApp(t)
  app.get(
    '/broken',
    { schema: { querystring: { type: 'object', properties: { a: { type: 'nope' } } } } },
    () => ({}),
  )
  await app.ready()
  t.throws(() => compileEverySchema(app))
  const answer = await app.inject({ method: 'GET', url: '/broken' })
  t.equal(answer.statusCode, 500)
})

t.test('a lazily compiled validator still answers 400 with what is wrong, and coerces', async (t) => {
  const app = await buildTestApp(t)
  app.get(
    '/typed',
    { schema: { querystring: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } } },
    (request) => request.query,
  )
  await app.ready()
  const bad = await app.inject({ method: 'GET', url: '/typed?n=x' })
  t.equal(bad.statusCode, 400)
  t.match(bad.body, /n/)
  const good = await app.inject({ method: 'GET', url: '/typed?n=5' })
  t.same(good.json(), { n: 5 })
})
