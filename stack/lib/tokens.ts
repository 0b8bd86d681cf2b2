/**
 * Access tokens for demo and test users, with the claims Supabase Auth issues: a session row
 * is created in auth.sessions, `aal2` is given only to users with a verified MFA factor, and
 * the custom access token hook is applied as Supabase Auth would apply it.
 */
import { randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import type postgres from 'postgres'

export type Aal = 'aal1' | 'aal2'

export interface UserTokenOptions {
  aal?: Aal
  /** Lifetime in seconds; negative values produce an already expired token. */
  expiresIn?: number
  issuer?: string
}

export class TokenError extends Error {}

export async function signClaims(secret: string, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret))
}

interface AuthUserRow {
  id: string
  email: string | null
  phone: string | null
  raw_app_meta_data: Record<string, unknown>
  raw_user_meta_data: Record<string, unknown>
  is_anonymous: boolean
  verified_factors: number
}

/** Looks a member up by handle (or auth user id) and issues a signed token for them. */
export async function issueUserToken(
  sql: postgres.Sql,
  secret: string,
  who: string,
  options: UserTokenOptions = {},
): Promise<{ token: string; claims: Record<string, unknown> }> {
  const aal = options.aal ?? 'aal1'
  const byId = /^[0-9a-f-]{36}$/i.test(who)
  const rows = await sql<AuthUserRow[]>`
    select a.id, a.email, a.phone, a.raw_app_meta_data, a.raw_user_meta_data, a.is_anonymous,
           (select count(*)::int from auth.mfa_factors f
             where f.user_id = a.id and f.status = 'verified') as verified_factors
    from auth.users a
    left join public.users u on u.id = a.id
    where ${byId ? sql`a.id = ${who}::uuid` : sql`u.handle = ${who}`}`
  const user = rows[0]
  if (!user) throw new TokenError(`no user with handle "${who}"`)
  if (aal === 'aal2' && user.verified_factors === 0) {
    throw new TokenError(`"${who}" has no verified MFA factor, so Supabase Auth would not ` +
      'issue an aal2 session')
  }

  const now = Math.floor(Date.now() / 1000)
  const sessionId = randomUUID()
  const exp = now + (options.expiresIn ?? 3600)
  await sql`insert into auth.sessions (id, user_id, aal, not_after)
            values (${sessionId}, ${user.id}, ${aal}, to_timestamp(${exp}))`
  const amr = [{ method: 'password', timestamp: now - 60 }]
  if (aal === 'aal2') amr.unshift({ method: 'totp', timestamp: now })

  let claims: Record<string, unknown> = {
    iss: options.issuer ?? 'http://127.0.0.1:54321/auth/v1',
    sub: user.id,
    aud: 'authenticated',
    exp,
    iat: now,
    email: user.email ?? '',
    phone: user.phone ?? '',
    app_metadata: { provider: 'email', providers: ['email'], ...user.raw_app_meta_data },
    user_metadata: user.raw_user_meta_data,
    role: 'authenticated',
    aal,
    amr,
    session_id: sessionId,
    is_anonymous: user.is_anonymous,
  }
  const hooked = await sql<Array<{ event: { claims: Record<string, unknown> } }>>`
    select private.custom_access_token_hook(${sql.json({
      user_id: user.id,
      claims,
      authentication_method: 'password',
    } as unknown as postgres.JSONValue)}) as event`
  claims = hooked[0]?.event.claims ?? claims
  return { token: await signClaims(secret, claims), claims }
}
