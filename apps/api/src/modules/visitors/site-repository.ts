import type { DB } from '@nudge/db'
import type { Kysely } from 'kysely'

/** The sites among these hostnames, with the settings that say whether their subdomains are let in. */
export async function findSitesByHostname(db: Kysely<DB>, hostnames: string[]) {
  return db.selectFrom('sites').select(['hostname', 'settings']).where('hostname', 'in', hostnames).execute()
}

export async function findSiteByHostname(db: Kysely<DB>, hostname: string) {
  return db
    .selectFrom('sites')
    .select(['id', 'hostname', 'team_id', 'settings'])
    .where('hostname', '=', hostname)
    .executeTakeFirst()
}

/** A site's hostname by its id (Go-Live's old domain ids resolve to it), undefined when it is gone. */
export async function findSiteHostnameById(db: Kysely<DB>, siteId: string): Promise<string | undefined> {
  const row = await db.selectFrom('sites').select('hostname').where('id', '=', siteId).executeTakeFirst()
  return row?.hostname
}
