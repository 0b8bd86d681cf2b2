/**
 * Local secrets of a stack profile: the JWT signing secret, the database passwords and the
 * anon and service-role keys signed with that secret. Created once, kept in the profile folder
 * (git-ignored, mode 0600), so keys printed by one `npm start` stay valid for the next.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { z } from 'zod'
import { SignJWT } from 'jose'
import type { StackProfile } from './profile.ts'

const LocalSecrets = z.object({
  jwtSecret: z.string().min(32),
  superuserPassword: z.string().min(16),
  postgresPassword: z.string().min(1),
  authenticatorPassword: z.string().min(16),
  anonKey: z.string(),
  serviceRoleKey: z.string(),
})
export type LocalSecrets = z.infer<typeof LocalSecrets>

const TEN_YEARS = 10 * 365 * 24 * 3600

async function apiKey(secret: string, role: 'anon' | 'service_role'): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ role, iss: 'leaps-guard-local' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(now)
    .setExpirationTime(now + TEN_YEARS)
    .sign(new TextEncoder().encode(secret))
}

export async function loadOrCreateSecrets(p: StackProfile): Promise<LocalSecrets> {
  const file = path.join(p.dir, 'secrets.json')
  if (existsSync(file)) {
    const parsed = LocalSecrets.safeParse(JSON.parse(readFileSync(file, 'utf8')))
    if (parsed.success) return parsed.data
    throw new Error(`${file} is damaged; run "npm run reset" to recreate the local stack`)
  }
  mkdirSync(p.dir, { recursive: true })
  const jwtSecret = randomBytes(32).toString('base64url')
  const secrets: LocalSecrets = {
    jwtSecret,
    superuserPassword: randomBytes(18).toString('base64url'),
    // The well-known local password of Supabase's own stack, so the usual DB URL works.
    postgresPassword: 'postgres',
    authenticatorPassword: randomBytes(18).toString('base64url'),
    anonKey: await apiKey(jwtSecret, 'anon'),
    serviceRoleKey: await apiKey(jwtSecret, 'service_role'),
  }
  writeFileSync(file, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 })
  return secrets
}

export function readSecrets(p: StackProfile): LocalSecrets {
  const file = path.join(p.dir, 'secrets.json')
  if (!existsSync(file)) {
    throw new Error(`no local stack in ${p.dir}; run "npm start" first`)
  }
  return LocalSecrets.parse(JSON.parse(readFileSync(file, 'utf8')))
}

export function dbUrl(p: StackProfile, user = 'postgres', password = 'postgres'): string {
  const u = encodeURIComponent(user)
  const pw = encodeURIComponent(password)
  return `postgresql://${u}:${pw}@127.0.0.1:${p.dbPort}/${p.database}`
}

export function superuserUrl(p: StackProfile, s: LocalSecrets): string {
  return dbUrl(p, 'supabase_admin', s.superuserPassword)
}

export function apiUrl(p: StackProfile): string {
  return `http://127.0.0.1:${p.apiPort}`
}
