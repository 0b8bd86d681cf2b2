/**
 * Who is calling. A verified token is not enough for a user: the account must still exist in
 * auth.users, not be deleted, soft-deleted or banned, and the token's session must not have
 * been signed out and must be at the token's assurance level, so a token outliving its user
 * or its session, or claiming more than its session reached, is refused.
 */
import { AppError } from './errors.ts'
import { bearerToken, type VerifiedClaims, type VerifyToken } from './jwt.ts'
import type { Db } from './db.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export type Caller =
  | { kind: 'user'; id: string; aal: 'aal1' | 'aal2'; claims: VerifiedClaims }
  | { kind: 'service'; claims: VerifiedClaims }

export async function authenticate(req: Request, verify: VerifyToken, db: Db): Promise<Caller> {
  const claims = await verify(bearerToken(req))
  if (claims.role === 'service_role') return { kind: 'service', claims }
  if (claims.role !== 'authenticated' || !claims.sub) {
    throw new AppError('unauthorized', 'Sign in to use this function')
  }
  const sub = claims.sub
  const session = typeof claims.session_id === 'string' && UUID.test(claims.session_id)
    ? claims.session_id
    : null
  if (!session) throw new AppError('unauthorized', 'Invalid or expired access token')
  const live = await db.asService(
    (tx) => tx`select 1
               from auth.users as u
               join auth.sessions as s on s.user_id = u.id
               where u.id = ${sub}::uuid
                 and s.id = ${session}::uuid
                 and s.aal = ${claims.aal ?? 'aal1'}
                 and (s.not_after is null or s.not_after > pg_catalog.now())
                 and u.deleted_at is null
                 and (u.banned_until is null or u.banned_until < pg_catalog.now())
                 -- A soft-deleted profile (erasure requested) is refused like a deleted user.
                 and not exists (select 1 from public.users as p
                                 where p.id = u.id and p.deleted_at is not null)`,
  )
  if (live.length === 0) throw new AppError('unauthorized', 'Invalid or expired access token')
  return { kind: 'user', id: sub, aal: claims.aal ?? 'aal1', claims }
}
