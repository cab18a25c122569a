import {
  type Static,
  type TInteger,
  type TNumber,
  type TObject,
  type TProperties,
  type TString,
  type TUnsafe,
  Type,
} from 'typebox'

/**
 * What clients send (bodies, params, query strings): an object that refuses unknown fields, so a
 * misspelt field is a 400 naming it rather than silently ignored. Bodies give `examples` that a
 * dashboard developer can send as they are.
 */
export function Input<T extends TProperties>(
  properties: T,
  options: { examples?: unknown[]; description?: string } = {},
): TObject<T> {
  return Type.Object(properties, { ...options, additionalProperties: false })
}

/*
 * Text a person types (names of people, teams, integrations, campaigns) holds no control
 * characters: PostgreSQL refuses NUL in text and jsonb (a 500 rather than a 400 naming the field),
 * and C0/C1 controls are never meant and break logs, CSV exports and the dashboard.
 */
export const NO_CONTROL_CHARACTERS = '^[^\\u0000-\\u001F\\u007F-\\u009F]*$'
const ONE_LINE_NOT_BLANK =
  '^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$'

/**
 * A campaign as visitors' reports name it: a UUID, or the old system's number for it (a serial: 1 to
 * 2147483647, no leading zero), which only Go-Live's transition accepts (visitors/legacy-ids.ts).
 */
export const CAMPAIGN_ID_OR_LEGACY =
  '^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[1-9][0-9]{0,9})$'

/** What the error handler says instead of AJV's "must match pattern …" for the patterns above. */
export const PATTERN_MESSAGES: Record<string, string> = {
  [NO_CONTROL_CHARACTERS]: 'must not contain control characters',
  [ONE_LINE_NOT_BLANK]: 'must be one line of text, not blank, without control characters',
  [CAMPAIGN_ID_OR_LEGACY]: 'must be a campaign id (a UUID)',
}

/** A name or other one-line free text: not blank, no control characters (NUL included). */
export function FreeText(options: { maxLength: number; description?: string }) {
  return Type.String({ minLength: 1, ...options, pattern: ONE_LINE_NOT_BLANK })
}

/**
 * A value or null, as `type: ['string', 'null']` rather than `anyOf` (what `Type.Union([T,
 * Type.Null()])` makes): fast-json-stringify writes an `anyOf` by validating the value against each
 * branch with AJV, a date-time's or uuid's format check on every item of a list (1.1 µs a field
 * against 0.3, measured), where a list of types is a `typeof`. Answers only: a body's field keeps
 * its `Union`, whose AJV errors the error handler words.
 */
export function Nullable<T extends TString | TInteger | TNumber>(
  schema: T,
  options: { description?: string } = {},
): TUnsafe<Static<T> | null> {
  return Type.Unsafe<Static<T> | null>({ ...schema, ...options, type: [schema.type, 'null'] })
}
