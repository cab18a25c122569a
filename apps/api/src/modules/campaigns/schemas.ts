import type { CampaignStatus as CampaignStatusName, CampaignType as CampaignTypeName } from '@nudge/db'
import { Type } from 'typebox'
import { Page, PageQuery } from '../../pagination.ts'
import { FreeText, Input, NO_CONTROL_CHARACTERS, Nullable } from '../../schemas.ts'
import { CampaignType, Frequency, FULL_CAMPAIGN_EXAMPLE, Schedule, Targeting, Variants } from './content.ts'
import type { CampaignSummaryRow } from './repository.ts'

const EXAMPLE_SITE_ID = '0190b5a4-3c2e-7d1a-9f00-1c2d3e4f5a6b'

export const CampaignStatus = Type.Enum(['draft', 'test', 'live', 'paused', 'archived'], {
  description: 'draft → test → live ⇄ paused → archived (→ draft)',
})

export const CampaignParams = Input({
  teamId: Type.String({ format: 'uuid' }),
  campaignId: Type.String({ format: 'uuid' }),
})

const CampaignName = FreeText({ maxLength: 120 })

export const NewCampaign = Input(
  {
    name: CampaignName,
    siteId: Type.String({ format: 'uuid', description: 'the site it runs on' }),
    type: CampaignType,
    variants: Type.Optional(Variants),
    targeting: Type.Optional(Targeting),
    frequency: Type.Optional(Frequency),
    schedule: Type.Optional(Type.Union([Schedule, Type.Null()])),
  },
  {
    description: 'A new campaign (a draft); without variants it gets one default variant',
    examples: [{ ...FULL_CAMPAIGN_EXAMPLE, siteId: EXAMPLE_SITE_ID }],
  },
)

export const CampaignPatch = Input(
  {
    name: Type.Optional(CampaignName),
    siteId: Type.Optional(Type.String({ format: 'uuid', description: 'only while draft or archived' })),
    type: Type.Optional(CampaignType),
    variants: Type.Optional(Variants),
    targeting: Type.Optional(Targeting),
    frequency: Type.Optional(Frequency),
    schedule: Type.Optional(Type.Union([Schedule, Type.Null()])),
  },
  {
    description: 'The fields to change; send If-Match with the version you edited',
    examples: [{ name: 'Spring sale popup', frequency: { show: 'every-n-days', days: 7 } }],
  },
)

export const StatusChange = Input(
  { status: CampaignStatus },
  {
    description: 'The status to move to; send If-Match with the version you saw',
    examples: [{ status: 'test' }],
  },
)

export const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(
    Type.String({ maxLength: 100, description: 'the campaign’s ETag ("<version>") from GET' }),
  ),
})

export const CampaignQuery = Input({
  ...PageQuery.properties,
  siteId: Type.Optional(Type.String({ format: 'uuid' })),
  status: Type.Optional(CampaignStatus),
  search: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 100,
      // PostgreSQL refuses NUL in text, and names hold no control characters to find.
      pattern: NO_CONTROL_CHARACTERS,
      description: 'part of the name (no control characters)',
    }),
  ),
})

const Timestamps = {
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
}

const Publication = {
  version: Type.Integer({ description: 'increases with every change; send it back in If-Match' }),
  publishedVersion: Nullable(Type.Integer(), {
    description: 'the version the edge serves (test or live); null when nothing is published',
  }),
  publishedAt: Nullable(Type.String({ format: 'date-time' })),
}

export const Campaign = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    siteId: Nullable(Type.String({ format: 'uuid' }), {
      description: 'null once its site was deleted',
    }),
    name: Type.String(),
    type: CampaignType,
    status: CampaignStatus,
    variants: Variants,
    targeting: Targeting,
    frequency: Frequency,
    schedule: Type.Union([Schedule, Type.Null()]),
    ...Publication,
    ...Timestamps,
  },
  { $id: 'Campaign' },
)

export const CampaignSummary = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    siteId: Nullable(Type.String({ format: 'uuid' })),
    name: Type.String(),
    type: CampaignType,
    status: CampaignStatus,
    variantCount: Type.Integer(),
    ...Publication,
    ...Timestamps,
  },
  { $id: 'CampaignSummary' },
)

export const CampaignPage = Page(CampaignSummary)

export const PreviewQuery = Input({
  path: Type.Optional(
    Type.String({
      maxLength: 2000,
      pattern: '^/',
      description: 'the page of the site to preview on (default /)',
    }),
  ),
})

export const Preview = Type.Object({
  url: Type.String({ description: 'open this on the customer’s site to see the test version' }),
  documentUrl: Type.String({ description: 'where the edge serves the test document' }),
  apiDocumentUrl: Type.String({
    description: 'the same document from the API (GET /public/v1/sites/:hostname/preview/:campaignId)',
  }),
})

export interface CampaignSummaryView {
  id: string
  siteId: string | null
  name: string
  type: CampaignTypeName
  status: CampaignStatusName
  variantCount: number
  version: number
  publishedVersion: number | null
  publishedAt: string | null
  createdAt: string
  updatedAt: string
}

export function toSummary(row: CampaignSummaryRow): CampaignSummaryView {
  return {
    id: row.id,
    siteId: row.site_id,
    name: row.name,
    type: row.type,
    status: row.status,
    variantCount: row.variant_count,
    version: row.version,
    publishedVersion: row.published_version,
    publishedAt: row.published_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  }
}
