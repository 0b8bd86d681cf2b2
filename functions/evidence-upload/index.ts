/**
 * evidence-upload: a teacher attaches a file to one of their submissions.
 *
 * POST multipart/form-data with a `submission_id` field and a `file` part (its file name and
 * content type as the browser declares them). Only the owner of a submission that is still
 * PENDING may attach, at most private.rate_limit_rules('evidence-upload') uploads a minute.
 *
 * The file is judged by its content, never by its name:
 *   1. read with a bound: past EVIDENCE_MAX_BYTES the upload is refused (413 file_too_large)
 *      without reading the rest; zero bytes are refused (400 empty_file);
 *   2. scanned for malware as received (clamd over INSTREAM): an infected file is refused
 *      (422 infected; the signature goes to the audit trail, not to the caller), and a scan
 *      that gives no verdict refuses the upload (503 scanner_unavailable): fail closed;
 *   3. typed by its bytes (PDF, JPEG, PNG or WebP only) and checked against the declared type
 *      and the name's extension; markup, scripts, polyglots, truncated files, active PDF
 *      content and images declaring more than EVIDENCE_MAX_PIXELS are refused with their own
 *      codes (functions/_shared/evidence/refusal.ts);
 *   4. stripped of metadata (EXIF with GPS, XMP, IPTC, PNG text, WebP EXIF/XMP, PDF document
 *      information), pixels untouched;
 *   5. stored in the private `evidence` bucket at <owner>/<submission>/<random uuid>.<ext>,
 *      the extension from the detected type, and recorded in submission_attachments with its
 *      size, type, SHA-256 and scan verdict.
 * The scan runs beside steps 3 to 5; the row that makes the stored file reachable is written
 * only after a clean verdict, and the bytes are removed again on any other outcome.
 *
 * Every upload, accepted or refused, is in the audit trail as `evidence.upload` with its size,
 * type, verdict and reason; nothing about the file's content or name is logged.
 */
import { z } from 'zod'
import { type AuditEvent, recordAudit, recordAuditAlone } from '../_shared/audit.ts'
import { authenticate } from '../_shared/auth.ts'
import { AppError } from '../_shared/errors.ts'
import { inspectEvidence } from '../_shared/evidence/index.ts'
import { json, serveFunction } from '../_shared/http.ts'
import { readMultipart } from '../_shared/multipart.ts'
import { platform } from '../_shared/platform.ts'
import { takeRateLimit } from '../_shared/ratelimit.ts'
import { type Scanner, ScannerUnavailable, scannerFromConfig } from '../_shared/scanner.ts'

const BUCKET = 'evidence'
const SubmissionId = z.uuid().transform((id) => id.toLowerCase())

let scanner: Scanner | undefined

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('')
}

export const handler = serveFunction('evidence-upload', async (req, ctx) => {
  const { db, config } = ctx
  const caller = await authenticate(req, ctx.verify, db)
  if (caller.kind !== 'user') {
    throw new AppError('forbidden', 'Evidence is uploaded by the submission\'s owner')
  }
  await takeRateLimit(db, 'evidence-upload', caller.id)
  // Paused during an incident (platform switch uploads_paused).
  const [paused] = await db.asService((tx) => tx`select enabled from private.platform_switches
                                                 where name = 'uploads_paused'`)
  if (paused?.enabled) {
    await req.body?.cancel()
    throw new AppError('unavailable', 'Uploads are paused by an administrator; try again later')
  }
  scanner ??= scannerFromConfig(config)

  let submissionId: string | undefined
  const facts: Record<string, string | number | boolean | null> = {}
  const audit = (outcome: AuditEvent['outcome']): AuditEvent => ({
    action: 'evidence.upload',
    targetType: 'submission',
    targetId: submissionId,
    outcome,
    metadata: { ...facts },
    actorId: caller.id,
    requestId: ctx.requestId,
  })
  /** A refusal: recorded with its reason, then answered. */
  const refuse = async (error: AppError, details: typeof facts = {}): Promise<never> => {
    Object.assign(facts, { reason: error.code }, details)
    await recordAuditAlone(db, audit('FAILURE'), ctx.log)
    throw error
  }

  const timings: Record<string, number> = {}
  let mark = performance.now()
  const lap = (name: string) => {
    const now = performance.now()
    timings[`${name}_ms`] = Math.round((now - mark) * 10) / 10
    mark = now
  }
  try {
    const body = await readMultipart(req, {
      maxFileBytes: config.EVIDENCE_MAX_BYTES,
      tooLarge: () => new AppError('file_too_large',
        `The file is larger than ${Math.floor(config.EVIDENCE_MAX_BYTES / 1048576)} MB`),
    })
    const parsedId = SubmissionId.safeParse(body.fields.get('submission_id'))
    if (!parsedId.success) {
      throw new AppError('bad_request', 'The form needs "submission_id", a submission id (UUID)')
    }
    submissionId = parsedId.data
    const file = body.file
    if (!file) throw new AppError('bad_request', 'The form needs a "file" part')
    facts.bytes = file.bytes.byteLength
    if (file.bytes.byteLength > config.EVIDENCE_MAX_BYTES) {
      throw new AppError('file_too_large',
        `The file is larger than ${Math.floor(config.EVIDENCE_MAX_BYTES / 1048576)} MB`)
    }
    if (file.bytes.byteLength === 0) throw new AppError('empty_file', 'The file is empty')

    lap('read')
    // The submission, as the caller sees it through RLS: theirs, and still open.
    const [submission] = await db.asCaller(caller.claims, (tx) => tx`
      select owner_id, status from public.submissions where id = ${submissionId!}::uuid`)
    if (!submission || submission.owner_id !== caller.id) {
      throw new AppError('not_found', 'No submission of yours with this id')
    }
    if (submission.status !== 'PENDING') {
      throw new AppError('submission_not_pending',
        'Evidence can be added only while the submission awaits review')
    }

    lap('check')
    // The scan (clamd, another process) runs beside the content checks, the hash and the
    // upload to Storage. Until the scan says clean nothing points at the stored bytes: the
    // attachment row, which makes them reachable (evidence-url, the reviewers' storage
    // policy), is written only then, and any other outcome removes them again.
    const scanning = scanner.scan(file.bytes, { log: ctx.log })
      .then((verdict) => ({ verdict }), (error: unknown) => ({ error }))
    const checked = inspectEvidence(file.bytes, {
      fileName: file.name,
      declaredType: file.type,
      maxPixels: config.EVIDENCE_MAX_PIXELS,
    })
    lap('inspect')
    const storage = platform(config.SUPABASE_URL, config.SUPABASE_SERVICE_ROLE_KEY)
    let stored: { path: string; sha256: string } | undefined
    let storeError: unknown
    if (checked.ok) {
      facts.type = checked.mime
      facts.metadata_removed = checked.metadataRemoved
      if (checked.reason) facts.metadata_kept_reason = checked.reason
      const sha256 = await sha256Hex(checked.bytes)
      lap('hash')
      const path = `${caller.id}/${submissionId}/${crypto.randomUUID()}.${checked.ext}`
      try {
        await storage.putObject(BUCKET, path, checked.bytes, checked.mime)
        stored = { path, sha256 }
        facts.stored_bytes = checked.bytes.byteLength
      } catch (error) {
        storeError = error
      }
      lap('store')
    }
    const scan = await scanning
    lap('scan_wait')
    const discard = async () => {
      if (!stored) return
      await storage.removeObject(BUCKET, stored.path).catch((cause) =>
        ctx.log.error('evidence_orphan', { reason: (cause as Error).name }))
      delete facts.stored_bytes
    }
    if ('error' in scan) {
      await discard()
      if (scan.error instanceof ScannerUnavailable) {
        facts.verdict = 'not_scanned'
        throw new AppError('scanner_unavailable',
          'The file could not be checked for malware; nothing was stored. Try again later',
          { cause: scan.error })
      }
      throw scan.error
    }
    if (scan.verdict.verdict === 'infected') {
      await discard()
      facts.verdict = 'infected'
      return await refuse(new AppError('infected', 'The file was refused: it contains malware'),
        { signature: scan.verdict.signature.slice(0, 200) })
    }
    facts.verdict = scanner.kind === 'disabled' ? 'skipped' : 'clean'
    if (!checked.ok) throw new AppError(checked.code, checked.message)
    if (!stored) throw storeError
    const { path, sha256 } = stored

    try {
      const row = await db.asService(async (tx) => {
        // Still open? Locked until commit, so a reviewer's decision cannot slip in between.
        const [current] = await tx`select status from public.submissions
                                   where id = ${submissionId!}::uuid for share`
        if (current?.status !== 'PENDING') {
          throw new AppError('submission_not_pending',
            'Evidence can be added only while the submission awaits review')
        }
        const [attachment] = await tx`
          insert into public.submission_attachments (submission_id, owner_id, storage_bucket,
              storage_path, file_name, mime_type, byte_size, sha256, scan_status, scanned_at)
          values (${submissionId!}, ${caller.id}, ${BUCKET}, ${path}, ${checked.displayName},
              ${checked.mime}, ${checked.bytes.byteLength}, ${sha256},
              ${scanner!.kind === 'disabled' ? 'SKIPPED' : 'CLEAN'},
              ${scanner!.kind === 'disabled' ? null : new Date()})
          returning id, submission_id, file_name, mime_type, byte_size::integer, sha256,
              scan_status, scanned_at, created_at`
        facts.attachment_id = attachment!.id as string
        await recordAudit(tx, audit('SUCCESS'))
        return attachment!
      })
      ctx.log.info('evidence_stored', {
        attachment_id: row.id, type: checked.mime, bytes: checked.bytes.byteLength,
        removed: checked.removed.length, verdict: facts.verdict, ...timings,
      })
      return json({
        attachment: row,
        metadata_removed: checked.metadataRemoved,
        removed: checked.removed,
        ...(checked.reason ? { metadata_kept_reason: checked.reason } : {}),
      }, 201)
    } catch (error) {
      // The row could not be written: the stored bytes must not stay behind.
      await storage.removeObject(BUCKET, path).catch((cause) =>
        ctx.log.error('evidence_orphan', { reason: (cause as Error).name }))
      throw error
    }
  } catch (error) {
    if (error instanceof AppError && error.status < 500 || error instanceof AppError
      && error.code === 'scanner_unavailable') {
      if (!facts.reason) await refuse(error)
    }
    throw error
  }
}, { methods: ['POST'] })

if (import.meta.main) Deno.serve(handler)
