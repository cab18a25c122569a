import { isDeepStrictEqual } from 'node:util'
import type { Cache } from '@nudge/cache'
import { type DB, transaction } from '@nudge/db'
import { definitionProblem, FLAGS_INVALIDATION_KEY, type FlagDefinition, type Flags } from '@nudge/flags'
import type { Kysely } from 'kysely'
import { FlagNotFound, FlagNotManaged, flagInvalid, NotFound } from '../../errors.ts'
import * as flags from './repository.ts'
import { type Rollout, rolloutOf, withRollout } from './rollout.ts'

/**
 * Operators' changes to feature flags, for the CLI (`npm run flags`) and /internal/v1/flags alike.
 * Every change is checked the way flagd will read it (a definition it would refuse is refused
 * here, with the reason), written with its audit row in one transaction, then every worker
 * reloads (the invalidation broadcast) and this one before answering.
 */
export interface FlagDeps {
  db: Kysely<DB>
  cache: Cache
  flags: Pick<Flags, 'reload'>
}

type FlagRow = Awaited<ReturnType<typeof flags.listFlags>>[number]

export function toFlag(row: FlagRow) {
  return {
    key: row.key,
    definition: row.definition as unknown as FlagDefinition,
    updatedAt: row.updated_at.toISOString(),
    updatedBy: row.updated_by,
  }
}

export type FlagView = ReturnType<typeof toFlag>

export async function listFlags({ db }: FlagDeps): Promise<FlagView[]> {
  return (await flags.listFlags(db)).map(toFlag)
}

export async function getFlag({ db }: FlagDeps, key: string): Promise<FlagView> {
  const row = await flags.findFlag(db, key)
  if (!row) throw new FlagNotFound(key)
  return toFlag(row)
}

export async function flagChanges({ db }: FlagDeps, key: string, limit = 100) {
  const rows = await flags.listChanges(db, key, limit)
  return rows.map((row) => ({
    id: row.id,
    flagKey: row.flag_key,
    actor: row.actor,
    before: row.before as unknown as FlagDefinition | null,
    after: row.after as unknown as FlagDefinition | null,
    at: row.created_at.toISOString(),
  }))
}

/** Replaces (or creates) the flag's whole definition. */
export function setFlag(deps: FlagDeps, key: string, definition: unknown, actor: string) {
  return change(deps, key, actor, () => definition as FlagDefinition)
}

/** Turns the flag on for `percent` of all teams (plus the teams enabled by name). */
export function rollOut(deps: FlagDeps, key: string, percent: number, actor: string) {
  return change(deps, key, actor, (before) => withRollout(before, { ...managed(key, before), percent }))
}

/** Turns the flag on for one more team, whatever the percentage. */
export async function enableForTeam(deps: FlagDeps, key: string, teamId: string, actor: string) {
  const team = await deps.db.selectFrom('teams').select('id').where('id', '=', teamId).executeTakeFirst()
  if (!team) throw new NotFound('Team')
  return change(deps, key, actor, (before) => {
    const rollout = managed(key, before)
    return withRollout(before, { ...rollout, teams: [...rollout.teams, team.id] })
  })
}

/** The kill switch: every evaluation gets the code's default (off), rules kept for the record. */
export function disableFlag(deps: FlagDeps, key: string, actor: string) {
  return change(deps, key, actor, (before) => {
    if (!before) throw new FlagNotFound(key)
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
  deps: FlagDeps,
  key: string,
  actor: string,
  next: (before: FlagDefinition | null) => FlagDefinition,
): Promise<FlagView> {
  const row = await transaction(deps.db, async (trx, afterCommit) => {
    await flags.lockFlagKey(trx, key)
    const current = await flags.findFlag(trx, key)
    const before = (current?.definition as unknown as FlagDefinition | undefined) ?? null
    const after = next(before)
    const problem = definitionProblem(key, after)
    if (problem) throw flagInvalid(key, problem)
    // jsonb does not keep key order: compare values, so a change that changes nothing is not recorded.
    if (current && isDeepStrictEqual(before, after)) return current
    const saved = await flags.saveFlag(trx, key, after, actor)
    await flags.recordChange(trx, { key, actor, before, after })
    afterCommit(() => deps.cache.del(FLAGS_INVALIDATION_KEY))
    return saved
  })
  // This worker answers with the new definitions; the others reload on the broadcast.
  await deps.flags.reload()
  return toFlag(row)
}
