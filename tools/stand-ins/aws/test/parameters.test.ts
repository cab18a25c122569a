import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  InvalidNextToken,
  ParameterAlreadyExists,
  ParameterNotFound,
  ParameterVersionNotFound,
  PutParameterCommand,
  paginateGetParametersByPath,
  ValidationException,
} from '@aws-sdk/client-ssm'
import t from 'tap'
import { rejection, ssmClient, standIn } from './helpers.ts'

t.test('SecureString: an opaque blob without WithDecryption, the value with it', async (t) => {
  const aws = await standIn(t)
  const ssm = ssmClient(t, aws.url)
  const secret = 'postgres://nudge:hunter2@db.internal/nudge'
  const put = await ssm.send(
    new PutParameterCommand({ Name: '/nudge/prod/DATABASE_URL', Value: secret, Type: 'SecureString' }),
  )
  t.same({ Version: put.Version, Tier: put.Tier }, { Version: 1, Tier: 'Standard' })

  const hidden = (await ssm.send(new GetParameterCommand({ Name: '/nudge/prod/DATABASE_URL' }))).Parameter
  t.match(hidden, { Type: 'SecureString', Version: 1, LastModifiedDate: Date, DataType: 'text' })
  t.match(hidden?.Value, /^AQICAH[A-Za-z0-9+/]+=*$/, 'what KMS ciphertext looks like')
  t.notOk(hidden?.Value?.includes('hunter2'))
  t.equal(hidden?.ARN, `arn:aws:ssm:eu-central-1:${aws.accountId}:parameter/nudge/prod/DATABASE_URL`)
  const again = (await ssm.send(new GetParameterCommand({ Name: '/nudge/prod/DATABASE_URL' }))).Parameter
  t.equal(again?.Value, hidden?.Value, 'the same blob each time for one version')

  const shown = await ssm.send(
    new GetParameterCommand({ Name: '/nudge/prod/DATABASE_URL', WithDecryption: true }),
  )
  t.equal(shown.Parameter?.Value, secret)
  const many = await ssm.send(
    new GetParametersCommand({
      Names: ['/nudge/prod/DATABASE_URL', '/nudge/prod/missing'],
      WithDecryption: true,
    }),
  )
  t.same(
    many.Parameters?.map((p) => p.Value),
    [secret],
  )
  t.same(many.InvalidParameters, ['/nudge/prod/missing'])
  t.equal(aws.parameters.get('/nudge/prod/DATABASE_URL')?.value, secret, 'the handle shows the plain value')
})

t.test(
  'GetParametersByPath: at most 10 a page, NextToken to the next; Recursive for sub-paths',
  async (t) => {
    const aws = await standIn(t)
    const ssm = ssmClient(t, aws.url)
    const names = Array.from({ length: 13 }, (_, i) => `/nudge/prod/KEY_${String(i).padStart(2, '0')}`)
    for (const name of names)
      await ssm.send(new PutParameterCommand({ Name: name, Value: `v-${name}`, Type: 'String' }))
    await ssm.send(
      new PutParameterCommand({ Name: '/nudge/prod/db/PASSWORD', Value: 'pw', Type: 'SecureString' }),
    )
    await ssm.send(new PutParameterCommand({ Name: '/nudge/staging/KEY_00', Value: 'other', Type: 'String' }))

    const first = await ssm.send(new GetParametersByPathCommand({ Path: '/nudge/prod' }))
    t.equal(first.Parameters?.length, 10)
    t.type(first.NextToken, 'string')
    const second = await ssm.send(
      new GetParametersByPathCommand({ Path: '/nudge/prod', NextToken: first.NextToken }),
    )
    t.equal(second.NextToken, undefined)
    t.same(
      [...(first.Parameters ?? []), ...(second.Parameters ?? [])].map((p) => p.Name),
      names,
      'only direct children',
    )

    const all: string[] = []
    for await (const page of paginateGetParametersByPath(
      { client: ssm, pageSize: 4 },
      { Path: '/nudge/prod/', Recursive: true, WithDecryption: true },
    ))
      for (const p of page.Parameters ?? []) all.push(`${p.Name}=${p.Value}`)
    t.equal(all.length, 14)
    t.ok(all.includes('/nudge/prod/db/PASSWORD=pw'), 'recursive, and decrypted when asked')
    const typed = await ssm.send(
      new GetParametersByPathCommand({
        Path: '/nudge',
        Recursive: true,
        ParameterFilters: [{ Key: 'Type', Values: ['SecureString'] }],
      }),
    )
    t.same(
      typed.Parameters?.map((p) => p.Name),
      ['/nudge/prod/db/PASSWORD'],
    )
    t.not(typed.Parameters?.[0]?.Value, 'pw')

    t.same((await ssm.send(new GetParametersByPathCommand({ Path: '/nothing/here' }))).Parameters, [])
    const tooMany = await rejection(
      ssm.send(new GetParametersByPathCommand({ Path: '/nudge/prod', MaxResults: 11 })),
    )
    t.ok(tooMany instanceof ValidationException, `got ${tooMany.name}`)
    t.match(tooMany.message, /Member must have value less than or equal to 10/)
    const relative = await rejection(ssm.send(new GetParametersByPathCommand({ Path: 'nudge/prod' })))
    t.ok(relative instanceof ValidationException)
    const token = await rejection(
      ssm.send(new GetParametersByPathCommand({ Path: '/nudge/prod', NextToken: 'bogus' })),
    )
    t.ok(token instanceof InvalidNextToken, `got ${token.name}`)
  },
)

t.test(
  'Overwrite: ParameterAlreadyExists without it, a new version with it; old versions by selector',
  async (t) => {
    const aws = await standIn(t)
    const ssm = ssmClient(t, aws.url)
    await ssm.send(new PutParameterCommand({ Name: '/nudge/release', Value: 'blue', Type: 'String' }))
    const exists = await rejection(
      ssm.send(new PutParameterCommand({ Name: '/nudge/release', Value: 'green', Type: 'String' })),
    )
    t.ok(exists instanceof ParameterAlreadyExists, `got ${exists.name}`)
    t.match(exists.message, /set the overwrite option/)
    const second = await ssm.send(
      new PutParameterCommand({ Name: '/nudge/release', Value: 'green', Overwrite: true }),
    )
    t.equal(second.Version, 2, 'the type is kept when not given')
    t.match((await ssm.send(new GetParameterCommand({ Name: '/nudge/release' }))).Parameter, {
      Value: 'green',
      Version: 2,
      Type: 'String',
    })
    t.match((await ssm.send(new GetParameterCommand({ Name: '/nudge/release:1' }))).Parameter, {
      Name: '/nudge/release',
      Value: 'blue',
      Version: 1,
      Selector: ':1',
    })
    const noVersion = await rejection(ssm.send(new GetParameterCommand({ Name: '/nudge/release:9' })))
    t.ok(noVersion instanceof ParameterVersionNotFound, `got ${noVersion.name}`)

    await ssm.send(
      new PutParameterCommand({ Name: 'hosts', Value: 'a.internal,b.internal', Type: 'StringList' }),
    )
    t.match((await ssm.send(new GetParameterCommand({ Name: 'hosts' }))).Parameter, {
      Type: 'StringList',
      Value: 'a.internal,b.internal',
    })
  },
)

t.test('ParameterNotFound, and the names and values Parameter Store refuses', async (t) => {
  const aws = await standIn(t, { parameters: [{ name: '/nudge/seeded', value: 'one' }] })
  const ssm = ssmClient(t, aws.url)
  const missing = await rejection(ssm.send(new GetParameterCommand({ Name: '/nudge/missing' })))
  t.ok(missing instanceof ParameterNotFound, `got ${missing.name}`)
  t.equal(missing.$metadata && (missing.$metadata as { httpStatusCode?: number }).httpStatusCode, 400)
  const deleteMissing = await rejection(ssm.send(new DeleteParameterCommand({ Name: '/nudge/missing' })))
  t.ok(deleteMissing instanceof ParameterNotFound)

  await ssm.send(new DeleteParameterCommand({ Name: '/nudge/seeded' }))
  t.ok(
    (await rejection(ssm.send(new GetParameterCommand({ Name: '/nudge/seeded' })))) instanceof
      ParameterNotFound,
  )
  await aws.reset()
  t.equal(
    (await ssm.send(new GetParameterCommand({ Name: '/nudge/seeded' }))).Parameter?.Value,
    'one',
    'reset restores seeds',
  )

  const refused = async (input: ConstructorParameters<typeof PutParameterCommand>[0]) => {
    const error = await rejection(ssm.send(new PutParameterCommand(input)))
    t.ok(error instanceof ValidationException, `${input.Name}: got ${error.name} ${error.message}`)
    return error.message
  }
  t.match(await refused({ Name: '/nudge/untyped', Value: 'x' }), /type is required/)
  t.match(
    await refused({ Name: '/aws/reserved', Value: 'x', Type: 'String' }),
    /can't be prefixed with "aws" or "ssm"/,
  )
  t.match(await refused({ Name: 'a/b', Value: 'x', Type: 'String' }), /fully qualified/)
  t.match(
    await refused({ Name: '/nudge/big', Value: 'x'.repeat(4097), Type: 'String' }),
    /maximum parameter value of 4096/,
  )
  t.match(
    await refused({ Name: '/nudge/empty', Value: '', Type: 'String' }),
    /length greater than or equal to 1/,
  )
  t.equal(aws.parameters.size, 1, 'none of them was stored')
})
