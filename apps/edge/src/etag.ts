/**
 * Whether an If-None-Match header names this ETag: `*`, or any entry of its list, weak or strong
 * (If-None-Match compares weakly, RFC 9110 13.1.2).
 */
export function noneMatchHits(header: string | null, etag: string): boolean {
  if (header === null) return false
  const opaque = etag.replace(/^W\//, '')
  return header
    .split(',')
    .map((entry) => entry.trim())
    .some((entry) => entry === '*' || entry.replace(/^W\//, '') === opaque)
}
