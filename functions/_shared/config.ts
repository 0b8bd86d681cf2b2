/**
 * Function configuration, read from the environment and validated once. A missing or
 * malformed setting stops the function at start-up with a message naming the variable,
 * instead of failing on the first request.
 */
import { z } from 'zod'

const jwksDocument = z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) })

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
