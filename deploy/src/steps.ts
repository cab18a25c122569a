/** A deploy step failed: the command stops, and what it already changed is said in `message`. */
export class DeployError extends Error {
  override name = 'DeployError'
}

export interface Step<T = unknown> {
  title: string
  /** Read-only steps also run in a dry run, so the plan names real hosts, colours and releases. */
  readOnly?: boolean
  run: () => Promise<T>
}

/**
 * Prints each step as it starts and ends, with the time since the command began and the step's
 * own duration, and remembers the durations for a summary. In a dry run, steps that change
 * something are printed as the plan instead of run.
 */
export class Steps {
  readonly started = performance.now()
  readonly timings: Array<{ title: string; seconds: number }> = []

  private readonly write: (line: string) => void
  readonly dryRun: boolean

  constructor(write: (line: string) => void, dryRun: boolean) {
    this.write = write
    this.dryRun = dryRun
  }

  private stamp(): string {
    return `[${((performance.now() - this.started) / 1000).toFixed(1).padStart(6)}s]`
  }

  say(line: string): void {
    this.write(`${this.stamp()} ${line}`)
  }

  /** Runs `step` (or, in a dry run, prints it when it changes something) and returns its result. */
  async run<T>(
    title: string,
    run: () => Promise<T>,
    options: { readOnly?: boolean } = {},
  ): Promise<T | undefined> {
    if (this.dryRun && !options.readOnly) {
      this.write(`  plan: ${title}`)
      return undefined
    }
    this.say(`${title} ...`)
    const t0 = performance.now()
    try {
      const result = await run()
      const seconds = (performance.now() - t0) / 1000
      this.timings.push({ title, seconds })
      const detail = typeof result === 'string' && result ? `: ${result}` : ''
      this.say(`ok ${title} (${seconds.toFixed(1)}s)${detail}`)
      return result
    } catch (error) {
      const seconds = (performance.now() - t0) / 1000
      this.say(`FAILED ${title} (${seconds.toFixed(1)}s): ${(error as Error).message}`)
      throw error
    }
  }

  /** Like `run` for a step whose result the command needs even in a dry run. */
  async read<T>(title: string, run: () => Promise<T>): Promise<T> {
    return (await this.run(title, run, { readOnly: true })) as T
  }

  total(): number {
    return (performance.now() - this.started) / 1000
  }
}
