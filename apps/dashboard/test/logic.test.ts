import t from 'tap'
import { ApiFailure, failureFrom, isRetryable, messageOf } from '../src/failure.ts'
import { fieldKey, indexProblems, problemsUnder } from '../src/field-errors.ts'
import { safeNext } from '../src/navigation.ts'
import { CursorTrail } from '../src/pagination.ts'

t.test('the API’s field names reach the inputs they are about', async (t) => {
  t.equal(fieldKey('body.name'), 'name')
  t.equal(fieldKey('body.variants/0/steps/0/blocks/0/text'), 'variants/0/steps/0/blocks/0/text')
  t.equal(fieldKey('body/targeting/urlRules/1/value'), 'targeting/urlRules/1/value')
  t.equal(fieldKey('body.design.colors[2]'), 'design/colors/2')
  t.equal(fieldKey('querystring.limit'), 'limit')
  t.equal(fieldKey('body'), '', 'the body as a whole')
  const index = indexProblems([
    { field: 'body.name', message: 'must not be empty' },
    { field: 'body.variants/0/weight', message: 'must be at most 100' },
    { field: 'body.variants/0/steps/0/blocks/0/text', message: 'too long' },
    { field: 'body.name', message: 'must be at most 100 characters' },
  ])
  t.equal(
    index.get('name'),
    'must not be empty; must be at most 100 characters',
    'two problems of one field are both said',
  )
  t.same(
    problemsUnder(index, 'variants/0'),
    ['must be at most 100', 'too long'],
    'a section shows the problems inside it',
  )
  t.same(problemsUnder(index, 'variants/1'), [])
})

t.test('failures in words', async (t) => {
  const validation = failureFrom(400, {
    statusCode: 400,
    code: 'VALIDATION_ERROR',
    message: 'body.name must not be empty',
    details: [{ field: 'body.name', message: 'must not be empty' }],
  })
  t.equal(validation.code, 'VALIDATION_ERROR')
  t.same(validation.details, [{ field: 'body.name', message: 'must not be empty' }], 'field problems kept')
  const limit = failureFrom(402, {
    statusCode: 402,
    code: 'PLAN_LIMIT',
    message: 'The free plan allows 1 site',
    details: { resource: 'sites', limit: 1, usage: 1, plan: 'free' },
  })
  t.equal(limit.details, undefined, 'an object in details is no list of fields')
  t.same(limit.data, { resource: 'sites', limit: 1, usage: 1, plan: 'free' }, 'but is kept as data')
  const refused = failureFrom(403, {
    statusCode: 403,
    code: 'FORBIDDEN',
    message: 'Your role in this team does not allow member:invite',
  })
  t.equal(
    messageOf(refused),
    'Your role in this team does not allow inviting members. Ask an owner or admin of the team if you need it.',
  )
  t.equal(isRetryable(refused), false, 'a refusal is not retried')
  const proxy = failureFrom(502, '<html>Bad gateway</html>')
  t.equal(proxy.code, 'UNEXPECTED')
  t.match(messageOf(proxy), /had a problem \(502\)/, 'a proxy’s page is not shown as it is')
  t.equal(isRetryable(proxy), true)
  t.equal(isRetryable(new ApiFailure(0, 'NETWORK', 'down')), true)
})

t.test('after sign-in, only a path of this app', async (t) => {
  t.equal(safeNext('/t/1/campaigns?x=1'), '/t/1/campaigns?x=1')
  t.equal(safeNext('/invites/accept#token'), '/invites/accept#token')
  t.equal(safeNext('https://evil.example'), '/')
  t.equal(safeNext('//evil.example'), '/')
  t.equal(safeNext('/\\evil.example'), '/')
  t.equal(safeNext('/signin?next=/x'), '/', 'never back to sign-in')
  t.equal(safeNext(undefined), '/')
})

t.test('cursor pages go forward and back', async (t) => {
  const trail = new CursorTrail()
  t.equal(trail.current, undefined)
  t.equal(trail.hasPrevious, false)
  trail.forward('c2')
  trail.forward('c3')
  t.equal(trail.page, 3)
  t.equal(trail.current, 'c3')
  t.equal(trail.back(), 'c2')
  t.equal(trail.back(), undefined, 'back to the first page')
  t.equal(trail.back(), undefined, 'and no further')
  t.equal(trail.page, 1)
  trail.forward('c2')
  trail.reset()
  t.equal(trail.page, 1)
})
