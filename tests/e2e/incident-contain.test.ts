/**
 * incident-contain over HTTP: an administrator at aal2 suspends a member for an incident; the
 * member's current token stops working at once, the Auth user is banned through the Auth
 * admin API, and both steps are on the incident's timeline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type postgres from 'postgres'
import { createMember, type Member, ownerSql, stack, tokenFor } from '../fixtures/stack.ts'

let sql: postgres.Sql
let admin: Member
let suspect: Member
let bystander: Member
let incident: string

const call = async (name: string, token: string, body: unknown) => {
  const res = await fetch(`${stack.apiUrl}/functions/v1/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, json: text ? JSON.parse(text) : undefined }
}

beforeAll(async () => {
  sql = ownerSql()
  admin = await createMember(sql, { role: 'ADMIN', mfa: true })
  suspect = await createMember(sql)
  bystander = await createMember(sql)
  const [row] = await sql.begin(async (tx) => {
    await tx`set local role service_role`
    return tx`select public.open_incident('ACCESS_VIOLATION', 'high',
      'Unusual sign-ins on one account') as id`
  })
  incident = row!.id as string
})

afterAll(async () => {
  await sql`delete from auth.users where id in ${sql([admin.id, suspect.id, bystander.id])}`
  await sql.end()
})

describe('incident-contain', () => {
  it('refuses a participant and an administrator at aal1', async () => {
    const participant = await call('incident-contain', await tokenFor(sql, bystander),
      { incident_id: incident, member_id: suspect.id })
    expect(participant.status).toBe(403)
    const aal1 = await call('incident-contain', await tokenFor(sql, admin),
      { incident_id: incident, member_id: suspect.id })
    expect(aal1.status).toBe(403)
    const [row] = await sql`select status::text, (select banned_until from auth.users
      where id = ${suspect.id}) as banned from public.users where id = ${suspect.id}`
    expect(row).toEqual({ status: 'ACTIVE', banned: null })
  })

  it('suspends the member: their token fails at once, the Auth user is banned, all recorded',
    async () => {
      const suspectToken = await tokenFor(sql, suspect)
      expect((await call('dsar-export', suspectToken, {})).status).toBe(200)
      const { status, json } = await call('incident-contain',
        await tokenFor(sql, admin, { aal: 'aal2' }),
        { incident_id: incident, member_id: suspect.id })
      expect(status).toBe(200)
      expect(json).toEqual({ sessions_ended: 1, banned: true })
      expect((await call('dsar-export', suspectToken, {})).status).toBe(401)
      const [account] = await sql`select banned_until = 'infinity' as banned, email
        from auth.users where id = ${suspect.id}`
      expect(account).toEqual({ banned: true, email: suspect.email })
      const timeline = await sql`select entry, details ->> 'action' as action
        from private.incident_timeline where incident_id = ${incident} order by id`
      expect(timeline.map((t) => t.entry)).toEqual(['opened', 'containment', 'note'])
      expect(timeline[1]!.action).toBe('suspend_member')
    })

  it('answers 404 for an unknown incident and 400 for a malformed body', async () => {
    const token = await tokenFor(sql, admin, { aal: 'aal2' })
    expect((await call('incident-contain', token,
      { incident_id: '00000000-0000-4000-8000-00000000dead', member_id: bystander.id }))
      .status).toBe(404)
    expect((await call('incident-contain', token, { incident_id: 'x' })).status).toBe(400)
  })
})
