/**
 * The request pipeline every function shares: request id, CORS, security headers, method
 * check, JSON errors with a stable code, and one structured log line per request.
 */
import { AppError } from './errors.ts'
import { type Config, config } from './config.ts'
import { createDb, type Db, requestContext } from './db.ts'
import { createVerifier, type VerifyToken } from './jwt.ts'
import { type Logger, logger } from './log.ts'

export interface Deps {
  config: Config
  db: Db
  verify: VerifyToken
}

export interface Context extends Deps {
  requestId: string
  log: Logger
}

export type Handler = (req: Request, ctx: Context) => Promise<Response>

let shared: Deps | undefined

/** Builds the process-wide dependencies once; a bad configuration throws here, at start. */
export function deps(): Deps {
  if (!shared) {
    const c = config()
    shared = {
      config: c,
      db: createDb(c.SUPABASE_DB_URL, c.DB_POOL_SIZE),
      verify: createVerifier({
        hs256Secret: c.SUPABASE_JWT_SECRET,
        jwks: c.SUPABASE_JWKS,
        jwksUrl: c.SUPABASE_JWKS_URL,
        audience: c.JWT_AUDIENCE,
      }),
    }
  }
  return shared
}

const SECURITY_HEADERS: Record<string, string> = {
  'strict-transport-security': 'max-age=63072000; includeSubDomains; preload',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
}

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/

function corsHeaders(req: Request, allowed: string[], methods: string[]): Record<string, string> {
  const origin = req.headers.get('origin')
  const allowOrigin = allowed.includes('*') ? '*' : origin && allowed.includes(origin) ? origin : ''
  const headers: Record<string, string> = {
    'access-control-allow-methods': [...methods, 'OPTIONS'].join(', '),
    'access-control-allow-headers': 'authorization, x-client-info, apikey, content-type, ' +
      'x-request-id',
    'access-control-max-age': '600',
    vary: 'Origin',
  }
  if (allowOrigin) headers['access-control-allow-origin'] = allowOrigin
  return headers
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  })
}

export function errorBody(code: string, message: string, requestId: string) {
  return { error: { code, message, request_id: requestId } }
}

/** Reads a JSON object body; anything else is a 400 with code bad_request. */
export async function readJsonObject(req: Request, maxBytes = 64 * 1024): Promise<object> {
  const type = req.headers.get('content-type') ?? ''
  if (!/^application\/json\b/i.test(type)) {
    throw new AppError('unsupported_media_type', 'Send the body as application/json')
  }
  const tooLarge = () =>
    new AppError('payload_too_large', `The body must be at most ${maxBytes} bytes`)
  if (Number(req.headers.get('content-length') ?? 0) > maxBytes) throw tooLarge()
  // Read at most maxBytes, whatever the headers claimed, so a huge body is never buffered.
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = req.body?.getReader()
  while (reader) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel()
      throw tooLarge()
    }
    chunks.push(value)
  }
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  const text = new TextDecoder().decode(bytes)
  let parsed: unknown
  try {
    parsed = text.trim() === '' ? {} : JSON.parse(text)
  } catch {
    throw new AppError('bad_request', 'The body is not valid JSON')
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new AppError('bad_request', 'The body must be a JSON object')
  }
  return parsed
}

/** Wraps a handler with the shared pipeline. `methods` lists the accepted HTTP methods. */
export function serveFunction(
  name: string,
  handler: Handler,
  options: { methods: string[] } = { methods: ['POST'] },
): (req: Request) => Promise<Response> {
  return async (req) => {
    const started = performance.now()
    const incoming = req.headers.get('x-request-id')
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID()
    const log = logger(requestId)
    let d: Deps | undefined
    let response: Response
    let errorCode: string | undefined
    try {
      d = deps()
      if (req.method === 'OPTIONS') {
        response = new Response(null, { status: 204 })
      } else if (!options.methods.includes(req.method)) {
        throw new AppError('method_not_allowed', `Use ${options.methods.join(' or ')}`)
      } else {
        // Every database call of the request carries its context (for the audit trail).
        const db = d.db.forRequest(requestContext(req, requestId))
        response = await handler(req, { ...d, db, requestId, log })
      }
    } catch (error) {
      const known = error instanceof AppError
      const appError = known ? error : new AppError('internal', 'Something went wrong')
      errorCode = appError.code
      const cause = known ? error.cause : error
      if (!known || appError.status >= 500) {
        log.error('request_failed', {
          function_name: name,
          code: appError.code,
          cause_type: cause instanceof Error ? cause.name : typeof cause,
          cause_message: cause instanceof Error ? cause.message.slice(0, 300) : undefined,
        })
      } else if (cause) {
        log.warn('request_refused', {
          function_name: name,
          code: appError.code,
          cause_message: cause instanceof Error ? cause.message.slice(0, 300) : undefined,
        })
      }
      response = json(errorBody(appError.code, appError.message, requestId), appError.status,
        appError.headers)
    }
    const headers = new Headers(response.headers)
    const cors = corsHeaders(req, d?.config.ALLOWED_ORIGINS ?? [], options.methods)
    for (const [k, v] of Object.entries({ ...SECURITY_HEADERS, ...cors })) headers.set(k, v)
    headers.set('x-request-id', requestId)
    log.info('request', {
      function_name: name,
      method: req.method,
      status: response.status,
      code: errorCode,
      duration_ms: Math.round(performance.now() - started),
    })
    return new Response(response.body, { status: response.status, headers })
  }
}
