import { Type } from 'typebox'
import type { republishAll } from './service.ts'

// Enough for an operator to see what happened; the counts are always complete.
const LISTED_KEYS = 1000

export const RepublishReport = Type.Object({
  sites: Type.Integer({ description: 'sites rebuilt' }),
  written: Type.Integer({ description: 'objects whose content changed and were written' }),
  deleted: Type.Integer({ description: 'objects removed (nothing in the database accounts for them)' }),
  unchanged: Type.Integer(),
  purged: Type.Integer({ description: 'URLs purged from the Cloudflare cache' }),
  purgePending: Type.Integer({ description: 'URLs whose purge failed, retried by the next publish' }),
  writtenKeys: Type.Array(Type.String(), { description: `the first ${LISTED_KEYS} keys written` }),
  deletedKeys: Type.Array(Type.String(), { description: `the first ${LISTED_KEYS} keys deleted` }),
})

/** A republish's report as the route answers it and `npm run republish` prints it. */
export function toRepublishReport(report: Awaited<ReturnType<typeof republishAll>>) {
  return {
    sites: report.sites,
    written: report.written.length,
    deleted: report.deleted.length,
    unchanged: report.unchanged,
    purged: report.purged,
    purgePending: report.purgePending,
    writtenKeys: report.written.slice(0, LISTED_KEYS),
    deletedKeys: report.deleted.slice(0, LISTED_KEYS),
  }
}
