/** HTTP answer for a PostgreSQL error, without leaking values or SQL. */
export interface DatabaseHttpError {
  statusCode: number
  code: string
  message: string
  details?: Record<string, unknown>
}

interface PgError {
  code?: string
  detail?: string
  constraint?: string
  column?: string
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE'])

/** Field names out of "Key (email)=(x) already exists." — the value itself never reaches the client. */
function keyFields(detail: string | undefined): string[] {
  const match = detail?.match(/^Key \((.+?)\)=\(/)
  if (!match?.[1]) return []
  return match[1].split(',').map((field) =>
    field
      .trim()
      .replace(/^lower\((.*)\)$/, '$1')
      .replace(/::\w+$/, ''),
  )
}

/**
 * Maps the PostgreSQL and driver errors a request can run into; `undefined` means "not a
 * database error we can explain", which the caller answers as a 500.
 */
export function httpErrorFromDatabase(error: unknown): DatabaseHttpError | undefined {
  const err = error as PgError & { message?: string }
  if (!err || typeof err !== 'object') return undefined
  switch (err.code) {
    case '23505': {
      const fields = keyFields(err.detail)
      return {
        statusCode: 409,
        code: 'CONFLICT',
        message: fields.length
          ? `A record with this ${fields.join(', ')} already exists`
          : 'Record already exists',
        details: { fields, constraint: err.constraint },
      }
    }
    case '23503':
      return {
        statusCode: 409,
        code: 'REFERENCE_CONFLICT',
        message: err.detail?.includes('is still referenced')
          ? 'The record is still referenced by other records'
          : 'A referenced record does not exist',
        details: { fields: keyFields(err.detail), constraint: err.constraint },
      }
    case '23502':
      return {
        statusCode: 422,
        code: 'MISSING_FIELD',
        message: `${err.column ?? 'A field'} is required`,
        details: { fields: err.column ? [err.column] : [] },
      }
    case '23514':
    case '22001':
    case '22003':
    case '22007':
    case '22008':
    case '22P02':
      return { statusCode: 422, code: 'INVALID_VALUE', message: 'A value is not valid for its field' }
    // NUL in text (22021) or \u0000 in jsonb (22P05): schemas refuse control characters, so this is
    // the fallback for a field that slipped through, still the sender's to fix.
    case '22021':
    case '22P05':
      return {
        statusCode: 422,
        code: 'INVALID_VALUE',
        message: 'A value holds a character that cannot be stored (such as NUL)',
      }
    case '40001':
    case '40P01':
      return { statusCode: 409, code: 'CONCURRENT_UPDATE', message: 'The record changed concurrently; retry' }
    case '57014':
      return { statusCode: 503, code: 'DATABASE_TIMEOUT', message: 'The database took too long to answer' }
    case '53300':
    case '57P01':
    case '57P03':
    case '08000':
    case '08001':
    case '08003':
    case '08006':
      return { statusCode: 503, code: 'DATABASE_UNAVAILABLE', message: 'The database is unavailable' }
  }
  if (
    (err.code && CONNECTION_CODES.has(err.code)) ||
    /timeout exceeded when trying to connect|Connection terminated/i.test(err.message ?? '')
  ) {
    return { statusCode: 503, code: 'DATABASE_UNAVAILABLE', message: 'The database is unavailable' }
  }
  return undefined
}

/** The PostgreSQL error codes code outside this file branches on, by name. */
const VIOLATIONS = {
  unique: '23505',
  foreignKey: '23503',
} as const
const RETRYABLE = new Set(['40P01', '40001']) // deadlock detected, serialization failure

/** A unique (`unique`) or foreign-key (`foreignKey`) violation, of `constraint` when given. */
export function isViolation(error: unknown, kind: keyof typeof VIOLATIONS, constraint?: string): boolean {
  const err = error as PgError | null
  return (
    !!err &&
    typeof err === 'object' &&
    err.code === VIOLATIONS[kind] &&
    (constraint === undefined || err.constraint === constraint)
  )
}

/** A deadlock or serialization failure: the transaction can be run again as it was. */
export function isRetryableConflict(error: unknown): boolean {
  const code = (error as PgError | null)?.code
  return typeof code === 'string' && RETRYABLE.has(code)
}

// Cardinality (21), data (22), integrity (23) and transaction rollback (40: deadlock, serialization).
const CAUSED_BY_ROWS = /^(21|22|23|40)/

/**
 * A statement that failed because of a row it wrote (a key a concurrent transaction is using, a
 * row it references deleted a moment ago, a value the database refuses) or of a deadlock with
 * another writer, rather than of the database itself (unreachable, a timeout): written again one
 * row at a time, each row gets its own answer.
 */
export function isCausedByRows(error: unknown): boolean {
  const code = (error as PgError | null)?.code
  return typeof code === 'string' && CAUSED_BY_ROWS.test(code)
}
