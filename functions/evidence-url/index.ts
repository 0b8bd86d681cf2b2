/**
 * evidence-url: a short-lived link to one evidence file.
 *
 * POST { "attachment_id": "<id>", "expires_in": seconds } answers
 * { "url": "…", "expires_at": "<ISO time>" }. The caller must be able to read the attachment's
 * row through RLS: its owner, or a reviewer and above (administrators at aal2). Anyone else,
 * and an attachment that does not exist, get the same 404. Links last EVIDENCE_URL_SECONDS
 * (5 minutes) unless the request asks for 10 seconds to an hour; Storage checks the
 * signature and the expiry, and a removed file's link stops working. Only files that passed
 * the scan (CLEAN, or SKIPPED where scanning is switched off) are linked.
 *
 * Every link issued, and every refusal, is in the audit trail as `evidence.url`.
 */
import { z } from 'zod'
import { type AuditEvent, recordAuditAlone } from '../_shared/audit.ts'
import { authenticate } from '../_shared/auth.ts'
import { AppError } from '../_shared/errors.ts'
import { json, readJsonObject, serveFunction } from '../_shared/http.ts'
import { platform } from '../_shared/platform.ts'
import { takeRateLimit } from '../_shared/ratelimit.ts'

const Body = z.strictObject({
  attachment_id: z.uuid().transform((id) => id.toLowerCase()),
  expires_in: z.number().int().min(10).max(3600).optional(),
})

export const handler = serveFunction('evidence-url', async (req, ctx) => {
  const { db, config } = ctx
  const caller = await authenticate(req, ctx.verify, db)
  if (caller.kind !== 'user') {
    throw new AppError('forbidden', 'Links are issued to signed-in members')
  }
  const parsed = Body.safeParse(await readJsonObject(req))
  if (!parsed.success) {
    throw new AppError('bad_request',
      'The body needs "attachment_id" (UUID) and may hold "expires_in" (10 to 3600 seconds)')
  }
  await takeRateLimit(db, 'evidence-url', caller.id)
  const { attachment_id: attachmentId } = parsed.data
  const expiresIn = parsed.data.expires_in ?? config.EVIDENCE_URL_SECONDS
  const event = (outcome: AuditEvent['outcome'], details: AuditEvent['metadata']): AuditEvent => ({
    action: 'evidence.url',
    targetType: 'attachment',
    targetId: attachmentId,
    outcome,
    metadata: { expires_in: expiresIn, ...details },
    actorId: caller.id,
    requestId: ctx.requestId,
  })

  const [attachment] = await db.asCaller(caller.claims, (tx) => tx`
    select storage_bucket, storage_path, scan_status from public.submission_attachments
    where id = ${attachmentId}::uuid`)
  if (!attachment || !['CLEAN', 'SKIPPED'].includes(attachment.scan_status as string)) {
    await recordAuditAlone(db, event('FAILURE', { reason: 'not_found' }), ctx.log)
    throw new AppError('not_found', 'No evidence file you may see has this id')
  }

  const storage = platform(config.SUPABASE_URL, config.SUPABASE_SERVICE_ROLE_KEY)
  const expiresAt = new Date(Date.now() + expiresIn * 1000)
  const url = await storage.signObject(attachment.storage_bucket as string,
    attachment.storage_path as string, expiresIn)
  // Issued only once recorded: a link whose record fails is not handed out.
  if (!(await recordAuditAlone(db, event('SUCCESS', {}), ctx.log))) {
    throw new AppError('internal', 'The link could not be recorded; try again')
  }
  return json({ url, expires_at: expiresAt.toISOString() })
})

if (import.meta.main) Deno.serve(handler)
