import type {} from '@nudge/config'
import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import type pg from 'pg'
import { createDb, createPool } from './db.ts'
import type { DB } from './schema.ts'

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<DB>
  }
}

/** Decorates `app.db` (Kysely over a pg Pool); the pool is destroyed when the app closes. */
export const dbPlugin = fp(
  async (app) => {
    const { config } = app
    if (!config.DATABASE_URL)
      throw new Error('DATABASE_URL is not set: the db layer needs a PostgreSQL server')
    const pool: pg.Pool = createPool({ ...config, DATABASE_URL: config.DATABASE_URL }, (error) =>
      app.log.warn({ err: error }, 'PostgreSQL connection lost; the pool opens another when needed'),
    )
    const db = createDb(pool)
    app.decorate('db', db)
    app.addHook('onClose', async () => {
      await db.destroy()
    })
  },
  { name: 'db', dependencies: ['config', 'logging'], fastify: '5.x' },
)
