import createError from '@fastify/error'

/**
 * The object storage did not do what the publisher asked. The API answers it as it is (502), so
 * the message names the operation, the key and a reason from a fixed vocabulary (never an
 * address, an endpoint or a credential); the original error is the `cause`, for the log.
 */
export const StorageFailed = createError('STORAGE_FAILED', 'Publishing storage failed: %s', 502)

const unreachable = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
])
const refused = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'Unauthorized',
  'InvalidToken',
  'ExpiredToken',
])

interface Failure {
  name?: unknown
  code?: unknown
  $metadata?: { httpStatusCode?: number }
}

/** Why an operation failed, in words safe to show to a dashboard user. */
function reason(error: unknown): string {
  const { name, code, $metadata } = (error ?? {}) as Failure
  const status = $metadata?.httpStatusCode
  const label = typeof name === 'string' && name !== 'Error' ? name : undefined
  if (name === 'TimeoutError' || name === 'AbortError' || code === 'ETIMEDOUT')
    return 'the storage did not answer in time'
  if (typeof code === 'string' && unreachable.has(code)) return `the storage could not be reached (${code})`
  if ((label && refused.has(label)) || status === 401 || status === 403)
    return `the storage refused our credentials (${label ?? status})`
  if (label === 'NoSuchBucket') return 'the bucket does not exist'
  if (status) return `the storage answered ${status}${label ? ` ${label}` : ''}`
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return `the storage failed (${code})`
  return 'unexpected error'
}

/** Wraps an adapter's error: `operation` is what was asked, e.g. "put domains/example.com.json". */
export function storageFailed(operation: string, error: unknown): InstanceType<typeof StorageFailed> {
  if (error instanceof StorageFailed) return error
  return new StorageFailed(`${operation}: ${reason(error)}`, { cause: error })
}
