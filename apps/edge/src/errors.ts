/** Errors in the API's shape (apps/api ErrorResponse), so the script reads one format from both. */
export function errorResponse(
  statusCode: number,
  code: string,
  message: string,
  headers?: Record<string, string>,
) {
  const response = Response.json({ statusCode, code, message }, { status: statusCode, headers })
  response.headers.set('cache-control', 'no-store')
  return response
}
