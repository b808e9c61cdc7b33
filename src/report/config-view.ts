/**
 * Pure: the run configuration as (setting, value) text rows for the report — never a secret. run.json is
 * already redacted by the run command; this is a second guard because a report is made to be shared:
 * key-like settings are dropped whatever their value, and URLs lose their user:password and secret-looking
 * query parameters.
 */

/** Setting names that may hold a credential (api_key, apiKey, authorization, secret, password, access_token…). */
const SECRET_NAME = /(api[_-]?key|secret|passw(or)?d|authori[sz]ation|bearer|access[_-]?token|auth[_-]?token|cookie)/i

/** Strips credentials from a URL-looking string; other strings are returned unchanged. */
export function scrubUrl(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return value
  }
  if (url.username || url.password) {
    url.username = ''
    url.password = ''
  }
  for (const name of [...url.searchParams.keys()]) {
    if (SECRET_NAME.test(name) || /^(key|token|sig|signature)$/i.test(name)) url.searchParams.set(name, 'REDACTED')
  }
  return url.toString()
}

function scrub(value: unknown): unknown {
  if (typeof value === 'string') return scrubUrl(value)
  if (Array.isArray(value)) return value.map(scrub)
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([k]) => !SECRET_NAME.test(k)).map(([k, v]) => [k, scrub(v)]))
  }
  return value
}

function show(value: unknown): string {
  if (value === null || value === undefined) return '-'
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object')) return value.join(', ')
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/** The configuration's settings in file order, secrets removed, values as display text. */
export function configRows(configuration: Record<string, unknown>): {key: string; value: string}[] {
  const clean = scrub(configuration) as Record<string, unknown>
  return Object.entries(clean).map(([key, value]) => ({key, value: show(value)}))
}
