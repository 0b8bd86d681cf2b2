/**
 * Sign-in through the local Auth stand-in, which calls the password verification attempt hook
 * as Supabase Auth does: attempts recorded, lockout after five failures (even for the right
 * password), and the detectors' alert for 60 failures in five minutes, exactly one HIGH.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type postgres from 'postgres'
import { randomUUID } from 'node:crypto'
import { totpCode } from '../../stack/lib/totp.ts'
import { createMember, type Member, ownerSql, stack } from '../fixtures/stack.ts'

let sql: postgres.Sql
let teacher: Member
let target: Member
const PASSWORD = 'correct horse battery staple'

async function signIn(email: string, password: string, from = '198.51.100.7') {
  const res = await fetch(`${stack.apiUrl}/auth/v1/token?grant_type=password`, {
    method: 'POST',
    headers: { apikey: stack.anonKey, 'content-type': 'application/json',
      'x-forwarded-for': from },
    body: JSON.stringify({ email, password }),
  })
  return { status: res.status, json: await res.json() }
}

beforeAll(async () => {
  sql = ownerSql()
  teacher = await createMember(sql)
  target = await createMember(sql)
  for (const m of [teacher, target]) {
    await sql`update auth.users set encrypted_password = extensions.crypt(${PASSWORD},
                extensions.gen_salt('bf', 4)) where id = ${m.id}`
  }
})

afterAll(async () => {
  await sql`delete from private.security_alerts where cause like ${`%${target.id}%`}`
  await sql`delete from auth.users where id in ${sql([teacher.id, target.id])}`
  await sql.end()
})

describe('sign-in through the local Auth stand-in', () => {
  it('issues a working token for the right password, with its session', async () => {
    const { status, json } = await signIn(teacher.email, PASSWORD)
    expect(status).toBe(200)
    const exported = await fetch(`${stack.apiUrl}/functions/v1/dsar-export`, {
      method: 'POST',
      headers: { authorization: `Bearer ${json.access_token}`, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(exported.status).toBe(200)
    const doc = await exported.json()
    expect(doc.sign_in_attempts.map((a: { valid: boolean }) => a.valid)).toEqual([true])
  })

  it('refuses an unknown address the same way, without recording an attempt', async () => {
    const before = await sql`select count(*)::int as n from private.sign_in_attempts`
    const { status, json } = await signIn('nobody@example.com', PASSWORD)
    expect(status).toBe(400)
    expect(json).toEqual({ error: 'invalid_grant', error_description: 'Invalid login credentials' })
    const after = await sql`select count(*)::int as n from private.sign_in_attempts`
    expect(after[0]!.n).toBe(before[0]!.n)
  })

  it('locks the account after five failures, even against the right password', async () => {
    const answers: string[] = []
    for (let i = 0; i < 5; i += 1) {
      answers.push((await signIn(target.email, 'wrong password')).json.error_description)
    }
    expect(answers.slice(0, 4)).toEqual(Array(4).fill('Invalid login credentials'))
    expect(answers[4]).toMatch(/Too many failed sign-ins/)
    const right = await signIn(target.email, PASSWORD)
    expect(right.status).toBe(400)
    expect(right.json.error_description).toMatch(/Too many failed sign-ins/)
    const [row] = await sql`select count(*)::int as n,
        count(*) filter (where source = '198.51.100.7')::int as from_source
      from private.sign_in_attempts where user_id = ${target.id}`
    expect(row).toEqual({ n: 6, from_source: 6 })
  })

  it('raises exactly one HIGH alert for 60 failures in five minutes', async () => {
    for (let i = 0; i < 55; i += 1) await signIn(target.email, 'wrong password')
    const [count] = await sql`select count(*)::int as n from private.sign_in_attempts
      where user_id = ${target.id} and not valid`
    expect(count!.n).toBe(60)
    await sql`select private.run_detectors()`
    await sql`select private.run_detectors()`
    const alerts = await sql`select severity, details -> 'observed' as observed
      from private.security_alerts
      where cause = ${`failed_logins_per_user:user:${target.id}`}`
    expect(alerts).toEqual([{ severity: 'high', observed: 60 }])
  })
})

describe('MFA through the local Auth stand-in', () => {
  const SECRET = 'LEAPSTESTTOTPSECRET234567ABCDEF'
  let admin: Member
  let factor: string

  const verify = async (token: string, code: string) => {
    const res = await fetch(`${stack.apiUrl}/auth/v1/factors/${factor}/verify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    })
    return { status: res.status, json: await res.json() }
  }

  beforeAll(async () => {
    admin = await createMember(sql, { role: 'ADMIN' })
    factor = randomUUID()
    await sql`update auth.users set encrypted_password = extensions.crypt(${PASSWORD},
                extensions.gen_salt('bf', 4)) where id = ${admin.id}`
    await sql`insert into auth.mfa_factors (id, user_id, factor_type, status, secret)
              values (${factor}, ${admin.id}, 'totp', 'verified', ${SECRET})`
  })

  afterAll(async () => {
    await sql`delete from auth.users where id = ${admin.id}`
  })

  it('turns a right code into an aal2 session that administrators\' functions accept',
    async () => {
      const first = await signIn(admin.email, PASSWORD)
      expect(first.status).toBe(200)
      const report = (token: string) => fetch(
        `${stack.apiUrl}/functions/v1/compliance-report?month=${
          new Date().toISOString().slice(0, 7)}`,
        { headers: { authorization: `Bearer ${token}` } })
      const before = await report(first.json.access_token)
      expect(before.status).toBe(403)
      await before.body?.cancel()
      const { status, json } = await verify(first.json.access_token, await totpCode(SECRET))
      expect(status).toBe(200)
      const after = await report(json.access_token)
      expect(after.status).toBe(200)
      await after.body?.cancel()
      const [row] = await sql`select count(*)::int as n from private.sign_in_attempts
        where user_id = ${admin.id} and factor = 'mfa' and valid`
      expect(row!.n).toBe(1)
    })

  it('locks verification after five wrong codes, even for the right one', async () => {
    const { json: signedIn } = await signIn(admin.email, PASSWORD)
    const answers: string[] = []
    for (let i = 0; i < 5; i += 1) {
      answers.push((await verify(signedIn.access_token, 'wrong!')).json.error)
    }
    expect(answers.slice(0, 4)).toEqual(Array(4).fill('mfa_verification_failed'))
    expect(answers[4]).toBe('mfa_verification_rejected')
    const right = await verify(signedIn.access_token, await totpCode(SECRET))
    expect(right.status).toBe(400)
    expect(right.json.error).toBe('mfa_verification_rejected')
  })
})
