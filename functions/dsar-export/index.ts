/**
 * dsar-export: a data subject's copy of their personal data (right of access, UU 27/2022).
 *
 * POST { "subject": "<user id>", "format": "json" | "zip" }; the subject defaults to the
 * caller. A member may export only themselves (also while suspended); an ADMIN or SUPERADMIN
 * at aal2 (export:download) may export anyone; a service-role caller must name the subject.
 * Refusals do not reveal whether a subject exists.
 *
 * - "json" (the default) answers data.json alone: every section of the personal data
 *   registry, the processing history from the audit trail, and the facts an access answer
 *   must give (`about_this_data`: purposes, categories, recipients, retention, sources,
 *   rights). Field names are stable within the `format` named in the document.
 * - "zip" answers an archive: data.json, a readable index.html, and the member's evidence
 *   files under attachments/<attachment id>/<file name>. It is streamed: memory stays bounded
 *   whatever the member's history and files hold.
 *
 * Exports stop while an administrator has paused them (503 unavailable), and a subject is
 * exported at most private.exports_per_hour() times an hour (429 rate_limited).
 *
 * Every answered request is in the audit trail as `dsar.export` on target `user` <subject>,
 * committed before the first byte is sent: if the record cannot be written the answer is 500
 * and nothing leaves. An export cut short while streaming (the reader went away, the
 * database failed) is recorded again as FAILURE with reason `interrupted`. A refusal is
 * recorded as FAILURE in a transaction of its own; a failure to record it is logged.
 */
import { makeZip } from 'client-zip'
import { z } from 'zod'
import { type AuditEvent, recordAudit, recordAuditAlone } from '../_shared/audit.ts'
import { authenticate } from '../_shared/auth.ts'
import { config } from '../_shared/config.ts'
import { AppError } from '../_shared/errors.ts'
import { readJsonObject, serveFunction } from '../_shared/http.ts'
import { platform } from '../_shared/platform.ts'
import { type AttachmentFile, openSnapshot } from './document.ts'
import { type PageFile, renderIndex } from './page.ts'

export { EXPORT_FORMAT } from './document.ts'

const Body = z.strictObject({
  subject: z.uuid().transform((id) => id.toLowerCase()).optional(),
  format: z.enum(['json', 'zip']).default('json'),
})

/**
 * A file's place in the archive. The stored name is the uploader's: only its last segment is
 * used, without control characters or anything a tool could read as a path, so nothing in
 * the archive can land outside its folder when extracted.
 */
export function archivePath(file: Pick<AttachmentFile, 'id' | 'file_name'>): string {
  const base = file.file_name.split(/[\\/]/).pop() ?? ''
  const safe = base
    .replace(/[\u0000-\u001f\u007f:*?"<>|]/g, '_')
    .replace(/^[.\s]+/, '')
    .slice(0, 120)
  return `attachments/${file.id}/${safe || 'file'}`
}

export const handler = serveFunction('dsar-export', async (req, ctx) => {
  const requestedAt = new Date().toISOString()
  const db = ctx.db
  const caller = await authenticate(req, ctx.verify, db)
  const parsed = Body.safeParse(await readJsonObject(req))
  if (!parsed.success) {
    throw new AppError('bad_request',
      'The body may hold only "subject", a user id (UUID), and "format", "json" or "zip"')
  }
  const subject = parsed.data.subject ?? (caller.kind === 'user' ? caller.id : undefined)
  if (!subject) throw new AppError('bad_request', 'Service calls must name the "subject"')
  const forSelf = caller.kind === 'user' && caller.id === subject
  const format = parsed.data.format
  const event = (outcome: AuditEvent['outcome'], details: AuditEvent['metadata']): AuditEvent => ({
    action: 'dsar.export',
    targetType: 'user',
    targetId: subject,
    outcome,
    metadata: { request_kind: 'access', requested_at: requestedAt, format, ...details },
    actorId: caller.kind === 'user' ? caller.id : undefined,
    requestId: ctx.requestId,
  })

  // Members always reach their own data: the right of access does not depend on the account
  // being in good standing, so a suspended member may still export. Anyone else's data needs
  // export:download in an allowed session (active, aal2 for administrators), decided by the
  // same helpers the RLS policies use.
  if (caller.kind === 'user' && !forSelf) {
    const [rights] = await db.asCaller(caller.claims, (tx) => tx`
      select private.session_allowed() and private.authorize('export:download') as allowed`)
    if (rights?.allowed !== true) {
      const refusal = event('FAILURE', { for_self: false, reason: 'forbidden' })
      await recordAuditAlone(db, refusal, ctx.log)
      throw new AppError('forbidden', 'You may not export this member\'s data')
    }
  }

  // Paused by an administrator, or this subject exported too often: refused, and recorded.
  const [gate] = await db.asService((tx) => tx<Array<{ allowed: boolean; reason: string | null;
    retry_after_seconds: number | null }>>`
    select allowed, reason, retry_after_seconds from private.export_allowed(${subject}::uuid)`)
  if (gate && !gate.allowed) {
    await recordAuditAlone(db, event('FAILURE', { for_self: forSelf, reason: gate.reason }),
      ctx.log)
    if (gate.reason === 'paused') {
      throw new AppError('unavailable', 'Exports are paused by an administrator; try again later')
    }
    const minutes = Math.ceil((gate.retry_after_seconds ?? 60) / 60)
    throw new AppError('rate_limited',
      `Too many exports of this member in the last hour; try again in ${minutes} minute(s)`,
      { headers: { 'retry-after': String(gate.retry_after_seconds ?? 60) } })
  }

  // The record first, committed, so that no byte leaves without it; an unknown subject is
  // recorded as a failure.
  const exportTimestamp = new Date().toISOString()
  const { found, auditId } = await db.asService(async (tx) => {
    const [row] = await tx`select 1 from public.users where id = ${subject}::uuid`
    const outcome = row
      ? event('SUCCESS', { started_at: exportTimestamp, for_self: forSelf })
      : event('FAILURE', { for_self: forSelf, reason: 'not_found' })
    return { found: Boolean(row), auditId: await recordAudit(tx, outcome) }
  })
  if (!found) throw new AppError('not_found', 'No member with this id')

  const snapshot = openSnapshot(db, subject, { exportTimestamp, requestId: ctx.requestId })
  const settings = config()
  const storage = platform(settings.SUPABASE_URL, settings.SUPABASE_SERVICE_ROLE_KEY)
  const stats = { files: 0, missingFiles: 0 }

  // The archive's entries, produced one at a time as the client reads: data.json straight
  // from the snapshot, then each file straight from Storage, then the page that lists them.
  async function* entries() {
    const lastModified = new Date(exportTimestamp)
    yield { name: 'data.json', input: snapshot.dataJson, lastModified }
    const { document, attachments } = await snapshot.prepared
    const summary = await snapshot.finished
    const files: PageFile[] = []
    for (const file of attachments) {
      const path = archivePath(file)
      const body = await storage.readObject(file.bucket, file.path)
      files.push({
        archivePath: path, fileName: file.file_name, mimeType: file.mime_type,
        byteSize: Number(file.byte_size), submissionId: file.submission_id,
        included: body !== null,
      })
      if (body === null) {
        stats.missingFiles += 1
        continue
      }
      stats.files += 1
      yield { name: path, input: body, lastModified }
    }
    yield {
      name: 'index.html',
      input: renderIndex(document, files, summary),
      lastModified,
    }
  }

  const archive = format === 'zip' ? makeZip(entries()) : snapshot.dataJson
  // The answer's stream, watched: a stream that fails half-way leaves the client a truncated
  // file (an archive without its directory, a JSON document without its end), and a client
  // that goes away stops the reading; either is logged and recorded, and ends the snapshot.
  const reader = archive.getReader()
  let bytes = 0
  let ended = false
  const interrupted = async (why: 'failed' | 'cancelled', error?: unknown) => {
    if (ended) return
    ended = true
    snapshot.cancel(why)
    ctx.log.warn('dsar_export_interrupted', {
      audit_id: auditId, why, bytes, error: error instanceof Error ? error.name : undefined,
    })
    await recordAuditAlone(db, event('FAILURE', { for_self: forSelf, reason: 'interrupted' }),
      ctx.log)
  }
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await reader.read()
        if (next.done) {
          ended = true
          const { historyEvents } = await snapshot.finished
          ctx.log.info('dsar_export_completed', {
            caller_kind: caller.kind, for_self: forSelf, format, bytes, audit_id: auditId,
            history_events: historyEvents, files: stats.files,
            missing_files: stats.missingFiles,
          })
          controller.close()
          return
        }
        bytes += next.value.byteLength
        controller.enqueue(next.value)
      } catch (error) {
        await interrupted('failed', error)
        controller.error(new Error('the export could not be completed'))
      }
    },
    async cancel() {
      // Not awaited: cancelling a stream whose writer is waiting may not settle until the
      // writer gives up, which the snapshot's cancel below makes it do.
      reader.cancel().catch(() => {})
      await interrupted('cancelled')
    },
  })

  const name = `leaps-export-${subject}.${format === 'zip' ? 'zip' : 'json'}`
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': format === 'zip' ? 'application/zip' : 'application/json; charset=utf-8',
      'content-disposition': `attachment; filename="${name}"`,
    },
  })
})

if (import.meta.main) Deno.serve(handler)
