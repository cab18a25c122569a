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

/** Drops `database` (its connections too) if it exists. */
export async function dropDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`)
  } finally {
    await client.end()
  }
}

/** `database` made anew and empty (no migration applied); returns its URL. */
export async function freshDatabase(serverUrl: string, database: string): Promise<string> {
  await dropDatabase(serverUrl, database)
  await ensureDatabase(serverUrl, database)
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  return url.toString()
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

/**
 * A free TCP port on 127.0.0.1 for a server another process will start. Taken below the kernel's
 * ephemeral range (32768–60999 on Linux): a port from that range (what listen(0) gives) can be
 * taken by any outgoing connection before the server binds it (check:reload once lost its port
 * to one, EADDRINUSE).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000)
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer()
      server.once('error', () => resolve(false))
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
    })
    if (free) return port
  }
  throw new Error('no free port found between 20000 and 32000')
}
