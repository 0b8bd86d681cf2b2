/**
 * Verification of Supabase access tokens. Accepts tokens signed with the project's HS256
 * secret and tokens signed with an asymmetric key published in a JWKS (RS256, ES256, EdDSA).
 * Anything else is refused: alg `none`, a wrong signature, an expired or not-yet-valid token,
 * a user token without `sub` or with another audience, or an unknown role.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose'
import { z } from 'zod'
import { AppError } from './errors.ts'

export const API_ROLES = ['anon', 'authenticated', 'service_role'] as const
export type ApiRole = (typeof API_ROLES)[number]

const ASYMMETRIC_ALGS = ['RS256', 'ES256', 'EdDSA'] as const

const Claims = z
  .object({
    role: z.enum(API_ROLES),
    sub: z.string().optional(),
    aud: z.union([z.string(), z.array(z.string())]).optional(),
    aal: z.enum(['aal1', 'aal2']).optional(),
    session_id: z.string().optional(),
    exp: z.number(),
  })
  .loose()

export type VerifiedClaims = z.infer<typeof Claims> & JWTPayload

export interface VerifierOptions {
  hs256Secret?: string
  jwks?: { keys: Array<Record<string, unknown>> }
  jwksUrl?: string
  audience: string
  /** Clock used for exp/nbf; tests freeze it. */
  currentDate?: Date
}

export type VerifyToken = (token: string) => Promise<VerifiedClaims>

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function createVerifier(options: VerifierOptions): VerifyToken {
  const secret = options.hs256Secret ? new TextEncoder().encode(options.hs256Secret) : undefined
  let keySet: JWTVerifyGetKey | undefined
  if (options.jwks) {
    keySet = createLocalJWKSet(options.jwks as Parameters<typeof createLocalJWKSet>[0])
  } else if (options.jwksUrl) {
    keySet = createRemoteJWKSet(new URL(options.jwksUrl), { timeoutDuration: 3000 })
  }

  return async function verify(token: string): Promise<VerifiedClaims> {
    const invalid = (cause?: unknown) =>
      new AppError('unauthorized', 'Invalid or expired access token', { cause })

    let alg: string | undefined
    try {
      alg = decodeProtectedHeader(token).alg
    } catch (error) {
      throw invalid(error)
    }

    let payload: JWTPayload
    try {
      if (alg === 'HS256' && secret) {
        ;({ payload } = await jwtVerify(token, secret, {
          algorithms: ['HS256'],
          currentDate: options.currentDate,
        }))
      } else if (alg && (ASYMMETRIC_ALGS as readonly string[]).includes(alg) && keySet) {
        ;({ payload } = await jwtVerify(token, keySet, {
          algorithms: [...ASYMMETRIC_ALGS],
          currentDate: options.currentDate,
        }))
      } else {
        throw new Error(`signing algorithm ${alg ?? '(none)'} is not accepted`)
      }
    } catch (error) {
      throw invalid(error)
    }

    if (payload.exp === undefined) throw invalid(new Error('token has no exp'))
    const parsed = Claims.safeParse(payload)
    if (!parsed.success) throw invalid(parsed.error)
    const claims = parsed.data as VerifiedClaims

    if (claims.role === 'authenticated') {
      if (!claims.sub || !UUID.test(claims.sub)) throw invalid(new Error('missing or bad sub'))
      const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
      if (!audiences.includes(options.audience)) throw invalid(new Error('wrong audience'))
    } else if (claims.aud !== undefined) {
      const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
      if (!audiences.includes(options.audience)) throw invalid(new Error('wrong audience'))
    }
    return claims
  }
}

/** Reads the bearer token of a request; refuses other schemes and empty tokens. */
export function bearerToken(req: Request): string {
  const header = req.headers.get('authorization') ?? ''
  const match = /^Bearer\s+([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*)$/.exec(header)
  if (!match?.[1]) throw new AppError('unauthorized', 'A bearer access token is required')
  return match[1]
}
