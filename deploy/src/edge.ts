import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'
import { repositoryRoot } from './config.ts'

/*
 * `npm run deploy -- edge`: the edge Worker (apps/edge) published with wrangler, under the Node
 * running this (the project's), with the repository's apps/edge/wrangler.jsonc. Its custom build
 * builds the popup script first. `--dry-run` builds into apps/edge/dist offline and deploys nothing.
 */

export const EDGE_DIR = path.join(repositoryRoot, 'apps/edge')
/** What wrangler needs for a real deploy (a token allowed to edit Workers and R2 bindings). */
export const EDGE_CREDENTIALS = ['CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_ACCOUNT_ID'] as const

/** The settings a real deploy lacks, each named with what it is for. */
export function missingEdgeCredentials(env: NodeJS.ProcessEnv): string[] {
  return EDGE_CREDENTIALS.filter((name) => !env[name]).map(
    (name) =>
      `${name}: required to deploy the edge Worker (${
        name === 'CLOUDFLARE_API_TOKEN'
          ? 'an API token with Workers Scripts: Edit and Workers R2 Storage: Read'
          : 'the Cloudflare account the Worker belongs to'
      }); --dry-run needs neither`,
  )
}

/** Runs wrangler to its end, its output shown as it comes; resolves with its exit code. */
export function deployEdge(options: { dryRun: boolean; env: NodeJS.ProcessEnv }): Promise<number> {
  const wrangler = createRequire(path.join(EDGE_DIR, 'package.json')).resolve('wrangler/bin/wrangler.js')
  const args = [wrangler, 'deploy', '--config', path.join(EDGE_DIR, 'wrangler.jsonc')]
  if (options.dryRun) args.push('--dry-run', '--outdir', path.join(EDGE_DIR, 'dist'))
  const child = spawn(process.execPath, args, {
    // wrangler runs the custom build (build/embed.ts) in its working directory.
    cwd: EDGE_DIR,
    env: {
      ...options.env,
      WRANGLER_SEND_METRICS: 'false',
      PATH: [path.dirname(process.execPath), options.env.PATH].filter(Boolean).join(path.delimiter),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  return new Promise((resolve) => {
    child.on('error', () => resolve(1))
    child.on('close', (code) => resolve(code ?? 1))
  })
}
