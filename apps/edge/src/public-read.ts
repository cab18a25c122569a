/*
 * The objects and the script are public (anyone may read a published campaign) and fetched from
 * customers' pages, so any page may read them; the script needs the ETag and the country header.
 */
export const PUBLIC_READ = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'etag, x-nudge-country',
}

/**
 * The preflight of a read that carries a header of its own (a script revalidating with
 * If-None-Match itself): allowed for any page, remembered for a day.
 */
export function readPreflight(): Response {
  return new Response(null, {
    status: 204,
    headers: {
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'GET, HEAD',
      'access-control-allow-headers': 'if-none-match',
      'access-control-max-age': '86400',
    },
  })
}
