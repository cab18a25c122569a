import type { EdgeRequest, Env } from './env.ts'
import { errorResponse } from './errors.ts'

/*
 * Demo pages, for the local loop only (`DEMO_PAGES` = "true", which wrangler.jsonc never sets):
 * `/demo/{hostname}` is a page of a made-up shop that loads the snippet as that site's page would,
 * with `data-hostname` standing in for the page's own hostname. Its visitor writes come from the
 * Worker's own origin, so the Worker forwards them with the site's Origin for the API to check.
 */

// A lower-case DNS name, as sites' hostnames are stored (the API's rule; 253 at most).
const HOSTNAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/
const DEMO_PATH = /^\/demo\/([^/]*)$/

export const demoPagesOn = (env: Env) => env.DEMO_PAGES === 'true'

/** The site hostname of a demo page's path, or null when the path names none. */
function demoHostname(pathname: string): string | null {
  const name = DEMO_PATH.exec(pathname)?.[1]
  return name !== undefined && HOSTNAME.test(name) ? name : null
}

export const isDemoPath = (pathname: string) => pathname.startsWith('/demo/')

export function demoPage(request: EdgeRequest): Response {
  const hostname = demoHostname(new URL(request.url).pathname)
  if (hostname === null) {
    return errorResponse(
      400,
      'INVALID_HOSTNAME',
      'A demo page is /demo/{hostname}, with a site’s hostname in lower case (e.g. /demo/shop.example.com)',
    )
  }
  return new Response(request.method === 'HEAD' ? null : page(escapeHtml(hostname)), {
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-robots-tag': 'noindex',
    },
  })
}

/**
 * The Origin a demo page's visitor write is forwarded with: `https://{hostname}` of the demo page
 * it came from (its Referer, on the Worker's own origin), or null for any other write.
 */
export function demoSiteOrigin(request: EdgeRequest, env: Env): string | null {
  if (!demoPagesOn(env)) return null
  const own = new URL(request.url).origin
  const origin = request.headers.get('origin')
  if (origin !== null && origin !== own) return null
  const referer = URL.parse(request.headers.get('referer') ?? '')
  if (referer === null || referer.origin !== own) return null
  const hostname = demoHostname(referer.pathname)
  return hostname === null ? null : `https://${hostname}`
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char,
  )
}

const PRODUCTS = [
  ['Linen shirt', 'Breathable, relaxed fit, stone-washed.', '49'],
  ['Canvas tote', 'Heavy cotton canvas, inner pocket.', '19'],
  ['Wool beanie', 'Merino, ribbed, one size.', '25'],
  ['Leather belt', 'Vegetable-tanned, brass buckle.', '39'],
  ['Rain jacket', 'Taped seams, packs into its pocket.', '89'],
  ['Trail socks', 'Cushioned sole, three pairs.', '15'],
]

function page(hostname: string): string {
  const products = PRODUCTS.map(
    ([name, text, price]) =>
      `<article><h3>${name}</h3><p>${text}</p><p class="price">€${price}</p></article>`,
  ).join('\n')
  const story = Array.from(
    { length: 8 },
    (_, index) =>
      `<p>Chapter ${index + 1}. We make a few things well and ship them in recycled boxes. Every piece is tested for a season before it is sold, and repaired free of charge for two years. Scroll on: the page is long so that scroll triggers have somewhere to go.</p>`,
  ).join('\n')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${hostname} · nudge demo shop</title>
<style>
body { margin: 0; font: 16px/1.6 system-ui, sans-serif; color: #222; background: #faf8f5; }
header, main, footer { max-width: 60rem; margin: 0 auto; padding: 1rem 1.5rem; }
header { display: flex; justify-content: space-between; align-items: center; flex-wrap: wrap; gap: 1rem; }
.note { font-size: .85rem; color: #666; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr)); gap: 1rem; }
article { background: #fff; border: 1px solid #e6e1da; border-radius: .5rem; padding: 1rem; }
.price { font-weight: 600; }
#offer { font: inherit; padding: .6rem 1.2rem; border: 0; border-radius: .4rem; background: #2d6a4f; color: #fff; cursor: pointer; }
section.story { min-height: 150vh; }
</style>
</head>
<body>
<header>
<strong>${hostname}</strong>
<button type="button" id="offer">See today’s offer</button>
</header>
<main>
<p class="note">A nudge demo page: the snippet of the site <code>${hostname}</code>, loaded as on its own pages (<code>?nudge_debug=1</code> logs why each campaign shows or not; <code>?nudge_preview=&lt;campaign id&gt;</code> previews one).</p>
<h1>New season, same good things</h1>
<div class="grid">
${products}
</div>
<section class="story">
<h2>Our story</h2>
${story}
</section>
</main>
<footer class="note">© ${hostname}, a page that exists only on the local edge.</footer>
<script async src="/nudge.js" data-hostname="${hostname}"></script>
</body>
</html>
`
}
