import { Type } from 'typebox'
import { Page, PageQuery } from '../../pagination.ts'
import { FreeText, Input, Nullable } from '../../schemas.ts'

export const IntegrationParams = Input({
  teamId: Type.String({ format: 'uuid' }),
  integrationId: Type.String({ format: 'uuid' }),
})

export const DeliveryParams = Input({
  teamId: Type.String({ format: 'uuid' }),
  integrationId: Type.String({ format: 'uuid' }),
  deliveryId: Type.String({ format: 'uuid' }),
})

export const CampaignIntegrationParams = Input({
  teamId: Type.String({ format: 'uuid' }),
  campaignId: Type.String({ format: 'uuid' }),
  integrationId: Type.String({ format: 'uuid' }),
})

const Name = FreeText({ maxLength: 100 })
const Url = Type.String({ minLength: 1, maxLength: 2048, description: 'https:// URL receiving signed POSTs' })
const ApiKey = Type.String({
  minLength: 8,
  maxLength: 2048,
  pattern: '^[\\x21-\\x7e]+$',
  description: 'a Mailerlite API key (Integrations → API in Mailerlite); checked with Mailerlite on save',
})
const WebhookSecret = Type.String({
  pattern: '^whsec_[A-Za-z0-9+/]{32,88}={0,2}$',
  description: 'whsec_ + base64 of 24 to 64 random bytes (generated when left out)',
})

export const NewIntegration = Input(
  {
    kind: Type.Enum(['mailerlite', 'webhook'], { description: 'mailerlite | webhook' }),
    name: Name,
    apiKey: Type.Optional(ApiKey),
    url: Type.Optional(Url),
    secret: Type.Optional(WebhookSecret),
  },
  {
    description:
      'Mailerlite (apiKey) or a webhook (url, optional secret). A generated webhook secret is shown once, in this response.',
    // One example: a dashboard developer's first webhook (Mailerlite: kind, name, apiKey).
    examples: [{ kind: 'webhook', name: 'Our CRM', url: 'https://hooks.example.com/nudge' }],
  },
)

export const IntegrationUpdate = Input(
  {
    name: Type.Optional(Name),
    url: Type.Optional(Url),
    apiKey: Type.Optional(ApiKey),
    status: Type.Optional(
      Type.Enum(['active', 'paused'], {
        description:
          'active | paused: active resumes a paused or disabled integration and redelivers what piled up',
      }),
    ),
  },
  { examples: [{ status: 'active' }] },
)

export const SecretRotation = Input(
  {
    overlapHours: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 168,
        default: 24,
        description: 'hours the previous secret keeps signing too, while receivers switch',
      }),
    ),
    secret: Type.Optional(WebhookSecret),
  },
  { examples: [{ overlapHours: 24 }] },
)

export const Integration = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    kind: Type.Union([Type.Literal('mailerlite'), Type.Literal('webhook')]),
    name: Type.String(),
    status: Type.Union([Type.Literal('active'), Type.Literal('paused'), Type.Literal('disabled')]),
    statusReason: Nullable(Type.String(), { description: 'why it is paused or disabled' }),
    url: Nullable(Type.String()),
    secretLast4: Type.String({ description: 'the last four characters of the API key or signing secret' }),
    secretOverlapUntil: Nullable(Type.String({ format: 'date-time' }), {
      description: 'webhooks: until when the previous secret also signs',
    }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Integration' },
)

export const IntegrationWithSecret = Type.Object({
  ...Integration.properties,
  secret: Type.Optional(
    Type.String({ description: 'the webhook signing secret: shown only here, when created or rotated' }),
  ),
})

export const IntegrationPage = Page(Integration)
export const IntegrationQuery = PageQuery

export const MailerliteGroup = Type.Object({
  id: Type.String(),
  name: Type.String(),
  activeCount: Type.Integer(),
})
export const MailerliteGroups = Type.Object({ items: Type.Array(MailerliteGroup) })

export const MailerliteField = Type.Object({ key: Type.String(), name: Type.String(), type: Type.String() })
export const MailerliteFields = Type.Object({ items: Type.Array(MailerliteField) })

export const CampaignIntegrationInput = Input(
  {
    groupId: Type.Optional(
      Type.String({ pattern: '^[0-9]{1,30}$', description: 'Mailerlite: the group new subscribers join' }),
    ),
    fieldMap: Type.Optional(
      Type.Record(
        Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }),
        Type.String({ pattern: '^[a-z_][a-z0-9_]{0,63}$' }),
        {
          maxProperties: 50,
          // A key outside the pattern would otherwise pass unchecked (NUL included, a 500 in jsonb).
          additionalProperties: false,
          description:
            'Mailerlite: form field name (letters, digits, _ . -; up to 64) → Mailerlite field key (e.g. {"firstName": "name"})',
        },
      ),
    ),
  },
  { examples: [{ groupId: '123456789', fieldMap: { firstName: 'name' } }] },
)

export const CampaignIntegration = Type.Object({
  campaignId: Type.String({ format: 'uuid' }),
  integrationId: Type.String({ format: 'uuid' }),
  kind: Type.Union([Type.Literal('mailerlite'), Type.Literal('webhook')]),
  name: Type.String(),
  status: Type.String(),
  groupId: Nullable(Type.String()),
  fieldMap: Type.Record(Type.String(), Type.String()),
})
export const CampaignIntegrations = Type.Object({ items: Type.Array(CampaignIntegration) })

const DeliveryStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('delivering'),
  Type.Literal('retrying'),
  Type.Literal('held'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
  Type.Literal('cancelled'),
])

export const DeliveryQuery = Input({
  ...PageQuery.properties,
  status: Type.Optional(
    Type.Enum(['pending', 'delivering', 'retrying', 'held', 'succeeded', 'failed', 'cancelled'], {
      description:
        'pending | delivering | retrying | held (kept while the integration is paused or disabled; sent when it is active again) | succeeded | failed | cancelled',
    }),
  ),
})

export const DeliveryAttempt = Type.Object({
  attempt: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  responseStatus: Nullable(Type.Integer()),
  latencyMs: Type.Integer(),
  responseBody: Nullable(Type.String(), { description: 'the first KB of the answer' }),
  error: Nullable(Type.String()),
})

export const Delivery = Type.Object(
  {
    id: Type.String({
      format: 'uuid',
      description: 'also the webhook-id (msg_ + id), stable across retries',
    }),
    integrationId: Type.String({ format: 'uuid' }),
    leadId: Nullable(Type.String({ format: 'uuid' }), { description: 'null once erased' }),
    event: Type.String({
      description:
        'lead.created | lead.updated | lead.erased (the integration is told a person it received was erased) | test',
    }),
    status: DeliveryStatus,
    attempts: Type.Integer(),
    nextAttemptAt: Nullable(Type.String({ format: 'date-time' })),
    lastResponseStatus: Nullable(Type.Integer()),
    lastError: Nullable(Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
    completedAt: Nullable(Type.String({ format: 'date-time' })),
  },
  { $id: 'Delivery' },
)

export const DeliveryWithAttempts = Type.Object({
  ...Delivery.properties,
  attemptLog: Type.Array(DeliveryAttempt),
})

export const DeliveryPage = Page(Delivery)

export const RedeliverReport = Type.Object({ redelivered: Type.Integer() })
