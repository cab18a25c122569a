import type {} from '@nudge/config'
import fp from 'fastify-plugin'
import { createStorage } from './create.ts'
import type { ObjectStorage } from './storage.ts'

declare module 'fastify' {
  interface FastifyInstance {
    storage: ObjectStorage
  }
}

/**
 * Decorates `app.storage`, the object storage the publisher writes the edge's objects to: the
 * S3_BUCKET bucket (R2 in production) or the STORAGE_DIR folder. Its client is closed with the app.
 */
export const storagePlugin = fp(
  async (app) => {
    const storage = createStorage(app.config)
    app.log.child({ layer: 'storage' }).info({ storage: storage.description }, 'publishing to object storage')
    app.decorate('storage', storage as ObjectStorage)
    app.addHook('onClose', async () => storage.close())
  },
  { name: 'storage', dependencies: ['config', 'logging'], fastify: '5.x' },
)
