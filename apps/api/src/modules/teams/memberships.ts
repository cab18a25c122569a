import type {} from '@nudge/cache'
import type { Role } from '@nudge/db'
import fp from 'fastify-plugin'
import { findRoleAtEpoch, membershipEpoch } from './repository.ts'

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
 * demoted member's old role in between (CI caught exactly that). So every role held here is
 * tagged with the 'memberships' epoch read in the same statement and trusted only under its
 * lease (`app.cache.lease`, libs/cache lease.ts); the epoch is bumped by a trigger in the
 * transaction of every change that can take a role away (migrations 2026-12-08T00-00-01 and -05),
 * and such a change awaits `settled` after its commit. Non-members are never held, so an insert
 * (an invite accepted) changes no held answer and bumps nothing.
 * Why not the role and the team's data in one round trip instead: the round trip itself (the
 * socket write, PostgreSQL's work on the same cores) was the cost, and the data is cached already.
 * The cost: a membership change answers LEASE_MS later, and any change drops every worker's roles
 * of every team once (a lookup each); membership changes are rare next to team reads.
 */
export const membershipsPlugin = fp(
  async (app) => {
    const roles = new Map<string, { role: Role; epoch: number }>()
    const lease = app.cache.lease('memberships', () => membershipEpoch(app.db))

    async function roleOf({ teamId, userId }: { teamId: string; userId: string }): Promise<Role | null> {
      const key = `${teamId}:${userId}`
      const held = roles.get(key)
      if (held && lease.trusts(held.epoch)) return held.role
      const readAt = performance.now()
      const found = await findRoleAtEpoch(app.db, teamId, userId)
      lease.learn(found.epoch, readAt)
      roles.delete(key)
      if (found.role) {
        // Oldest first out: a lookup again is all an evicted member costs.
        if (roles.size >= MAX_ROLES) roles.delete(roles.keys().next().value as string)
        roles.set(key, { role: found.role, epoch: found.epoch })
      }
      return found.role
    }

    app.decorate('memberships', { roleOf, settled: () => lease.settled() } satisfies Memberships)
  },
  { name: 'memberships', dependencies: ['db', 'cache', 'logging'], fastify: '5.x' },
)
