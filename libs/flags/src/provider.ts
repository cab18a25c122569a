import { FlagdCore } from '@openfeature/flagd-core'
import type {
  EvaluationContext,
  JsonValue,
  Logger,
  Provider,
  ResolutionDetails,
} from '@openfeature/server-sdk'
import type { FlagDefinition } from './definition.ts'

/**
 * The OpenFeature provider behind `app.flags`: flagd's evaluator over the definitions this process
 * holds in memory. Evaluating is pure computation (no I/O); `replace` swaps in a whole new set at
 * once, so an evaluation sees either the old definitions or the new ones, never a mixture.
 */
export class InProcessFlagProvider implements Provider {
  readonly metadata = { name: 'nudge-postgres-flagd' } as const
  readonly runsOn = 'server' as const
  private core: FlagdCore
  private readonly logger: Logger

  constructor(logger: Logger) {
    this.logger = logger
    this.core = new FlagdCore(undefined, logger)
  }

  /** Definitions already validated (definitionProblem); a flag flagd still refuses is skipped by it. */
  replace(definitions: Map<string, FlagDefinition>): void {
    const core = new FlagdCore(undefined, this.logger)
    core.setConfigurations(JSON.stringify({ flags: Object.fromEntries(definitions) }))
    this.core = core
  }

  get size(): number {
    return this.core.getFlags().size
  }

  /** Every enabled flag whose metadata passes `select`, evaluated for `context` (errors left out). */
  evaluateAll(context: EvaluationContext, select: (metadata: Record<string, unknown>) => boolean) {
    const values: Record<string, JsonValue> = {}
    for (const details of this.core.resolveAll(context, this.logger)) {
      if (details.errorCode !== undefined || !select(details.flagMetadata)) continue
      values[details.flagKey] = details.value
    }
    return values
  }

  /**
   * The hot path: flagd's answer without the OpenFeature client's hook pipeline (which costs ~30 µs
   * of CPU per evaluation in its down-levelled async code, measurable per request; we register no
   * hooks). flagd-core answers `fallback` for an unknown, disabled or mistyped flag.
   */
  booleanValue(key: string, fallback: boolean, context: EvaluationContext): boolean {
    return this.core.resolveBooleanEvaluation(key, fallback, context, this.logger).value
  }

  resolveBooleanEvaluation(key: string, fallback: boolean, context: EvaluationContext, logger: Logger) {
    return Promise.resolve(
      this.core.resolveBooleanEvaluation(key, fallback, context, logger) as ResolutionDetails<boolean>,
    )
  }

  resolveStringEvaluation(key: string, fallback: string, context: EvaluationContext, logger: Logger) {
    return Promise.resolve(
      this.core.resolveStringEvaluation(key, fallback, context, logger) as ResolutionDetails<string>,
    )
  }

  resolveNumberEvaluation(key: string, fallback: number, context: EvaluationContext, logger: Logger) {
    return Promise.resolve(
      this.core.resolveNumberEvaluation(key, fallback, context, logger) as ResolutionDetails<number>,
    )
  }

  resolveObjectEvaluation<T extends JsonValue>(
    key: string,
    fallback: T,
    context: EvaluationContext,
    logger: Logger,
  ) {
    return Promise.resolve(
      this.core.resolveObjectEvaluation(key, fallback, context, logger) as ResolutionDetails<T>,
    )
  }
}
