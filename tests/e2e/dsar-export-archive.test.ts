/**
 * dsar-export with "format": "zip", over HTTP against the test stack: the archive's entries,
 * its agreement with the JSON answer, evidence files copied from the local Storage stand-in,
 * hostile file names, and the processing history.
 */
import { randomUUID } from 'node:crypto'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { strFromU8, unzipSync } from 'fflate'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type postgres from 'postgres'
import { storageDir } from '../../stack/lib/functions.ts'
import { profile } from '../../stack/lib/profile.ts'
import { createMember, type Member, ownerSql, stack, tokenFor } from '../fixtures/stack.ts'

let sql: postgres.Sql
let rani: Member
let other: Member
let submission: string
const photo = new Uint8Array(Array.from({ length: 70_000 }, (_, i) => (i * 7 + 3) % 256))
const files: Array<{ id: string; path: string; name: string }> = []

async function exportAs(token: string, body: unknown) {
  return fetch(`${stack.apiUrl}/functions/v1/dsar-export`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

/** Stores bytes through the Storage stand-in's upload endpoint, as the platform would. */
async function upload(path: string, bytes: Uint8Array<ArrayBuffer>, type: string) {
  const res = await fetch(`${stack.apiUrl}/storage/v1/object/evidence/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.serviceRoleKey}`, 'content-type': type },
    body: bytes,
  })
  expect(res.status).toBe(200)
  await res.body?.cancel()
}

async function attach(name: string, bytes: Uint8Array<ArrayBuffer> | undefined) {
  const path = `${rani.id}/${submission}/${randomUUID()}.pdf`
  if (bytes) await upload(path, bytes, 'application/pdf')
  const [row] = await sql`insert into public.submission_attachments (submission_id, owner_id,
      storage_path, file_name, mime_type, byte_size, sha256)
    values (${submission}, ${rani.id}, ${path}, ${name}, 'application/pdf',
      ${bytes?.byteLength ?? 1}, ${'b'.repeat(64)})
    returning id`
  files.push({ id: row!.id as string, path, name })
  return row!.id as string
}

beforeAll(async () => {
  sql = ownerSql()
  rani = await createMember(sql)
  other = await createMember(sql)
  const [row] = await sql`insert into public.submissions (owner_id, activity_code, title, payload)
    values (${rani.id}, 'EXPLORE', 'Kunjungan ke sekolah mitra', '{"hours": 12345678901234567890}')
    returning id`
  submission = row!.id as string
  await attach('laporan kunjungan.pdf', photo)
  await attach('../../etc/cron.d/evil\u0007name.pdf', new Uint8Array([37, 80, 68, 70, 45]))
  await attach('hilang.pdf', undefined)
})

afterAll(async () => {
  await sql`delete from auth.users where id in ${sql([rani.id, other.id])}`
  await sql.end()
})

describe('dsar-export as a ZIP archive', () => {
  it('holds data.json, index.html and the files, and data.json matches the JSON answer',
    async () => {
      const token = await tokenFor(sql, rani)
      const res = await exportAs(token, { format: 'zip' })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/zip')
      expect(res.headers.get('content-disposition')).toContain(`leaps-export-${rani.id}.zip`)
      const zip = unzipSync(new Uint8Array(await res.arrayBuffer()))
      const names = Object.keys(zip).sort()
      expect(names).toEqual([
        `attachments/${files[0]!.id}/laporan kunjungan.pdf`,
        `attachments/${files[1]!.id}/evil_name.pdf`,
        'data.json',
        'index.html',
      ].sort())
      expect(zip[`attachments/${files[0]!.id}/laporan kunjungan.pdf`]).toEqual(photo)

      const data = JSON.parse(strFromU8(zip['data.json']!))
      const plain = await (await exportAs(token, { format: 'json' })).json()
      // Two exports differ only in when and by which request they were made, and in the
      // history, which now also holds the first export.
      for (const key of Object.keys(plain)) {
        if (['export_timestamp', 'request_id', 'processing_history'].includes(key)) continue
        expect(data[key], key).toEqual(plain[key])
      }
      expect(Object.keys(data).sort()).toEqual(Object.keys(plain).sort())
      expect(data.attachments.map((a: { id: string }) => a.id).sort())
        .toEqual(files.map((f) => f.id).sort())
      // Numbers beyond double precision survive as written.
      expect(strFromU8(zip['data.json']!)).toContain('12345678901234567890')
    })

  it('writes a page that names the member, links the files and marks the missing one',
    async () => {
      const res = await exportAs(await tokenFor(sql, rani), { format: 'zip' })
      const page = strFromU8(unzipSync(new Uint8Array(await res.arrayBuffer()))['index.html']!)
      expect(page).toContain(rani.handle)
      expect(page).toContain(rani.email)
      expect(page).toContain('Kunjungan ke sekolah mitra')
      expect(page).toContain(`href="attachments/${files[0]!.id}/laporan%20kunjungan.pdf"`)
      expect(page).toContain('hilang.pdf (no longer in storage)')
      // No script can run and nothing is fetched from elsewhere.
      expect(page).toContain("default-src 'none'")
      expect(page).not.toMatch(/<script|src=|https?:\/\//i)
      // The hostile name is shown escaped, never as markup or a path.
      expect(page).not.toContain('\u0007')
    })

  it('lists the member\'s processing history, their own acts and acts about them', async () => {
    const admin = await createMember(sql, { role: 'ADMIN', mfa: true })
    try {
      const adminToken = await tokenFor(sql, admin, { aal: 'aal2' })
      expect((await exportAs(adminToken, { subject: rani.id })).status).toBe(200)
      const token = await tokenFor(sql, rani)
      await sql`update public.users set school = 'SD Negeri 3' where id = ${rani.id}`
      const doc = await (await exportAs(token, {})).json()
      const history = doc.processing_history as Array<Record<string, unknown>>
      const exports = history.filter((h) => h.action === 'dsar.export')
      expect(exports.length).toBeGreaterThanOrEqual(3)
      const byAdmin = exports.find((h) => h.by === 'user')
      expect(byAdmin).toMatchObject({ target_type: 'user', target_id: rani.id })
      // The administrator is not named, nor their address.
      expect(JSON.stringify(history)).not.toContain(admin.id)
      expect(byAdmin!.ip_address).toBeNull()
      expect(exports.some((h) => h.by === 'you')).toBe(true)
      const times = history.map((h) => Date.parse(h.occurred_at as string))
      expect(times).toEqual([...times].sort((a, b) => a - b))
    } finally {
      await sql`delete from auth.users where id = ${admin.id}`
    }
  })

  it('records the archive export with its format', async () => {
    const requestId = `zip-${randomUUID()}`
    const res = await fetch(`${stack.apiUrl}/functions/v1/dsar-export`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await tokenFor(sql, rani)}`,
        'content-type': 'application/json',
        'x-request-id': requestId,
      },
      body: JSON.stringify({ format: 'zip' }),
    })
    await res.arrayBuffer()
    const events = await sql`select outcome::text, metadata from audit.audit_log
                             where request_id = ${requestId}`
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ outcome: 'SUCCESS', metadata: { format: 'zip' } })
  })

  it('records an export the reader abandons half-way as interrupted', async () => {
    // Enough history that the answer cannot fit in the buffers before the reader stops.
    await sql`insert into audit.audit_log (actor_id, actor_type, action, target_type, metadata)
      select ${rani.id}::uuid, 'USER', 'submission.read', 'public.submissions',
        jsonb_build_object('n', g, 'padding', repeat('x', 200))
      from generate_series(1, 20000) as g`
    const requestId = `cut-${randomUUID()}`
    const res = await fetch(`${stack.apiUrl}/functions/v1/dsar-export`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await tokenFor(sql, rani)}`,
        'content-type': 'application/json',
        'x-request-id': requestId,
      },
      body: JSON.stringify({}),
    })
    const reader = res.body!.getReader()
    await reader.read()
    await reader.cancel()
    let outcomes: string[] = []
    for (let i = 0; i < 50 && outcomes.length < 2; i += 1) {
      await new Promise((r) => setTimeout(r, 100))
      outcomes = (await sql`select outcome::text from audit.audit_log
                            where request_id = ${requestId} order by id`).map((r) => r.outcome)
    }
    expect(outcomes).toEqual(['SUCCESS', 'FAILURE'])
    const [cut] = await sql`select metadata ->> 'reason' as reason from audit.audit_log
                            where request_id = ${requestId} and outcome = 'FAILURE'`
    expect(cut!.reason).toBe('interrupted')
    // The snapshot's transaction ended with the reader: no export is left holding a connection.
    const open = await sql`select count(*)::int as n from pg_stat_activity
      where application_name = 'leaps-guard-functions' and state like 'idle in transaction%'`
    expect(open[0]!.n).toBe(0)
  })

  it('refuses an unknown format with 400 and another member\'s archive with 403', async () => {
    const token = await tokenFor(sql, rani)
    const bad = await exportAs(token, { format: 'tar' })
    expect(bad.status).toBe(400)
    expect((await bad.json()).error.code).toBe('bad_request')
    const denied = await exportAs(await tokenFor(sql, other), { subject: rani.id, format: 'zip' })
    expect(denied.status).toBe(403)
    await denied.body?.cancel()
  })
})

describe('local Storage stand-in', () => {
  const object = (path: string) => `${stack.apiUrl}/storage/v1/object/evidence/${path}`

  it('serves stored bytes to the service role and refuses a caller without a token', async () => {
    const path = files[0]!.path
    const ok = await fetch(object(path), {
      headers: { authorization: `Bearer ${stack.serviceRoleKey}` },
    })
    expect(ok.status).toBe(200)
    expect(new Uint8Array(await ok.arrayBuffer())).toEqual(photo)
    const anonymous = await fetch(object(path))
    expect(anonymous.status).toBe(401)
    await anonymous.body?.cancel()
  })

  it('writes nothing to disk for a missing bucket or past the bucket\'s limit', async () => {
    const incoming = path.join(storageDir(profile('test')), 'incoming')
    const auth = { authorization: `Bearer ${stack.serviceRoleKey}`,
      'content-type': 'application/octet-stream' }
    const missing = await fetch(`${stack.apiUrl}/storage/v1/object/no-such-bucket/a/b.bin`, {
      method: 'POST', headers: auth, body: new Uint8Array(1024) })
    expect(missing.status).toBe(404)
    await missing.body?.cancel()
    // Sent in pieces without a length: the limit is enforced while the bytes arrive.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 11; i += 1) controller.enqueue(new Uint8Array(1024 * 1024))
        controller.close()
      },
    })
    const big = await fetch(`${stack.apiUrl}/storage/v1/object/evidence/${rani.id}/big.bin`, {
      method: 'POST', headers: auth, body, duplex: 'half' } as RequestInit)
    expect(big.status).toBe(413)
    await big.body?.cancel()
    expect(readdirSync(incoming)).toEqual([])
    const [row] = await sql`select count(*)::int as n from storage.objects
                            where name = ${`${rani.id}/big.bin`}`
    expect(row!.n).toBe(0)
  })

  it('refuses to overwrite an object unless asked to, and keeps the first bytes', async () => {
    const path = files[0]!.path
    const again = await fetch(object(path), {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.serviceRoleKey}`, 'content-type': 'text/plain' },
      body: 'other bytes',
    })
    expect(again.status).toBe(409)
    await again.body?.cancel()
    const read = await fetch(object(path), {
      headers: { authorization: `Bearer ${stack.serviceRoleKey}` },
    })
    expect(new Uint8Array(await read.arrayBuffer())).toEqual(photo)
  })

  it('issues signed links that work until they expire and fail when tampered with', async () => {
    const path = files[1]!.path
    const signed = await fetch(`${stack.apiUrl}/storage/v1/object/sign/evidence/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.serviceRoleKey}`,
        'content-type': 'application/json' },
      body: JSON.stringify({ expiresIn: 60 }),
    })
    expect(signed.status).toBe(200)
    const { signedURL } = await signed.json() as { signedURL: string }
    const link = `${stack.apiUrl}/storage/v1${signedURL}`
    const ok = await fetch(link)
    expect(ok.status).toBe(200)
    expect(new Uint8Array(await ok.arrayBuffer())).toEqual(new Uint8Array([37, 80, 68, 70, 45]))
    // A character in the middle of the signature (the last one may carry only padding bits).
    const at = link.length - 10
    const tampered = await fetch(link.slice(0, at) + (link[at] === 'A' ? 'B' : 'A')
      + link.slice(at + 1))
    expect(tampered.status).toBe(400)
    await tampered.body?.cancel()
    // The same token for another object is refused.
    const elsewhere = await fetch(link.replace(files[1]!.path, files[0]!.path))
    expect(elsewhere.status).toBe(400)
    await elsewhere.body?.cancel()
  })

  it('forgets an object\'s bytes when it is removed, and its signed link stops working',
    async () => {
      const path = `${rani.id}/${submission}/${randomUUID()}.pdf`
      await upload(path, new Uint8Array([1, 2, 3]), 'application/pdf')
      const auth = { authorization: `Bearer ${stack.serviceRoleKey}` }
      const signed = await fetch(`${stack.apiUrl}/storage/v1/object/sign/evidence/${path}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ expiresIn: 60 }),
      })
      const { signedURL } = await signed.json() as { signedURL: string }
      const removed = await fetch(object(path), { method: 'DELETE', headers: auth })
      expect(removed.status).toBe(200)
      await removed.body?.cancel()
      const [row] = await sql`select count(*)::int as n from storage.objects
                              where bucket_id = 'evidence' and name = ${path}`
      expect(row!.n).toBe(0)
      const link = await fetch(`${stack.apiUrl}/storage/v1${signedURL}`)
      expect(link.status).toBe(404)
      await link.body?.cancel()
    })
})
