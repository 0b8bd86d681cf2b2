/**
 * Function configuration, read from the environment and validated once. A missing or
 * malformed setting stops the function at start-up with a message naming the variable,
 * instead of failing on the first request.
 */
import { z } from 'zod'

const jwksDocument = z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) })

/**
 * Where a notification goes: https, or plain http only to this machine (the local stack and
 * tests), so a message and its signature never cross a network in clear text.
 */
const endpoint = z.url().refine((raw) => {
  const url = new URL(raw)
  if (url.protocol === 'https:') return true
  return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)
}, 'must be an https URL (http only for 127.0.0.1 or localhost)')

const ConfigSchema = z
  .object({
    SUPABASE_URL: z.url(),
    SUPABASE_ANON_KEY: z.string().min(20),
    SUPABASE_SERVICE_ROLE_KEY: z.string().min(20),
    SUPABASE_DB_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
    /** HS256 secret of the project (legacy JWT secret). */
    SUPABASE_JWT_SECRET: z.string().min(32).optional(),
    /** A JWKS document, as JSON, holding the project's asymmetric signing keys. */
    SUPABASE_JWKS: z
      .string()
      .transform((raw, ctx) => {
        try {
          return jwksDocument.parse(JSON.parse(raw))
        } catch {
          ctx.addIssue({ code: 'custom', message: 'must be a JSON Web Key Set' })
          return z.NEVER
        }
      })
      .optional(),
    /** Where to fetch the JWKS from, e.g. <SUPABASE_URL>/auth/v1/.well-known/jwks.json. */
    SUPABASE_JWKS_URL: z.url().optional(),
    JWT_AUDIENCE: z.string().min(1).default('authenticated'),
    /** Comma-separated origins allowed by CORS; `*` allows any. */
    ALLOWED_ORIGINS: z
      .string()
      .default('*')
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean)),
    DB_POOL_SIZE: z.coerce.number().int().min(1).max(50).default(5),
    /**
     * Virus scanner of uploads: `clamd`, or `disabled` to accept files unscanned. No default:
     * a deployment that forgot its scanner fails here instead of skipping scans quietly.
     */
    LEAPS_SCANNER: z.enum(['clamd', 'disabled'], {
      error: 'must be "clamd" or "disabled"; there is no default',
    }),
    /** clamd's Unix socket, or else its TCP host and port. */
    LEAPS_CLAMD_SOCKET: z.string().startsWith('/', 'must be an absolute path').optional(),
    LEAPS_CLAMD_HOST: z.string().min(1).optional(),
    LEAPS_CLAMD_PORT: z.coerce.number().int().min(1).max(65535).optional(),
    /** Longest wait on clamd (connecting, accepting data, answering) before a scan fails. */
    LEAPS_CLAMD_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(10_000),
    /** Largest evidence file accepted, in bytes (the evidence bucket allows 10 MB). */
    EVIDENCE_MAX_BYTES: z.coerce.number().int().min(1024).max(50 * 1024 * 1024)
      .default(10 * 1024 * 1024),
    /** Most pixels an image may declare before anything decodes it (decompression bombs). */
    EVIDENCE_MAX_PIXELS: z.coerce.number().int().min(1_000_000).max(200_000_000)
      .default(40_000_000),
    /** Default life of a signed evidence link, in seconds; a request may ask for up to an hour. */
    EVIDENCE_URL_SECONDS: z.coerce.number().int().min(10).max(3600).default(300),
    // Notification channels (functions/_shared/channels.ts). Each is optional: a channel
    // without its settings finishes its messages as skipped instead of failing them.
    /** Slack incoming webhook; the URL itself is the credential. */
    SLACK_WEBHOOK_URL: endpoint.optional(),
    /** Integration key of a PagerDuty service (Events API v2); only CRITICAL messages go. */
    PAGERDUTY_ROUTING_KEY: z.string().min(1).max(200).optional(),
    PAGERDUTY_EVENTS_URL: endpoint.default('https://events.pagerduty.com/v2/enqueue'),
    /** An HTTP e-mail API taking {from, to, subject, text, idempotency_key} with a bearer key. */
    EMAIL_API_URL: endpoint.optional(),
    EMAIL_API_KEY: z.string().min(1).optional(),
    EMAIL_FROM: z.email().optional(),
    /** The security team's address, for alerts; members' addresses are looked up per message. */
    EMAIL_TO_SECURITY: z.email().optional(),
    /** A receiver of signed JSON posts; the secret keys the HMAC-SHA256 signature. */
    WEBHOOK_URL: endpoint.optional(),
    WEBHOOK_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  })
  .refine((c) => c.SUPABASE_JWT_SECRET || c.SUPABASE_JWKS || c.SUPABASE_JWKS_URL, {
    message: 'set SUPABASE_JWT_SECRET, SUPABASE_JWKS or SUPABASE_JWKS_URL',
  })
  .refine((c) => {
    if (c.LEAPS_SCANNER !== 'clamd') return true
    const host = c.LEAPS_CLAMD_HOST !== undefined
    const port = c.LEAPS_CLAMD_PORT !== undefined
    return c.LEAPS_CLAMD_SOCKET !== undefined ? !host && !port : host && port
  }, {
    path: ['LEAPS_SCANNER'],
    message: 'clamd needs LEAPS_CLAMD_SOCKET, or else LEAPS_CLAMD_HOST and LEAPS_CLAMD_PORT',
  })
  // Half a channel is a mistake, not a choice: it fails here rather than skipping quietly.
  .refine((c) => allOrNone(c.EMAIL_API_URL, c.EMAIL_API_KEY, c.EMAIL_FROM) &&
    (c.EMAIL_TO_SECURITY === undefined || c.EMAIL_API_URL !== undefined), {
    path: ['EMAIL_API_URL'],
    message: 'e-mail needs EMAIL_API_URL, EMAIL_API_KEY and EMAIL_FROM together '
      + '(EMAIL_TO_SECURITY only with them)',
  })
  .refine((c) => allOrNone(c.WEBHOOK_URL, c.WEBHOOK_SECRET), {
    path: ['WEBHOOK_URL'],
    message: 'the webhook needs WEBHOOK_URL and WEBHOOK_SECRET together',
  })

function allOrNone(...values: unknown[]): boolean {
  const set = values.filter((v) => v !== undefined).length
  return set === 0 || set === values.length
}

export type Config = z.infer<typeof ConfigSchema>

export class ConfigError extends Error {}

export function parseConfig(env: Record<string, string | undefined>): Config {
  const result = ConfigSchema.safeParse(env)
  if (!result.success) {
    const problems = result.error.issues
      .map((i) => `${i.path.join('.') || 'config'}: ${i.message}`)
      .join('; ')
    throw new ConfigError(`invalid function configuration: ${problems}`)
  }
  return result.data
}

let cached: Config | undefined

/** The configuration of this process, read from Deno.env on first use. */
export function config(): Config {
  cached ??= parseConfig(Deno.env.toObject())
  return cached
}
