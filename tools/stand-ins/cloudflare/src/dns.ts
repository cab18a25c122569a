import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { authorize, isIdentifier } from './access.ts'
import { envelope, errors } from './errors.ts'
import type { ListQuery } from './records.ts'
import type { StandInConfig, StandInState } from './state.ts'

type RecordParams = { Params: { zoneId: string; recordId: string } }

/**
 * `/zones/{zone_id}/dns_records`: list, create, get, edit (PATCH), overwrite (PUT), delete, behind
 * the same credential and zone checks as the purge route.
 */
export function dnsRoutes(
  app: FastifyInstance,
  options: { basePath: string; config: StandInConfig; state: StandInState },
): void {
  const { basePath, config, state } = options
  const zone = state.zone

  app.get<{ Params: { zoneId: string }; Querystring: ListQuery }>(
    `${basePath}/zones/:zoneId/dns_records`,
    async (request, reply) => {
      const { zoneId } = request.params
      authorize(request, config, zoneId, `/zones/${zoneId}/dns_records`)
      const { result, resultInfo } = zone.list(request.query)
      return envelope(reply, 200, result, [], resultInfo)
    },
  )

  app.post<{ Params: { zoneId: string } }>(
    `${basePath}/zones/:zoneId/dns_records`,
    async (request, reply) => {
      const { zoneId } = request.params
      authorize(request, config, zoneId, `/zones/${zoneId}/dns_records`)
      return envelope(reply, 200, zone.create(request.body), [])
    },
  )

  /**
   * The checks every record route makes, then the record's id. Sub-resources the stand-in does not
   * serve (`export`, `batch`, `scan`...) go to the 404 handler, so they are logged as unimplemented.
   */
  const one = `${basePath}/zones/:zoneId/dns_records/:recordId`
  const handle =
    (answer: (id: string, body: unknown) => unknown) =>
    async (request: FastifyRequest<RecordParams>, reply: FastifyReply) => {
      const { zoneId, recordId: id } = request.params
      if (SUB_RESOURCES.has(id)) return reply.callNotFound()
      const path = `/zones/${zoneId}/dns_records/${id}`
      authorize(request, config, zoneId, path)
      if (!isIdentifier(id)) throw errors.invalidIdentifier(path)
      return envelope(reply, 200, answer(id, request.body), [])
    }
  app.get<RecordParams>(
    one,
    handle((id) => zone.get(id)),
  )
  app.patch<RecordParams>(
    one,
    handle((id, body) => zone.edit(id, body)),
  )
  app.put<RecordParams>(
    one,
    handle((id, body) => zone.overwrite(id, body)),
  )
  app.delete<RecordParams>(
    one,
    handle((id) => zone.delete(id)),
  )
}

const SUB_RESOURCES = new Set(['batch', 'export', 'import', 'scan'])
