/**
 * Local stand-in for Supabase's edge runtime and its gateway: serves every function listed in
 * supabase/config.toml at /functions/v1/<name> on 127.0.0.1. Like the gateway, it refuses a
 * request without a valid project JWT when the function has `verify_jwt = true`. It also
 * stands in for the Storage and Auth admin endpoints the functions call (./platform-apis.ts).
 * Runs in Deno.
 */
import { config } from '../../functions/_shared/config.ts'
import { createVerifier } from '../../functions/_shared/jwt.ts'
import { logger } from '../../functions/_shared/log.ts'
import { platformApis } from './platform-apis.ts'

interface FunctionEntry {
  name: string
  entrypoint: string
  verifyJwt: boolean
}

const entries = JSON.parse(Deno.env.get('LEAPS_FUNCTIONS') ?? '[]') as FunctionEntry[]
const port = Number(Deno.env.get('LEAPS_API_PORT') ?? '54321')

// Fails here, before listening, when the configuration is incomplete.
const settings = config()
const verify = createVerifier({
  hs256Secret: settings.SUPABASE_JWT_SECRET,
  jwks: settings.SUPABASE_JWKS,
  jwksUrl: settings.SUPABASE_JWKS_URL,
  audience: settings.JWT_AUDIENCE,
})

// Storage and Auth admin endpoints the functions call, as the platform would serve them.
const storageDir = Deno.env.get('LEAPS_STORAGE_DIR')
if (!storageDir || !settings.SUPABASE_JWT_SECRET) {
  throw new Error('the local gateway needs LEAPS_STORAGE_DIR and SUPABASE_JWT_SECRET')
}
const platform = platformApis({
  dbUrl: settings.SUPABASE_DB_URL,
  anonKey: settings.SUPABASE_ANON_KEY,
  serviceKey: settings.SUPABASE_SERVICE_ROLE_KEY,
  jwtSecret: settings.SUPABASE_JWT_SECRET,
  storageDir,
  verify,
})

type Handler = (req: Request) => Promise<Response>
const handlers = new Map<string, { handler: Handler; verifyJwt: boolean }>()
for (const entry of entries) {
  const module = await import(new URL(entry.entrypoint, `file://${Deno.cwd()}/`).href)
  if (typeof module.handler !== 'function') {
    throw new Error(`${entry.entrypoint} must export a "handler" function`)
  }
  handlers.set(entry.name, { handler: module.handler, verifyJwt: entry.verifyJwt })
}

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/

/** A refusal by the gateway itself: JSON error, request id header, one structured log line. */
function gatewayError(req: Request, status: number, code: string, message: string): Response {
  const incoming = req.headers.get('x-request-id')
  const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID()
  logger(requestId).warn('gateway_refused', {
    path: new URL(req.url).pathname.slice(0, 100),
    method: req.method,
    status,
    code,
  })
  return new Response(JSON.stringify({ error: { code, message, request_id: requestId } }), {
    status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'x-content-type-options': 'nosniff',
      'x-request-id': requestId,
    },
  })
}

// The local scheduler: what pg_cron does through pg_net in production, calling incident-notify
// with the service-role key every LEAPS_NOTIFY_EVERY_SECONDS (the dev stack sets 30).
const notifyEvery = Number(Deno.env.get('LEAPS_NOTIFY_EVERY_SECONDS') ?? '0')
if (notifyEvery > 0 && handlers.has('incident-notify')) {
  const tick = async () => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/functions/v1/incident-notify`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${settings.SUPABASE_SERVICE_ROLE_KEY}`,
          'content-type': 'application/json',
          'x-request-id': `scheduler-${crypto.randomUUID()}`,
        },
        body: '{}',
      })
      await res.body?.cancel()
      if (!res.ok) logger('scheduler').warn('scheduled_call_failed', { status: res.status })
    } catch (error) {
      logger('scheduler').warn('scheduled_call_failed', { reason: (error as Error).name })
    }
  }
  setInterval(tick, notifyEvery * 1000)
}

Deno.serve({
  hostname: '127.0.0.1',
  port,
  onListen: () => console.error(JSON.stringify({
    ts: new Date().toISOString(), level: 'info', event: 'functions_listening', port,
    functions: [...handlers.keys()],
  })),
}, async (req) => {
  const url = new URL(req.url)
  if (url.pathname === '/health') return new Response('ok')
  const platformAnswer = await platform(req, url)
  if (platformAnswer) return platformAnswer
  const match = /^\/functions\/v1\/([a-z0-9-]+)(\/.*)?$/.exec(url.pathname)
  const target = match?.[1] ? handlers.get(match[1]) : undefined
  if (!target) return gatewayError(req, 404, 'not_found', 'No such function')
  if (target.verifyJwt && req.method !== 'OPTIONS') {
    const header = req.headers.get('authorization') ?? ''
    const token = header.startsWith('Bearer ') ? header.slice(7) : ''
    try {
      await verify(token)
    } catch {
      return gatewayError(req, 401, 'unauthorized', 'Invalid or missing JWT')
    }
  }
  return target.handler(req)
})
