/** What a lead looks like to the integrations, fixed when its delivery is created. */
export interface LeadForDelivery {
  id: string
  email: string
  fields: Record<string, unknown>
  consent: boolean
  consent_version: string | null
  country: string | null
  page_url: string | null
  campaign_id: string | null
  campaign_name: string | null
  variant_id: string
  created_at: Date
  updated_at: Date
}

export interface MailerliteSettings {
  groupId?: string
  fieldMap?: Record<string, string>
}

/** The Standard Webhooks body: `type`, `timestamp`, `data`. */
export function webhookPayload(
  event: 'lead.created' | 'lead.updated' | 'test',
  lead: LeadForDelivery,
  at: Date,
) {
  return JSON.stringify({
    type: event,
    timestamp: at.toISOString(),
    data: {
      id: lead.id,
      email: lead.email,
      fields: lead.fields,
      consent: lead.consent,
      consentVersion: lead.consent_version,
      country: lead.country,
      pageUrl: lead.page_url,
      campaign: { id: lead.campaign_id, name: lead.campaign_name },
      variantId: lead.variant_id,
      createdAt: lead.created_at.toISOString(),
      updatedAt: lead.updated_at.toISOString(),
    },
  })
}

/**
 * The Standard Webhooks body telling a receiver that a person it was sent was erased: the lead's
 * id (what `lead.created` gave it) and the address, so a receiver keyed by either can erase them.
 * Kept only until the delivery is done.
 */
export function erasedWebhookPayload(
  lead: { lead_id: string; email: string; campaign_id: string | null },
  at: Date,
) {
  return JSON.stringify({
    type: 'lead.erased',
    timestamp: at.toISOString(),
    data: { id: lead.lead_id, email: lead.email, campaign: { id: lead.campaign_id } },
  })
}

/** Which subscriber an erasure deletes at Mailerlite (by address: its ids are Mailerlite's). */
export function mailerliteErasurePayload(email: string) {
  return JSON.stringify({ email })
}

/** The body of Mailerlite's subscriber upsert: email, the mapped fields, the chosen group. */
export function mailerlitePayload(lead: LeadForDelivery, settings: MailerliteSettings) {
  const fields: Record<string, string | number | null> = {}
  for (const [formField, mailerliteField] of Object.entries(settings.fieldMap ?? {})) {
    const value = lead.fields[formField]
    if (value === undefined || value === null) continue
    fields[mailerliteField] = typeof value === 'number' ? value : String(value)
  }
  return JSON.stringify({
    email: lead.email,
    ...(Object.keys(fields).length > 0 ? { fields } : {}),
    ...(settings.groupId ? { groups: [settings.groupId] } : {}),
  })
}

/** A lead a test delivery sends: obviously sample data. */
export function sampleLead(now: Date): LeadForDelivery {
  return {
    id: '00000000-0000-7000-8000-000000000000',
    email: 'sample.lead@example.com',
    fields: { firstName: 'Sample' },
    consent: true,
    consent_version: 'sample',
    country: 'DE',
    page_url: 'https://shop.example.com/',
    campaign_id: null,
    campaign_name: 'Sample campaign',
    variant_id: 'a',
    created_at: now,
    updated_at: now,
  }
}
