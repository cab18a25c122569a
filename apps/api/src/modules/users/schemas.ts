import type { User } from '@nudge/db'
import { Type } from 'typebox'
import { FreeText, Input, Nullable } from '../../schemas.ts'

export const Me = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    email: Type.String({ format: 'email' }),
    name: Nullable(Type.String()),
    lastLoginAt: Nullable(Type.String({ format: 'date-time' })),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Me', description: 'The signed-in user' },
)

export const MePatch = Input(
  {
    name: Type.Union([FreeText({ maxLength: 100 }), Type.Null()], {
      description: 'Your name as your teams see it (surrounding spaces are dropped); null clears it',
    }),
  },
  { examples: [{ name: 'Ann Lee' }] },
)

export interface Profile {
  id: string
  email: string
  name: string | null
  lastLoginAt: string | null
  createdAt: string
}

export function toProfile(user: User): Profile {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    lastLoginAt: user.last_login_at?.toISOString() ?? null,
    createdAt: user.created_at.toISOString(),
  }
}
