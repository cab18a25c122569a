import type { Random } from './random.ts'

/*
 * What the old system's customers typed: people's names, their shops' hostnames, and campaigns
 * made with the old WYSIWYG editor, whose HTML went into `content.text` unchecked.
 */

const FIRST_NAMES = [
  'Anna',
  'Ben',
  'Clara',
  'David',
  'Elif',
  'Farid',
  'Greta',
  'Hugo',
  'Ines',
  'Jonas',
  'Kira',
  'Lars',
  'Maya',
  'Nils',
  'Olga',
  'Paul',
  'Quinn',
  'Rosa',
  'Sven',
  'Tara',
  'Uwe',
  'Vera',
  'Wim',
  'Yara',
  'Zoe',
  'María',
  'José',
  'Zoë',
  'Łukasz',
  'Søren',
]
const LAST_NAMES = [
  'Schmidt',
  'Müller',
  'Jansen',
  'Rossi',
  'Garcia',
  'Novak',
  'Smith',
  'Dubois',
  'Kowalski',
  'Nielsen',
  'Silva',
  'Yilmaz',
  'Berg',
  'Fischer',
  'Moreau',
  'Costa',
  'Weber',
  'Lindqvist',
  "O'Brien",
  'van Dijk',
]
const SHOP_WORDS = [
  'green',
  'urban',
  'coffee',
  'bike',
  'yoga',
  'baby',
  'pet',
  'garden',
  'craft',
  'shoe',
  'tea',
  'wine',
  'book',
  'surf',
  'ski',
  'vintage',
  'organic',
  'home',
  'kids',
  'photo',
  'studio',
  'design',
  'fit',
  'food',
]
const SHOP_SUFFIXES = ['shop', 'store', 'co', 'lab', 'house', 'works', 'market', 'club', 'hub', 'box']
const TLDS = ['com', 'de', 'nl', 'fr', 'co.uk', 'io', 'shop', 'es', 'it', 'at']
const MAIL_DOMAINS = ['gmail.com', 'outlook.com', 'yahoo.com', 'web.de', 'gmx.de', 'icloud.com', 'proton.me']

export function personName(random: Random): { first: string; last: string } {
  return { first: random.pick(FIRST_NAMES), last: random.pick(LAST_NAMES) }
}

function ascii(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z]/g, '')
}

/** An address as people type it into a sign-up form: some capitalised, all of them valid. */
export function emailFor(random: Random, name: { first: string; last: string }, unique: number): string {
  const first = ascii(name.first)
  const last = ascii(name.last)
  const local = random.weighted([
    [`${first}.${last}`, 4],
    [`${first[0]}${last}`, 2],
    [`${first}${unique % 100}`, 2],
    [`${first}_${last}`, 1],
  ] as const)
  const domain = random.pick(MAIL_DOMAINS)
  const address = `${local}${unique}@${domain}`
  // Most old sign-ups kept the case the person typed.
  return random.chance(0.6) ? address : address.toLowerCase()
}

export function shopName(random: Random): string {
  return `${random.pick(SHOP_WORDS)}${random.pick(SHOP_SUFFIXES)}`
}

/** A customer's hostname, unique by `unique`, written as typed: upper case now and then. */
export function hostnameFor(random: Random, shop: string, unique: number): string {
  const base = `${shop}${unique}.${random.pick(TLDS)}`
  const sub = random.weighted([
    ['', 6],
    ['shop.', 2],
    ['blog.', 1],
  ] as const)
  const host = `${sub}${base}`
  // 'Shop.Example.com': capitalised as in a letterhead.
  return random.chance(0.1)
    ? host
        .split('.')
        .map((label) => label[0]!.toUpperCase() + label.slice(1))
        .join('.')
    : host
}

const TITLES = [
  'Get <b>10% off</b> your first order',
  'Join our newsletter',
  'Wait! Don’t leave yet',
  'Free shipping this week',
  '<font color="#e4572e">Summer sale</font> is on',
  'New collection is here',
  'Stay in the loop',
  '<span style="font-size:24px">Exclusive offer</span>',
]
const PARAGRAPHS = [
  '<p>Sign up and be the first to hear about new arrivals.</p>',
  '<p>We send <b>one email a month</b>. No spam, promise.</p>',
  '<p><font color="red" face="Arial">Limited time only!</font></p>',
  '<p><span style="color: #333; font-family: Georgia">Handmade in small batches.</span></p>',
  '<div>Use code <strong>WELCOME10</strong> at checkout.</div>',
  '<p>Read our <a href="https://example.com/privacy" target="_blank">privacy policy</a>.</p>',
  '<p>Questions? <a href="mailto:hello@example.com">Write to us</a>.</p>',
  '<p>Offer valid until Sunday&nbsp;&ndash; while stock lasts &amp; more.</p>',
  '<p><i>Prices incl. VAT</i><br>Free returns within 30 days.</p>',
  '<ul><li>Free shipping</li><li>Easy returns</li></ul>',
  '<p style="text-align:center">Follow us on <u>Instagram</u> &copy; 2023</p>',
  '<h2>Only today</h2><p>Everything <s>€49</s> €29.</p>',
]
/** What the issue calls "a campaign whose HTML cannot pass today's allowlist", in all its forms. */
export const HOSTILE_TEXT =
  '<p>Win a prize!<script>document.cookie="x="+1</script></p>' +
  '<img src="x" onerror="alert(1)">' +
  '<p><a href="javascript:alert(document.domain)">Claim now</a></p>' +
  '<iframe src="https://tracker.example.net/frame"></iframe>' +
  '<p onclick="steal()"><font color="#ff0000">Hurry</font></p>' +
  '<span style="position:fixed;inset:0;background:url(https://tracker.example.net/p.gif)">Ends tonight</span>' +
  '<style>body{display:none}</style><!-- editor comment -->'
const BUTTONS = ['Subscribe', 'Get my code', 'Sign me up', 'Shop now', 'OK', 'Yes please!', 'Claim "offer"']
const URL_PATTERNS = [
  '/blog/*',
  '/products/*',
  '*sale*',
  '/',
  'checkout',
  '/pages/about',
  '/collections/*/new',
]
const COLORS = ['#ffffff', '#FFF', '#1a1a1a', '#e4572e', 'red', 'rgb(0, 128, 255)', '#00aa88', 'blue', '#abc']

/** The old content JSON of one campaign: a mix of fields, some absent (the old editor's defaults). */
export function campaignContent(
  random: Random,
  hostname: string | null,
  options: { hostile?: boolean } = {},
): Record<string, unknown> {
  const content: Record<string, unknown> = { title: random.pick(TITLES) }
  const paragraphs = random.int(1, 3)
  const text: string[] = []
  for (let i = 0; i < paragraphs; i++) text.push(random.pick(PARAGRAPHS))
  content.text = options.hostile ? HOSTILE_TEXT : text.join('\n')
  content.collect_email = random.chance(0.7)
  if (content.collect_email && random.chance(0.4)) content.collect_name = true
  if (random.chance(0.85)) content.button_text = random.pick(BUTTONS)
  if (!content.collect_email && random.chance(0.5))
    content.button_url = `https://${hostname ?? 'example.com'}/sale`
  if (content.collect_email && random.chance(0.6)) content.success_text = 'Thanks! Check your <b>inbox</b>.'
  if (random.chance(0.3))
    content.image_url = `https://cdn.${hostname ?? 'example.com'}/img/banner${random.int(1, 9)}.jpg`
  const trigger = random.weighted([
    ['delay', 5],
    ['scroll', 2],
    ['exit', 2],
    ['mixed', 1],
    ['none', 2],
  ] as const)
  if (trigger === 'delay' || trigger === 'mixed') content.delay_seconds = random.pick([0, 3, 5, 10, 30, 900])
  if (trigger === 'scroll' || trigger === 'mixed') content.scroll_percent = random.pick([25, 50, 75, 120])
  if (trigger === 'exit' || trigger === 'mixed') content.exit_intent = true
  if (random.chance(0.35)) {
    const count = random.int(1, 3)
    content.show_on_urls = Array.from({ length: count }, () => random.pick(URL_PATTERNS))
  }
  if (random.chance(0.2)) content.hide_on_urls = ['/checkout/*', '/cart']
  if (random.chance(0.7)) content.frequency = random.pick(['always', 'once', 'daily', 'session'])
  if (random.chance(0.6)) content.background_color = random.pick(COLORS)
  if (random.chance(0.5)) content.text_color = random.pick(COLORS)
  if (random.chance(0.5)) content.button_color = random.pick(COLORS)
  if (random.chance(0.6)) {
    content.position = random.pick(['center', 'bottom-right', 'bottom-left', 'top', 'bottom'])
  }
  return content
}

export function campaignName(random: Random, index: number): string {
  return `${random.pick(['Newsletter', 'Spring sale', 'Exit offer', 'Black Friday', 'Welcome', 'Discount'])} ${index + 1}`
}
