/**
 * Rate limits count in fixed windows (`floor(now / windowMs)`): a test whose requests straddle a
 * window's end sees its counts start again at 0. Before such a test, wait out the current window
 * if fewer than `marginMs` of it are left. Windows of whole minutes (an hour too) end at a minute's
 * end, so `60_000` keeps any of them from turning within the margin.
 */
export async function clearOfWindowEdge(windowMs: number, marginMs = 10_000): Promise<void> {
  const left = windowMs - (Date.now() % windowMs)
  if (left < marginMs) await new Promise((resolve) => setTimeout(resolve, left + 20))
}
