/**
 * Progress per table on a stream (stderr): rows done of the total, rows/s and the time left,
 * at most once a second and once at the end of each table, so a long run shows it is moving.
 */
export interface Progress {
  start(table: string, total: number): void
  advance(rows: number): void
  done(): { table: string; rows: number; seconds: number; rowsPerSecond: number }
}

export function progressTo(
  stream: { write(text: string): unknown } | null,
  now = () => performance.now(),
): Progress {
  let table = ''
  let total = 0
  let rows = 0
  let started = 0
  let shown = 0
  const line = (final: boolean) => {
    const seconds = (now() - started) / 1000
    const rate = seconds > 0 ? rows / seconds : 0
    const left = rate > 0 && total > rows ? Math.round((total - rows) / rate) : 0
    const share = total > 0 ? ` (${Math.min(100, Math.floor((rows / total) * 100))}%)` : ''
    const tail = final ? ` in ${seconds.toFixed(1)}s` : ` ETA ${formatSeconds(left)}`
    stream?.write(`golive ${table}: ${rows}/${total}${share} ${Math.round(rate)} rows/s${tail}\n`)
  }
  return {
    start(name, count) {
      table = name
      total = count
      rows = 0
      started = now()
      shown = started
    },
    advance(count) {
      rows += count
      if (now() - shown >= 1000) {
        shown = now()
        line(false)
      }
    },
    done() {
      line(true)
      const seconds = (now() - started) / 1000
      return { table, rows, seconds, rowsPerSecond: seconds > 0 ? Math.round(rows / seconds) : rows }
    },
  }
}

function formatSeconds(seconds: number): string {
  const minutes = Math.floor(seconds / 60)
  return minutes > 0 ? `${minutes}m${String(seconds % 60).padStart(2, '0')}s` : `${seconds}s`
}
