import { once } from 'node:events'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import { type Config, loadConfig } from '@nudge/config'
import { buildApp } from 'fauxqs'
import type { Test } from 'tap'

export const BUCKET = 'nudge-edge'
export const ACCESS_KEY_ID = 'nudge-test-access-key'
export const SECRET_ACCESS_KEY = 'nudge-test-secret-key-never-in-a-message'

export function folderConfig(dir: string): Config {
  return loadConfig({ NODE_ENV: 'test', STORAGE_DIR: dir })
}

export function s3Config(endpoint: string, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    S3_BUCKET: BUCKET,
    S3_ENDPOINT: endpoint,
    S3_ACCESS_KEY_ID: ACCESS_KEY_ID,
    S3_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
    S3_FORCE_PATH_STYLE: 'true',
    ...overrides,
  })
}

export async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'nudge-storage-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Every file under `dir`, as '/'-separated paths relative to it. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort()
}

export interface SeenRequest {
  method: string
  url: string
  authorization: string
}

/**
 * A real S3-compatible server (fauxqs: S3 over HTTP, objects in memory) on an ephemeral loopback
 * port with the bucket created through the SDK, plus the requests it has received and an SDK
 * client of its own for reading back what the adapter wrote. fauxqs accepts any credentials.
 */
export async function startS3Server(t: Test) {
  const app = buildApp({ logger: false })
  const requests: SeenRequest[] = []
  app.addHook('onRequest', async (request) => {
    requests.push({
      method: request.method,
      url: request.url,
      authorization: String(request.headers.authorization ?? ''),
    })
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { port } = app.server.address() as AddressInfo
  const endpoint = `http://127.0.0.1:${port}`
  const client = new S3Client({
    endpoint,
    region: 'auto',
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
  })
  t.teardown(() => client.destroy())
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }))
  requests.length = 0
  return { endpoint, client, requests }
}

/** A loopback port nothing listens on: connections are refused at once. */
export async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A loopback server that accepts connections and never answers: a hung storage. */
export async function silentServer(t: Test): Promise<number> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    socket.resume()
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  return (server.address() as AddressInfo).port
}

/** Collects an async iterable into [key, etag] pairs sorted by key. */
export async function listed(iterable: AsyncIterable<{ key: string; etag: string }>) {
  const out: Array<[string, string]> = []
  for await (const { key, etag } of iterable) out.push([key, etag])
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}
