/**
 * evidence-upload and evidence-url over HTTP, against the test stack: its Deno gateway, its
 * clamd (EICAR signature only) and its Storage stand-in. The crafted corpus
 * (tests/fixtures/evidence-corpus.ts) goes through the real function, one file at a time.
 */
import { createHash, randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import exifr from 'exifr'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type postgres from 'postgres'
import { inspectEvidence } from '../../functions/_shared/evidence/index.ts'
import { startFunctions, waitForFunctions } from '../../stack/lib/functions.ts'
import { profile } from '../../stack/lib/profile.ts'
import { loadOrCreateSecrets } from '../../stack/lib/secrets.ts'
import { stopChild } from '../../stack/lib/stack.ts'
import { buildEvidenceCorpus, type CorpusEntry } from '../fixtures/evidence-corpus.ts'
import { createMember, type Member, ownerSql, stack, tokenFor } from '../fixtures/stack.ts'

let sql: postgres.Sql
let owner: Member
let other: Member
let reviewer: Member
let pending: string
let approved: string
let corpus: CorpusEntry[]

const EICAR_MARK = 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE'
const holdsEicar = (bytes: Uint8Array) => Buffer.from(bytes).includes(EICAR_MARK)
/**
 * Files clamd's own heuristics refuse before the content checks see them: the scan comes
 * first. (An escaped /JavaScript name is Heuristics.PDF.ObfuscatedNameObject.)
 */
const CAUGHT_BY_SCANNER_HEURISTICS = new Set(['pdf-javascript-escaped-name'])

async function upload(token: string, submissionId: string, file: {
  bytes: Uint8Array
  fileName: string
  declaredType: string | null
}, api = stack.apiUrl) {
  const form = new FormData()
  form.set('submission_id', submissionId)
  form.set('file', new Blob([file.bytes as Uint8Array<ArrayBuffer>],
    file.declaredType ? { type: file.declaredType } : {}), file.fileName)
  const res = await fetch(`${api}/functions/v1/evidence-upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  })
  const text = await res.text()
  return { res, status: res.status, json: text ? JSON.parse(text) : undefined }
}

async function link(token: string, attachmentId: string, expiresIn?: number) {
  const res = await fetch(`${stack.apiUrl}/functions/v1/evidence-url`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ attachment_id: attachmentId,
      ...(expiresIn ? { expires_in: expiresIn } : {}) }),
  })
  return { status: res.status, json: await res.json() }
}

const stored = async (submissionId: string) => {
  const [row] = await sql`select
      (select count(*)::int from public.submission_attachments
       where submission_id = ${submissionId}) as attachments,
      (select count(*)::int from storage.objects
       where bucket_id = 'evidence' and name like ${`%/${submissionId}/%`}) as objects`
  return row as { attachments: number; objects: number }
}

beforeAll(async () => {
  sql = ownerSql()
  owner = await createMember(sql)
  other = await createMember(sql)
  reviewer = await createMember(sql, { role: 'REVIEWER' })
  const [a] = await sql`insert into public.submissions (owner_id, activity_code, title)
    values (${owner.id}, 'LEARN', 'Lokakarya asesmen') returning id`
  const [b] = await sql`insert into public.submissions (owner_id, activity_code, title, status,
      reviewed_at)
    values (${owner.id}, 'SHINE', 'Sudah dinilai', 'APPROVED', now()) returning id`
  pending = a!.id as string
  approved = b!.id as string
  // The corpus is larger than a minute's allowance; the limit itself is tested below.
  await sql`update private.rate_limit_rules set max_requests = 1000
            where route in ('evidence-upload', 'evidence-url')`
  corpus = await buildEvidenceCorpus()
}, 60_000)

afterAll(async () => {
  await sql`update private.rate_limit_rules set max_requests = case route
      when 'evidence-upload' then 10 else 60 end
    where route in ('evidence-upload', 'evidence-url')`
  await sql`delete from auth.users where id in ${sql([owner.id, other.id, reviewer.id])}`
  await sql.end()
})

describe('evidence-upload: the crafted corpus through the function', () => {
  it('gives every file its verdict; refused files leave nothing behind', async () => {
    expect(corpus.length).toBeGreaterThanOrEqual(30)
    const token = await tokenFor(sql, owner)
    const outcomes: string[] = []
    for (const entry of corpus) {
      const before = await stored(pending)
      const { status, json } = await upload(token, pending, entry)
      const expected = entry.exceedsUploadLimit
        ? { status: 413, code: 'file_too_large' }
        : holdsEicar(entry.bytes) || CAUGHT_BY_SCANNER_HEURISTICS.has(entry.id)
        ? { status: 422, code: 'infected' }
        : entry.expect.ok
        ? { status: 201, code: undefined }
        : { status: undefined, code: entry.expect.code }
      outcomes.push(`${entry.id}: ${status} ${json?.error?.code ?? json?.attachment?.mime_type}`)
      expect(json?.error?.code, entry.id).toBe(expected.code)
      if (expected.status) expect(status, entry.id).toBe(expected.status)
      const after = await stored(pending)
      if (expected.status === 201) {
        expect(after, entry.id).toEqual({ attachments: before.attachments + 1,
          objects: before.objects + 1 })
        // What was stored is exactly what the library makes of the file.
        const local = inspectEvidence(entry.bytes, { fileName: entry.fileName,
          declaredType: entry.declaredType })
        expect(local.ok).toBe(true)
        if (local.ok) {
          expect(json.attachment.sha256, entry.id).toBe(
            createHash('sha256').update(local.bytes).digest('hex'))
          expect(json.attachment.mime_type).toBe(local.mime)
        }
        expect(json.attachment.scan_status).toBe('CLEAN')
        expect(json.attachment.byte_size).toBe(local.ok ? local.bytes.byteLength : -1)
      } else {
        expect(status, entry.id).toBeGreaterThanOrEqual(400)
        expect(after, entry.id).toEqual(before)
      }
    }
    expect(outcomes.length).toBe(corpus.length)
  }, 120_000)
})

describe('evidence-upload and evidence-url: a phone photo', () => {
  let attachment: string
  let original: CorpusEntry

  beforeAll(() => {
    original = corpus.find((e) => e.id === 'jpeg-exif-gps-xmp-iptc-comment')!
  })

  it('stores the photo at <owner>/<submission>/<uuid>.jpg, without its GPS position', async () => {
    expect((await exifr.gps(Buffer.from(original.bytes)))?.latitude).toBeTypeOf('number')
    const { status, json } = await upload(await tokenFor(sql, owner), pending, {
      ...original, fileName: 'IMG_2041.JPG' })
    expect(status).toBe(201)
    attachment = json.attachment.id
    const [row] = await sql`select storage_path, file_name, scan_status::text, scanned_at
      from public.submission_attachments where id = ${attachment}`
    expect(row!.storage_path).toMatch(
      new RegExp(`^${owner.id}/${pending}/[0-9a-f-]{36}\\.jpg$`))
    expect(row!.file_name).toBe('IMG_2041.JPG')
    expect(row!.scan_status).toBe('CLEAN')
    expect(row!.scanned_at).toBeInstanceOf(Date)

    const { status: linkStatus, json: signed } = await link(await tokenFor(sql, owner), attachment)
    expect(linkStatus).toBe(200)
    const expires = Date.parse(signed.expires_at) - Date.now()
    expect(expires).toBeGreaterThan(280_000)
    expect(expires).toBeLessThanOrEqual(300_000)
    const download = await fetch(signed.url)
    expect(download.status).toBe(200)
    expect(download.headers.get('content-type')).toBe('image/jpeg')
    const bytes = Buffer.from(await download.arrayBuffer())
    expect(await exifr.gps(bytes)).toBeUndefined()
    const tags = await exifr.parse(bytes, { xmp: true, iptc: true }).catch(() => undefined)
    expect(tags?.Make ?? tags?.Model ?? tags?.latitude).toBeUndefined()
    for (const secret of original.secrets ?? []) expect(bytes.includes(secret)).toBe(false)
    // The same pixels as the photo that was sent.
    const pixels = async (b: Uint8Array) => sharp(b).raw().toBuffer()
    expect((await pixels(bytes)).equals(await pixels(original.bytes))).toBe(true)
  })

  it('lets a reviewer have a link, and refuses another participant as if it did not exist',
    async () => {
      expect((await link(await tokenFor(sql, reviewer), attachment)).status).toBe(200)
      const denied = await link(await tokenFor(sql, other), attachment)
      expect(denied.status).toBe(404)
      expect(denied.json.error.code).toBe('not_found')
      const unknown = await link(await tokenFor(sql, other), randomUUID())
      expect(unknown.json).toMatchObject({ error: { code: 'not_found',
        message: denied.json.error.message } })
    })

  it('keeps another participant from reading, listing or writing the owner\'s folder',
    async () => {
      const [row] = await sql`select storage_path from public.submission_attachments
                              where id = ${attachment}`
      const token = await tokenFor(sql, other)
      const object = `${stack.apiUrl}/storage/v1/object/evidence/${row!.storage_path}`
      const read = await fetch(object, { headers: { authorization: `Bearer ${token}` } })
      expect(read.status).toBe(404)
      await read.body?.cancel()
      const sign = await fetch(object.replace('/object/', '/object/sign/'), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ expiresIn: 60 }),
      })
      expect(sign.status).toBe(404)
      await sign.body?.cancel()
      const listAs = async (who: string, prefix: string) => {
        const res = await fetch(`${stack.apiUrl}/storage/v1/object/list/evidence`, {
          method: 'POST',
          headers: { authorization: `Bearer ${who}`, 'content-type': 'application/json' },
          body: JSON.stringify({ prefix }),
        })
        expect(res.status).toBe(200)
        return (await res.json() as Array<{ name: string }>).map((i) => i.name)
      }
      expect(await listAs(token, `${owner.id}/${pending}`)).toEqual([])
      expect(await listAs(token, owner.id)).toEqual([])
      const mine = await listAs(await tokenFor(sql, owner), `${owner.id}/${pending}`)
      expect(mine).toContain(row!.storage_path.split('/').at(-1))
      expect(await listAs(await tokenFor(sql, owner), owner.id)).toContain(pending)
      const write = await fetch(
        `${stack.apiUrl}/storage/v1/object/evidence/${owner.id}/${pending}/planted.jpg`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'image/jpeg' },
          body: new Uint8Array([0xff, 0xd8, 0xff, 0xd9]),
        })
      expect(write.status).toBe(403)
      await write.body?.cancel()
      // Even the owner writes only through the function.
      const direct = await fetch(
        `${stack.apiUrl}/storage/v1/object/evidence/${owner.id}/${pending}/direct.jpg`, {
          method: 'POST',
          headers: { authorization: `Bearer ${await tokenFor(sql, owner)}`,
            'content-type': 'image/jpeg' },
          body: new Uint8Array([0xff, 0xd8, 0xff, 0xd9]),
        })
      expect(direct.status).toBe(403)
      await direct.body?.cancel()
      const [objects] = await sql`select count(*)::int as n from storage.objects
        where name like ${`%/${pending}/planted.jpg`} or name like ${`%/${pending}/direct.jpg`}`
      expect(objects!.n).toBe(0)
    })

  it('refuses a tampered link and an expired one', async () => {
    const { json: signed } = await link(await tokenFor(sql, owner), attachment, 10)
    const tampered = await fetch(signed.url.replace(/token=([^.]+)\.([^.]+)\./,
      (_m: string, h: string, p: string) => `token=${h}.${p.slice(0, -2)}AA.`))
    expect(tampered.status).toBe(400)
    await tampered.body?.cancel()
    // Storage itself signs for a second; the link stops working once that has passed.
    const [row] = await sql`select storage_path from public.submission_attachments
                            where id = ${attachment}`
    const short = await fetch(
      `${stack.apiUrl}/storage/v1/object/sign/evidence/${row!.storage_path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.serviceRoleKey}`,
          'content-type': 'application/json' },
        body: JSON.stringify({ expiresIn: 1 }),
      })
    const { signedURL } = await short.json() as { signedURL: string }
    await new Promise((r) => setTimeout(r, 2100))
    const expired = await fetch(`${stack.apiUrl}/storage/v1${signedURL}`)
    expect(expired.status).toBe(400)
    await expired.body?.cancel()
  })

  it('audits the upload and each link, with size, type and verdict', async () => {
    const events = await sql`select action, outcome::text, metadata from audit.audit_log
      where (action = 'evidence.upload' and metadata ->> 'attachment_id' = ${attachment})
         or (action = 'evidence.url' and target_id = ${attachment})
      order by id`
    expect(events[0]).toMatchObject({ action: 'evidence.upload', outcome: 'SUCCESS',
      metadata: { type: 'image/jpeg', verdict: 'clean', bytes: original.bytes.byteLength } })
    expect(events.filter((e) => e.action === 'evidence.url' && e.outcome === 'SUCCESS').length)
      .toBeGreaterThanOrEqual(3)
    expect(events.some((e) => e.action === 'evidence.url' && e.outcome === 'FAILURE'))
      .toBe(true)
  })
})

describe('evidence-upload: refusals', () => {
  const jpeg = () => corpus.find((e) => e.id === 'jpeg-plain')!

  it('names malware only in the audit trail', async () => {
    const eicar = corpus.find((e) => e.id === 'eicar-named-pdf')!
    const requestId = `malware-${randomUUID()}`
    const form = new FormData()
    form.set('submission_id', pending)
    form.set('file', new Blob([eicar.bytes as Uint8Array<ArrayBuffer>],
      { type: 'application/pdf' }), 'laporan.pdf')
    const res = await fetch(`${stack.apiUrl}/functions/v1/evidence-upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await tokenFor(sql, owner)}`,
        'x-request-id': requestId },
      body: form,
    })
    const text = await res.text()
    expect(res.status).toBe(422)
    expect(JSON.parse(text).error.code).toBe('infected')
    expect(text).not.toMatch(/Leaps\.Test|EICAR/i)
    const [event] = await sql`select outcome::text, metadata from audit.audit_log
                              where request_id = ${requestId}`
    expect(event).toMatchObject({ outcome: 'FAILURE', metadata: { reason: 'infected',
      verdict: 'infected', signature: 'Leaps.Test.EICAR.UNOFFICIAL' } })
  })

  it('refuses files for a submission that is no longer pending, or is not the caller\'s',
    async () => {
      const closed = await upload(await tokenFor(sql, owner), approved, jpeg())
      expect(closed.status).toBe(409)
      expect(closed.json.error.code).toBe('submission_not_pending')
      const foreign = await upload(await tokenFor(sql, reviewer), pending, jpeg())
      expect(foreign.status).toBe(404)
      expect(await stored(approved)).toEqual({ attachments: 0, objects: 0 })
    })

  it('refuses a file when a reviewer decides the submission while it is being uploaded',
    async () => {
      const [s] = await sql`insert into public.submissions (owner_id, activity_code, title)
        values (${owner.id}, 'LEARN', 'Diputuskan saat unggah') returning id`
      const before = await stored(s!.id as string)
      let upload_: Promise<Awaited<ReturnType<typeof upload>>> | undefined
      await sql.begin(async (tx) => {
        await tx`update public.submissions set status = 'APPROVED', reviewed_at = now()
                 where id = ${s!.id}`
        // The upload runs while the decision is not yet committed, and must wait for it.
        upload_ = upload(await tokenFor(sql, owner), s!.id as string, jpeg())
        await new Promise((r) => setTimeout(r, 1500))
      })
      const { status, json } = await upload_!
      expect(status).toBe(409)
      expect(json.error.code).toBe('submission_not_pending')
      expect(await stored(s!.id as string)).toEqual(before)
    })

  it('answers 415 to a body that is not multipart, 405 to GET, 400 to a missing file',
    async () => {
      const token = await tokenFor(sql, owner)
      const url = `${stack.apiUrl}/functions/v1/evidence-upload`
      const asJson = await fetch(url, { method: 'POST', body: '{}',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } })
      expect(asJson.status).toBe(415)
      expect((await asJson.json()).error.code).toBe('unsupported_media_type')
      const get = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
      expect(get.status).toBe(405)
      await get.body?.cancel()
      const form = new FormData()
      form.set('submission_id', pending)
      const noFile = await fetch(url, { method: 'POST', body: form,
        headers: { authorization: `Bearer ${token}` } })
      expect(noFile.status).toBe(400)
      expect((await noFile.json()).error.code).toBe('bad_request')
    })

  it('limits uploads per minute, answering 429 with Retry-After', async () => {
    await sql`update private.rate_limit_rules set max_requests = 2
              where route = 'evidence-upload'`
    const member = await createMember(sql)
    try {
      const [s] = await sql`insert into public.submissions (owner_id, activity_code, title)
        values (${member.id}, 'LEARN', 'Batas') returning id`
      const token = await tokenFor(sql, member)
      const statuses: number[] = []
      let retryAfter: string | null = null
      for (let i = 0; i < 3; i += 1) {
        const { status, res } = await upload(token, s!.id as string, jpeg())
        statuses.push(status)
        retryAfter = res.headers.get('retry-after')
      }
      // The third may fall into a new minute; then it is the fourth that is refused.
      if (statuses[2] !== 429) {
        const { status, res } = await upload(token, s!.id as string, jpeg())
        statuses.push(status)
        retryAfter = res.headers.get('retry-after')
      }
      expect(statuses.slice(0, 2)).toEqual([201, 201])
      expect(statuses.at(-1)).toBe(429)
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1)
      expect(Number(retryAfter)).toBeLessThanOrEqual(60)
    } finally {
      await sql`update private.rate_limit_rules set max_requests = 1000
                where route = 'evidence-upload'`
      await sql`delete from auth.users where id = ${member.id}`
    }
  })
})

describe('evidence-upload with the scanner down', () => {
  it('answers 503 scanner_unavailable and stores nothing (fail closed)', async () => {
    // A second gateway like the test stack's, pointed at a port where no clamd listens.
    const free = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const port = (probe.address() as { port: number }).port
        probe.close(() => resolve(port))
      })
    })
    const apiPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const port = (probe.address() as { port: number }).port
        probe.close(() => resolve(port))
      })
    })
    const base = profile('test')
    const p = { ...base, apiPort, clamdPort: free }
    const functions = startFunctions(p, await loadOrCreateSecrets(base))
    try {
      await waitForFunctions(p, functions)
      const before = await stored(pending)
      const { status, json } = await upload(await tokenFor(sql, owner), pending,
        corpus.find((e) => e.id === 'jpeg-plain')!, `http://127.0.0.1:${apiPort}`)
      expect(status).toBe(503)
      expect(json.error.code).toBe('scanner_unavailable')
      expect(await stored(pending)).toEqual(before)
      const [event] = await sql`select outcome::text, metadata from audit.audit_log
        where action = 'evidence.upload' and metadata ->> 'reason' = 'scanner_unavailable'
        order by id desc limit 1`
      expect(event!.outcome).toBe('FAILURE')
      expect(event!.metadata).toMatchObject({ verdict: 'not_scanned', type: 'image/jpeg' })
      expect(event!.metadata).not.toHaveProperty('stored_bytes')
    } finally {
      await stopChild(functions)
    }
  }, 60_000)
})
