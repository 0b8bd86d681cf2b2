/**
 * What goes into an export, read from the database in one snapshot.
 *
 * `data.json` is written as a stream: the database builds everything but the processing
 * history as one JSON document (so numbers in payloads and timestamps keep their exact
 * values), and the history, which can run to tens of thousands of audit events, follows
 * through a cursor, a few hundred events at a time. Memory stays bounded by the document
 * without its history, whatever the member's history holds.
 *
 * Other members appear only as what the subject did to them (ids of submissions reviewed);
 * their ids, names and addresses are left out, also from the processing history.
 */
import type { Db, Tx } from '../_shared/db.ts'

export const EXPORT_FORMAT = 'leaps-guard.dsar-export.v1'

/** A stored file of the subject's, to be copied into the archive. */
export interface AttachmentFile {
  id: string
  submission_id: string
  bucket: string
  path: string
  file_name: string
  mime_type: string
  byte_size: number
}

interface SubmissionRow {
  created_at: string
  activity_code: string
  title: string
  status: string
  reviewed_at: string | null
}

/** What index.html shows besides the document's small sections. */
export interface PageSummary {
  submissions: SubmissionRow[]
  pointsByMonth: Array<{ month: string; points: string; entries: number }>
  pointsTotal: string
  historyEvents: number
}

export interface Snapshot {
  /** The data.json document, written while the snapshot's transaction streams it. */
  dataJson: ReadableStream<Uint8Array>
  /** Resolves once the small sections are read (before the long ones stream). */
  prepared: Promise<{ document: Record<string, unknown>; attachments: AttachmentFile[] }>
  /** Resolves when data.json is complete, with what index.html lists of the long sections. */
  finished: Promise<PageSummary>
  /** Stops streaming and ends the snapshot's transaction (the reader went away). */
  cancel(reason: string): void
}

/**
 * Everything about the subject except the three sections that grow without bound
 * (submissions, points with their entries, processing history), as one JSON text.
 */
async function headText(
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
        'sign_in_attempts', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'factor', a.factor, 'valid', a.valid, 'attempted_at', a.attempted_at)
                order by a.attempted_at, a.id)
            from private.sign_in_attempts as a
            where a.user_id = u.id), '[]'),
        'mfa_factors', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'factor_type', f.factor_type, 'status', f.status,
                'friendly_name', f.friendly_name, 'created_at', f.created_at)
                order by f.created_at)
            from auth.mfa_factors as f
            where f.user_id = u.id), '[]'),
        'attachments', coalesce((
            select pg_catalog.jsonb_agg(pg_catalog.to_jsonb(t) - 'owner_id'
                order by t.created_at, t.id)
            from public.submission_attachments as t
            where t.owner_id = u.id), '[]'),
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

/** Items per piece of a long section: one database row, one string, one write. */
const PIECE = 200

/**
 * A long section as pieces of JSON-array text, PIECE items each, in order. `items` yields
 * `item` (one element as JSON text) and `n` (its position from 1). The database joins the
 * items, so the function handles one string per thousand items instead of a thousand rows.
 */
function pieces(tx: Tx, items: ReturnType<Tx>) {
  return tx<Array<{ piece: string; items: number }>>`
    select pg_catalog.string_agg(i.item, ',' || pg_catalog.chr(10) order by i.n) as piece,
        pg_catalog.count(*)::int as items
    from (${items}) as i
    group by (i.n - 1) / ${PIECE}
    order by pg_catalog.min(i.n)`.cursor(1)
}

/**
 * The subject's processing history from the audit trail, oldest first: what they did, and
 * what was done about their account (exports, role and status changes, erasure steps). The
 * actor of an act about them is given by kind only, and the address and browser only for
 * their own acts.
 */
function history(tx: Tx, subject: string) {
  return pieces(tx, tx`
    select pg_catalog.jsonb_build_object(
        'occurred_at', h.occurred_at, 'action', h.action, 'outcome', h.outcome,
        'by', case when h.actor_id = ${subject}::uuid then 'you'
                   else pg_catalog.lower(h.actor_type::text) end,
        'target_type', h.target_type,
        'target_id', case when h.target_type = 'user' and h.target_id <> ${subject}::text
                          then null else h.target_id end,
        'changed_fields', h.changed_fields, 'details', h.metadata, 'request_id', h.request_id,
        'ip_address', case when h.actor_id = ${subject}::uuid then h.ip_address end,
        'user_agent', case when h.actor_id = ${subject}::uuid then h.user_agent end
    )::text as item,
        pg_catalog.row_number() over (order by h.occurred_at, h.id) as n
    from (
        select l.* from audit.audit_log as l
        where l.actor_id = ${subject}::uuid
        union all
        select l.* from audit.audit_log as l
        where l.target_type = 'user' and l.target_id = ${subject}::text
            and l.actor_id is distinct from ${subject}::uuid
    ) as h`)
}

function submissions(tx: Tx, subject: string) {
  return pieces(tx, tx`
    select (pg_catalog.to_jsonb(s) - 'owner_id' - 'reviewer_id')::text as item,
        pg_catalog.row_number() over (order by s.created_at, s.id) as n
    from public.submissions as s
    where s.owner_id = ${subject}::uuid`)
}

function pointEntries(tx: Tx, subject: string) {
  return pieces(tx, tx`
    select pg_catalog.jsonb_build_object(
        'id', l.id, 'delta', l.delta, 'reason', l.reason,
        'submission_id', l.submission_id, 'created_at', l.created_at)::text as item,
        pg_catalog.row_number() over (order by l.created_at, l.id) as n
    from public.points_ledger as l
    where l.user_id = ${subject}::uuid`)
}

/** The subject's submissions, oldest first, with the few fields index.html lists. */
async function submissionList(tx: Tx, subject: string): Promise<PageSummary['submissions']> {
  const [row] = await tx<Array<{ list: string }>>`
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'created_at', s.created_at, 'activity_code', s.activity_code, 'title', s.title,
        'status', s.status, 'reviewed_at', s.reviewed_at) order by s.created_at, s.id),
        '[]')::text as list
    from public.submissions as s
    where s.owner_id = ${subject}::uuid`
  return JSON.parse(row!.list)
}

/** Points per month, for index.html (data.json lists every entry). */
async function pointsByMonth(tx: Tx, subject: string): Promise<PageSummary['pointsByMonth']> {
  return await tx<PageSummary['pointsByMonth']>`
    select pg_catalog.to_char(pg_catalog.date_trunc('month', l.created_at), 'YYYY-MM') as month,
        pg_catalog.sum(l.delta)::bigint::text as points, pg_catalog.count(*)::int as entries
    from public.points_ledger as l
    where l.user_id = ${subject}::uuid
    group by 1
    order by 1`
}

async function attachmentFiles(tx: Tx, subject: string): Promise<AttachmentFile[]> {
  return await tx<AttachmentFile[]>`
    select t.id, t.submission_id, t.storage_bucket as bucket, t.storage_path as path,
        t.file_name, t.mime_type, t.byte_size
    from public.submission_attachments as t
    where t.owner_id = ${subject}::uuid
    order by t.created_at, t.id`
}

/**
 * Opens a read-only snapshot of the subject's data and streams data.json from it. The
 * transaction stays open while the reader consumes the stream and ends with it; a reader that
 * goes away cancels the stream, which ends the transaction.
 */
export function openSnapshot(
  db: Db,
  subject: string,
  meta: { exportTimestamp: string; requestId: string },
): Snapshot {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>(
    undefined,
    { highWaterMark: 1 },
    { highWaterMark: 1 },
  )
  const writer = writable.getWriter()
  const encoder = new TextEncoder()
  const put = async (text: string) => {
    await writer.ready
    await writer.write(encoder.encode(text))
  }
  let resolvePrepared!: (value: Awaited<Snapshot['prepared']>) => void
  let rejectPrepared!: (error: unknown) => void
  const prepared = new Promise<Awaited<Snapshot['prepared']>>((resolve, reject) => {
    resolvePrepared = resolve
    rejectPrepared = reject
  })

  const finished = db.asService(async (tx) => {
    const text = await headText(tx, subject, meta)
    if (!text) throw new Error('the subject disappeared before the export was read')
    resolvePrepared({ document: JSON.parse(text), attachments: await attachmentFiles(tx, subject) })
    const [points] = await tx<Array<{ total: string }>>`
      select coalesce(pg_catalog.sum(l.delta), 0)::text as total
      from public.points_ledger as l where l.user_id = ${subject}::uuid`

    // The small sections, then each long one as a JSON array written a piece at a time.
    const section = async (opening: string, rows: ReturnType<typeof history>) => {
      await put(opening)
      let count = 0
      for await (const [row] of rows) {
        await put((count === 0 ? '\n' : ',\n') + row!.piece)
        count += row!.items
      }
      return count
    }
    await section(`${text.slice(0, text.lastIndexOf('}'))},\n"submissions": [`,
      submissions(tx, subject))
    await section(`\n],\n"points": {"total": ${points!.total}, "entries": [`,
      pointEntries(tx, subject))
    const historyEvents = await section('\n]},\n"processing_history": [', history(tx, subject))
    await put('\n]}\n')
    const summary = {
      submissions: await submissionList(tx, subject),
      pointsByMonth: await pointsByMonth(tx, subject),
      pointsTotal: points!.total,
      historyEvents,
    }
    await writer.close()
    return summary
  }, { snapshot: true })
  finished.catch(async (error) => {
    rejectPrepared(error)
    await writer.abort(error).catch(() => {})
  })
  // Whoever awaits these handles the failure; unawaited, they must not crash the process.
  prepared.catch(() => {})
  finished.catch(() => {})
  return {
    dataJson: readable,
    prepared,
    finished,
    cancel: (reason) => void writer.abort(new Error(reason)).catch(() => {}),
  }
}
