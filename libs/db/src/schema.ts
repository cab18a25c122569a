import type { ColumnType, Insertable, Selectable, Updateable } from 'kysely'

/** `timestamptz` columns: read as Date, written as Date or ISO string, defaulted by the database. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>

export interface UsersTable {
  id: string
  email: string
  supertokens_user_id: string
  name: string | null
  last_login_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  created_at: Timestamp
  updated_at: Timestamp
}

/** The database as the app sees it; grows with each migration. */
export interface DB {
  users: UsersTable
}

export type User = Selectable<UsersTable>
export type NewUser = Insertable<UsersTable>
export type UserUpdate = Updateable<UsersTable>
