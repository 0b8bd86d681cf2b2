import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../../functions/_shared/config.ts'

const valid = {
  SUPABASE_URL: 'http://127.0.0.1:54321',
  SUPABASE_ANON_KEY: 'anon-key-anon-key-anon-key',
  SUPABASE_SERVICE_ROLE_KEY: 'service-key-service-key-service',
  SUPABASE_DB_URL: 'postgresql://postgres:postgres@127.0.0.1:54322/postgres',
  SUPABASE_JWT_SECRET: 'x'.repeat(40),
  LEAPS_SCANNER: 'disabled',
}

describe('function configuration', () => {
  it('accepts a complete environment and applies defaults', () => {
    const config = parseConfig(valid)
    expect(config.JWT_AUDIENCE).toBe('authenticated')
    expect(config.ALLOWED_ORIGINS).toEqual(['*'])
  })

  it('names every missing or malformed variable at start-up', () => {
    const { SUPABASE_DB_URL: _db, ...rest } = valid
    expect(() => parseConfig({ ...rest, SUPABASE_URL: 'not a url' })).toThrow(ConfigError)
    expect(() => parseConfig({ ...rest, SUPABASE_URL: 'not a url' }))
      .toThrow(/SUPABASE_URL.*SUPABASE_DB_URL|SUPABASE_DB_URL.*SUPABASE_URL/)
  })

  it('requires a way to verify tokens: secret, JWKS or JWKS URL', () => {
    const { SUPABASE_JWT_SECRET: _s, ...rest } = valid
    expect(() => parseConfig(rest)).toThrow(/SUPABASE_JWT_SECRET, SUPABASE_JWKS or/)
    expect(parseConfig({ ...rest, SUPABASE_JWKS: '{"keys":[{"kty":"EC"}]}' }).SUPABASE_JWKS)
      .toEqual({ keys: [{ kty: 'EC' }] })
  })

  it('refuses a JWKS that is not a key set', () => {
    expect(() => parseConfig({ ...valid, SUPABASE_JWKS: '{"keys":[]}' }))
      .toThrow(/SUPABASE_JWKS: must be a JSON Web Key Set/)
  })
})
