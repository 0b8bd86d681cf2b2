/**
 * Local stand-ins for the Supabase platform APIs the functions call, served by the functions
 * gateway next to the functions themselves. They speak the same REST shapes as the hosted
 * services, so functions/_shared/platform.ts works against either.
 *
 * Storage (bytes in a folder of the stack profile, one file per object named by the object's
 * id; the rows in storage.objects, so the project's storage policies decide who may do what):
 *
 *   POST   /storage/v1/object/<bucket>/<path>       upload (PUT or `x-upsert: true` replaces)
 *   GET    /storage/v1/object/<bucket>/<path>       download (also /object/authenticated/…)
 *   DELETE /storage/v1/object/<bucket>/<path>       remove
 *   POST   /storage/v1/object/list/<bucket>         {"prefix", "limit", "offset"}: a folder's
 *                                                   entries the caller may see
 *   POST   /storage/v1/object/sign/<bucket>/<path>  {"expiresIn": seconds} → {"signedURL"}
 *   GET    /storage/v1/object/sign/<bucket>/<path>?token=…   download through a signed link
 *
 * Storage calls carry either the service-role key (bypasses RLS, as on the platform) or a
 * member's JWT (the call runs as `authenticated` with the token's claims, so RLS applies).
 * A signed link is a JWT (HS256, the project secret) naming `<bucket>/<path>` with an expiry;
 * it stops working when it expires or when the object is removed.
 *
 * Auth, sign-in (the `apikey` header holds the anon or service-role key):
 *
 *   POST   /auth/v1/token?grant_type=password       {"email", "password"} → {"access_token", …}
 *                                                   as Supabase Auth does it: the password is
 *                                                   checked against auth.users, then the password
 *                                                   verification attempt hook
 *                                                   (private.hook_password_verification_attempt)
 *                                                   is called as supabase_auth_admin with
 *                                                   {"user_id", "valid"}, plus "ip_address" from
 *                                                   X-Forwarded-For (a local addition), and its
 *                                                   "reject" refuses the sign-in
 *
 *   POST   /auth/v1/factors/<id>/verify             {"code"} with the user's token: a TOTP
 *                                                   code, checked, then the MFA verification
 *                                                   attempt hook; a new aal2 session
 *
 * Auth admin (service-role key only):
 *
 *   DELETE /auth/v1/admin/users/<id>                deletes an Auth user
 *   PUT    /auth/v1/admin/users/<id>                updates one: "ban_duration" ("876000h" or
 *                                                   "none"), "email", "phone", "user_metadata"
 *
 * Deleting what is already gone answers 404, which callers treat as done. An object whose
 * metadata holds "simulate_failure": true cannot be deleted (503), to try retries against.
 */
import { SignJWT, jwtVerify } from 'jose'
import postgres from 'postgres'
import { createDb, type Tx } from '../../functions/_shared/db.ts'
import { issueUserToken } from '../lib/tokens.ts'
import { totpValid } from '../lib/totp.ts'
import type { VerifiedClaims, VerifyToken } from '../../functions/_shared/jwt.ts'

type Json = Record<string, unknown>

function reply(status: number, body: Json): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  })
}

export interface PlatformApiOptions {
  dbUrl: string
  anonKey: string
  serviceKey: string
  jwtSecret: string
  /** Folder holding the objects' bytes (created when missing). */
  storageDir: string
  verify: VerifyToken
}

/** Longest signed link the stand-in issues, as the hosted service allows about a week. */
const MAX_SIGNED_SECONDS = 7 * 24 * 3600

export function platformApis(options: PlatformApiOptions) {
  const db = createDb(options.dbUrl, 3)
  const secret = new TextEncoder().encode(options.jwtSecret)
  const objectsDir = `${options.storageDir}/objects`
  const incomingDir = `${options.storageDir}/incoming`
  Deno.mkdirSync(objectsDir, { recursive: true, mode: 0o700 })
  Deno.mkdirSync(incomingDir, { recursive: true, mode: 0o700 })

  /** Who is calling: the service role, a member (verified token), or nobody (undefined). */
  async function caller(req: Request): Promise<'service' | VerifiedClaims | undefined> {
    const header = req.headers.get('authorization') ?? ''
    const token = header.startsWith('Bearer ') ? header.slice(7) : ''
    if (token === options.serviceKey) return 'service'
    if (!token) return undefined
    try {
      const claims = await options.verify(token)
      return claims.role === 'authenticated' ? claims : undefined
    } catch {
      return undefined
    }
  }

  function as<T>(who: 'service' | VerifiedClaims, work: (tx: Tx) => Promise<T>): Promise<T> {
    return who === 'service' ? db.asService(work) : db.asCaller(who, work)
  }

  const fileOf = (id: string) => `${objectsDir}/${id}`

  async function serveFile(id: string, mime: unknown): Promise<Response> {
    let file: Deno.FsFile
    try {
      file = await Deno.open(fileOf(id), { read: true })
    } catch {
      return reply(404, { error: 'not_found', message: 'Object not found' })
    }
    const { size } = await file.stat()
    return new Response(file.readable, {
      status: 200,
      headers: {
        'content-type': typeof mime === 'string' ? mime : 'application/octet-stream',
        'content-length': String(size),
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
      },
    })
  }

  async function upload(req: Request, who: 'service' | VerifiedClaims, bucket: string,
    name: string): Promise<Response> {
    const replace = req.method === 'PUT' || req.headers.get('x-upsert') === 'true'
    const mime = req.headers.get('content-type') ?? 'application/octet-stream'
    // The bucket and its size limit first, looked up by the service itself, so nothing is
    // written to disk for a bucket that does not exist or beyond what the bucket allows.
    const [found] = await db.asService((tx) => tx`select file_size_limit
      from storage.buckets where id = ${bucket}`)
    if (!found) {
      await req.body?.cancel()
      return reply(404, { error: 'bucket_not_found', message: 'Bucket not found' })
    }
    const limit = found.file_size_limit === null ? Infinity : Number(found.file_size_limit)
    const tooLarge = () =>
      reply(413, { error: 'payload_too_large', message: 'Object exceeds the bucket limit' })
    if (Number(req.headers.get('content-length') ?? 0) > limit) {
      await req.body?.cancel()
      return tooLarge()
    }

    const incoming = `${incomingDir}/${crypto.randomUUID()}`
    let size = 0
    let placed = false
    try {
      const file = await Deno.open(incoming, { write: true, createNew: true, mode: 0o600 })
      try {
        // Written a megabyte at a time: fewer, larger writes than one per network chunk.
        const block = new Uint8Array(1024 * 1024)
        let filled = 0
        const flush = async () => {
          let written = 0
          while (written < filled) written += await file.write(block.subarray(written, filled))
          filled = 0
        }
        if (req.body) {
          for await (const chunk of req.body) {
            size += chunk.byteLength
            if (size > limit) return tooLarge()
            let offset = 0
            while (offset < chunk.byteLength) {
              const take = Math.min(block.length - filled, chunk.byteLength - offset)
              block.set(chunk.subarray(offset, offset + take), filled)
              filled += take
              offset += take
              if (filled === block.length) await flush()
            }
          }
        }
        await flush()
      } finally {
        file.close()
      }
      const owner = who === 'service' ? null : who.sub ?? null
      const metadata = { size, mimetype: mime, contentLength: size }
      // The object row is written as the caller, so the storage policies decide.
      const id = await as(who, async (tx) => {
        const rows = replace
          ? await tx`insert into storage.objects (bucket_id, name, owner, owner_id, metadata)
              values (${bucket}, ${name}, ${owner}, ${owner}, ${tx.json(metadata)})
              on conflict (bucket_id, name) do update
              set metadata = excluded.metadata, updated_at = pg_catalog.now()
              returning id`
          : await tx`insert into storage.objects (bucket_id, name, owner, owner_id, metadata)
              values (${bucket}, ${name}, ${owner}, ${owner}, ${tx.json(metadata)})
              on conflict (bucket_id, name) do nothing
              returning id`
        if (rows.length === 0) return undefined
        // Moved into place before the row commits: a failure here rolls the row back.
        await Deno.rename(incoming, fileOf(rows[0]!.id as string))
        placed = true
        return rows[0]!.id as string
      })
      if (!id) return reply(409, { error: 'duplicate', message: 'The object exists already' })
      return reply(200, { Id: id, Key: `${bucket}/${name}` })
    } catch (error) {
      // Refused by a storage policy: the same answer the hosted service gives.
      if ((error as { code?: string }).code === '42501') {
        return reply(403, { error: 'unauthorized',
          message: 'new row violates row-level security policy' })
      }
      throw error
    } finally {
      // Whatever did not become an object (refused, too large, the client went away) goes.
      if (!placed) await Deno.remove(incoming).catch(() => {})
    }
  }

  async function signedDownload(url: URL, bucket: string, name: string): Promise<Response> {
    const token = url.searchParams.get('token') ?? ''
    try {
      const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'] })
      if (payload.url !== `${bucket}/${name}`) throw new Error('other object')
    } catch {
      return reply(400, { error: 'invalid_signature', message: 'The link is invalid or expired' })
    }
    const [row] = await db.asService((tx) => tx`select id, metadata ->> 'mimetype' as mime
      from storage.objects where bucket_id = ${bucket} and name = ${name}`)
    return row
      ? serveFile(row.id as string, row.mime)
      : reply(404, { error: 'not_found', message: 'Object not found' })
  }

  async function storage(req: Request, url: URL, route: RegExpExecArray): Promise<Response> {
    const [kind, bucket] = [route[1] ?? '', route[2]!]
    let name: string
    try {
      name = route[3]!.split('/').map(decodeURIComponent).join('/')
    } catch {
      return reply(400, { error: 'bad_request', message: 'malformed object path' })
    }
    if (kind === 'sign/' && req.method === 'GET') return signedDownload(url, bucket, name)
    const who = await caller(req)
    if (!who) return reply(401, { error: 'unauthorized', message: 'a valid JWT is required' })

    if (kind === 'sign/' && req.method === 'POST') {
      const body = await req.json().catch(() => ({})) as Json
      const seconds = body.expiresIn
      if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 1
        || seconds > MAX_SIGNED_SECONDS) {
        return reply(400, { error: 'bad_request', message: 'expiresIn: whole seconds, 1 or more' })
      }
      const [row] = await as(who, (tx) => tx`select id from storage.objects
        where bucket_id = ${bucket} and name = ${name}`)
      if (!row) return reply(404, { error: 'not_found', message: 'Object not found' })
      const token = await new SignJWT({ url: `${bucket}/${name}` })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + seconds)
        .sign(secret)
      const path = name.split('/').map(encodeURIComponent).join('/')
      return reply(200, { signedURL: `/object/sign/${bucket}/${path}?token=${token}` })
    }
    if (kind === 'sign/') {
      return reply(405, { error: 'method_not_allowed', message: 'GET or POST' })
    }
    if (req.method === 'POST' || req.method === 'PUT') return upload(req, who, bucket, name)
    if (req.method === 'GET') {
      const [row] = await as(who, (tx) => tx`select id, metadata ->> 'mimetype' as mime
        from storage.objects where bucket_id = ${bucket} and name = ${name}`)
      return row
        ? serveFile(row.id as string, row.mime)
        : reply(404, { error: 'not_found', message: 'Object not found' })
    }
    if (req.method === 'DELETE') {
      // An object whose metadata says so fails like an unavailable Storage service would,
      // so that the callers' retries can be exercised.
      const outcome = await as(who, async (tx) => {
        const [faulty] = await tx`select 1 from storage.objects where bucket_id = ${bucket}
          and name = ${name} and metadata ->> 'simulate_failure' = 'true'`
        if (faulty) return 'faulty' as const
        const gone = await tx`delete from storage.objects
                              where bucket_id = ${bucket} and name = ${name} returning id`
        for (const row of gone) await Deno.remove(fileOf(row.id as string)).catch(() => {})
        return gone.length > 0 ? 'removed' as const : 'missing' as const
      })
      return outcome === 'faulty'
        ? reply(503, { error: 'unavailable', message: 'simulated failure' })
        : outcome === 'removed'
        ? reply(200, { message: 'Successfully deleted' })
        : reply(404, { error: 'not_found', message: 'Object not found' })
    }
    return reply(405, { error: 'method_not_allowed', message: 'not supported here' })
  }

  async function authAdmin(req: Request, id: string): Promise<Response> {
    if (req.headers.get('authorization') !== `Bearer ${options.serviceKey}`) {
      return reply(401, { error: 'unauthorized', message: 'the service-role key is required' })
    }
    if (req.method === 'DELETE') {
      const gone = await db.asService((tx) => tx`delete from auth.users where id = ${id}
                                                 returning id`)
      return gone.length > 0
        ? reply(200, { id })
        : reply(404, { error: 'user_not_found', message: 'no such user' })
    }
    if (req.method === 'PUT') {
      const body = await req.json().catch(() => ({})) as Json
      const ban = body.ban_duration
      if (ban !== undefined && ban !== 'none' && ban !== '876000h') {
        return reply(400, { error: 'bad_request', message: 'ban_duration: "876000h" or "none"' })
      }
      if ((body.email !== undefined && typeof body.email !== 'string')
        || (body.phone !== undefined && typeof body.phone !== 'string')
        || (body.user_metadata !== undefined && (typeof body.user_metadata !== 'object'
          || body.user_metadata === null || Array.isArray(body.user_metadata)))) {
        return reply(400, { error: 'bad_request', message: 'email and phone are strings, '
          + 'user_metadata an object' })
      }
      const email = (body.email as string | undefined) ?? null
      const phone = (body.phone as string | undefined) ?? null
      const metadata = body.user_metadata === undefined ? null : JSON.stringify(body.user_metadata)
      // Only the fields given change, as with the hosted API; an empty phone clears it.
      const changed = await db.asService((tx) => tx`
        update auth.users
        set banned_until = case ${ban ?? 'keep'}::text when 'keep' then banned_until
                                when 'none' then null else 'infinity'::timestamptz end,
            email = coalesce(${email}::text, email),
            phone = case when ${phone}::text is null then phone
                         else nullif(${phone}::text, '') end,
            raw_user_meta_data = coalesce(${metadata}::text::jsonb, raw_user_meta_data)
        where id = ${id}
        returning id`)
      return changed.length > 0
        ? reply(200, { id })
        : reply(404, { error: 'user_not_found', message: 'no such user' })
    }
    return reply(405, { error: 'method_not_allowed', message: 'not supported here' })
  }

  const raw = postgres(options.dbUrl, { max: 2, onnotice: () => {} })
  const refusedSignIn = (description: string) =>
    reply(400, { error: 'invalid_grant', error_description: description })

  async function signIn(req: Request, url: URL): Promise<Response> {
    const apikey = req.headers.get('apikey')
    if (apikey !== options.anonKey && apikey !== options.serviceKey) {
      return reply(401, { error: 'unauthorized', message: 'an API key is required' })
    }
    if (req.method !== 'POST' || url.searchParams.get('grant_type') !== 'password') {
      return reply(400, { error: 'unsupported_grant_type', message: 'grant_type=password' })
    }
    const body = await req.json().catch(() => ({})) as Json
    if (typeof body.email !== 'string' || typeof body.password !== 'string'
      || body.password.length > 200) {
      return reply(400, { error: 'validation_failed', message: 'email and password' })
    }
    const [user] = await raw<Array<{ id: string; valid: boolean; banned: boolean }>>`
      select a.id,
          coalesce(a.encrypted_password = extensions.crypt(${body.password},
              a.encrypted_password), false) as valid,
          coalesce(a.banned_until > pg_catalog.now(), false) as banned
      from auth.users as a
      where pg_catalog.lower(a.email) = pg_catalog.lower(${body.email})
          and a.deleted_at is null`
    // Unknown addresses never reach the hook, as with Supabase Auth.
    if (!user) return refusedSignIn('Invalid login credentials')
    const source = (req.headers.get('x-forwarded-for') ?? '').split(',')[0]!.trim()
    const event = { user_id: user.id, valid: user.valid,
      ...(/^[0-9a-fA-F:.]{3,45}$/.test(source) ? { ip_address: source } : {}) }
    const decision = await raw.begin(async (tx) => {
      await tx`set local role supabase_auth_admin`
      const [row] = await tx`select private.hook_password_verification_attempt(
        ${tx.json(event)}) as answer`
      return row!.answer as { decision: string; message?: string }
    })
    if (decision.decision === 'reject') {
      return refusedSignIn(decision.message ?? 'Sign-in rejected')
    }
    if (!user.valid) return refusedSignIn('Invalid login credentials')
    if (user.banned) return reply(400, { error: 'user_banned', message: 'User is banned' })
    const { token, claims } = await issueUserToken(raw, options.jwtSecret, user.id,
      { issuer: `${url.origin}/auth/v1` })
    await raw`update auth.users set last_sign_in_at = pg_catalog.now() where id = ${user.id}`
    return reply(200, {
      access_token: token, token_type: 'bearer', expires_in: 3600,
      expires_at: claims.exp, user: { id: user.id, email: claims.email },
    })
  }

  /**
   * Second step of a sign-in: a TOTP code for one of the caller's verified factors. The code is
   * checked, then the MFA verification attempt hook (private.hook_mfa_verification_attempt) is
   * called as supabase_auth_admin with {"factor_id", "factor_type", "user_id", "valid"}; its
   * "reject" refuses. A right code gives a new session at aal2.
   */
  async function verifyFactor(req: Request, url: URL, factorId: string): Promise<Response> {
    const header = req.headers.get('authorization') ?? ''
    let claims
    try {
      claims = await options.verify(header.startsWith('Bearer ') ? header.slice(7) : '')
    } catch {
      return reply(401, { error: 'unauthorized', message: 'a signed-in user is required' })
    }
    if (req.method !== 'POST' || claims.role !== 'authenticated' || !claims.sub) {
      return reply(401, { error: 'unauthorized', message: 'a signed-in user is required' })
    }
    const body = await req.json().catch(() => ({})) as Json
    const [factor] = await raw<Array<{ secret: string | null; factor_type: string }>>`
      select secret, factor_type from auth.mfa_factors
      where id = ${factorId} and user_id = ${claims.sub} and status = 'verified'`
    if (!factor) return reply(404, { error: 'mfa_factor_not_found', message: 'no such factor' })
    const valid = factor.factor_type === 'totp' && factor.secret !== null
      && typeof body.code === 'string' && await totpValid(factor.secret, body.code)
    const decision = await raw.begin(async (tx) => {
      await tx`set local role supabase_auth_admin`
      const [row] = await tx`select private.hook_mfa_verification_attempt(${tx.json({
        factor_id: factorId, factor_type: factor.factor_type, user_id: claims.sub, valid,
      })}) as answer`
      return row!.answer as { decision: string; message?: string }
    })
    if (decision.decision === 'reject') {
      return reply(400, { error: 'mfa_verification_rejected',
        message: decision.message ?? 'Verification rejected' })
    }
    if (!valid) return reply(400, { error: 'mfa_verification_failed', message: 'Invalid code' })
    const { token, claims: issued } = await issueUserToken(raw, options.jwtSecret, claims.sub,
      { aal: 'aal2', issuer: `${url.origin}/auth/v1` })
    return reply(200, { access_token: token, token_type: 'bearer', expires_in: 3600,
      expires_at: issued.exp })
  }

  /** Lists a folder: what the caller may see under `prefix`, one level deep, as Storage does. */
  async function list(req: Request, bucket: string): Promise<Response> {
    const who = await caller(req)
    if (!who) return reply(401, { error: 'unauthorized', message: 'a valid JWT is required' })
    if (req.method !== 'POST') return reply(405, { error: 'method_not_allowed', message: 'POST' })
    const body = await req.json().catch(() => ({})) as Json
    const prefix = typeof body.prefix === 'string' ? body.prefix.replace(/^\/+|\/+$/g, '') : ''
    const limit = Number.isInteger(body.limit) ? Math.min(Math.max(body.limit as number, 1), 1000)
      : 100
    const offset = Number.isInteger(body.offset) ? Math.max(body.offset as number, 0) : 0
    const like = prefix === '' ? '%' : `${prefix.replace(/[\\%_]/g, '\\$&')}/%`
    const rows = await as(who, (tx) => tx`
      select name, id, created_at, updated_at, metadata from storage.objects
      where bucket_id = ${bucket} and name like ${like}
      order by name limit ${limit} offset ${offset}`)
    // One level deep: deeper objects show as their folder, once.
    const seen = new Set<string>()
    const items: Json[] = []
    for (const row of rows) {
      const rest = (row.name as string).slice(prefix === '' ? 0 : prefix.length + 1)
      const slash = rest.indexOf('/')
      if (slash === -1) {
        items.push({ name: rest, id: row.id, created_at: row.created_at,
          updated_at: row.updated_at, metadata: row.metadata })
      } else if (!seen.has(rest.slice(0, slash))) {
        seen.add(rest.slice(0, slash))
        items.push({ name: rest.slice(0, slash), id: null, metadata: null })
      }
    }
    return new Response(JSON.stringify(items), {
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    })
  }

  return async (req: Request, url: URL): Promise<Response | undefined> => {
    const listing = /^\/storage\/v1\/object\/list\/([a-z0-9_-]+)\/?$/.exec(url.pathname)
    if (listing) return list(req, listing[1]!)
    const object =
      /^\/storage\/v1\/object\/(sign\/|authenticated\/)?([a-z0-9_-]+)\/(.+)$/.exec(url.pathname)
    if (object) return storage(req, url, object)
    if (url.pathname === '/auth/v1/token') return signIn(req, url)
    const factor = /^\/auth\/v1\/factors\/([0-9a-f-]{36})\/verify$/i.exec(url.pathname)
    if (factor) return verifyFactor(req, url, factor[1]!.toLowerCase())
    const user = /^\/auth\/v1\/admin\/users\/([0-9a-f-]{36})$/i.exec(url.pathname)
    if (user) return authAdmin(req, user[1]!.toLowerCase())
    return undefined
  }
}
