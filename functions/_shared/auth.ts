/**
 * Who is calling. A verified token is not enough for a user: the account must still exist in
 * auth.users, not be deleted or banned, so a token outliving its user is refused.
 */
import { AppError } from './errors.ts'
import { bearerToken, type VerifiedClaims, type VerifyToken } from './jwt.ts'
import type { Db } from './db.ts'

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
  const live = await db.asService(
    (tx) => tx`select 1
               from auth.users
               where id = ${sub}::uuid
                 and deleted_at is null
                 and (banned_until is null or banned_until < pg_catalog.now())`,
  )
  if (live.length === 0) throw new AppError('unauthorized', 'Invalid or expired access token')
  return { kind: 'user', id: sub, aal: claims.aal ?? 'aal1', claims }
}
