import { Type } from 'typebox'
import { Page, PageQuery } from '../../pagination.ts'
import { Input, Nullable } from '../../schemas.ts'
import { Role, Team } from '../teams/schemas.ts'

export const InviteParams = Input({
  teamId: Type.String({ format: 'uuid' }),
  inviteId: Type.String({ format: 'uuid' }),
})

export const NewInvite = Input(
  {
    email: Type.String({ format: 'email', maxLength: 254, description: 'who is invited' }),
    role: Role,
  },
  { examples: [{ email: 'colleague@example.com', role: 'editor' }] },
)

/** An invite as the team sees it; the token is never shown, only emailed. */
export const Invite = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    email: Type.String(),
    role: Role,
    invitedBy: Nullable(Type.String({ format: 'uuid' })),
    expiresAt: Type.String({ format: 'date-time' }),
    expired: Type.Boolean({ description: 'past expiresAt: invite again to send a new link' }),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Invite' },
)

export const InviteQuery = Input({ ...PageQuery.properties })

export const InvitePage = Page(Invite)

export const AcceptInvite = Input(
  {
    token: Type.String({
      minLength: 16,
      maxLength: 128,
      pattern: '^[A-Za-z0-9_-]+$',
      description: 'the part of the invite link after #',
    }),
  },
  { examples: [{ token: 'q3Jx0bJ9m2xW8kq1v7c5YzN4tH6pR2sL0aE9dF3gU1o' }] },
)

export const AcceptedInvite = Type.Object(
  {
    team: Team,
    joined: Type.Boolean({ description: 'false when the caller was already a member (role unchanged)' }),
  },
  { $id: 'AcceptedInvite' },
)
