import type { Config } from '@nudge/config'
import { createFolderStorage } from './folder.ts'
import { createS3Storage } from './s3.ts'
import type { StorageAdapter } from './storage.ts'

export interface CreateStorageOptions {
  /** Keys per list page on S3 (default and maximum 1000). */
  pageSize?: number
}

/**
 * The storage the config names: the S3-compatible bucket when S3_BUCKET is set, else the
 * STORAGE_DIR folder (resolved against the working directory). For the plugin and for CLIs;
 * whoever creates it calls `close()` when done.
 */
export function createStorage(config: Config, options: CreateStorageOptions = {}): StorageAdapter {
  if (!config.S3_BUCKET) return createFolderStorage(config.STORAGE_DIR)
  const { S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY } = config
  // loadConfig already refuses this; a hand-built config may not have gone through it.
  if (!S3_ENDPOINT || !S3_ACCESS_KEY_ID || !S3_SECRET_ACCESS_KEY)
    throw new Error('S3_BUCKET is set: also set S3_ENDPOINT, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY')
  return createS3Storage({
    bucket: config.S3_BUCKET,
    endpoint: S3_ENDPOINT,
    region: config.S3_REGION,
    accessKeyId: S3_ACCESS_KEY_ID,
    secretAccessKey: S3_SECRET_ACCESS_KEY,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    pageSize: options.pageSize,
  })
}
