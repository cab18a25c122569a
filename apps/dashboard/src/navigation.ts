/** Where to go after signing in: a path of this app only (never another origin). */
export function safeNext(value: unknown): string {
  if (
    typeof value !== 'string' ||
    !value.startsWith('/') ||
    value.startsWith('//') ||
    value.startsWith('/\\')
  )
    return '/'
  if (value.startsWith('/signin') || value.startsWith('/auth/verify')) return '/'
  return value
}
