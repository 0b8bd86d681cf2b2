/**
 * dsar-delete over HTTP, against the Deno functions server of the test stack and its
 * stand-ins for the Storage and Auth admin APIs.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type postgres from 'postgres'
import { createMember, type Member, ownerSql, stack, tokenFor } from '../fixtures/stack.ts'

let sql: postgres.Sql
let dewi: Member
let dewi2: Member
let admin: Member
let file: string

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
  dewi = await createMember(sql)
  dewi2 = await createMember(sql)
  admin = await createMember(sql, { role: 'ADMIN', mfa: true })
  const [submission] = await sql`insert into public.submissions (owner_id, activity_code, title)
    values (${dewi.id}, 'LEARN', 'Refleksi kelas') returning id`
  file = `${dewi.id}/${submission!.id}/foto.jpg`
  await sql`insert into storage.buckets (id, name) values ('evidence', 'evidence')
            on conflict (id) do nothing`
  await sql`insert into storage.objects (bucket_id, name, owner) values ('evidence', ${file},
            ${dewi.id})`
  await sql`insert into public.submission_attachments (submission_id, owner_id, storage_path,
              file_name, mime_type, byte_size, sha256)
            values (${submission!.id}, ${dewi.id}, ${file}, 'foto.jpg', 'image/jpeg', 10,
              ${'a'.repeat(64)})`
})

afterAll(async () => {
  await sql`delete from auth.users where id in ${sql([dewi.id, dewi2.id, admin.id])}`
  await sql.end()
})

describe('dsar-delete', () => {
  it('refuses a member, even for themselves, with 403', async () => {
    const { status, json } = await call('dsar-delete', await tokenFor(sql, dewi),
      { subject: dewi.id, dry_run: false, mode: 'erase' })
    expect(status).toBe(403)
    expect(json.error.code).toBe('forbidden')
    const [kept] = await sql`select count(*)::int as n from public.users where id = ${dewi.id}`
    expect(kept!.n).toBe(1)
  })

  it('refuses an admin at aal1 with 403', async () => {
    const { status } = await call('dsar-delete', await tokenFor(sql, admin),
      { subject: dewi.id, dry_run: true })
    expect(status).toBe(403)
  })

  it('answers a dry run by default, listing what would happen and changing nothing',
    async () => {
      const { status, json } = await call('dsar-delete',
        await tokenFor(sql, admin, { aal: 'aal2' }), { subject: dewi.id, mode: 'erase' })
      expect(status).toBe(200)
      expect(json.dry_run).toBe(true)
      expect(json.locations).toContainEqual(expect.objectContaining({
        table_name: 'submission_attachments', action: 'delete', affected: '1' }))
      expect(json.files).toEqual({ to_remove: 1, kept: 0 })
      expect(json.account).toBe('would be deleted')
      const pseudonymise = await call('dsar-delete', await tokenFor(sql, admin, { aal: 'aal2' }),
        { subject: dewi.id, mode: 'pseudonymise' })
      expect(pseudonymise.json.account).toBe('would be banned')
      const [still] = await sql`select count(*)::int as n from storage.objects
                                where name = ${file}`
      expect(still!.n).toBe(1)
    })

  it('erases: rows, the file in Storage and the account go; the old token stops working',
    async () => {
      const oldToken = await tokenFor(sql, dewi)
      const { status, json } = await call('dsar-delete',
        await tokenFor(sql, admin, { aal: 'aal2' }),
        { subject: dewi.id, mode: 'erase', dry_run: false })
      expect(status).toBe(200)
      expect(json.account).toBe('deleted')
      expect(json.files.removed).toBeGreaterThanOrEqual(1)
      const [left] = await sql`select
          (select count(*)::int from public.users where id = ${dewi.id}) as profile,
          (select count(*)::int from auth.users where id = ${dewi.id}) as account,
          (select count(*)::int from storage.objects where name = ${file}) as files,
          (select count(*)::int from public.submissions where owner_id = ${dewi.id}) as work`
      expect(left).toEqual({ profile: 0, account: 0, files: 0, work: 0 })
      const [event] = await sql`select count(*)::int as n from audit.audit_log
        where action = 'dsar.delete' and outcome = 'SUCCESS' and actor_id = ${admin.id}
          and target_id like 'subject:%'`
      expect(event!.n).toBe(1)
      const again = await call('dsar-export', oldToken, {})
      expect(again.status).toBe(401)
    })

  it('keeps a file Storage would not remove queued, and removes it on a retry', async () => {
    const eka = await createMember(sql)
    const [submission] = await sql`insert into public.submissions (owner_id, activity_code,
      title) values (${eka.id}, 'LEARN', 'Catatan') returning id`
    const path = `${eka.id}/${submission!.id}/lembar.pdf`
    await sql`insert into storage.objects (bucket_id, name, owner, metadata)
              values ('evidence', ${path}, ${eka.id}, '{"simulate_failure": true}')`
    await sql`insert into public.submission_attachments (submission_id, owner_id, storage_path,
                file_name, mime_type, byte_size, sha256)
              values (${submission!.id}, ${eka.id}, ${path}, 'lembar.pdf', 'application/pdf',
                10, ${'b'.repeat(64)})`
    const token = await tokenFor(sql, admin, { aal: 'aal2' })
    const first = await call('dsar-delete', token,
      { subject: eka.id, mode: 'erase', dry_run: false })
    expect(first.status).toBe(200)
    expect(first.json.files.waiting).toBeGreaterThanOrEqual(1)
    const [queued] = await sql`select attempts, last_error, next_attempt_at > now() as later
      from private.storage_deletions where path = ${path}`
    expect(queued).toEqual({ attempts: 1, last_error: 'DELETE /storage/v1/object: 503',
      later: true })

    expect((await call('dsar-delete', await tokenFor(sql, dewi2), { retry_file_removals: true }))
      .status).toBe(403)
    await sql`update storage.objects set metadata = null where name = ${path}`
    await sql`update private.storage_deletions set next_attempt_at = now() where path = ${path}`
    const retry = await call('dsar-delete', token, { retry_file_removals: true })
    expect(retry.status).toBe(200)
    expect(retry.json.files.removed).toBeGreaterThanOrEqual(1)
    const [after] = await sql`select
        (select count(*)::int from storage.objects where name = ${path}) as files,
        (select done_at is not null from private.storage_deletions where path = ${path}) as done`
    expect(after).toEqual({ files: 0, done: true })
  })

  it('keeps a held submission, bans and strips the account, and answers the open request',
    async () => {
      const rani = await createMember(sql)
      const [kept] = await sql`insert into public.submissions (owner_id, activity_code, title)
        values (${rani.id}, 'PRESENT', 'Presentasi yang ditahan') returning id`
      await sql`insert into public.submissions (owner_id, activity_code, title)
        values (${rani.id}, 'LEARN', 'Catatan lain')`
      const memberToken = await tokenFor(sql, rani)
      await sql.begin(async (tx) => {
        await tx`select set_config('request.jwt.claims', ${JSON.stringify(JSON.parse(
          Buffer.from(memberToken.split('.')[1]!, 'base64url').toString()))}, true)`
        await tx`set local role authenticated`
        await tx`select public.file_dsar_request('deletion', 'Hapus akun saya')`
      })
      await sql`insert into private.legal_holds (scope, submission_id, reason, placed_by)
        values ('SUBMISSION', ${kept!.id}, 'perkara 12/2026', ${admin.id})`
      const { status, json } = await call('dsar-delete',
        await tokenFor(sql, admin, { aal: 'aal2' }),
        { subject: rani.id, mode: 'erase', dry_run: false })
      expect(status).toBe(200)
      expect(json.account).toBe('banned')
      const [request] = await sql`select id from public.dsar_requests
                                  where subject_id = ${rani.id}`
      expect(json.requests_completed).toEqual([request!.id])
      const [event] = await sql`select metadata -> 'requests_completed' as completed
        from audit.audit_log where action = 'dsar.delete' order by id desc limit 1`
      expect(event!.completed).toEqual([request!.id])
      const [account] = await sql`select email, phone, raw_user_meta_data,
          banned_until = 'infinity' as banned
        from auth.users where id = ${rani.id}`
      expect(account).toEqual({ email: `${rani.id}@erased.invalid`, phone: null,
        raw_user_meta_data: {}, banned: true })
      const [left] = await sql`select
          (select array_agg(id::text) from public.submissions where owner_id = ${rani.id}) as work,
          (select status::text from public.dsar_requests where subject_id = ${rani.id}) as request`
      expect(left).toEqual({ work: [kept!.id], request: 'completed' })
      // The old token files nothing more.
      const refused = await sql.begin(async (tx) => {
        await tx`select set_config('request.jwt.claims', ${JSON.stringify(JSON.parse(
          Buffer.from(memberToken.split('.')[1]!, 'base64url').toString()))}, true)`
        await tx`set local role authenticated`
        return await tx`select public.file_dsar_request('access', 'lagi')`
      }).catch((e: { code?: string }) => e.code)
      expect(refused).toBe('42501')
      expect((await call('dsar-export', memberToken, {})).status).toBe(401)
      // Leaves nothing for later suites, which count the demo cohort's rows.
      await sql`update private.legal_holds set lifted_at = now(), lifted_by = ${admin.id}
                where submission_id = ${kept!.id}`
      await sql`delete from auth.users where id = ${rani.id}`
      const [gone] = await sql`select count(*)::int as n from public.users where id = ${rani.id}`
      expect(gone!.n).toBe(0)
    })

  it('answers 404 for an unknown member and 400 for a malformed body', async () => {
    const token = await tokenFor(sql, admin, { aal: 'aal2' })
    expect((await call('dsar-delete', token, { subject: randomUUID() })).status).toBe(404)
    expect((await call('dsar-delete', token, { subject: 'x' })).status).toBe(400)
  })
})
