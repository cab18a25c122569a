import { Type } from 'typebox'
import { Page, PageQuery } from '../../pagination.ts'
import { Input, NO_CONTROL_CHARACTERS } from '../../schemas.ts'

export const AuditEvent = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    actor: Type.Object({
      type: Type.Union([Type.Literal('user'), Type.Literal('system'), Type.Literal('stripe')]),
      id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
    }),
    action: Type.String({ description: 'e.g. member.role_changed' }),
    target: Type.Object({ type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) }),
    data: Type.Record(Type.String(), Type.Unknown()),
    ip: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'AuditEvent' },
)

export const AuditQuery = Input({
  ...PageQuery.properties,
  action: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 64,
      pattern: NO_CONTROL_CHARACTERS,
      description: 'only this action',
    }),
  ),
  actorId: Type.Optional(Type.String({ format: 'uuid', description: 'only this user’s actions' })),
})

export const AuditPage = Page(AuditEvent)
