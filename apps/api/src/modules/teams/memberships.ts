import type { Role } from '@nudge/db'
import fp from 'fastify-plugin'
import { findRoleAtEpoch, membershipEpoch } from './repository.ts'

/**
 * How long a read of the membership epoch vouches for the roles read at it. A change that takes a
 * role away answers only after this long (`settled`), so every worker has read the new epoch by
 * then or stopped trusting what it holds.
 */
const LEASE_MS = 300
/** A few polls per lease: one slow poll on a loaded machine does not send every lookup to the database. */
const POLL_MS = 100
const MAX_ROLES = 50_000

export interface Memberships {
  /** The caller's role in a team, or null for a non-member; never one a change has taken away. */
  roleOf(input: { teamId: string; userId: string }): Promise<Role | null>
  /**
   * Resolves once no worker can answer with a role changed or removed before the call: a change
   * that takes a role away awaits it after its commit, before it answers.
   */
  settled(): Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    memberships: Memberships
  }
}

/**
 * The permission hook asks for the caller's role on every team request. A query each time was
 * most of the cost of a team read (issue 21), and an invalidation broadcast arrives at the other
 * workers some milliseconds after the change answers, so a cache dropped by one would serve a
 * demoted member's old role in between (CI caught exactly that). Instead every role held here is
 * tagged with the membership epoch it was read at, in the same statement; the epoch is bumped by a
 * trigger in the transaction of every change that can take a role away (migration
 * 2026-12-08T00-00-01). Each worker polls the epoch, and trusts what it holds only while its
 * newest read of the epoch started less than LEASE_MS ago and matches the role's tag. A change
 * waits LEASE_MS after its commit before it answers (`settled`): any request that arrives after
 * that answer finds, on every worker, either a read of the epoch started after the commit (the
 * old role's tag no longer matches) or an expired lease (back to the database). Only durations of
 * one process's monotonic clock are compared, never two machines' clocks. Non-members are never
 * held, so an insert (an invite accepted) changes no held answer and bumps nothing.
 * Why not the role and the team's data in one round trip instead: the round trip itself (the
 * socket write, PostgreSQL's work on the same cores) was the cost, and the data is cached already.
 * The cost: a membership change answers LEASE_MS later, and any change drops every worker's roles
 * of every team once (a lookup each); membership changes are rare next to team reads. A poll
 * that waits for a pool connection counts from when it was asked, so a saturated pool only sends
 * lookups back to the database, never lets an old role through.
 */
export const membershipsPlugin = fp(
  async (app) => {
    const roles = new Map<string, { role: Role; epoch: number }>()
    // The newest read of the epoch: what it said, and when (this process's clock) it was sent.
    let known = { epoch: -1, readAt: Number.NEGATIVE_INFINITY }
    let poller: NodeJS.Timeout | undefined
    let polling = false
    let failing = false

    // A later-sent read saw every commit an earlier one saw: keep the latest-sent, in whatever
    // order the answers arrive.
    const learn = (epoch: number, readAt: number) => {
      if (readAt > known.readAt) known = { epoch, readAt }
    }

    async function poll() {
      if (polling) return
      polling = true
      const readAt = performance.now()
      try {
        learn(await membershipEpoch(app.db), readAt)
        if (failing) app.log.info('membership epoch readable again')
        failing = false
      } catch (error) {
        // The lease runs out by itself: lookups go to the database (and fail there if it is down).
        if (!failing) app.log.warn({ err: error }, 'membership epoch not readable; roles read per request')
        failing = true
      } finally {
        polling = false
      }
    }

    async function roleOf({ teamId, userId }: { teamId: string; userId: string }): Promise<Role | null> {
      // Only processes that serve team routes poll (the job worker never asks).
      if (!poller) {
        poller = setInterval(poll, POLL_MS)
        poller.unref()
      }
      const key = `${teamId}:${userId}`
      const held = roles.get(key)
      if (held && held.epoch === known.epoch && performance.now() - known.readAt < LEASE_MS) return held.role
      const readAt = performance.now()
      const found = await findRoleAtEpoch(app.db, teamId, userId)
      learn(found.epoch, readAt)
      roles.delete(key)
      if (found.role) {
        // Oldest first out: a lookup again is all an evicted member costs.
        if (roles.size >= MAX_ROLES) roles.delete(roles.keys().next().value as string)
        roles.set(key, { role: found.role, epoch: found.epoch })
      }
      return found.role
    }

    async function settled(): Promise<void> {
      // Timers may fire a little early by the loop's cached clock: wait by the monotonic one.
      const until = performance.now() + LEASE_MS
      for (let left = LEASE_MS; left > 0; left = until - performance.now()) {
        await new Promise((resolve) => setTimeout(resolve, Math.ceil(left) + 1))
      }
    }

    app.decorate('memberships', { roleOf, settled } satisfies Memberships)
    app.addHook('onClose', async () => clearInterval(poller))
  },
  { name: 'memberships', dependencies: ['db', 'logging'], fastify: '5.x' },
)
