// The popup script, a Text module (wrangler.jsonc `rules`; build/worker.ts inlines it for tests).
declare module '*/bundled/nudge.js' {
  const source: string
  export default source
}
