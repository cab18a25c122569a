import { Type } from 'typebox'
import { Input, Nullable } from '../../schemas.ts'

const Usage = Type.Object({
  used: Type.Integer(),
  limit: Nullable(Type.Integer(), { description: 'null: no limit' }),
})

export const Billing = Type.Object(
  {
    plan: Type.Object({
      id: Type.String(),
      name: Type.String(),
      removeBranding: Type.Boolean(),
    }),
    status: Type.Union(
      [
        Type.Literal('trialing'),
        Type.Literal('active'),
        Type.Literal('past_due'),
        Type.Literal('canceled'),
        Type.Literal('free'),
      ],
      { description: 'trialing (no card), active, past_due (paying again keeps the plan), canceled, free' },
    ),
    trialEndsAt: Nullable(Type.String({ format: 'date-time' })),
    currentPeriodEnd: Nullable(Type.String({ format: 'date-time' })),
    cancelAtPeriodEnd: Type.Boolean(),
    graceEndsAt: Nullable(Type.String({ format: 'date-time' }), {
      description: 'after a failed payment: when the free limits apply unless paid',
    }),
    usage: Type.Object({
      sites: Usage,
      liveCampaigns: Usage,
      members: Usage,
      integrations: Usage,
      impressions: Type.Object({
        used: Type.Integer(),
        limit: Nullable(Type.Integer()),
        periodStart: Type.String({ format: 'date-time' }),
        state: Type.Union(
          [Type.Literal('ok'), Type.Literal('warning'), Type.Literal('over'), Type.Literal('suspended')],
          {
            description:
              'ok; warning (80 % used); over (100 % used: campaigns still served until graceEndsAt); suspended (the sites serve no campaigns until a new period or a bigger plan)',
          },
        ),
        graceEndsAt: Nullable(Type.String({ format: 'date-time' }), {
          description:
            'quota used up: when the sites stop serving campaigns if still past the quota and its margin',
        }),
        suspendedAt: Nullable(Type.String({ format: 'date-time' })),
        upgradeTo: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()], {
          description: 'from 80 % on: the smallest plan with more impressions (the upgrade to offer)',
        }),
      }),
    }),
  },
  { $id: 'Billing' },
)

export const CheckoutRequest = Input(
  {
    plan: Type.Enum(['pro', 'business'], { description: 'pro | business' }),
    interval: Type.Optional(Type.Enum(['month', 'year'], { default: 'month', description: 'month | year' })),
  },
  { examples: [{ plan: 'pro', interval: 'month' }] },
)

export const RedirectUrl = Type.Object({ url: Type.String({ description: 'where to send the person' }) })
