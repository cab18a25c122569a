import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { createDb, createPool, migrateToLatest } from '@nudge/db'
import pg from 'pg'
import tap, { type Test } from 'tap'

/** The PostgreSQL server the tests run on: `npm test` sets DATABASE_URL (machine's or embedded). */
export function serverUrl(): string {
  const url = process.env.DATABASE_URL
  if (!url) throw new Error('DATABASE_URL is not set: run the tests with `npm test`, which provides a server')
  return url
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl() })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/**
 * A new, empty database for a test, dropped when the test file ends: after every app and pool
 * the test opened has closed (tap runs a test's teardowns in the order they were added).
 */
export async function emptyDatabase(_t: Test): Promise<string> {
  const name = `nudge_test_${randomBytes(6).toString('hex')}`
  await admin((client) => client.query(`CREATE DATABASE ${name}`))
  tap.teardown(() => admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)))
  return withDatabase(serverUrl(), name)
}

/** A new database with every migration applied. */
export async function migratedDatabase(t: Test): Promise<string> {
  const url = await emptyDatabase(t)
  const db = createDb(
    createPool({ DATABASE_URL: url, DATABASE_POOL_MAX: 2, DATABASE_STATEMENT_TIMEOUT_MS: 10000 }),
  )
  try {
    const { error } = await migrateToLatest(db)
    if (error) throw error
  } finally {
    await db.destroy()
  }
  return url
}

/** A TCP relay to PostgreSQL that the test can cut: one worker's database going away. */
export async function relayTo(t: Test, databaseUrl: string) {
  const target = new URL(databaseUrl)
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('error', () => {})
      socket.on('close', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const cut = () => {
    server.close()
    for (const socket of sockets) socket.destroy()
  }
  t.teardown(cut)
  const relayed = new URL(databaseUrl)
  relayed.host = `127.0.0.1:${(server.address() as net.AddressInfo).port}`
  return { url: relayed.toString(), cut }
}
