import { FLAG_KEY_PATTERN, type FlagDefinition } from '@nudge/flags'
import { Type } from 'typebox'
import { Input } from '../../schemas.ts'
import type { listChanges, listFlags } from './repository.ts'

const Key = Type.String({
  pattern: FLAG_KEY_PATTERN,
  description: 'lower-case letters, digits, hyphens and dots, e.g. campaign-trigger-tab-return',
  examples: ['campaign-trigger-tab-return'],
})

export const FlagParams = Input({ key: Key })

const OpenObject = (description: string) => Type.Object({}, { additionalProperties: true, description })

/** One flagd flag (https://flagd.dev/reference/flag-definitions/); flagd's own checks run too. */
export const FlagDefinitionInput = Input(
  {
    state: Type.Enum(['ENABLED', 'DISABLED'], {
      description: 'DISABLED: every evaluation gets the default written in the code (the kill switch)',
    }),
    variants: Type.Record(Type.String(), Type.Unknown(), {
      description: 'name → value; boolean flags use {"on": true, "off": false}',
    }),
    defaultVariant: Type.String({ description: 'the variant when no targeting rule picks one' }),
    targeting: Type.Optional(
      OpenObject(
        'a flagd JsonLogic rule over teamId, userId, plan, role; {"fractional": [...]} buckets whole teams',
      ),
    ),
    metadata: Type.Optional(
      OpenObject(
        'clientVisible: true → GET /v1/teams/:teamId/flags shows it; published: true → listed in the site document when on',
      ),
    ),
  },
  {
    description: 'A flagd flag definition, checked as flagd reads it before it is stored',
    examples: [
      {
        state: 'ENABLED',
        variants: { on: true, off: false },
        defaultVariant: 'off',
        targeting: {
          fractional: [
            ['on', 10],
            ['off', 90],
          ],
        },
        metadata: { clientVisible: true },
      },
    ],
  },
)

export const RolloutInput = Input(
  {
    percent: Type.Integer({
      minimum: 0,
      maximum: 100,
      description:
        'share of teams that get it (whole teams, stable as it grows); teams enabled by name keep it',
    }),
  },
  { examples: [{ percent: 10 }] },
)

export const TeamEnableInput = Input(
  {
    teamId: Type.String({ format: 'uuid', description: 'a team that gets the flag whatever the percentage' }),
  },
  { examples: [{ teamId: '01936f0e-7c1a-7000-8000-000000000000' }] },
)

const Definition = Type.Object(
  {
    state: Type.String(),
    variants: Type.Record(Type.String(), Type.Unknown()),
    defaultVariant: Type.String(),
    targeting: Type.Optional(Type.Unknown()),
    metadata: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: true },
)

export const Flag = Type.Object({
  key: Type.String(),
  definition: Definition,
  updatedAt: Type.String({ format: 'date-time' }),
  updatedBy: Type.String({ description: 'who made the last change (cli:user@host or service:ops)' }),
})

export const FlagList = Type.Object({ flags: Type.Array(Flag) })

export const FlagChangeList = Type.Object({
  changes: Type.Array(
    Type.Object({
      id: Type.String({ format: 'uuid' }),
      flagKey: Type.String(),
      actor: Type.String(),
      before: Type.Union([Definition, Type.Null()], { description: 'null: the change created the flag' }),
      after: Type.Union([Definition, Type.Null()]),
      at: Type.String({ format: 'date-time' }),
    }),
    { description: 'newest first, the last 100' },
  ),
})

export const TeamFlags = Type.Object({
  flags: Type.Record(Type.String(), Type.Unknown(), {
    description:
      'each enabled flag marked clientVisible, evaluated for this team and the caller: key → value (absent: not released)',
  }),
})

export type FlagRow = Awaited<ReturnType<typeof listFlags>>[number]
type FlagChangeRow = Awaited<ReturnType<typeof listChanges>>[number]

/** A flag as the routes and the CLI show it. */
export function toFlag(row: FlagRow) {
  return {
    key: row.key,
    definition: row.definition as unknown as FlagDefinition,
    updatedAt: row.updated_at.toISOString(),
    updatedBy: row.updated_by,
  }
}

export function toFlagChange(row: FlagChangeRow) {
  return {
    id: row.id,
    flagKey: row.flag_key,
    actor: row.actor,
    before: row.before as unknown as FlagDefinition | null,
    after: row.after as unknown as FlagDefinition | null,
    at: row.created_at.toISOString(),
  }
}
