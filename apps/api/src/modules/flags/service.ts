import { isDeepStrictEqual } from 'node:util'
import { definitionProblem, FLAGS_INVALIDATION_KEY, type FlagDefinition } from '@nudge/flags'
import { type Deps, inTransaction } from '../../deps.ts'
import { FlagNotFound, FlagNotManaged, flagInvalid, NotFound } from '../../errors.ts'
import { findTeam } from '../teams/repository.ts'
import * as flags from './repository.ts'
import { type Rollout, rolloutOf, withRollout } from './rollout.ts'
import type { FlagRow } from './schemas.ts'

/*
 * Operators' changes to feature flags, for the CLI (`npm run flags`) and /internal/v1/flags alike.
 * Every change is checked the way flagd will read it (a definition it would refuse is refused
 * here, with the reason), written with its audit row in one transaction, then every worker
 * reloads (the invalidation broadcast) and this one before answering.
 */

export function listFlags(deps: Deps) {
  return flags.listFlags(deps.db)
}

export async function getFlag(deps: Deps, input: { key: string }) {
  const row = await flags.findFlag(deps.db, input.key)
  if (!row) throw new FlagNotFound(input.key)
  return row
}

/** The last `limit` changes (100 unless told), newest first. */
export function flagChanges(deps: Deps, input: { key: string; limit?: number }) {
  return flags.listChanges(deps.db, input.key, input.limit ?? 100)
}

/** Replaces (or creates) the flag's whole definition. */
export function setFlag(deps: Deps, input: { key: string; definition: unknown; actor: string }) {
  return change(deps, input, () => input.definition as FlagDefinition)
}

/** Turns the flag on for `percent` of all teams (plus the teams enabled by name). */
export function rollOut(deps: Deps, input: { key: string; percent: number; actor: string }) {
  return change(deps, input, (before) =>
    withRollout(before, { ...managed(input.key, before), percent: input.percent }),
  )
}

/** Turns the flag on for one more team, whatever the percentage. */
export async function enableForTeam(deps: Deps, input: { key: string; teamId: string; actor: string }) {
  const team = await findTeam(deps.db, input.teamId)
  if (!team) throw new NotFound('Team')
  return change(deps, input, (before) => {
    const rollout = managed(input.key, before)
    return withRollout(before, { ...rollout, teams: [...rollout.teams, team.id] })
  })
}

/** The kill switch: every evaluation gets the code's default (off), rules kept for the record. */
export function disableFlag(deps: Deps, input: { key: string; actor: string }) {
  return change(deps, input, (before) => {
    if (!before) throw new FlagNotFound(input.key)
    return { ...before, state: 'DISABLED' }
  })
}

function managed(key: string, definition: FlagDefinition | null): Rollout {
  if (!definition) return { teams: [], percent: 0 }
  const rollout = rolloutOf(definition)
  if (!rollout) {
    throw new FlagNotManaged(
      `Flag ${key} has variants or targeting of its own (not the on/off rollout rule): change it with set`,
    )
  }
  return rollout
}

async function change(
  deps: Deps,
  input: { key: string; actor: string },
  next: (before: FlagDefinition | null) => FlagDefinition,
): Promise<FlagRow> {
  const { key, actor } = input
  const row = await inTransaction(deps, async (tx) => {
    await flags.lockFlagKey(tx.db, key)
    const current = await flags.findFlag(tx.db, key)
    const before = (current?.definition as unknown as FlagDefinition | undefined) ?? null
    const after = next(before)
    const problem = definitionProblem(key, after)
    if (problem) throw flagInvalid(key, problem)
    // jsonb does not keep key order: compare values, so a change that changes nothing is not recorded.
    if (current && isDeepStrictEqual(before, after)) return current
    const saved = await flags.saveFlag(tx.db, key, after, actor)
    await flags.recordChange(tx.db, { key, actor, before, after })
    tx.afterCommit(() => deps.cache.del(FLAGS_INVALIDATION_KEY))
    return saved
  })
  // This worker answers with the new definitions; the others reload on the broadcast.
  await deps.flags.reload()
  return row
}
