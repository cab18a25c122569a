import { tmpdir } from 'node:os'
import path from 'node:path'
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8'

/** What `npm run bench -- --rss` asks each PM2 process for (pm2 sendDataToProcessId). */
export const MEMORY_REPORT_TOPIC = 'nudge:memory'

/**
 * Answers PM2's `MEMORY_REPORT_TOPIC` messages with this process's memory and V8 heap spaces, on
 * the bus (`process:msg`). Over PM2's IPC channel only: nothing is reachable over HTTP, and a
 * process not started by PM2 has no channel (this does nothing).
 *
 * Asked with `data: { heapSnapshot: true }` (`npm run bench -- --rss --heap`), it first writes a V8
 * heap snapshot to the temporary folder and answers its path; never in production, where the
 * snapshot would stop the process for seconds and write every secret in memory to disk.
 */
export function answerMemoryReports(): void {
  if (!process.send) return
  process.on('message', (packet: { topic?: unknown; data?: { heapSnapshot?: unknown } } | null) => {
    if (packet?.topic !== MEMORY_REPORT_TOPIC) return
    const heapSnapshot =
      packet.data?.heapSnapshot === true && process.env.NODE_ENV !== 'production'
        ? writeHeapSnapshot(path.join(tmpdir(), `nudge-${process.pid}-${Date.now()}.heapsnapshot`))
        : undefined
    process.send?.({
      type: 'process:msg',
      data: {
        topic: MEMORY_REPORT_TOPIC,
        heapSnapshot,
        memory: process.memoryUsage(),
        spaces: getHeapSpaceStatistics().map((space) => ({
          name: space.space_name,
          size: space.space_size,
          used: space.space_used_size,
        })),
      },
    })
  })
}
