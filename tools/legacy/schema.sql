-- The old system's database (the Express backend nudge replaces), as it stood at the snapshot.
-- A fixture: `npm run legacy:generate` fills it; `npm run golive` reads it. Never changed to suit
-- the migration: it is what production had, warts included (serial ids, plain-text keys, no
-- uniqueness on emails or hostnames, nullable foreign keys, an older content format).

CREATE TABLE accounts (
  id serial PRIMARY KEY,
  auth0_user_id text,                 -- 'email|<24 hex>'; NULL for an account whose user was deleted in Auth0
  email text NOT NULL,                -- mixed case; a few accounts differ only in case (one person, two accounts)
  name text,
  plan text NOT NULL DEFAULT 'free',  -- 'free' | 'starter' | 'pro' | 'agency'
  stripe_customer_id text,            -- 'cus_…' or NULL
  stripe_subscription_id text,        -- 'sub_…' or NULL
  subscription_status text,           -- Stripe's status as last seen: 'active' | 'trialing' | 'past_due' | 'canceled' | NULL
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE domains (
  id serial PRIMARY KEY,
  account_id integer NOT NULL REFERENCES accounts (id),
  hostname text NOT NULL,             -- as typed: 'Shop.Example.com', 'example.com.', 'www.example.com' beside 'example.com'
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE campaigns (
  id serial PRIMARY KEY,
  account_id integer NOT NULL REFERENCES accounts (id),
  domain_id integer REFERENCES domains (id),   -- NULL: "all my domains"
  name text NOT NULL,
  type text NOT NULL,                 -- 'popup' | 'slidein' | 'bar' | 'fullscreen'
  status text NOT NULL,               -- 'draft' | 'active' | 'paused' | 'archived'
  -- The old content format, flat: { title, text (HTML, anything the old editor allowed),
  -- button_text, button_url?, collect_email, collect_name?, success_text?, image_url?,
  -- delay_seconds?, scroll_percent?, exit_intent?, show_on_urls? (array of glob patterns such as
  -- '/blog/*'), hide_on_urls?, frequency? ('always' | 'once' | 'daily' | 'session'),
  -- background_color?, text_color?, button_color?, position? ('center' | 'bottom-right' |
  -- 'bottom-left' | 'top' | 'bottom') }. Fields absent in old rows take the old editor's defaults.
  content jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaigns_updated_idx ON campaigns (updated_at);

CREATE TABLE leads (
  id serial PRIMARY KEY,
  campaign_id integer,                -- no foreign key: a lead may outlive (or predate) its campaign row
  email text NOT NULL,
  extra jsonb NOT NULL DEFAULT '{}',  -- other form fields: { name?, phone?, ... }
  country text,                       -- ISO 3166-1 alpha-2 or NULL
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX leads_created_idx ON leads (created_at);

CREATE TABLE campaign_stats (
  campaign_id integer NOT NULL,
  date date NOT NULL,
  impressions integer NOT NULL DEFAULT 0,
  closes integer NOT NULL DEFAULT 0,
  conversions integer NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (campaign_id, date)
);
CREATE INDEX campaign_stats_updated_idx ON campaign_stats (updated_at);

CREATE TABLE integrations (
  id serial PRIMARY KEY,
  account_id integer NOT NULL REFERENCES accounts (id),
  kind text NOT NULL,                 -- 'mailerlite' | 'webhook'
  config jsonb NOT NULL,              -- mailerlite: { api_key, group_id }; webhook: { url }  (plain text)
  campaign_ids integer[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
