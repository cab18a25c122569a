export { definitionProblem, FLAG_KEY_PATTERN, type FlagDefinition, isFlagKey } from './definition.ts'
export {
  evaluationContext,
  FLAGS_INVALIDATION_KEY,
  type FlagContext,
  type Flags,
  type FlagsState,
  flagsPlugin,
} from './plugin.ts'
export { InProcessFlagProvider } from './provider.ts'
