import { MemoryStorage } from '@openfeature/flagd-core'

/**
 * A flag as flagd defines it (https://flagd.dev/reference/flag-definitions/): what is stored per
 * key in `feature_flags.definition` and evaluated in-process by @openfeature/flagd-core.
 * `metadata.clientVisible: true` lets the dashboard read the flag's value for its team;
 * `metadata.published: true` lists it (when on for the site's team) in the published site document.
 */
export interface FlagDefinition {
  state: 'ENABLED' | 'DISABLED'
  variants: Record<string, unknown>
  defaultVariant: string
  targeting?: Record<string, unknown>
  metadata?: Record<string, unknown>
}

/** Lower-case words joined by hyphens or dots; the key is part of URLs and CLI arguments. */
export const FLAG_KEY_PATTERN = '^[a-z0-9][a-z0-9.-]{0,99}$'
const FLAG_KEY = new RegExp(FLAG_KEY_PATTERN)

export function isFlagKey(key: string): boolean {
  return FLAG_KEY.test(key)
}

type LogCall = (...args: unknown[]) => void

/** Records what flagd-core says while parsing: some problems (uncompilable rules) are only logged. */
function recordingLogger() {
  const said: string[] = []
  const keep: LogCall = (...args) => {
    said.push(args.map((arg) => (arg instanceof Error ? arg.message : String(arg))).join(' '))
  }
  const ignore: LogCall = () => {}
  return { said, logger: { debug: ignore, info: ignore, warn: keep, error: keep } }
}

/**
 * Why a definition cannot be stored, or null when flagd would load and evaluate it as written.
 * flagd-core's own parsing is lenient (a bad flag is skipped with a debug line), so this parses
 * strictly against flagd's schemas AND refuses anything flagd-core warns about (a targeting rule
 * that does not compile), and checks what the schema cannot say (the default variant exists).
 */
export function definitionProblem(key: string, definition: unknown): string | null {
  if (!isFlagKey(key)) return `key "${key}" must match ${FLAG_KEY_PATTERN}`
  if (typeof definition !== 'object' || definition === null || Array.isArray(definition))
    return 'the definition must be a JSON object (one flagd flag: state, variants, defaultVariant, targeting)'
  const flag = definition as Partial<FlagDefinition>
  if (flag.variants && typeof flag.variants === 'object' && typeof flag.defaultVariant === 'string') {
    if (!Object.hasOwn(flag.variants, flag.defaultVariant))
      return `defaultVariant "${flag.defaultVariant}" is not one of the variants (${Object.keys(flag.variants).join(', ')})`
  }
  const { said, logger } = recordingLogger()
  try {
    new MemoryStorage(logger).setConfigurations(JSON.stringify({ flags: { [key]: definition } }), true)
  } catch (error) {
    return schemaMessage(error)
  }
  return said.length > 0 ? said.join('; ') : null
}

/** flagd-core puts AJV's error list, as JSON, after its message: name each path and what is wrong. */
function schemaMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const at = message.indexOf('[')
  if (at < 0) return message
  try {
    const problems = JSON.parse(message.slice(at)) as Array<{ instancePath?: string; message?: string }>
    return problems
      .map((problem) =>
        `${(problem.instancePath ?? '').replace(/^\/flags\/[^/]+/, '') || '/'} ${problem.message ?? ''}`.trim(),
      )
      .filter((line, index, all) => all.indexOf(line) === index)
      .join('; ')
  } catch {
    return message
  }
}
