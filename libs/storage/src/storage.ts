import { createHash } from 'node:crypto'

export interface StoredObject {
  key: string
  /** Lowercase hex MD5 of the object's bytes, without quotes. */
  etag: string
}

export interface PutOptions {
  contentType: string
  cacheControl?: string
}

/** The object storage port the publisher writes the edge's JSON objects through. */
export interface ObjectStorage {
  /** e.g. "folder /abs/path" or "s3 bucket nudge-edge at https://…" (no credentials), for logs and reports */
  readonly description: string
  /** The stored object's etag (MD5 hex of its bytes), or null when there is none. */
  etag(key: string): Promise<string | null>
  /** Every object whose key starts with prefix, with its etag (paginates under the hood). */
  list(prefix: string): AsyncIterable<StoredObject>
  put(key: string, body: Buffer, options: PutOptions): Promise<void>
  /** Deletes these keys; a key that does not exist is not an error. */
  delete(keys: string[]): Promise<void>
}

/** What `createStorage` returns: the port, plus the teardown its owner calls once. */
export interface StorageAdapter extends ObjectStorage {
  close(): Promise<void>
}

/** The etag `etag()` returns after `put(key, body)`: lowercase hex MD5 of the bytes. */
export function contentEtag(body: Buffer): string {
  return createHash('md5').update(body).digest('hex')
}

export const MAX_KEY_BYTES = 1024

/**
 * Keys are built by our own code, so a bad one is a programming error (a plain Error, not a
 * 502). The rules keep a key the same object on S3 and a safe relative path in the folder.
 */
export function checkKey(key: string): void {
  const problem = keyProblem(key, false)
  if (problem) throw new Error(`Invalid storage key ${JSON.stringify(key)}: ${problem}`)
}

/** A list prefix follows the same rules, except that it may be empty or end with '/'. */
export function checkPrefix(prefix: string): void {
  if (prefix === '') return
  const problem = keyProblem(prefix, true)
  if (problem) throw new Error(`Invalid storage prefix ${JSON.stringify(prefix)}: ${problem}`)
}

function keyProblem(key: string, prefix: boolean): string | undefined {
  if (typeof key !== 'string' || key === '') return 'empty'
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) return `longer than ${MAX_KEY_BYTES} bytes`
  if (key.startsWith('/')) return "starts with '/'"
  if (key.includes('\\')) return 'contains a backslash'
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'contains a control character'
  const segments = key.split('/')
  // "campaigns/" or "campaigns/prod": a prefix's last part may be empty or partial.
  const last = prefix ? segments.pop() : undefined
  if (last === '..') return "has a '..' segment"
  for (const segment of segments) {
    if (segment === '..' || segment === '.') return `has a '${segment}' segment`
    if (segment === '') return 'has an empty segment'
  }
  return undefined
}
