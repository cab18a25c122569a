import { createHash } from 'node:crypto'
import { type FSWatcher, watch } from 'node:fs'
import { mkdir, readdir, readFile } from 'node:fs/promises'
import path from 'node:path'

/*
 * The API's folder storage (libs/storage/src/folder.ts, STORAGE_DIR) copied into the local
 * Worker's R2 bucket: everything at start, then again whenever something in the folder changes
 * (and every second), so a campaign put live is served by the Worker within a moment. Each pass compares the whole
 * folder with what was copied (a folder of published objects is small): a write, a delete, a
 * renamed or removed folder all come out right, whatever events the file system sent.
 */

/** libs/storage's folder layout: a write in progress, never an object. */
const TEMP_FILE = /^\..+\.[0-9a-f]{16}\.tmp$/
/** A folder named `<piece>~` continues the key segment it starts (names over 200 bytes). */
const CONTINUED = '~'
/** Events come in bursts (a publish writes several objects): one pass after the burst. */
const SETTLE_MS = 50
/**
 * Node's recursive watch on Linux reports writes and renames but not every unlink (a withdrawn
 * campaign went unseen): a pass every second catches what the events miss.
 */
const POLL_MS = 1000

const CONTENT_TYPES: Record<string, string> = { '.json': 'application/json; charset=utf-8' }

/** The part of Miniflare's R2 bucket the mirror writes through. */
export interface MirrorBucket {
  put(key: string, value: Uint8Array, options?: { httpMetadata?: { contentType?: string } }): Promise<unknown>
  delete(keys: string | string[]): Promise<void>
}

export interface MirrorChange {
  put: string[]
  deleted: string[]
}

/** Every object in the folder by key, as the folder storage names them. */
async function readFolder(root: string): Promise<Map<string, Buffer>> {
  const objects = new Map<string, Buffer>()
  async function walk(folder: string, keyPrefix: string) {
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => [])
    for (const entry of entries) {
      const full = path.join(folder, entry.name)
      if (entry.isDirectory()) {
        await walk(
          full,
          entry.name.endsWith(CONTINUED)
            ? keyPrefix + entry.name.slice(0, -CONTINUED.length)
            : `${keyPrefix}${entry.name}/`,
        )
      } else if (entry.isFile() && !TEMP_FILE.test(entry.name)) {
        // Gone since it was listed: it is simply not there on this pass.
        const body = await readFile(full).catch(() => null)
        if (body !== null) objects.set(keyPrefix + entry.name, body)
      }
    }
  }
  await walk(root, '')
  return objects
}

export async function mirrorFolder(
  dir: string,
  bucket: MirrorBucket,
  onChange: (change: MirrorChange) => void = () => {},
) {
  const root = path.resolve(dir)
  // Watching needs the folder; the API makes it on its first publish anyway.
  await mkdir(root, { recursive: true })
  const copied = new Map<string, string>()

  async function pass() {
    const objects = await readFolder(root)
    const change: MirrorChange = { put: [], deleted: [] }
    for (const [key, body] of objects) {
      const digest = createHash('sha256').update(body).digest('hex')
      if (copied.get(key) === digest) continue
      const contentType = CONTENT_TYPES[path.extname(key)]
      // A plain Uint8Array: Miniflare's proxy to the bucket does not take Node's Buffer subclass.
      await bucket.put(key, new Uint8Array(body), contentType ? { httpMetadata: { contentType } } : {})
      copied.set(key, digest)
      change.put.push(key)
    }
    const gone = [...copied.keys()].filter((key) => !objects.has(key))
    if (gone.length > 0) {
      await bucket.delete(gone)
      for (const key of gone) copied.delete(key)
      change.deleted = gone
    }
    if (change.put.length > 0 || change.deleted.length > 0) onChange(change)
  }

  // One pass at a time; changes during a pass call for one more after it.
  let running: Promise<void> = pass()
  let again = false
  let timer: NodeJS.Timeout | undefined
  let failure: ((error: Error) => void) | undefined
  const schedule = () => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      if (again) return
      again = true
      running = running
        .catch(() => {})
        .then(() => {
          again = false
          return pass()
        })
      running.catch((error: Error) => failure?.(error))
    }, SETTLE_MS)
  }
  await running
  const watcher: FSWatcher = watch(root, { recursive: true }, schedule)
  const poll = setInterval(schedule, POLL_MS)
  return {
    /** Called with what went wrong in a pass after the first (the first one throws). */
    onError(handler: (error: Error) => void) {
      failure = handler
      watcher.on('error', handler)
    },
    /** Resolves once the passes due to changes so far are done. */
    async settled() {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS * 2))
      await running
    },
    close() {
      clearTimeout(timer)
      clearInterval(poll)
      watcher.close()
    },
  }
}
