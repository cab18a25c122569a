import { Type } from 'typebox'
import { CampaignType } from '../campaigns/content.ts'

export const PublishedCampaign = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    v: Type.Integer({ description: 'the campaign’s version' }),
    type: CampaignType,
    variants: Type.Array(
      Type.Object({
        id: Type.String(),
        weight: Type.Integer(),
        steps: Type.Array(Type.Unknown(), {
          description: 'the variant’s steps, as the dashboard built them',
        }),
      }),
      { description: 'variants with a weight above 0' },
    ),
    targeting: Type.Optional(
      Type.Unknown({ description: 'on which pages and for whom (the campaign’s targeting)' }),
    ),
    frequency: Type.Optional(
      Type.Unknown({ description: 'how often a visitor sees it (the campaign’s frequency)' }),
    ),
    schedule: Type.Optional(Type.Unknown({ description: 'when it runs; absent when always' })),
  },
  { description: 'A live campaign, as campaigns/production/{id}.json holds it' },
)

export const SiteDocument = Type.Object(
  {
    site: Type.String({ format: 'uuid' }),
    hostname: Type.String(),
    campaigns: Type.Optional(Type.Array(PublishedCampaign, { description: 'absent when none is live' })),
    features: Type.Optional(
      Type.Array(Type.String(), {
        description:
          'released features: flags marked published that are on for the site’s team, as of its last publish; absent when none',
      }),
    ),
  },
  {
    $id: 'SiteDocument',
    description:
      'domains/{hostname}.json with the live campaigns embedded; no nulls, no empty lists, no dashboard-only fields',
  },
)

const HOSTNAME = 'the site’s hostname as it was added (case and a trailing dot do not matter)'
const Hostname = Type.String({ description: HOSTNAME, examples: ['shop.example.com'] })

export const SiteDocumentParams = Type.Object({
  hostname: Type.String({
    ...Hostname,
    description: `${HOSTNAME}; during a transition after Go-Live (LEGACY_IDS_UNTIL), also the old system’s number of the domain`,
  }),
})

export const PreviewParams = Type.Object({
  hostname: Hostname,
  campaignId: Type.String({
    format: 'uuid',
    description: 'the nudge_preview parameter of the page: a campaign in test on this site',
    examples: ['01936f0e-7c1a-7000-8000-000000000000'],
  }),
})
