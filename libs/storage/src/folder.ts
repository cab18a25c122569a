import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { storageFailed } from './errors.ts'
import { checkKey, checkPrefix, contentEtag, type StorageAdapter, type StoredObject } from './storage.ts'

/** A write in progress: `.<name>.<16 hex>.tmp` next to its final name, never listed. */
const TEMP_FILE = /^\..+\.[0-9a-f]{16}\.tmp$/

/**
 * File systems take names of up to 255 bytes, and a key segment may be longer (a 253-character
 * hostname plus `.json`). Such a segment is kept as folders of pieces ending in `~`, then the
 * last piece: every name, with the temporary file's 22 extra bytes, stays under the limit.
 */
const NAME_BYTES = 200
const CONTINUED = '~'

function fileNames(segment: string): string[] {
  if (Buffer.byteLength(segment) <= NAME_BYTES) return [segment]
  const names: string[] = []
  let piece = ''
  for (const char of segment) {
    if (Buffer.byteLength(piece + char) > NAME_BYTES - 1) {
      names.push(piece + CONTINUED)
      piece = ''
    }
    piece += char
  }
  names.push(piece)
  return names
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code
  return code === 'ENOENT' || code === 'ENOTDIR'
}

/**
 * The embedded default: objects are files under `dir` (`domains/example.com.json` →
 * `<dir>/domains/example.com.json`). A write goes to a temporary file in the same folder and is
 * renamed over the final name, so a reader (the dev edge, a test) sees the old bytes or the new
 * ones, never half a file. Content type and cache control are not kept: files have neither.
 */
export function createFolderStorage(dir: string): StorageAdapter {
  const root = path.resolve(dir)
  const fileOf = (key: string) => path.join(root, ...key.split('/').flatMap(fileNames))
  const checkFileKey = (key: string) => {
    checkKey(key)
    if (TEMP_FILE.test(path.posix.basename(key)))
      throw new Error(`Invalid storage key ${JSON.stringify(key)}: named like the folder's temporary files`)
    if (key.split('/').some((segment) => segment.endsWith(CONTINUED)))
      throw new Error(`Invalid storage key ${JSON.stringify(key)}: a part ends with '${CONTINUED}'`)
  }

  async function* walk(folder: string, keyPrefix: string, prefix: string): AsyncGenerator<StoredObject> {
    let entries: Array<{ name: string; isDirectory(): boolean; isFile(): boolean }>
    try {
      entries = await readdir(folder, { withFileTypes: true })
    } catch (error) {
      if (isMissing(error)) return
      throw storageFailed(`list ${prefix}`, error)
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const entry of entries) {
      const key = keyPrefix + entry.name
      if (entry.isDirectory()) {
        // Only the folders that can hold keys under the prefix. A piece of a long name continues
        // the same segment (see fileNames).
        const below = entry.name.endsWith(CONTINUED) ? key.slice(0, -CONTINUED.length) : `${key}/`
        if (below.startsWith(prefix) || prefix.startsWith(below))
          yield* walk(path.join(folder, entry.name), below, prefix)
        continue
      }
      if (!entry.isFile() || TEMP_FILE.test(entry.name) || !key.startsWith(prefix)) continue
      let body: Buffer
      try {
        body = await readFile(path.join(folder, entry.name))
      } catch (error) {
        if (isMissing(error)) continue // deleted since readdir
        throw storageFailed(`list ${prefix}`, error)
      }
      yield { key, etag: contentEtag(body) }
    }
  }

  return {
    description: `folder ${root}`,

    async etag(key) {
      checkFileKey(key)
      try {
        return contentEtag(await readFile(fileOf(key)))
      } catch (error) {
        if (isMissing(error)) return null
        throw storageFailed(`etag ${key}`, error)
      }
    },

    list(prefix) {
      checkPrefix(prefix)
      return walk(root, '', prefix)
    },

    async put(key, body, _options) {
      checkFileKey(key)
      const target = fileOf(key)
      const temp = path.join(
        path.dirname(target),
        `.${path.basename(target)}.${randomBytes(8).toString('hex')}.tmp`,
      )
      try {
        await mkdir(path.dirname(target), { recursive: true })
        await writeFile(temp, body, { flush: true })
        await rename(temp, target)
      } catch (error) {
        await rm(temp, { force: true }).catch(() => {})
        throw storageFailed(`put ${key}`, error)
      }
    },

    async delete(keys) {
      for (const key of keys) checkFileKey(key)
      for (const key of keys) {
        try {
          await unlink(fileOf(key))
        } catch (error) {
          if (!isMissing(error)) throw storageFailed(`delete ${key}`, error)
        }
      }
    },

    async close() {},
  }
}
