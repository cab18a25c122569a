/** User input (team, integration, people names) placed in an email's HTML part. */
export const escapeHtml = (value: string) =>
  value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  )

/** User input in a header (the subject): no line breaks or control characters. */
export const oneLine = (value: string) => value.replace(/[\p{Cc}\s]+/gu, ' ').trim()
