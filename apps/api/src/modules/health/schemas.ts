import { Type } from 'typebox'
import { Nullable } from '../../schemas.ts'

const Check = Type.Object({
  status: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('disabled')]),
  ms: Type.Optional(Type.Number()),
})

export const Alive = Type.Object({
  status: Type.Literal('ok'),
  release: Type.String({ description: 'the release this process runs (RELEASE_ID; "dev" outside a deploy)' }),
})

export const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
  checks: Type.Object({
    database: Check,
    memcached: Check,
    cacheInvalidation: Check,
    flags: Type.Object({
      status: Type.Union([Type.Literal('loaded'), Type.Literal('defaults')], {
        description: 'defaults: the definitions could not be read yet; every flag is at its code default',
      }),
      flags: Type.Integer({ description: 'definitions held in memory' }),
      loadedAt: Nullable(Type.String({ format: 'date-time' }), {
        description: 'the last successful read',
      }),
    }),
  }),
})

export const Timing = Type.Object({
  dbMs: Type.Number({ description: 'a trivial query (SELECT 1) round trip' }),
  cacheMs: Type.Number({ description: 'a cache write and read back' }),
  totalMs: Type.Number(),
})
