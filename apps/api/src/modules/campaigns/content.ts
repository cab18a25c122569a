import { type Static, Type } from 'typebox'
import { Input } from '../../schemas.ts'

/*
 * What a marketer builds in the dashboard and our script renders on customers' pages.
 *
 * Shapes that differ by kind (blocks, triggers) are flat objects with an enum `type` and optional
 * fields, not unions: with `allErrors`, AJV reports a failed `anyOf` once per member ("url is
 * required" for a text block, "must be equal to constant" for every literal), and it ignores
 * `default` inside `anyOf`. Which fields each kind needs is checked by rules.ts, which names the
 * field. Enums use `enum` (one error) rather than a union of literals (one error per literal).
 *
 * Text that supports markup is checked by markup.ts; fields called "plain text" are rendered as
 * text, never as HTML.
 */

const HTTP_URL_DESCRIPTION = 'absolute http: or https: URL, without credentials'

export const CampaignType = Type.Enum(['modal', 'slide-in', 'bar', 'full-screen'], {
  description: 'how the popup appears: modal | slide-in | bar | full-screen',
})
export type CampaignType = Static<typeof CampaignType>

export const TextStyle = Type.Enum(['heading', 'body', 'small'], {
  description: 'heading | body | small (default body)',
})

export const Block = Input(
  {
    type: Type.Enum(['text', 'image'], { description: 'text | image' }),
    text: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2000,
        description:
          'type text (required): the text, with optional markup: <b> <strong> <i> <em> <u> <s> <br> <p> and ' +
          '<a href="https:…">; write &lt; and &amp; for a literal < and &',
      }),
    ),
    style: Type.Optional(TextStyle),
    url: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2048,
        description: `type image (required): ${HTTP_URL_DESCRIPTION}`,
      }),
    ),
    alt: Type.Optional(
      Type.String({
        maxLength: 200,
        description: 'type image (required): plain text describing the image; empty for a decorative one',
      }),
    ),
  },
  { description: 'A piece of content: { type: "text", text, style? } or { type: "image", url, alt }' },
)
export type BlockInput = Static<typeof Block>

export const ButtonAction = Type.Enum(['close', 'next-step', 'link', 'submit'], {
  description:
    'close: closes the popup | next-step: shows the next step | link: opens `url` | submit: sends the step’s form',
})

export const Button = Input(
  {
    label: Type.String({ minLength: 1, maxLength: 60, description: 'plain text' }),
    action: ButtonAction,
    url: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2048,
        description: `action link only (required): ${HTTP_URL_DESCRIPTION}`,
      }),
    ),
    newTab: Type.Optional(Type.Boolean({ description: 'action link: open the URL in a new tab' })),
  },
  { description: 'A button at the bottom of a step' },
)
export type ButtonInput = Static<typeof Button>

export const FieldType = Type.Enum(['email', 'text', 'phone', 'checkbox', 'select', 'hidden'], {
  description: 'email | text | phone | checkbox | select | hidden',
})

export const Field = Input(
  {
    name: Type.String({
      pattern: '^[a-zA-Z][a-zA-Z0-9_]{0,39}$',
      description:
        'key of the value in the lead (letters, digits, _; starts with a letter; unique in the form; not "consent" in any case, the name of the form’s consent checkbox)',
    }),
    type: FieldType,
    label: Type.String({ maxLength: 120, description: 'plain text shown next to the field; may be empty' }),
    required: Type.Optional(
      Type.Boolean({ default: false, description: 'the visitor must fill it (a checkbox: tick it)' }),
    ),
    placeholder: Type.Optional(
      Type.String({ maxLength: 120, description: 'plain text shown in an empty field' }),
    ),
    options: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
        minItems: 1,
        maxItems: 50,
        uniqueItems: true,
        description: 'type select only (required): the choices, plain text',
      }),
    ),
    value: Type.Optional(
      Type.String({
        maxLength: 500,
        description: 'type hidden only (required): the value sent with the lead',
      }),
    ),
  },
  { description: 'A form field' },
)
export type FieldInput = Static<typeof Field>

export const Consent = Input(
  {
    text: Type.String({
      minLength: 1,
      maxLength: 500,
      description: 'consent wording shown next to a checkbox; same markup as text blocks',
    }),
    required: Type.Boolean({ description: 'the form cannot be sent without ticking it' }),
    version: Type.String({
      minLength: 1,
      maxLength: 40,
      description: 'your name for this wording, stored with each lead as proof of what was agreed to',
    }),
  },
  { description: 'A consent checkbox (e.g. for GDPR)' },
)
export type ConsentInput = Static<typeof Consent>

export const Form = Input(
  {
    capturesLeads: Type.Optional(
      Type.Boolean({
        default: true,
        description: 'store submissions as leads (then a required email field is needed)',
      }),
    ),
    fields: Type.Array(Field, { minItems: 1, maxItems: 10, description: '1 to 10 fields' }),
    consent: Type.Optional(Consent),
  },
  { description: 'A form, sent by the step’s submit button' },
)
export type FormInput = Static<typeof Form>

const Color = (description: string) =>
  Type.Optional(
    Type.String({
      pattern: '^#([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$',
      description: `${description}: #rrggbb or #rrggbbaa`,
    }),
  )

export const Design = Input(
  {
    colors: Type.Optional(
      Input(
        {
          background: Color('popup background'),
          text: Color('text'),
          accent: Color('buttons and links'),
          buttonText: Color('text on buttons'),
          overlay: Color('page overlay behind a modal'),
        },
        { description: 'colours; a missing one uses the theme’s' },
      ),
    ),
    font: Type.Optional(
      Input(
        {
          family: Type.String({
            pattern: "^[A-Za-z0-9 ,'-]{1,100}$",
            description: 'CSS font-family list, e.g. "Inter, Arial, sans-serif"',
          }),
          sizePx: Type.Integer({ minimum: 10, maximum: 32, description: 'base size in px (10 to 32)' }),
        },
        { description: 'font of the popup' },
      ),
    ),
    position: Type.Optional(
      Type.Enum(['center', 'top', 'bottom', 'top-left', 'top-right', 'bottom-left', 'bottom-right'], {
        description: 'center | top | bottom | top-left | top-right | bottom-left | bottom-right',
      }),
    ),
    widthPx: Type.Optional(
      Type.Integer({ minimum: 200, maximum: 1200, description: 'width in px (200 to 1200)' }),
    ),
    borderRadiusPx: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 48, description: 'corner radius in px (0 to 48)' }),
    ),
  },
  { description: 'How a step looks; anything missing uses the theme’s' },
)
export type DesignInput = Static<typeof Design>

export const Step = Input(
  {
    blocks: Type.Array(Block, { maxItems: 20, description: 'content, top to bottom (up to 20)' }),
    buttons: Type.Array(Button, { maxItems: 4, description: 'up to 4 buttons' }),
    form: Type.Optional(Form),
    design: Type.Optional(Design),
  },
  { description: 'One screen of a variant' },
)
export type StepInput = Static<typeof Step>

export const Variant = Input(
  {
    id: Type.Optional(
      Type.String({
        pattern: '^[a-z0-9][a-z0-9-]{0,19}$',
        description: 'stable id (a-z, 0-9, -; up to 20) used in stats; assigned by the server when missing',
      }),
    ),
    name: Type.String({ minLength: 1, maxLength: 60, description: 'shown in the dashboard only' }),
    weight: Type.Integer({
      minimum: 0,
      maximum: 100,
      description: 'share of visitors in percent; the weights of a campaign sum to 100',
    }),
    steps: Type.Array(Step, { minItems: 1, maxItems: 5, description: '1 to 5 steps, shown in order' }),
  },
  { description: 'A version of the popup, for A/B tests' },
)
export type VariantInput = Static<typeof Variant>

/** The variants of one campaign; weights summing to 100 and unique ids are checked by rules.ts. */
export const Variants = Type.Array(Variant, {
  minItems: 1,
  maxItems: 4,
  description: '1 to 4 variants (A/B test) whose weights sum to 100',
})

export const UrlRule = Input(
  {
    match: Type.Enum(['exact', 'prefix', 'contains', 'glob'], {
      description: 'exact | prefix | contains | glob (* any characters)',
    }),
    value: Type.String({
      minLength: 1,
      maxLength: 500,
      description:
        'a path ("/products/"), text, or a full URL matched against the page URL; a full URL must be on the ' +
        'campaign’s site (its hostname or a subdomain of it)',
    }),
  },
  { description: 'A page URL rule' },
)
export type UrlRuleInput = Static<typeof UrlRule>

export const TriggerType = Type.Enum(
  ['delay', 'scroll', 'exit-intent', 'click', 'inactivity', 'tab-return'],
  {
    description:
      'delay: `seconds` after the page loads (0 to 600) | scroll: past `percent` of the page (1 to 100) | ' +
      'exit-intent: the pointer leaves towards the browser bar | click: on an element matching `selector` | ' +
      'inactivity: no interaction for `seconds` (1 to 3600) | ' +
      'tab-return: the visitor comes back to the page’s tab (released gradually: flag campaign-trigger-tab-return)',
  },
)

export const Trigger = Input(
  {
    type: TriggerType,
    seconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 3600,
        description: 'delay (0 to 600) and inactivity (1 to 3600) only',
      }),
    ),
    percent: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'scroll only' })),
    selector: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'click only: CSS selector, e.g. "#offer-button"',
      }),
    ),
  },
  { description: 'When the popup shows' },
)
export type TriggerInput = Static<typeof Trigger>

export const Targeting = Input(
  {
    urls: Type.Optional(
      Input(
        {
          include: Type.Optional(
            Type.Array(UrlRule, {
              maxItems: 50,
              default: [],
              description: 'pages where it may show; none: every page',
            }),
          ),
          exclude: Type.Optional(
            Type.Array(UrlRule, { maxItems: 50, default: [], description: 'pages where it never shows' }),
          ),
        },
        { description: 'which pages; missing: every page' },
      ),
    ),
    devices: Type.Optional(
      Type.Array(Type.Enum(['desktop', 'mobile', 'tablet']), {
        minItems: 1,
        maxItems: 3,
        uniqueItems: true,
        description: 'desktop | mobile | tablet; missing: all',
      }),
    ),
    countries: Type.Optional(
      Input(
        {
          mode: Type.Enum(['allow', 'deny'], {
            description: 'allow: only these countries | deny: all but these',
          }),
          codes: Type.Array(Type.String({ pattern: '^[A-Z]{2}$' }), {
            minItems: 1,
            maxItems: 250,
            uniqueItems: true,
            description: 'ISO 3166-1 alpha-2 codes, upper case',
          }),
        },
        { description: 'visitor countries; missing: all' },
      ),
    ),
    visitors: Type.Optional(
      Type.Enum(['all', 'new', 'returning'], { description: 'all | new | returning; missing: all' }),
    ),
    languages: Type.Optional(
      Type.Array(Type.String({ pattern: '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$' }), {
        maxItems: 50,
        uniqueItems: true,
        description: 'browser languages (BCP 47, e.g. "de" or "pt-BR"); missing or empty: any',
      }),
    ),
    trigger: Trigger,
  },
  { description: 'Who sees the popup, where, and when' },
)
export type TargetingInput = Static<typeof Targeting>

export const Frequency = Input(
  {
    show: Type.Enum(['once', 'every-n-days', 'every-page-view'], {
      description: 'once | every-n-days (then `days`) | every-page-view, per visitor',
    }),
    days: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 365, description: 'every-n-days only (required)' }),
    ),
    stopAfterConversion: Type.Optional(
      Type.Boolean({ default: true, description: 'never again once the visitor converted' }),
    ),
    stopAfterClose: Type.Optional(
      Type.Boolean({ default: false, description: 'never again once the visitor closed it' }),
    ),
  },
  { description: 'How often a visitor sees the popup' },
)
export type FrequencyInput = Static<typeof Frequency>

export const Schedule = Input(
  {
    startAt: Type.Optional(Type.String({ format: 'date-time', description: 'not shown before (RFC 3339)' })),
    endAt: Type.Optional(
      Type.String({ format: 'date-time', description: 'not shown after; later than startAt' }),
    ),
    timeZone: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'IANA time zone the dashboard shows the dates in, e.g. "Europe/Berlin"',
    }),
  },
  { description: 'When the campaign runs' },
)
export type ScheduleInput = Static<typeof Schedule>

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const item of Object.values(value)) deepFreeze(item)
    Object.freeze(value)
  }
  return value
}

/** Every page, every device, every visitor, three seconds after the page loads. */
export const DEFAULT_TARGETING: TargetingInput = deepFreeze({
  devices: ['desktop', 'mobile', 'tablet'],
  visitors: 'all',
  trigger: { type: 'delay', seconds: 3 },
})

export const DEFAULT_FREQUENCY: FrequencyInput = deepFreeze({
  show: 'once',
  stopAfterConversion: true,
  stopAfterClose: false,
})

/** What a new campaign starts with when the dashboard sends no variants: valid, and easy to edit. */
export function defaultVariant(): VariantInput {
  return {
    name: 'Variant A',
    weight: 100,
    steps: [
      {
        blocks: [{ type: 'text', text: 'Your headline here', style: 'heading' }],
        buttons: [{ label: 'Close', action: 'close' }],
      },
    ],
  }
}

function exampleVariant(id: string, name: string, headline: string): VariantInput {
  return {
    id,
    name,
    weight: 50,
    steps: [
      {
        blocks: [
          { type: 'text', text: headline, style: 'heading' },
          {
            type: 'text',
            text: 'Join our newsletter and get <b>10% off</b> your first order.',
            style: 'body',
          },
          { type: 'image', url: 'https://cdn.example.com/spring-sale.jpg', alt: 'Spring collection' },
        ],
        buttons: [
          { label: 'Get my code', action: 'submit' },
          { label: 'No thanks', action: 'close' },
        ],
        form: {
          capturesLeads: true,
          fields: [
            { name: 'email', type: 'email', label: 'Email', required: true, placeholder: 'you@example.com' },
            { name: 'firstName', type: 'text', label: 'First name', required: false },
          ],
          consent: {
            text: 'I agree to receive emails. See our <a href="https://shop.example.com/privacy">privacy policy</a>.',
            required: true,
            version: '2025-03',
          },
        },
        design: {
          colors: {
            background: '#ffffff',
            text: '#1a1a1a',
            accent: '#e4572e',
            buttonText: '#ffffff',
            overlay: '#00000080',
          },
          font: { family: 'Inter, Arial, sans-serif', sizePx: 16 },
          position: 'center',
          widthPx: 480,
          borderRadiusPx: 12,
        },
      },
    ],
  }
}

/** A complete campaign body (add a `siteId`): the create route's OpenAPI example. */
export const FULL_CAMPAIGN_EXAMPLE: {
  name: string
  type: CampaignType
  variants: VariantInput[]
  targeting: TargetingInput
  frequency: FrequencyInput
  schedule: ScheduleInput
} = {
  name: 'Spring sale newsletter',
  type: 'modal',
  variants: [
    exampleVariant('a', 'Discount first', 'Spring sale: 10% off'),
    exampleVariant('b', 'Newsletter first', 'Get our best offers first'),
  ],
  targeting: {
    urls: {
      include: [{ match: 'prefix', value: '/products/' }],
      exclude: [{ match: 'contains', value: '/checkout' }],
    },
    devices: ['desktop', 'tablet'],
    countries: { mode: 'allow', codes: ['DE', 'AT', 'CH'] },
    visitors: 'new',
    languages: ['de', 'en'],
    trigger: { type: 'scroll', percent: 50 },
  },
  frequency: { show: 'every-n-days', days: 7, stopAfterConversion: true, stopAfterClose: false },
  schedule: {
    startAt: '2030-03-20T08:00:00+01:00',
    endAt: '2030-04-20T23:59:59+02:00',
    timeZone: 'Europe/Berlin',
  },
}
