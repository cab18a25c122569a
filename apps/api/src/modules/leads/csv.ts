import type { VariantInput } from '../campaigns/content.ts'
import { leadEmailField, leadForm } from '../visitors/lead-form.ts'

/*
 * CSV as RFC 4180 writes it (CRLF between records, quotes doubled), made safe for spreadsheet
 * apps: a cell that Excel, LibreOffice or Google Sheets would run as a formula gets a leading
 * apostrophe, which they show as text. Every cell is quoted, not only those holding a comma:
 * Excel in a locale whose list separator is `;` (or `\t`, or whatever the user set) splits an
 * unquoted `Ada;=1+1` into a second cell that starts with `=`, past the apostrophe guard.
 * Every cell goes through `cell`, header included: the data comes from anonymous visitors.
 */

const FORMULA_START = /^[=+\-@\t\r]/

export function cell(value: string): string {
  const text = FORMULA_START.test(value) ? `'${value}` : value
  return `"${text.replaceAll('"', '""')}"`
}

export function line(values: readonly string[]): string {
  return `${values.map(cell).join(',')}\r\n`
}

/** A form value as a spreadsheet reader expects it: text as it is, a ticked checkbox as yes. */
export function text(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'string') return value
  if (typeof value === 'boolean') return value ? 'yes' : 'no'
  if (typeof value === 'number') return String(value)
  return JSON.stringify(value)
}

export const FIXED_COLUMNS = [
  'email',
  'campaign',
  'variant',
  'created',
  'consent',
  'consent version',
  'country',
  'page',
] as const

/**
 * The form columns of the campaigns' variants, in form order, each name once (variants of an
 * A/B test may ask for different fields). The field the lead's email comes from (the form's
 * first required email field, as the visitor intake reads it) is the email column, not a form one.
 */
export function formColumns(campaigns: Iterable<{ variants: readonly VariantInput[] }>): string[] {
  const names = new Set<string>()
  for (const campaign of campaigns) {
    for (const variant of campaign.variants) {
      const form = leadForm(variant)
      if (!form) continue
      const email = leadEmailField(form)
      for (const field of form.fields) if (field !== email) names.add(field.name)
    }
  }
  return [...names]
}
