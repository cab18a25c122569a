import type { components, operations, paths } from '@nudge/api-client'

export type Lead = components['schemas']['Lead']
export type LeadQuery = NonNullable<operations['listLeads']['parameters']['query']>
export type ExportQuery = NonNullable<operations['exportLeads']['parameters']['query']>
export type Erasure =
  paths['/v1/teams/{teamId}/leads/erase']['post']['responses'][200]['content']['application/json']

/** The filter form: a campaign, part of the email, and calendar dates in the browser's zone. */
export interface LeadFilters {
  campaignId: string
  search: string
  /** YYYY-MM-DD or '' */
  from: string
  /** YYYY-MM-DD or '' (that whole day included) */
  to: string
}

export const emptyFilters = (): LeadFilters => ({ campaignId: '', search: '', from: '', to: '' })

/** The instant a calendar date starts in the browser's zone, as RFC 3339. */
function startOfLocalDay(date: string): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number]
  return new Date(year, month - 1, day).toISOString()
}

function nextDay(date: string): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number]
  const next = new Date(Date.UTC(year, month - 1, day + 1))
  return next.toISOString().slice(0, 10)
}

/**
 * The list and export routes' query for a filter form: `from` is the start of the first day and
 * `to` (exclusive in the API) the start of the day after the last, both in the browser's zone.
 */
export function filterQuery(filters: LeadFilters): ExportQuery {
  const query: ExportQuery = {}
  if (filters.campaignId) query.campaignId = filters.campaignId
  const search = filters.search.trim()
  if (search) query.search = search
  if (filters.from) query.from = startOfLocalDay(filters.from)
  if (filters.to) query.to = startOfLocalDay(nextDay(filters.to))
  return query
}

/** The filters as the page's URL query (so a filtered view can be reloaded and shared). */
export function filtersToRoute(filters: LeadFilters): Record<string, string> {
  const query: Record<string, string> = {}
  for (const [key, value] of Object.entries(filters)) if (value) query[key] = value
  return query
}

export function filtersFromRoute(query: Record<string, unknown>): LeadFilters {
  const text = (value: unknown) => (typeof value === 'string' ? value : '')
  const date = (value: unknown) => (/^\d{4}-\d{2}-\d{2}$/.test(text(value)) ? text(value) : '')
  return {
    campaignId: text(query.campaignId),
    search: text(query.search),
    from: date(query.from),
    to: date(query.to),
  }
}

/** The file name a Content-Disposition header gives, or a dated default. */
export function downloadName(contentDisposition: string | null, now: Date = new Date()): string {
  const star = /filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i.exec(contentDisposition ?? '')
  if (star?.[1]) {
    try {
      return decodeURIComponent(star[1].trim().replace(/^"|"$/g, ''))
    } catch {
      // fall through to the plain name
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(contentDisposition ?? '')
  if (plain?.[1]) return plain[1].trim()
  return `leads-${now.toISOString().slice(0, 10)}.csv`
}

/** A lead's other form fields, for one table cell: "firstName: Ada · newsletter: yes". */
export function fieldsText(fields: Lead['fields']): string {
  return Object.entries(fields)
    .map(([name, value]) => {
      const shown = value === true ? 'yes' : value === false ? 'no' : String(value)
      return `${name}: ${shown}`
    })
    .join(' · ')
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

/** What the erase route answered, said plainly. */
export function erasureSummary(email: string, result: Erasure): string {
  if (result.erased === 0) {
    return `No lead with ${email} was found: nothing was erased.`
  }
  const told =
    result.integrationsTold === 0
      ? 'No integration had received this person.'
      : `${plural(result.integrationsTold, 'integration that had received this person is', 'integrations that had received this person are')} being told to erase them too.`
  return (
    `Erased ${plural(result.erased, 'lead', 'leads')} of ${email}. ${told} ` +
    'Campaign statistics still count the submissions; they hold nothing about the person.'
  )
}
