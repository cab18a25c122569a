import { isDeepStrictEqual } from 'node:util'
import type { FlagDefinition } from '@nudge/flags'

/**
 * The one rule shape `rollout` and `enable` write on a boolean flag (variants on/off, default off):
 * the listed teams are on, then a percentage of all other teams is on. `fractional` buckets on the
 * targeting key, which is the team id (see evaluationContext), so a whole team is in or out, and
 * it stays in as the percentage grows (flagd hashes flag key + team id into fixed buckets).
 */
export interface Rollout {
  teams: string[]
  percent: number
}

const VARIANTS = { on: true, off: false }

function targetingOf({ teams, percent }: Rollout): Record<string, unknown> | undefined {
  const share =
    percent > 0
      ? {
          fractional: [
            ['on', percent],
            ['off', 100 - percent],
          ],
        }
      : undefined
  if (teams.length === 0) return share
  return { if: [{ in: [{ var: 'teamId' }, teams] }, 'on', share ?? 'off'] }
}

/** The rollout a definition expresses, or null when it has a shape of its own (hand-written with `set`). */
export function rolloutOf(definition: FlagDefinition): Rollout | null {
  if (!isDeepStrictEqual(definition.variants, VARIANTS) || definition.defaultVariant !== 'off') return null
  const targeting = definition.targeting
  if (targeting === undefined || Object.keys(targeting).length === 0) return { teams: [], percent: 0 }
  const rule = targeting as { if?: unknown[]; fractional?: unknown[] }
  const condition = rule.if?.[0] as { in?: [unknown, unknown] } | undefined
  const teams = Array.isArray(condition?.in?.[1]) ? (condition.in[1] as string[]) : []
  const share = (rule.if ? rule.if[2] : rule) as { fractional?: Array<[string, number]> } | undefined
  const percent = share?.fractional?.[0]?.[1] ?? 0
  const found = { teams, percent }
  return isDeepStrictEqual(targetingOf(found), targeting) ? found : null
}

/** `definition` (or a new boolean flag, off) with the rollout as its rule, enabled. */
export function withRollout(definition: FlagDefinition | null, rollout: Rollout): FlagDefinition {
  const base: FlagDefinition = definition ?? { state: 'ENABLED', variants: VARIANTS, defaultVariant: 'off' }
  const { targeting: _old, ...rest } = base
  const targeting = targetingOf({ teams: [...new Set(rollout.teams)].sort(), percent: rollout.percent })
  return { ...rest, state: 'ENABLED', ...(targeting ? { targeting } : {}) }
}
