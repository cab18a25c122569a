/**
 * The dashboard's Vite dev server, as `npm start` runs it beside the API: http://localhost:5173
 * (DASHBOARD_PORT), talking to the API at VITE_API_URL (default http://localhost:$PORT). Prints
 * `listening on <url>` when it serves; stops on SIGINT/SIGTERM.
 *   node tools/dev/dashboard.ts
 */
import path from 'node:path'
import { createServer } from 'vite'
import { root } from './paths.ts'

const dashboardRoot = path.join(root, 'apps/dashboard')
const port = Number(process.env.DASHBOARD_PORT ?? 5173)
const apiUrl = process.env.VITE_API_URL ?? `http://localhost:${process.env.PORT ?? 3000}`

const server = await createServer({
  root: dashboardRoot,
  configFile: path.join(dashboardRoot, 'vite.config.ts'),
  clearScreen: false,
  define: { 'import.meta.env.VITE_API_URL': JSON.stringify(apiUrl) },
  server: { port, strictPort: true, host: 'localhost' },
})
await server.listen()
process.stdout.write(`[dashboard] listening on http://localhost:${port} (API ${apiUrl})\n`)

const stop = async () => {
  await server.close()
  process.exit(0)
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
