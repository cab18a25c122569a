import { Type } from 'typebox'
import { Page, PageQuery } from '../../pagination.ts'
import { Input, NO_CONTROL_CHARACTERS, Nullable } from '../../schemas.ts'

export const AuditEvent = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    actor: Type.Object({
      type: Type.Union([Type.Literal('user'), Type.Literal('system'), Type.Literal('stripe')]),
      id: Nullable(Type.String({ format: 'uuid' })),
    }),
    action: Type.String({ description: 'e.g. member.role_changed' }),
    target: Type.Object({ type: Type.String(), id: Nullable(Type.String()) }),
    data: Type.Record(Type.String(), Type.Unknown()),
    ip: Nullable(Type.String()),
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
