/**
 * dsar-export: a data subject's copy of their personal data (right of access, UU 27/2022).
 *
 * POST { "subject": "<user id>" }; the subject defaults to the caller. A member may export
 * only themselves (also while suspended); an ADMIN or SUPERADMIN at aal2 (export:download)
 * may export anyone; a service-role caller must name the subject. Refusals do not reveal
 * whether a subject exists.
 *
 * Exports stop while an administrator has paused them (503 unavailable), and a subject is
 * exported at most private.exports_per_hour() times an hour (429 rate_limited).
 *
 * Every answered request is in the audit trail as `dsar.export` on target `user` <subject>:
 * an export is recorded in the same transaction that reads the data, so no export leaves
 * without its record (if the record cannot be written, the answer is 500); a refusal is
 * recorded as FAILURE in a transaction of its own, and a failure to record it is logged.
 */
import { z } from 'zod'
import { type AuditEvent, recordAudit, recordAuditAlone } from '../_shared/audit.ts'
import { authenticate } from '../_shared/auth.ts'
import { AppError } from '../_shared/errors.ts'
import { readJsonObject, serveFunction } from '../_shared/http.ts'
import type { Tx } from '../_shared/db.ts'

const Body = z.strictObject({ subject: z.uuid().transform((id) => id.toLowerCase()).optional() })

export const EXPORT_FORMAT = 'leaps-guard.dsar-export.v1'

/**
 * The whole export, built by the database as one JSON document so that numbers in payloads
 * and timestamps keep their exact values. Other members appear only as what the subject did
 * to them (ids of submissions reviewed); their ids and names are left out.
 */
async function collect(
  tx: Tx,
  subject: string,
  meta: { exportTimestamp: string; requestId: string },
): Promise<string | undefined> {
  const rows = await tx`
    select pg_catalog.jsonb_build_object(
        'format', ${EXPORT_FORMAT}::text,
        'export_timestamp', ${meta.exportTimestamp}::text,
        'request_id', ${meta.requestId}::text,
        'subject', u.id,
        'profile', pg_catalog.to_jsonb(u),
        'account', (
            select pg_catalog.jsonb_build_object(
                'email', a.email, 'phone', a.phone, 'created_at', a.created_at,
                'email_confirmed_at', a.email_confirmed_at, 'last_sign_in_at', a.last_sign_in_at,
                'banned_until', a.banned_until, 'user_metadata', a.raw_user_meta_data,
                'app_metadata', a.raw_app_meta_data)
            from auth.users as a
            where a.id = u.id),
        'about_this_data', private.access_answer(),
        'identifiers', private.export_identifiers(u.id),
        'requests', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'id', r.id, 'kind', r.kind, 'received_at', r.received_at, 'due_at', r.due_at,
                'status', r.status, 'status_reason', r.status_reason, 'details', r.details,
                'completed_at', r.completed_at)
                order by r.received_at, r.id)
            from public.dsar_requests as r
            where r.subject_id = u.id), '[]'),
        'legal_holds', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'placed_at', h.placed_at, 'ends_at', h.ends_at)
                order by h.placed_at)
            from private.holds_in_force() as h
            where h.scope = 'USER' and h.user_id = u.id), '[]'),
        'sessions', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'id', s.id, 'aal', s.aal, 'created_at', s.created_at, 'not_after', s.not_after)
                order by s.created_at, s.id)
            from auth.sessions as s
            where s.user_id = u.id), '[]'),
        'mfa_factors', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'factor_type', f.factor_type, 'status', f.status,
                'friendly_name', f.friendly_name, 'created_at', f.created_at)
                order by f.created_at)
            from auth.mfa_factors as f
            where f.user_id = u.id), '[]'),
        'submissions', coalesce((
            select pg_catalog.jsonb_agg(
                pg_catalog.to_jsonb(s) - 'owner_id' - 'reviewer_id' order by s.created_at, s.id)
            from public.submissions as s
            where s.owner_id = u.id), '[]'),
        'attachments', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.to_jsonb(t) - 'owner_id'
                order by t.created_at, t.id)
            from public.submission_attachments as t
            where t.owner_id = u.id), '[]'),
        'points', pg_catalog.jsonb_build_object(
            'total', (select coalesce(sum(l.delta), 0) from public.points_ledger as l
                      where l.user_id = u.id),
            'entries', coalesce((
                select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                    'id', l.id, 'delta', l.delta, 'reason', l.reason,
                    'submission_id', l.submission_id, 'created_at', l.created_at)
                    order by l.created_at, l.id)
                from public.points_ledger as l
                where l.user_id = u.id), '[]')),
        'badges', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'badge_id', e.badge_id, 'name', b.name, 'awarded_at', e.awarded_at)
                order by e.awarded_at, e.badge_id)
            from public.earned_badges as e
            join public.badges as b on b.id = e.badge_id
            where e.user_id = u.id), '[]'),
        'leaderboard_entry', (
            select pg_catalog.to_jsonb(le) - 'user_id'
            from private.leaderboard_entries as le
            where le.user_id = u.id),
        'role_changes', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'old_role', r.old_role, 'new_role', r.new_role, 'changed_at', r.changed_at)
                order by r.changed_at, r.id)
            from private.role_changes as r
            where r.user_id = u.id), '[]'),
        'status_changes', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'old_status', c.old_status, 'new_status', c.new_status,
                'changed_at', c.changed_at)
                order by c.changed_at, c.id)
            from private.status_changes as c
            where c.user_id = u.id), '[]'),
        'acts', pg_catalog.jsonb_build_object(
            'reviews', coalesce((
                select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                    'submission_id', s.id, 'status', s.status, 'review_note', s.review_note,
                    'reviewed_at', s.reviewed_at)
                    order by s.reviewed_at, s.id)
                from public.submissions as s
                where s.reviewer_id = u.id), '[]'),
            'points_awarded', coalesce((
                select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                    'id', l.id, 'delta', l.delta, 'reason', l.reason, 'created_at', l.created_at)
                    order by l.created_at, l.id)
                from public.points_ledger as l
                where l.awarded_by = u.id), '[]'),
            'badges_awarded', coalesce((
                select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                    'badge_id', e.badge_id, 'awarded_at', e.awarded_at)
                    order by e.awarded_at)
                from public.earned_badges as e
                where e.awarded_by = u.id), '[]'),
            'role_changes_made', (select count(*) from private.role_changes as r
                                  where r.changed_by = u.id),
            'status_changes_made', (select count(*) from private.status_changes as c
                                    where c.changed_by = u.id))
    )::text as doc
    from public.users as u
    where u.id = ${subject}::uuid`
  return rows[0]?.doc as string | undefined
}

export const handler = serveFunction('dsar-export', async (req, ctx) => {
  const requestedAt = new Date().toISOString()
  const db = ctx.db
  const caller = await authenticate(req, ctx.verify, db)
  const parsed = Body.safeParse(await readJsonObject(req))
  if (!parsed.success) {
    throw new AppError('bad_request', 'The body may hold only "subject", a user id (UUID)')
  }
  const subject = parsed.data.subject ?? (caller.kind === 'user' ? caller.id : undefined)
  if (!subject) throw new AppError('bad_request', 'Service calls must name the "subject"')
  const forSelf = caller.kind === 'user' && caller.id === subject
  const event = (outcome: AuditEvent['outcome'], details: AuditEvent['metadata']): AuditEvent => ({
    action: 'dsar.export',
    targetType: 'user',
    targetId: subject,
    outcome,
    metadata: { request_kind: 'access', requested_at: requestedAt, ...details },
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
      `Too many exports of this member in the last hour; try again in ${minutes} minute(s)`)
  }

  // One snapshot for the whole export, and the record of it written in the same transaction:
  // if the record fails, the transaction fails and nothing is sent.
  const exportTimestamp = new Date().toISOString()
  const { doc, auditId } = await db.asService(async (tx) => {
    const doc = await collect(tx, subject, { exportTimestamp, requestId: ctx.requestId })
    const outcome = doc
      ? event('SUCCESS', { completed_at: new Date().toISOString(), for_self: forSelf })
      : event('FAILURE', { for_self: forSelf, reason: 'not_found' })
    return { doc, auditId: await recordAudit(tx, outcome) }
  }, { snapshot: true, readWrite: true })
  if (!doc) throw new AppError('not_found', 'No member with this id')

  ctx.log.info('dsar_export_completed', {
    caller_kind: caller.kind,
    for_self: forSelf,
    bytes: doc.length,
    audit_id: auditId,
  })
  return new Response(doc, {
    status: 200,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-disposition': `attachment; filename="leaps-export-${subject}.json"`,
    },
  })
})

if (import.meta.main) Deno.serve(handler)
