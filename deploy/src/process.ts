import { spawn } from 'node:child_process'
import { DeployError } from './steps.ts'

/** The end of each stream is kept: host.ts answers on the last line, errors come last. */
const KEEP_CHARACTERS = 1_000_000

export interface Finished {
  /** The exit code; 127 when the command does not exist, -1 when it was killed. */
  code: number
  stdout: string
  stderr: string
}

/**
 * Runs a command to its end, bounded in time (its whole process group is killed) and in what is
 * kept of its output. Never throws for a failing command: the caller decides what a failure means.
 */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout = (stdout + chunk).slice(-KEEP_CHARACTERS)
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk).slice(-KEEP_CHARACTERS)
    })
    const timer = options.timeoutMs
      ? setTimeout(() => {
          stderr += `\n(${command} killed after ${options.timeoutMs} ms)`
          try {
            if (child.pid) process.kill(-child.pid, 'SIGKILL')
          } catch {
            // already gone
          }
        }, options.timeoutMs)
      : undefined
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      resolve({
        code: error.code === 'ENOENT' ? 127 : 1,
        stdout,
        stderr: error.code === 'ENOENT' ? `${command} is not installed` : error.message,
      })
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, stdout, stderr })
    })
    if (options.input !== undefined) child.stdin?.end(options.input)
  })
}

/** `run`, for commands that must succeed: their stdout, or an error naming the command and its stderr. */
export async function mustRun(
  command: string,
  args: string[],
  options: Parameters<typeof run>[2] = {},
): Promise<string> {
  const finished = await run(command, args, options)
  if (finished.code !== 0) {
    throw new DeployError(
      `${command} ${args.join(' ')} failed (${finished.code}): ${finished.stderr.trim().slice(-4000)}`,
    )
  }
  return finished.stdout
}
