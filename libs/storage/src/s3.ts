import type { ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3'
import { StorageFailed, storageFailed } from './errors.ts'
import { checkKey, checkPrefix, contentEtag, type StorageAdapter, type StoredObject } from './storage.ts'

export interface S3StorageOptions {
  bucket: string
  /** e.g. https://<account>.eu.r2.cloudflarestorage.com */
  endpoint: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  forcePathStyle: boolean
  /** Keys per ListObjectsV2 page (S3 caps it at 1000); tests lower it to cross pages. */
  pageSize?: number
}

/** Fail fast when the storage is down or silent: a publish answers 502, it does not hang. */
const CONNECT_TIMEOUT_MS = 2_000
/** Longest silence on an open connection before it is dropped. */
const SOCKET_IDLE_TIMEOUT_MS = 3_000
/** Longest one request may take, answer included (our objects are a few KB). */
const REQUEST_TIMEOUT_MS = 5_000
/** One retry: enough for a dropped keep-alive connection, not enough to stack up waits. */
const MAX_ATTEMPTS = 2
/** Upper bound on one operation, retries included. */
const OPERATION_TIMEOUT_MS = 10_000
/** DeleteObjects takes at most this many keys per request. */
const DELETE_BATCH = 1000

const unquote = (etag: string) => etag.replace(/^"|"$/g, '').toLowerCase()

function isNotFound(error: unknown): boolean {
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } }
  return name === 'NotFound' || name === 'NoSuchKey' || $metadata?.httpStatusCode === 404
}

/** Keys named in an error message: the first one and how many more. */
function some(keys: string[]): string {
  return keys.length > 1 ? `${keys[0]} and ${keys.length - 1} more` : String(keys[0])
}

/**
 * Objects in an S3-compatible bucket through the AWS SDK: Cloudflare R2 in production.
 * Objects are written whole with PutObject (never multipart), so their ETag is the MD5 of the
 * bytes, the same `contentEtag` the publisher computes.
 */
export function createS3Storage(options: S3StorageOptions): StorageAdapter {
  const { bucket, pageSize = 1000 } = options
  const endpoint = new URL(options.endpoint)
  endpoint.username = ''
  endpoint.password = ''
  // The SDK (~6 MB of heap) is loaded at the first operation: an API worker only uses the storage
  // when it publishes, which most never do between two deploys.
  let client: S3Client | undefined
  let loading: Promise<{ sdk: typeof import('@aws-sdk/client-s3'); client: S3Client }> | undefined
  const s3 = () =>
    (loading ??= import('@aws-sdk/client-s3').then((sdk) => {
      client = new sdk.S3Client({
        endpoint: options.endpoint,
        region: options.region,
        forcePathStyle: options.forcePathStyle,
        credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
        // The SDK's default (CRC32 checksums on every upload and download) is not what R2 implements;
        // checksums only where the S3 API requires one (DeleteObjects).
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        requestHandler: {
          connectionTimeout: CONNECT_TIMEOUT_MS,
          socketTimeout: SOCKET_IDLE_TIMEOUT_MS,
          requestTimeout: REQUEST_TIMEOUT_MS,
          // Without it the SDK only logs a warning when requestTimeout passes.
          throwOnRequestTimeout: true,
        },
        maxAttempts: MAX_ATTEMPTS,
      })
      return { sdk, client }
    }))
  const within = () => ({ abortSignal: AbortSignal.timeout(OPERATION_TIMEOUT_MS) })

  async function* pages(prefix: string): AsyncGenerator<StoredObject> {
    let token: string | undefined
    do {
      let page: ListObjectsV2CommandOutput
      try {
        const { sdk, client } = await s3()
        page = await client.send(
          new sdk.ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix === '' ? undefined : prefix,
            MaxKeys: pageSize,
            ContinuationToken: token,
          }),
          within(),
        )
      } catch (error) {
        throw storageFailed(`list ${prefix}`, error)
      }
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined && object.ETag !== undefined)
          yield { key: object.Key, etag: unquote(object.ETag) }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
  }

  return {
    description: `s3 bucket ${bucket} at ${endpoint.origin}`,

    async etag(key) {
      checkKey(key)
      try {
        const { sdk, client } = await s3()
        const head = await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }), within())
        return head.ETag ? unquote(head.ETag) : null
      } catch (error) {
        if (isNotFound(error)) return null
        throw storageFailed(`etag ${key}`, error)
      }
    },

    list(prefix) {
      checkPrefix(prefix)
      return pages(prefix)
    },

    async put(key, body, { contentType, cacheControl }) {
      checkKey(key)
      try {
        const { sdk, client } = await s3()
        await client.send(
          new sdk.PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentType: contentType,
            CacheControl: cacheControl,
            // The storage refuses bytes that arrive different from what we sent.
            ContentMD5: Buffer.from(contentEtag(body), 'hex').toString('base64'),
          }),
          within(),
        )
      } catch (error) {
        throw storageFailed(`put ${key}`, error)
      }
    },

    async delete(keys) {
      for (const key of keys) checkKey(key)
      for (let start = 0; start < keys.length; start += DELETE_BATCH) {
        const batch = keys.slice(start, start + DELETE_BATCH)
        let errors: Array<{ Key?: string; Code?: string }>
        try {
          const { sdk, client } = await s3()
          const result = await client.send(
            new sdk.DeleteObjectsCommand({
              Bucket: bucket,
              Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
            }),
            within(),
          )
          // A key that is already gone is what we asked for.
          errors = (result.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey')
        } catch (error) {
          throw storageFailed(`delete ${some(batch)}`, error)
        }
        if (errors.length > 0) {
          const failed = errors.map((e) => e.Key ?? '?')
          const codes = [...new Set(errors.map((e) => e.Code ?? 'unknown'))].join(', ')
          throw new StorageFailed(`delete ${some(failed)}: the storage refused (${codes})`, {
            cause: errors,
          })
        }
      }
    },

    async close() {
      client?.destroy()
    },
  }
}
