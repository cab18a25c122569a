import { sql } from 'kysely'
import type { App } from '../../src/server.ts'

/** A team created through the API by a signed-in user, who becomes its owner; returns its id. */
export async function createTeam(app: App, who: { headers: Record<string, string> }, name: string) {
  const res = await app.inject({ method: 'POST', url: '/v1/teams', headers: who.headers, payload: { name } })
  if (res.statusCode !== 201) throw new Error(`team not created: ${res.body}`)
  return res.json().id as string
}

/**
 * A member added straight in the table (invites are their own module's work), before their
 * first request to the team.
 */
export async function addMember(app: App, teamId: string, userId: string, role: string) {
  await sql`INSERT INTO team_members (team_id, user_id, role) VALUES (${teamId}, ${userId}, ${role})`.execute(
    app.db,
  )
}
