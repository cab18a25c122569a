import net from 'node:net'
import { createDb, createPool, migrateToLatest } from '@nudge/db'
import pg from 'pg'

/** Creates `database` on the server if missing; `adminUrl` is any database on that server. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`)
  } finally {
    await client.end()
  }
}

/** Creates `database` if missing and applies every migration; returns its URL. */
export async function prepareDatabase(serverUrl: string, database: string): Promise<string> {
  await ensureDatabase(serverUrl, database)
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  const db = createDb(
    createPool({ DATABASE_URL: url.toString(), DATABASE_POOL_MAX: 1, DATABASE_STATEMENT_TIMEOUT_MS: 60000 }),
  )
  try {
    const { error } = await migrateToLatest(db)
    if (error) throw error
  } finally {
    await db.destroy()
  }
  return url.toString()
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}
