import { Type } from 'typebox'
import { Page, PageQuery } from '../../pagination.ts'
import { Input, Nullable } from '../../schemas.ts'
import { HostnameInput } from './hostname.ts'

export const SiteParams = Input({
  teamId: Type.String({ format: 'uuid' }),
  siteId: Type.String({ format: 'uuid' }),
})

export const NewSite = Input(
  { hostname: HostnameInput },
  {
    description: 'A hostname the team’s popups run on; a pasted URL is reduced to its hostname',
    examples: [{ hostname: 'shop.example.com' }],
  },
)

export const SitePatch = Input(
  {
    allowSubdomains: Type.Boolean({
      description:
        'pages on subdomains of the hostname (www.shop.example.com for shop.example.com) may show its campaigns and send events and leads',
    }),
  },
  {
    description: 'The site’s settings to change',
    examples: [{ allowSubdomains: true }],
  },
)

export const Site = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    hostname: Type.String({ description: 'normalised: lower case, punycode, no port or trailing dot' }),
    firstSeenAt: Nullable(Type.String({ format: 'date-time' }), {
      description: 'when the first visitor event arrived from this site (null: snippet not seen yet)',
    }),
    allowSubdomains: Type.Boolean({
      description:
        'whether pages on subdomains of the hostname count as the site’s (CORS and the Origin check)',
    }),
    snippet: Type.String({ description: 'the install snippet to paste into the site’s HTML' }),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Site' },
)

export const SitePage = Page(Site)

export const SiteQuery = PageQuery
