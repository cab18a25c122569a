import type { Role as RoleName } from '@nudge/db'
import { Type } from 'typebox'
import { FreeText, Input, Nullable } from '../../schemas.ts'

export const Role = Type.Union(
  [Type.Literal('owner'), Type.Literal('admin'), Type.Literal('editor'), Type.Literal('viewer')],
  { description: 'owner | admin | editor | viewer' },
)

export const TeamParams = Input({ teamId: Type.String({ format: 'uuid' }) })
export const MemberParams = Input({
  teamId: Type.String({ format: 'uuid' }),
  userId: Type.String({ format: 'uuid' }),
})

const TeamName = FreeText({ maxLength: 100 })

export const Team = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    personal: Type.Boolean(),
    plan: Type.String({
      description: 'the plan in effect now: free | pro | business (business during the trial)',
    }),
    role: Role,
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Team', description: 'A team, with the caller’s role in it' },
)

export const TeamList = Type.Object({ items: Type.Array(Team) })

export const NewTeam = Input({ name: TeamName }, { examples: [{ name: 'Growth team' }] })

export const TeamPatch = Input({ name: TeamName }, { examples: [{ name: 'Growth & retention' }] })

export const Member = Type.Object(
  {
    userId: Type.String({ format: 'uuid' }),
    email: Type.String(),
    name: Nullable(Type.String()),
    role: Role,
    joinedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Member' },
)

export const MemberList = Type.Object({ items: Type.Array(Member) })

export const MemberPatch = Input({ role: Role }, { examples: [{ role: 'editor' }] })

export interface MemberView {
  userId: string
  email: string
  name: string | null
  role: RoleName
  joinedAt: string
}

export function toMember(row: {
  user_id: string
  email: string
  name: string | null
  role: RoleName
  created_at: Date
}): MemberView {
  return {
    userId: row.user_id,
    email: row.email,
    name: row.name,
    role: row.role,
    joinedAt: row.created_at.toISOString(),
  }
}
