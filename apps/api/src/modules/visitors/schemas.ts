import { Type } from 'typebox'
import { CAMPAIGN_ID_OR_LEGACY, Input } from '../../schemas.ts'
import { MAX_EMAIL_LENGTH, MAX_TEXT_LENGTH } from './lead-form.ts'
import { MAX_LEGACY_ID } from './legacy-ids.ts'

/* The visitor-facing API's requests and answers: events (`POST /public/v1/events`) and leads
 * (`POST /public/v1/leads`). */

const MAX_EVENTS = 50
/** A variant has at most 5 steps (campaigns/content.ts); moving on reaches steps 2 to 5. */
const MAX_STEPS = 5

// A strict UUID: AJV's `uuid` format also takes "urn:uuid:…", which PostgreSQL refuses; one such
// id in a group-committed write would fail every request sharing it.
const Uuid = Type.String({
  format: 'uuid',
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
})

export const VisitorEvent = Input({
  eventId: Type.String({
    ...Uuid,
    description:
      'a UUIDv7 made by the visitor’s browser when the event happened: its time (within the last 7 days, at most 5 minutes ahead) is the day it counts on; the same event sent again counts once',
  }),
  pageViewId: Type.String({
    ...Uuid,
    description:
      'a UUIDv7 made once per page load (within the last 7 days): a campaign’s impressions count once per page view',
  }),
  campaignId: Uuid,
  variantId: Type.String({
    pattern: '^[a-z0-9][a-z0-9-]{0,19}$',
    description: 'the variant the visitor was shown: one the campaign has published, current or retired',
  }),
  type: Type.Union(
    [Type.Literal('impression'), Type.Literal('close'), Type.Literal('conversion'), Type.Literal('step')],
    {
      description:
        'impression: the popup was shown; close: the visitor closed it; conversion: the visitor converted; step: the visitor moved on to another step (`step`)',
    },
  ),
  step: Type.Optional(
    Type.Integer({
      minimum: 2,
      maximum: MAX_STEPS,
      description: `step events only, and required for them: the 1-based number of the step the visitor moved on to (2 to ${MAX_STEPS}); one the variant does not have (a page opened before an edit) is taken and not counted (\`ignored\`)`,
    }),
  ),
  at: Type.Optional(
    Type.String({
      format: 'date-time',
      description:
        'when it happened, in the visitor’s clock: not used (the eventId’s time is), taken for older scripts',
    }),
  ),
})

/**
 * A campaign as a visitor's report names it: its UUID or, while LEGACY_IDS_UNTIL is ahead, the old
 * system's number for it (legacy-ids.ts turns it into the UUID before anything else looks at it).
 * One schema with two types rather than a union: AJV would name the field once per member.
 */
const ReportedCampaignId = Type.Unsafe<string | number>({
  type: ['string', 'integer'],
  pattern: CAMPAIGN_ID_OR_LEGACY,
  minimum: 1,
  maximum: MAX_LEGACY_ID,
  description:
    'the campaign’s id (a UUID); during a transition after Go-Live (LEGACY_IDS_UNTIL), also the old system’s number for it, as a decimal string or a number',
  examples: ['0192f1d0-0000-7000-8000-000000000001'],
})

/** The variant, which a report naming a campaign by its old number need not send (it had one). */
const ReportedVariantId = Type.Optional({
  ...VisitorEvent.properties.variantId,
  description:
    'the variant the visitor was shown: one the campaign has published, current or retired; required with a UUID campaignId, ignored with an old one (its single variant)',
})

/** An event as the browser sends it (an old snippet's included); VisitorEvent once resolved. */
export const ReportedEvent = Input({
  ...VisitorEvent.properties,
  campaignId: ReportedCampaignId,
  variantId: ReportedVariantId,
})

export const EventBatch = Input(
  { events: Type.Array(ReportedEvent, { minItems: 1, maxItems: MAX_EVENTS }) },
  {
    description: `Up to ${MAX_EVENTS} events, all for campaigns of the site the request comes from (its Origin)`,
    examples: [
      {
        events: [
          {
            eventId: '0192f1de-7a4b-7c3d-9e2f-1a2b3c4d5e6f',
            pageViewId: '0192f1de-7a40-7000-8000-1a2b3c4d5e6f',
            campaignId: '0192f1d0-0000-7000-8000-000000000001',
            variantId: 'a',
            type: 'impression',
          },
          {
            eventId: '0192f1de-9c12-7d4e-8a3b-2b3c4d5e6f70',
            pageViewId: '0192f1de-7a40-7000-8000-1a2b3c4d5e6f',
            campaignId: '0192f1d0-0000-7000-8000-000000000001',
            variantId: 'a',
            type: 'step',
            step: 2,
          },
        ],
      },
    ],
  },
)

export const EventsAccepted = Type.Object({
  accepted: Type.Integer({ description: 'events counted now' }),
  duplicates: Type.Integer({
    description:
      'events already counted (sent before, or an impression of a campaign already counted in this page view): not counted again',
  }),
  ignored: Type.Integer({
    description:
      'events taken but not counted: preview traffic (campaigns in test), impressions beyond what one address may add to a site in an hour, and steps the variant does not have',
  }),
})

/** A lead as the service takes it: the campaign by its UUID (see LeadSubmissionBody for what browsers send). */
export const LeadSubmission = Input({
  campaignId: Type.String({ format: 'uuid', description: 'the campaign the form belongs to' }),
  variantId: Type.String({
    pattern: '^[a-z0-9][a-z0-9-]{0,19}$',
    description: 'the variant the visitor was shown: one the campaign has published, current or retired',
  }),
  email: Type.String({
    minLength: 3,
    maxLength: MAX_EMAIL_LENGTH,
    description: 'the value of the form’s email field',
  }),
  fields: Type.Optional(
    Type.Record(
      Type.String(),
      Type.Unknown({
        description: `text (at most ${MAX_TEXT_LENGTH} characters), or true/false for a checkbox`,
      }),
      {
        maxProperties: 50,
        propertyNames: { maxLength: 100 },
        description:
          'the form’s other fields by name, each text or true/false; fields the form does not have are dropped, hidden ones take the form’s value',
      },
    ),
  ),
  consent: Type.Optional(Type.Boolean({ description: 'the consent checkbox was ticked' })),
  consentVersion: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 40,
      description:
        'the version of the consent wording the page showed, one the campaign has published (default: the form’s)',
    }),
  ),
  pageUrl: Type.Optional(
    Type.String({
      maxLength: 2048,
      pattern: '^[hH][tT][tT][pP][sS]?://',
      description: 'the page the form was sent from (http: or https:)',
    }),
  ),
  hp: Type.Optional(
    Type.String({
      maxLength: 1000,
      description: 'the honeypot: a field hidden from people; anything in it marks a bot',
    }),
  ),
  fillMs: Type.Integer({
    minimum: 0,
    maximum: 2_147_483_647,
    description:
      'milliseconds between showing the form and sending it (required: a form sent faster than a person could is a bot’s)',
  }),
})

/** What the browser sends: the campaign by its UUID or, during the transition, by its old number. */
export const LeadSubmissionBody = Input(
  {
    ...LeadSubmission.properties,
    campaignId: Type.Unsafe<string | number>({
      ...ReportedCampaignId,
      description:
        'the campaign the form belongs to: its id (a UUID); during a transition after Go-Live (LEGACY_IDS_UNTIL), also the old system’s number for it',
    }),
    variantId: ReportedVariantId,
  },
  {
    description:
      'A visitor’s form submission. Bots (a filled honeypot, or a form sent faster than a person could) get the same answer and are not stored.',
    examples: [
      {
        campaignId: '0195f3a2-7c1e-7b3a-9f10-4d2c8e6a1b23',
        variantId: 'a',
        email: 'visitor@example.com',
        fields: { firstName: 'Ada' },
        consent: true,
        consentVersion: '2025-03',
        pageUrl: 'https://shop.example.com/products/boots',
        hp: '',
        fillMs: 5200,
      },
    ],
  },
)

export const LeadSubmissionHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: '^[\\x20-\\x7E]+$',
      description:
        'a key of your choosing per submission (e.g. a UUID): a retry with the same key and body answers as the first and stores nothing new',
    }),
  ),
})

export const LeadAccepted = Type.Object(
  {
    status: Type.Literal('accepted'),
    preview: Type.Optional(
      Type.Literal(true, {
        description: 'the campaign is in test: the lead was checked, not stored or delivered',
      }),
    ),
  },
  { description: 'The lead is stored (nothing about it is echoed back)' },
)

/**
 * The largest submission a form allows is about 37 KB (10 fields of 1,000 characters of 3 UTF-8
 * bytes each, their names, the page URL, the honeypot); anything above 64 KB is not a form's.
 */
export const LEAD_BODY_LIMIT_BYTES = 64 * 1024
