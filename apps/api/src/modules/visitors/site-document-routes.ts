import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { depsOf } from '../../deps.ts'
import { ErrorResponse } from '../../errors.ts'
import { OBJECT_CONTENT_TYPE } from '../publishing/documents.ts'
import { legacySiteHostname } from './legacy-ids.ts'
import { visitorLimits } from './limits.ts'
import {
  PreviewParams,
  PublishedCampaign,
  SiteDocument,
  SiteDocumentParams,
} from './site-document-schemas.ts'
import { previewDocument, SITE_DOCUMENT_CACHE_CONTROL, servedSiteDocument } from './site-document-service.ts'

/**
 * `GET /public/v1/sites/:hostname` (the site's document with its live campaigns, for the Worker's
 * cache misses and for local development) and the preview of a campaign in test.
 */

/** If-None-Match names this tag: strong, or weakened (`W/`) as Cloudflare passes it on. */
function notModified(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  if (ifNoneMatch === etag || ifNoneMatch === `W/${etag}` || ifNoneMatch.trim() === '*') return true
  return ifNoneMatch.split(',').some((tag) => {
    const trimmed = tag.trim()
    return trimmed === etag || trimmed === `W/${etag}`
  })
}

export const siteDocumentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const deps = depsOf(app, 'visitors')
  const { perClient } = visitorLimits(deps)
  app.get(
    '/public/v1/sites/:hostname',
    {
      // Its CORS answer comes with the document (the site's pages may read it), not from a lookup.
      config: { rateLimit: perClient, corsFromRoute: true },
      schema: {
        tags: ['visitors'],
        operationId: 'getSiteDocument',
        summary: 'The site’s live campaigns, as visitors’ browsers read them',
        description:
          'A subdomain of a site that lets subdomains in is answered the site’s document (nothing is ' +
          'published under its own name). Readable cross-origin by the site’s own pages (and its subdomains’ when it ' +
          'lets them in). Carries a strong ETag (answers 304 to If-None-Match with it, weak or strong) and ' +
          `Cache-Control: ${SITE_DOCUMENT_CACHE_CONTROL}. Changes on the next request after a publish.`,
        params: SiteDocumentParams,
        response: {
          200: SiteDocument,
          304: { type: 'null', description: 'Not modified: the ETag in If-None-Match is current' },
          404: ErrorResponse,
          429: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const { hostname } = request.params
      const legacy = await legacySiteHostname(deps, hostname)
      const document = await servedSiteDocument(deps, { hostname: legacy ?? hostname })
      // The schema describes the JSON text sent here; the type provider's types want an object.
      const raw = reply as unknown as FastifyReply
      // Headers and text made once per worker and document: nothing serialised here.
      raw.headers(document.headers)
      const origin = request.headers.origin
      if (origin !== undefined && document.allows(origin)) raw.header('access-control-allow-origin', origin)
      if (notModified(request.headers['if-none-match'], document.etag)) return raw.code(304).send()
      return raw.send(document.body)
    },
  )

  // The test version is never in the site document: a page shows it only when its URL carries the
  // preview parameter (GET …/campaigns/:id/preview gives that URL), and asks for it here by id.
  app.get(
    '/public/v1/sites/:hostname/preview/:campaignId',
    {
      config: { rateLimit: perClient },
      schema: {
        tags: ['visitors'],
        operationId: 'getPreviewDocument',
        summary:
          'A campaign in test, as campaigns/test/{id}.json holds it, for a page opened with nudge_preview',
        description:
          'Answers only for a campaign in test on this site (404 otherwise, the same for every reason), ' +
          'with Cache-Control: no-store, so an edit shows on the next preview and no cache keeps it.',
        params: PreviewParams,
        response: {
          200: PublishedCampaign,
          404: ErrorResponse,
          429: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const document = await previewDocument(deps, {
        hostname: request.params.hostname,
        campaignId: request.params.campaignId,
      })
      const raw = reply as unknown as FastifyReply
      return raw.header('cache-control', 'no-store').type(OBJECT_CONTENT_TYPE).send(document)
    },
  )
}
