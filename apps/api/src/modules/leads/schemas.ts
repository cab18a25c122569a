import { Type } from 'typebox'
import { Page, PageQuery } from '../../pagination.ts'
import { Input, NO_CONTROL_CHARACTERS, Nullable } from '../../schemas.ts'

export const LeadParams = Input({
  teamId: Type.String({ format: 'uuid' }),
  leadId: Type.String({ format: 'uuid' }),
})

/** What the list and the export both filter on. */
const LeadFilters = {
  campaignId: Type.Optional(Type.String({ format: 'uuid', description: 'only leads of this campaign' })),
  from: Type.Optional(
    Type.String({ format: 'date-time', description: 'only leads created at or after this time (RFC 3339)' }),
  ),
  to: Type.Optional(
    Type.String({ format: 'date-time', description: 'only leads created before this time (RFC 3339)' }),
  ),
  search: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 254,
      pattern: NO_CONTROL_CHARACTERS,
      description: 'only leads whose email contains this text (any case; % and _ match themselves)',
    }),
  ),
}

export const LeadQuery = Input({ ...PageQuery.properties, ...LeadFilters })

export const LeadExportQuery = Input({ ...LeadFilters })

/** In a body, not the URL: URLs reach request logs, proxies' logs and browser histories. */
export const LeadErasureBody = Input(
  {
    // Optional for the schema only: the route answers 400 without it, after the permission check,
    // so a caller who may not erase learns nothing from the validation.
    email: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 254,
        pattern: NO_CONTROL_CHARACTERS,
        description:
          'required: the person’s email address (any case, full-width forms folded); every lead with it is erased',
      }),
    ),
  },
  { examples: [{ email: 'visitor@example.com' }] },
)

export const Lead = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    campaignId: Nullable(Type.String({ format: 'uuid' }), {
      description: 'null once the campaign was deleted (its leads are kept)',
    }),
    variantId: Type.String(),
    email: Type.String(),
    fields: Type.Record(Type.String(), Type.Unknown(), {
      description: 'the other form fields, by field name',
    }),
    consent: Type.Boolean(),
    consentVersion: Nullable(Type.String(), {
      description: 'the version of the consent wording the visitor agreed to',
    }),
    country: Nullable(Type.String(), { description: 'ISO 3166-1 alpha-2, when known' }),
    pageUrl: Nullable(Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time', description: 'last submission by the same person' }),
  },
  { $id: 'Lead' },
)

export const LeadPage = Page(Lead)

export const LeadsErased = Type.Object(
  {
    erased: Type.Integer({ minimum: 0, description: 'how many leads (one per campaign) were erased' }),
    integrationsTold: Type.Integer({
      minimum: 0,
      description:
        'erasure deliveries queued: a `lead.erased` webhook event, or a subscriber delete at Mailerlite, ' +
        'for each integration that had received the person',
    }),
    statsKept: Type.Literal(true, {
      description:
        'campaign statistics keep counting the erased leads: daily counts per campaign, variant and ' +
        'country hold nothing about the person',
    }),
  },
  { $id: 'LeadsErased' },
)

export const LeadCsv = Type.String({
  description:
    'RFC 4180 CSV, UTF-8: a header row (email, campaign, variant, created, consent, consent version, ' +
    'country, page, then the form’s field names), then one row per lead, newest first. Every cell is ' +
    'quoted; cells that a spreadsheet would run as a formula (starting with = + - @, tab or carriage return) ' +
    'start with an apostrophe.',
})
