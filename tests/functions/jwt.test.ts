import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose'
import { createVerifier, type VerifyToken } from '../../functions/_shared/jwt.ts'
import { AppError } from '../../functions/_shared/errors.ts'

const SECRET = 'test-secret-with-at-least-thirty-two-characters!!'
const SUB = '6f1c3a52-8d7e-4b0a-9c1d-2e3f4a5b6c7d'
const NOW = Math.floor(Date.UTC(2026, 11, 4, 12, 0, 0) / 1000)
const frozen = new Date(NOW * 1000)

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

function userClaims(overrides: Record<string, unknown> = {}) {
  return {
    sub: SUB,
    role: 'authenticated',
    aud: 'authenticated',
    aal: 'aal1',
    session_id: '0d7a8f30-6c84-4c1e-9a35-6f0b5f0e7d21',
    iat: NOW - 10,
    exp: NOW + 3600,
    ...overrides,
  }
}

async function hs256(claims: Record<string, unknown>, secret = SECRET): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret))
}

async function refusal(verify: VerifyToken, token: string): Promise<AppError> {
  const error = await verify(token).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AppError)
  return error as AppError
}

describe('HS256 project tokens', () => {
  const verify = createVerifier({ hs256Secret: SECRET, audience: 'authenticated',
    currentDate: frozen })

  it('accepts a token signed with the project secret and returns its claims', async () => {
    const claims = await verify(await hs256(userClaims()))
    expect(claims.sub).toBe(SUB)
    expect(claims.role).toBe('authenticated')
    expect(claims.aal).toBe('aal1')
  })

  it('refuses an unsigned token with alg "none"', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(userClaims())}.`
    const error = await refusal(verify, token)
    expect(error.code).toBe('unauthorized')
    expect(error.status).toBe(401)
    expect(error.message).toBe('Invalid or expired access token')
  })

  it('refuses alg "none" even with a signature part appended', async () => {
    const token = `${b64({ alg: 'none' })}.${b64(userClaims())}.c2lnbmF0dXJl`
    expect((await refusal(verify, token)).code).toBe('unauthorized')
  })

  it('refuses a token signed with another HS256 key', async () => {
    const token = await hs256(userClaims(), 'another-secret-that-is-long-enough-to-sign!!')
    expect((await refusal(verify, token)).code).toBe('unauthorized')
  })

  it('refuses a token whose payload was altered after signing', async () => {
    const [h, , s] = (await hs256(userClaims())).split('.')
    const forged = `${h}.${b64(userClaims({ role: 'service_role' }))}.${s}`
    expect((await refusal(verify, forged)).code).toBe('unauthorized')
  })

  it('refuses an expired token', async () => {
    const token = await hs256(userClaims({ iat: NOW - 7200, exp: NOW - 3600 }))
    expect((await refusal(verify, token)).code).toBe('unauthorized')
  })

  it('refuses a token without exp', async () => {
    const { exp: _exp, ...claims } = userClaims()
    expect((await refusal(verify, await hs256(claims))).code).toBe('unauthorized')
  })

  it('refuses a token that is not yet valid (nbf in the future)', async () => {
    const token = await hs256(userClaims({ nbf: NOW + 600 }))
    expect((await refusal(verify, token)).code).toBe('unauthorized')
  })

  it('refuses a user token for another audience', async () => {
    const token = await hs256(userClaims({ aud: 'some-other-project' }))
    expect((await refusal(verify, token)).code).toBe('unauthorized')
  })

  it('refuses a user token without sub', async () => {
    const { sub: _sub, ...claims } = userClaims()
    expect((await refusal(verify, await hs256(claims))).code).toBe('unauthorized')
  })

  it('refuses a user token whose sub is not a user id', async () => {
    const token = await hs256(userClaims({ sub: "x' or '1'='1" }))
    expect((await refusal(verify, token)).code).toBe('unauthorized')
  })

  it('refuses a token whose role is not an API role', async () => {
    const token = await hs256(userClaims({ role: 'postgres' }))
    expect((await refusal(verify, token)).code).toBe('unauthorized')
  })

  it('accepts the anon and service-role API keys, which carry no sub or aud', async () => {
    const anon = await verify(await hs256({ role: 'anon', iat: NOW, exp: NOW + 60 }))
    const service = await verify(await hs256({ role: 'service_role', iat: NOW, exp: NOW + 60 }))
    expect(anon.role).toBe('anon')
    expect(service.role).toBe('service_role')
  })

  it('refuses garbage that is not a JWT', async () => {
    expect((await refusal(verify, 'not-a-token')).code).toBe('unauthorized')
  })
})

describe('asymmetric tokens from a JWKS', () => {
  let es256: CryptoKeyPair
  let stranger: CryptoKeyPair
  let rs256: CryptoKeyPair
  let jwks: { keys: JWK[] }
  let server: Server
  let jwksUrl: string
  let jwksRequests = 0

  beforeAll(async () => {
    es256 = await generateKeyPair('ES256', { extractable: true })
    stranger = await generateKeyPair('ES256', { extractable: true })
    rs256 = await generateKeyPair('RS256', { extractable: true })
    jwks = {
      keys: [
        { ...(await exportJWK(es256.publicKey)), kid: 'es-1', alg: 'ES256', use: 'sig' },
        { ...(await exportJWK(rs256.publicKey)), kid: 'rs-1', alg: 'RS256', use: 'sig' },
      ],
    }
    server = createServer((req, res) => {
      jwksRequests += 1
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(jwks))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    jwksUrl = `http://127.0.0.1:${port}/auth/v1/.well-known/jwks.json`
  })

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
  })

  const sign = (key: CryptoKey, alg: string, kid: string, claims = userClaims()) =>
    new SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(key)

  it('accepts ES256 and RS256 tokens whose keys are in SUPABASE_JWKS', async () => {
    const verify = createVerifier({ jwks, audience: 'authenticated', currentDate: frozen })
    expect((await verify(await sign(es256.privateKey, 'ES256', 'es-1'))).sub).toBe(SUB)
    expect((await verify(await sign(rs256.privateKey, 'RS256', 'rs-1'))).sub).toBe(SUB)
  })

  it('refuses an ES256 token signed by a key that is not in the JWKS', async () => {
    const verify = createVerifier({ jwks, audience: 'authenticated', currentDate: frozen })
    const token = await sign(stranger.privateKey, 'ES256', 'es-1')
    expect((await refusal(verify, token)).code).toBe('unauthorized')
  })

  it('fetches the JWKS from a URL and verifies with it', async () => {
    const verify = createVerifier({ jwksUrl, audience: 'authenticated', currentDate: frozen })
    const before = jwksRequests
    expect((await verify(await sign(es256.privateKey, 'ES256', 'es-1'))).sub).toBe(SUB)
    expect(jwksRequests).toBeGreaterThan(before)
  })

  it('refuses HS256 when only a JWKS is configured (no algorithm confusion)', async () => {
    const verify = createVerifier({ jwks, audience: 'authenticated', currentDate: frozen })
    const publicJwk = JSON.stringify(jwks.keys[0])
    const token = await hs256(userClaims(), publicJwk)
    expect((await refusal(verify, token)).code).toBe('unauthorized')
  })

  it('refuses an expired ES256 token', async () => {
    const verify = createVerifier({ jwks, audience: 'authenticated', currentDate: frozen })
    const token = await sign(es256.privateKey, 'ES256', 'es-1',
      userClaims({ iat: NOW - 7200, exp: NOW - 1 }))
    expect((await refusal(verify, token)).code).toBe('unauthorized')
  })
})
