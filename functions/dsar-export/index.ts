/**
 * dsar-export: a data subject's copy of their personal data (right of access, UU 27/2022).
 *
 * POST { "subject": "<user id>" }; the subject defaults to the caller. A member may export
 * only themselves (also while suspended); an ADMIN or SUPERADMIN at aal2 (export:download)
 * may export anyone; a service-role caller must name the subject. Refusals do not reveal
 * whether a subject exists.
 */
import { z } from 'zod'
import { authenticate } from '../_shared/auth.ts'
import { AppError } from '../_shared/errors.ts'
import { json, readJsonObject, serveFunction } from '../_shared/http.ts'
import type { Tx } from '../_shared/db.ts'

const Body = z.strictObject({ subject: z.uuid().transform((id) => id.toLowerCase()).optional() })

export const EXPORT_FORMAT = 'leaps-guard.dsar-export.v1'

async function collect(tx: Tx, subject: string) {
  const [profile] = await tx`
    select id, handle, name, school, cohort, region, role, status, visibility,
           created_at, updated_at, deleted_at
    from public.users
    where id = ${subject}::uuid`
  if (!profile) return undefined
  const [account] = await tx`
    select email, phone, created_at, last_sign_in_at, email_confirmed_at
    from auth.users
    where id = ${subject}::uuid`
  const submissions = await tx`
    select id, activity_code, title, payload, status, visibility, review_note, reviewed_at,
           created_at, updated_at
    from public.submissions
    where owner_id = ${subject}::uuid
    order by created_at, id`
  const attachments = await tx`
    select id, submission_id, storage_bucket, storage_path, file_name, mime_type, byte_size,
           sha256, scan_status, created_at
    from public.submission_attachments
    where owner_id = ${subject}::uuid
    order by created_at, id`
  const points = await tx`
    select id, delta, reason, submission_id, created_at
    from public.points_ledger
    where user_id = ${subject}::uuid
    order by created_at, id`
  const badges = await tx`
    select e.badge_id, b.name, e.awarded_at
    from public.earned_badges as e
    join public.badges as b on b.id = e.badge_id
    where e.user_id = ${subject}::uuid
    order by e.awarded_at, e.badge_id`
  const roleChanges = await tx`
    select old_role, new_role, changed_at
    from private.role_changes
    where user_id = ${subject}::uuid
    order by changed_at, id`
  const mfaFactors = await tx`
    select factor_type, status, friendly_name, created_at
    from auth.mfa_factors
    where user_id = ${subject}::uuid
    order by created_at`
  const total = points.reduce((sum, row) => sum + Number(row.delta), 0)
  return {
    profile,
    account: account ?? null,
    mfa_factors: mfaFactors,
    submissions,
    attachments,
    points: { total, entries: points },
    badges,
    role_changes: roleChanges,
  }
}

export const handler = serveFunction('dsar-export', async (req, ctx) => {
  const caller = await authenticate(req, ctx.verify, ctx.db)
  const parsed = Body.safeParse(await readJsonObject(req))
  if (!parsed.success) {
    throw new AppError('bad_request', 'The body may hold only "subject", a user id (UUID)')
  }
  const subject = parsed.data.subject ?? (caller.kind === 'user' ? caller.id : undefined)
  if (!subject) throw new AppError('bad_request', 'Service calls must name the "subject"')

  // Members always reach their own data: the right of access does not depend on the account
  // being in good standing, so a suspended member may still export. Anyone else's data needs
  // export:download in an allowed session (active, aal2 for administrators), decided by the
  // same helpers the RLS policies use.
  if (caller.kind === 'user' && subject !== caller.id) {
    const [rights] = await ctx.db.asCaller(caller.claims, (tx) => tx`
      select private.session_allowed() and private.authorize('export:download') as allowed`)
    if (rights?.allowed !== true) {
      throw new AppError('forbidden', 'You may not export this member\'s data')
    }
  }

  const data = await ctx.db.asService((tx) => collect(tx, subject), { snapshot: true })
  if (!data) throw new AppError('not_found', 'No member with this id')

  ctx.log.info('dsar_export_completed', {
    caller_kind: caller.kind,
    for_self: caller.kind === 'user' && caller.id === subject,
    submissions: data.submissions.length,
    attachments: data.attachments.length,
  })
  return json(
    {
      format: EXPORT_FORMAT,
      export_timestamp: new Date().toISOString(),
      request_id: ctx.requestId,
      subject,
      ...data,
    },
    200,
    { 'content-disposition': `attachment; filename="leaps-export-${subject}.json"` },
  )
})

if (import.meta.main) Deno.serve(handler)
