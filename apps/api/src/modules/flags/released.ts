import type { Flags } from '@nudge/flags'
import type { FastifyRequest } from 'fastify'
import type { Deps } from '../../deps.ts'
import { invalidInput } from '../../errors.ts'
import { requestFlagContext, teamFlagContext } from './context.ts'

/*
 * The things behind flags, in one place, so what is still dark is easy to find (and to remove
 * once it is released to everyone).
 */

/** The tab-return campaign trigger (the visitor comes back to the page's tab) while it is dark. */
export const TAB_RETURN_TRIGGER_FLAG = 'campaign-trigger-tab-return'

/** 400 naming the field when the input uses a trigger type the team does not have yet. */
export async function checkReleasedTrigger(
  deps: Deps,
  request: FastifyRequest,
  targeting: { trigger?: { type?: string } | undefined } | undefined,
) {
  if (targeting?.trigger?.type !== 'tab-return') return
  const context = await requestFlagContext(deps, request)
  if (deps.flags.boolean(TAB_RETURN_TRIGGER_FLAG, false, context)) return
  throw invalidInput([
    {
      field: 'body.targeting.trigger.type',
      message: 'tab-return is not available to this team yet (it is being released gradually)',
    },
  ])
}

/**
 * Flags marked `published` that are on for the team: listed as `features` in the site's published
 * document, so the popup script can switch dark-shipped behaviour on per team. Read at publish time:
 * a flag change reaches a site's document on its next publish (or `npm run republish`). Takes
 * what publishing's and the site document's callers have (none without flags).
 */
export async function publishedFeatures(
  deps: Pick<Deps, 'db'> & { flags?: Pick<Flags, 'evaluateMarked'> | undefined },
  teamId: string,
): Promise<string[]> {
  if (!deps.flags) return []
  const values = deps.flags.evaluateMarked('published', await teamFlagContext(deps, teamId))
  return Object.keys(values)
    .filter((key) => values[key] === true)
    .sort()
}
