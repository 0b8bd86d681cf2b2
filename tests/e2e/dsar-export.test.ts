/**
 * dsar-export over HTTP, against the Deno functions server of the test stack.
 */
import { readFileSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type postgres from 'postgres'
import { signClaims } from '../../stack/lib/tokens.ts'
import { createMember, type Member, ownerSql, stack, tokenFor } from '../fixtures/stack.ts'

let sql: postgres.Sql
let alice: Member
let bob: Member
let admin: Member
let suspended: Member
let aliceSubmission: string

const url = () => `${stack.apiUrl}/functions/v1/dsar-export`

async function exportAs(token: string | undefined, body: unknown = {}, init: RequestInit = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (token) headers.authorization = `Bearer ${token}`
  const res = await fetch(url(), {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  })
  const text = await res.text()
  return { res, status: res.status, json: text ? JSON.parse(text) : undefined }
}

beforeAll(async () => {
  sql = ownerSql()
  alice = await createMember(sql)
  bob = await createMember(sql)
  admin = await createMember(sql, { role: 'ADMIN', mfa: true })
  suspended = await createMember(sql, { status: 'SUSPENDED' })
  const [row] = await sql`insert into public.submissions (owner_id, activity_code, title, payload)
    values (${alice.id}, 'LEARN', 'Workshop on formative assessment', '{"hours": 3}')
    returning id`
  aliceSubmission = row!.id as string
  await sql`insert into public.submissions (owner_id, activity_code, title)
    values (${bob.id}, 'SHINE', 'Bob''s project')`
})

afterAll(async () => {
  await sql`delete from auth.users where id in ${sql([alice.id, bob.id, admin.id, suspended.id])}`
  await sql.end()
})

describe('dsar-export: who may export whom', () => {
  it('lets a participant export their own data, complete and only theirs', async () => {
    const { status, json, res } = await exportAs(await tokenFor(sql, alice))
    expect(status).toBe(200)
    expect(json.subject).toBe(alice.id)
    expect(json.format).toBe('leaps-guard.dsar-export.v1')
    expect(new Date(json.export_timestamp).toISOString()).toBe(json.export_timestamp)
    expect(json.profile.id).toBe(alice.id)
    expect(json.profile.handle).toBe(alice.handle)
    expect(json.account.email).toBe(alice.email)
    expect(json.submissions.map((s: { id: string }) => s.id)).toEqual([aliceSubmission])
    expect(json.points).toEqual({ total: 0, entries: [] })
    expect(Array.isArray(json.attachments)).toBe(true)
    expect(Array.isArray(json.badges)).toBe(true)
    expect(res.headers.get('content-disposition')).toContain(`leaps-export-${alice.id}.json`)
  })

  it('defaults the subject to the caller and accepts naming oneself', async () => {
    const token = await tokenFor(sql, alice)
    const named = await exportAs(token, { subject: alice.id })
    expect(named.status).toBe(200)
    expect(named.json.subject).toBe(alice.id)
  })

  it('includes points credited when a submission is approved', async () => {
    await sql`update public.submissions set status = 'APPROVED', reviewed_at = now()
              where id = ${aliceSubmission}`
    const { json } = await exportAs(await tokenFor(sql, alice))
    expect(json.points.total).toBe(10)
    expect(json.points.entries).toHaveLength(1)
    expect(json.points.entries[0].submission_id).toBe(aliceSubmission)
  })

  it('refuses a participant asking for another member with 403', async () => {
    const { status, json } = await exportAs(await tokenFor(sql, alice), { subject: bob.id })
    expect(status).toBe(403)
    expect(json.error.code).toBe('forbidden')
    expect(json.error.message).toBe("You may not export this member's data")
  })

  it('answers the same for a subject that does not exist, so existence does not leak', async () => {
    const token = await tokenFor(sql, alice)
    const existing = await exportAs(token, { subject: bob.id })
    const missing = await exportAs(token, { subject: randomUUID() })
    expect(missing.status).toBe(existing.status)
    const strip = (j: { error: Record<string, unknown> }) => ({ ...j.error, request_id: null })
    expect(strip(missing.json)).toEqual(strip(existing.json))
  })

  it('lets an ADMIN at aal2 export another member', async () => {
    const { status, json } = await exportAs(await tokenFor(sql, admin, { aal: 'aal2' }),
      { subject: bob.id })
    expect(status).toBe(200)
    expect(json.subject).toBe(bob.id)
    expect(json.submissions).toHaveLength(1)
    expect(json.submissions[0].title).toBe("Bob's project")
  })

  it('refuses an ADMIN at aal1 with 403', async () => {
    const { status, json } = await exportAs(await tokenFor(sql, admin), { subject: bob.id })
    expect(status).toBe(403)
    expect(json.error.code).toBe('forbidden')
  })

  it('gives an ADMIN at aal2 404 for an unknown member', async () => {
    const { status, json } = await exportAs(await tokenFor(sql, admin, { aal: 'aal2' }),
      { subject: randomUUID() })
    expect(status).toBe(404)
    expect(json.error.code).toBe('not_found')
  })

  it('lets a suspended member export their own data: the right of access stays', async () => {
    const { status, json } = await exportAs(await tokenFor(sql, suspended))
    expect(status).toBe(200)
    expect(json.profile.status).toBe('SUSPENDED')
  })

  it('refuses a suspended member asking for someone else, even with export rights', async () => {
    const suspendedAdmin =
      await createMember(sql, { role: 'ADMIN', status: 'SUSPENDED', mfa: true })
    try {
      const token = await tokenFor(sql, suspendedAdmin, { aal: 'aal2' })
      const { status, json } = await exportAs(token, { subject: bob.id })
      expect(status).toBe(403)
      expect(json.error.code).toBe('forbidden')
    } finally {
      await sql`delete from auth.users where id = ${suspendedAdmin.id}`
    }
  })

  it('lets the service role export a named subject, and requires the name', async () => {
    const named = await exportAs(stack.serviceRoleKey, { subject: bob.id })
    expect(named.status).toBe(200)
    expect(named.json.profile.id).toBe(bob.id)
    const unnamed = await exportAs(stack.serviceRoleKey, {})
    expect(unnamed.status).toBe(400)
    expect(unnamed.json.error.code).toBe('bad_request')
  })
})

describe('dsar-export: completeness', () => {
  it('tells the member why, what, to whom, how long, from where, and their rights', async () => {
    const { status, json } = await exportAs(await tokenFor(sql, bob))
    expect(status).toBe(200)
    const about = json.about_this_data
    expect(Object.keys(about).sort()).toEqual(['answer_within_hours', 'categories', 'purposes',
      'recipients', 'retention', 'sources', 'your_rights'])
    expect(about.answer_within_hours).toBe(72)
    expect(about.categories).toContainEqual({ category: 'identity', sensitivity: 'HIGH' })
    expect(about.retention).toContainEqual(expect.objectContaining({ data: 'audit.audit_log',
      kept_for: '10 years', counted_from: 'end of the month the event was recorded' }))
    // The schedule that acts on members themselves is listed too, with what it does.
    expect(about.retention).toContainEqual(expect.objectContaining({ data: 'inactive-members',
      kept_for: '5 years', what_happens: expect.stringContaining('pseudonymised') }))
    expect(about.retention.map((r: { data: string }) => r.data)).not.toContain('cron-history')
    expect(about.your_rights).toContain('deletion')
  })

  it('keeps numbers in payloads exact (no float rounding of long digit strings)', async () => {
    const [row] = await sql`insert into public.submissions (owner_id, activity_code, title, payload)
      values (${alice.id}, 'EXPLORE', 'Long numbers', '{"ref": 9171012345678901}') returning id`
    try {
      const res = await fetch(url(), {
        method: 'POST',
        headers: { authorization: `Bearer ${await tokenFor(sql, alice)}`,
          'content-type': 'application/json' },
        body: '{}',
      })
      expect(res.status).toBe(200)
      expect(await res.text()).toContain('"ref": 9171012345678901')
    } finally {
      await sql`delete from public.submissions where id = ${row!.id}`
    }
  })

  it('includes sessions, status history and what the subject did as a reviewer', async () => {
    const reviewer = await createMember(sql, { role: 'REVIEWER' })
    try {
      const [row] = await sql`insert into public.submissions (owner_id, activity_code, title)
        values (${bob.id}, 'LEARN', 'Reviewed by the subject') returning id`
      await sql`update public.submissions
                set status = 'REJECTED', reviewer_id = ${reviewer.id},
                    review_note = 'Add the attendance list', reviewed_at = now()
                where id = ${row!.id}`
      await sql`insert into private.status_changes (user_id, old_status, new_status)
                values (${reviewer.id}, 'ACTIVE', 'SUSPENDED'),
                       (${reviewer.id}, 'SUSPENDED', 'ACTIVE')`
      const { status, json } = await exportAs(await tokenFor(sql, reviewer))
      expect(status).toBe(200)
      expect(json.sessions.length).toBeGreaterThanOrEqual(1)
      expect(json.status_changes.map((c: { new_status: string }) => c.new_status))
        .toEqual(['SUSPENDED', 'ACTIVE'])
      expect(json.acts.reviews).toEqual([expect.objectContaining({
        submission_id: row!.id, status: 'REJECTED', review_note: 'Add the attendance list' })])
      // Another member's submission shows up only as what the subject did to it.
      expect(JSON.stringify(json)).not.toContain(bob.id)
    } finally {
      await sql`delete from auth.users where id = ${reviewer.id}`
    }
  })
})

describe('dsar-export: authentication', () => {
  it('answers 401 to a token claiming aal2 for a session that only reached aal1', async () => {
    const real = await tokenFor(sql, admin)
    const claims = JSON.parse(Buffer.from(real.split('.')[1]!, 'base64url').toString())
    const forged = await signClaims(stack.jwtSecret, { ...claims, aal: 'aal2' })
    const { status } = await exportAs(forged, { subject: bob.id })
    expect(status).toBe(401)
  })

  it('answers 401 to a member whose profile is soft-deleted (erasure requested)', async () => {
    const leaving = await createMember(sql)
    try {
      const token = await tokenFor(sql, leaving)
      await sql`update public.users set deleted_at = now() where id = ${leaving.id}`
      expect((await exportAs(token)).status).toBe(401)
    } finally {
      await sql`delete from auth.users where id = ${leaving.id}`
    }
  })

  it('answers 401 without a token, and logs the refusal with its request id', async () => {
    const { status, json, res } = await exportAs(undefined)
    expect(status).toBe(401)
    expect(json.error.code).toBe('unauthorized')
    const requestId = res.headers.get('x-request-id')
    expect(json.error.request_id).toBe(requestId)
    await new Promise((r) => setTimeout(r, 200))
    const logged = readFileSync(stack.functionsLog, 'utf8').split('\n')
      .filter((l) => requestId && l.includes(requestId)).map((l) => JSON.parse(l))
    expect(logged).toHaveLength(1)
    expect(logged[0]).toMatchObject({ level: 'warn', event: 'gateway_refused', status: 401 })
  })

  it('answers 401 to the anon key: a signed-in member is required', async () => {
    const { status, json } = await exportAs(stack.anonKey)
    expect(status).toBe(401)
    expect(json.error.code).toBe('unauthorized')
  })

  it('answers 401 to a token signed with another secret', async () => {
    const forged = await signClaims('a-different-secret-of-sufficient-length!!', {
      sub: alice.id, role: 'authenticated', aud: 'authenticated',
      exp: Math.floor(Date.now() / 1000) + 600,
    })
    expect((await exportAs(forged)).status).toBe(401)
  })

  it('answers 401 to an expired token of a real member', async () => {
    const expired = await tokenFor(sql, alice, { expiresIn: -60 })
    expect((await exportAs(expired)).status).toBe(401)
  })

  it('answers 401 to a still-valid token whose session was signed out', async () => {
    const token = await tokenFor(sql, alice)
    expect((await exportAs(token)).status).toBe(200)
    const { session_id: sessionId } = JSON.parse(
      Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { session_id: string }
    await sql`delete from auth.sessions where id = ${sessionId}`
    const { status, json } = await exportAs(token)
    expect(status).toBe(401)
    expect(json.error.code).toBe('unauthorized')
  })

  it('answers 401 to a correctly signed member token without a session id', async () => {
    const token = await signClaims(stack.jwtSecret, {
      sub: alice.id, role: 'authenticated', aud: 'authenticated', aal: 'aal1',
      exp: Math.floor(Date.now() / 1000) + 600,
    })
    expect((await exportAs(token)).status).toBe(401)
  })

  it('answers 401 to a still-valid token whose user was deleted', async () => {
    const ghost = await createMember(sql)
    const token = await tokenFor(sql, ghost)
    expect((await exportAs(token)).status).toBe(200)
    await sql`delete from auth.users where id = ${ghost.id}`
    const { status, json } = await exportAs(token)
    expect(status).toBe(401)
    expect(json.error.code).toBe('unauthorized')
  })
})

describe('dsar-export: malformed requests', () => {
  it('answers 400 to a body that is not JSON', async () => {
    const { status, json } = await exportAs(await tokenFor(sql, alice), '{"subject": ')
    expect(status).toBe(400)
    expect(json.error).toMatchObject({ code: 'bad_request', message: 'The body is not valid JSON' })
  })

  it('answers 400 to a subject that is not a UUID', async () => {
    const { status, json } = await exportAs(await tokenFor(sql, alice), { subject: "1' or '1'='1" })
    expect(status).toBe(400)
    expect(json.error.code).toBe('bad_request')
  })

  it('answers 400 to unknown fields and to non-object bodies', async () => {
    const token = await tokenFor(sql, alice)
    expect((await exportAs(token, { subject: alice.id, include: 'everything' })).status).toBe(400)
    expect((await exportAs(token, [alice.id])).status).toBe(400)
  })

  it('answers 413 to a body over 64 kB without reading all of it', async () => {
    const big = JSON.stringify({ subject: alice.id, pad: 'x'.repeat(200_000) })
    const { status, json } = await exportAs(await tokenFor(sql, alice), big)
    expect(status).toBe(413)
    expect(json.error.code).toBe('payload_too_large')
  })

  it('treats an upper-case subject id as the same member', async () => {
    const { status, json } = await exportAs(await tokenFor(sql, alice),
      { subject: alice.id.toUpperCase() })
    expect(status).toBe(200)
    expect(json.subject).toBe(alice.id)
  })

  it('answers 415 when the body is not sent as JSON', async () => {
    const res = await fetch(url(), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await tokenFor(sql, alice)}`,
        'content-type': 'text/plain',
      },
      body: '{}',
    })
    expect(res.status).toBe(415)
    expect((await res.json()).error.code).toBe('unsupported_media_type')
  })

  it('answers 405 to GET', async () => {
    const token = await tokenFor(sql, alice)
    const res = await fetch(url(), { headers: { authorization: `Bearer ${token}` } })
    expect(res.status).toBe(405)
    expect((await res.json()).error.code).toBe('method_not_allowed')
  })
})

describe('dsar-export: headers and logs', () => {
  it('sends security headers, CORS and the request id it was given', async () => {
    const { res } = await exportAs(await tokenFor(sql, alice), {}, {
      headers: {
        authorization: `Bearer ${await tokenFor(sql, alice)}`,
        'content-type': 'application/json',
        'x-request-id': 'test-request-0001',
      },
    })
    expect(res.headers.get('x-request-id')).toBe('test-request-0001')
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
  })

  it('answers a CORS preflight without a token', async () => {
    const res = await fetch(url(), {
      method: 'OPTIONS',
      headers: { origin: 'http://127.0.0.1:3000' },
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-methods')).toContain('POST')
  })

  it('logs JSON lines with the request id, and no token or personal data', async () => {
    const token = await tokenFor(sql, alice)
    const requestId = `log-check-${randomUUID()}`
    await exportAs(token, {}, {
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json',
        'x-request-id': requestId },
    })
    await new Promise((r) => setTimeout(r, 200))
    const lines = readFileSync(stack.functionsLog, 'utf8').split('\n').filter(Boolean)
    const mine = lines.filter((l) => l.includes(requestId)).map((l) => JSON.parse(l))
    expect(mine.length).toBeGreaterThanOrEqual(1)
    expect(mine.every((l) => l.request_id === requestId && typeof l.event === 'string')).toBe(true)
    const all = lines.join('\n')
    expect(all).not.toContain(token.split('.')[2])
    expect(all).not.toContain(alice.email)
    expect(all).not.toContain('Test Member')
  })
})

describe('dsar-export: audit trail', () => {
  interface AuditRow {
    action: string
    target_type: string
    target_id: string | null
    outcome: string
    actor_type: string
    actor_id: string | null
    ip_address: string | null
    user_agent: string | null
    request_id: string
    metadata: Record<string, unknown>
    occurred_at: Date
    row_text: string
  }

  const eventsOf = (requestId: string) => sql<AuditRow[]>`
    select l.action, l.target_type, l.target_id, l.outcome::text, l.actor_type::text,
           l.actor_id::text, host(l.ip_address) as ip_address, l.user_agent, l.request_id,
           l.metadata, l.occurred_at, l::text as row_text
    from audit.audit_log as l
    where l.request_id = ${requestId}
    order by l.id`

  async function exportTraced(token: string, body: unknown, requestId: string) {
    return exportAs(token, body, {
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'x-request-id': requestId,
        'x-forwarded-for': '203.0.113.9, 10.1.2.3',
        'user-agent': 'leaps-e2e/1.0',
      },
    })
  }

  it('leaves exactly one dsar.export SUCCESS event with the request id and no personal data',
    async () => {
      const requestId = `audit-ok-${randomUUID()}`
      const before = Date.now()
      const { status, json } = await exportTraced(await tokenFor(sql, alice), {}, requestId)
      expect(status).toBe(200)
      expect(json.request_id).toBe(requestId)
      const events = await eventsOf(requestId)
      expect(events).toHaveLength(1)
      const [e] = events
      expect(e).toMatchObject({
        action: 'dsar.export',
        target_type: 'user',
        target_id: alice.id,
        outcome: 'SUCCESS',
        actor_type: 'USER',
        actor_id: alice.id,
        ip_address: '203.0.113.9',
        user_agent: 'leaps-e2e/1.0',
        request_id: requestId,
      })
      expect(Object.keys(e!.metadata).sort())
        .toEqual(['for_self', 'format', 'request_kind', 'requested_at', 'started_at'])
      expect(e!.metadata).toMatchObject({ request_kind: 'access', for_self: true, format: 'json' })
      const requested = Date.parse(e!.metadata.requested_at as string)
      const completed = Date.parse(e!.metadata.started_at as string)
      expect(new Date(requested).toISOString()).toBe(e!.metadata.requested_at)
      expect(requested).toBeGreaterThanOrEqual(before - 1000)
      expect(completed).toBeGreaterThanOrEqual(requested)
      expect(completed).toBeLessThanOrEqual(Date.now() + 1000)
      for (const personal of [alice.email, alice.handle, 'Test Member',
        'Workshop on formative assessment', 'formative']) {
        expect(e!.row_text).not.toContain(personal)
      }
    })

  it('records an administrator exporting another member as their act, not for themselves',
    async () => {
      const requestId = `audit-admin-${randomUUID()}`
      const token = await tokenFor(sql, admin, { aal: 'aal2' })
      expect((await exportTraced(token, { subject: bob.id }, requestId)).status).toBe(200)
      const events = await eventsOf(requestId)
      expect(events.map((e) => [e.outcome, e.actor_type, e.actor_id, e.target_id,
        e.metadata.for_self])).toEqual([['SUCCESS', 'USER', admin.id, bob.id, false]])
      expect(events[0]!.row_text).not.toContain("Bob's project")
    })

  it('records a service-role export as SERVICE, naming no member as actor', async () => {
    const requestId = `audit-service-${randomUUID()}`
    const { status } = await exportTraced(stack.serviceRoleKey, { subject: bob.id }, requestId)
    expect(status).toBe(200)
    const events = await eventsOf(requestId)
    expect(events.map((e) => [e.outcome, e.actor_type, e.actor_id, e.target_id]))
      .toEqual([['SUCCESS', 'SERVICE', null, bob.id]])
  })

  it('leaves one FAILURE event for a 403, the same whether or not the subject exists',
    async () => {
      const token = await tokenFor(sql, alice)
      for (const subject of [bob.id, randomUUID()]) {
        const requestId = `audit-403-${randomUUID()}`
        const { status } = await exportTraced(token, { subject }, requestId)
        expect(status).toBe(403)
        const events = await eventsOf(requestId)
        expect(events).toHaveLength(1)
        expect(events[0]).toMatchObject({
          action: 'dsar.export',
          target_type: 'user',
          target_id: subject,
          outcome: 'FAILURE',
          actor_type: 'USER',
          actor_id: alice.id,
          ip_address: '203.0.113.9',
        })
        expect(events[0]!.metadata).toEqual({
          request_kind: 'access',
          requested_at: expect.any(String),
          format: 'json',
          for_self: false,
          reason: 'forbidden',
        })
      }
    })

  it('leaves a FAILURE event for an administrator asking for an unknown member (404)',
    async () => {
      const requestId = `audit-404-${randomUUID()}`
      const token = await tokenFor(sql, admin, { aal: 'aal2' })
      const subject = randomUUID()
      expect((await exportTraced(token, { subject }, requestId)).status).toBe(404)
      const events = await eventsOf(requestId)
      expect(events.map((e) => [e.outcome, e.actor_id, e.target_id, e.metadata.reason]))
        .toEqual([['FAILURE', admin.id, subject, 'not_found']])
    })

  it('records nothing for a request refused before the caller is known (401)', async () => {
    const requestId = `audit-401-${randomUUID()}`
    const expired = await tokenFor(sql, alice, { expiresIn: -60 })
    expect((await exportTraced(expired, {}, requestId)).status).toBe(401)
    expect(await eventsOf(requestId)).toEqual([])
  })
})

describe('dsar-export: controls', () => {
  it('answers 503 while an administrator has paused exports, and records the refusal', async () => {
    await sql`update private.platform_switches set enabled = true, reason = 'test: incident'
              where name = 'exports_paused'`
    try {
      const { status, json } = await exportAs(await tokenFor(sql, alice))
      expect(status).toBe(503)
      expect(json.error.code).toBe('unavailable')
      expect(json.error.message).toBe('Exports are paused by an administrator; try again later')
    } finally {
      await sql`update private.platform_switches set enabled = false, reason = null
                where name = 'exports_paused'`
    }
    const [refusal] = await sql`select outcome, metadata ->> 'reason' as reason
      from audit.audit_log where action = 'dsar.export' and target_id = ${alice.id}
      order by id desc limit 1`
    expect(refusal).toEqual({ outcome: 'FAILURE', reason: 'paused' })
  })

  it('answers 429 to the eleventh export of one member within an hour', async () => {
    const carol = await createMember(sql)
    try {
      const token = await tokenFor(sql, carol)
      for (let i = 0; i < 10; i += 1) expect((await exportAs(token)).status).toBe(200)
      const { status, json } = await exportAs(token)
      expect(status).toBe(429)
      expect(json.error.code).toBe('rate_limited')
      expect(json.error.message).toMatch(
        /^Too many exports of this member in the last hour; try again in \d+ minute\(s\)$/)
    } finally {
      await sql`delete from auth.users where id = ${carol.id}`
    }
  })
})
