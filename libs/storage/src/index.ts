export { type CreateStorageOptions, createStorage } from './create.ts'
export { StorageFailed } from './errors.ts'
export { createFolderStorage } from './folder.ts'
export { storagePlugin } from './plugin.ts'
export { createS3Storage, type S3StorageOptions } from './s3.ts'
export {
  contentEtag,
  MAX_KEY_BYTES,
  type ObjectStorage,
  type PutOptions,
  type StorageAdapter,
  type StoredObject,
} from './storage.ts'
