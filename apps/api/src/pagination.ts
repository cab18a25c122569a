import { isUuid } from '@nudge/db'
import { type RawBuilder, type SelectQueryBuilder, type SqlBool, sql } from 'kysely'
import { type TSchema, Type } from 'typebox'
import { InvalidCursor } from './errors.ts'
import { Input, Nullable } from './schemas.ts'

export const MAX_PAGE_SIZE = 100

/** `?limit=&cursor=` for every list; a route with filters spreads `PageQuery.properties` into its own. */
export const PageQuery = Input({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 20 })),
  cursor: Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, description: 'nextCursor of the previous page' }),
  ),
})

/** A page of items, newest first; `nextCursor` is null on the last page. */
export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Nullable(Type.String()) })

export interface Position {
  createdAt: Date
  id: string
}

/** Opaque to clients: base64url of the last item's (created_at, id). */
export function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify([position.createdAt.toISOString(), position.id])).toString('base64url')
}

export function decodeCursor(cursor: string): Position {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown]
    const createdAt = new Date(at as string)
    if (
      typeof at === 'string' &&
      typeof id === 'string' &&
      isUuid(id) &&
      !Number.isNaN(createdAt.getTime())
    ) {
      // Re-encoding must give back the same text: anything else was edited by hand.
      if (encodeCursor({ createdAt, id }) === cursor) return { createdAt, id }
    }
  } catch {}
  throw new InvalidCursor()
}

/**
 * Keyset condition for "after this cursor" in (created_at DESC, id DESC) order: stable while
 * rows are inserted between pages, with no duplicates and no gaps. (Paginated tables keep
 * created_at in milliseconds, the precision a cursor carries.)
 */
export function after(cursor: string, createdAt: string, id: string): RawBuilder<SqlBool> {
  const position = decodeCursor(cursor)
  return sql<SqlBool>`(${sql.ref(createdAt)}, ${sql.ref(id)}) < (${position.createdAt}, ${position.id})`
}

/** What a list route passes down to its repository. */
export interface PageRequest {
  limit: number
  cursor?: string | undefined
}

/**
 * The keyset page of a list query over a table with `created_at` and `id`: newest first,
 * `limit + 1` rows (`toPage` turns the extra one into `nextCursor`), after the cursor if any.
 * Every repository's list goes through it, so every list pages the same way.
 */
export function page<Tables, From extends keyof Tables, Row>(
  select: SelectQueryBuilder<Tables, From, Row>,
  request: PageRequest,
): SelectQueryBuilder<Tables, From, Row> {
  const paged = select
    .orderBy(sql.ref('created_at'), 'desc')
    .orderBy(sql.ref('id'), 'desc')
    .limit(request.limit + 1)
  return request.cursor ? paged.where(after(request.cursor, 'created_at', 'id')) : paged
}

/** Takes `limit + 1` rows, returns `limit` of them and the cursor to the rest, if any. */
export function toPage<Row extends { created_at: Date; id: string }, Item>(
  rows: Row[],
  limit: number,
  toItem: (row: Row) => Item,
): { items: Item[]; nextCursor: string | null } {
  const more = rows.length > limit
  const kept = more ? rows.slice(0, limit) : rows
  const last = kept.at(-1)
  return {
    items: kept.map(toItem),
    nextCursor: more && last ? encodeCursor({ createdAt: last.created_at, id: last.id }) : null,
  }
}
