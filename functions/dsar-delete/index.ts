/**
 * dsar-delete: erasure of a member's data (UU 27/2022), driven by the registry of personal
 * data (private.personal_data_locations) and honouring legal holds.
 *
 * POST { "subject": "<user id>", "mode": "pseudonymise" | "erase", "dry_run": true | false,
 *        "request_id": "<deletion request id>" }
 * dry_run defaults to true: the answer lists, per location, what would be deleted,
 * pseudonymised and kept (and why). Caller: dsar:manage (ADMIN and above) at aal2, or the
 * service role. Members file deletion requests with public.file_dsar_request(); they do not
 * run them.
 *
 * A real run changes the database in one transaction (private.carry_out_erasure: rows, the
 * member's sessions ended at once, files queued, dsar.delete recorded under a pseudonymous
 * id, the request completed). Then it removes the queued files through the Storage interface
 * (a failure stays queued with a later retry time; every run retries what is due), and
 * deletes the Auth user, or bans it when a kept record still refers to the profile.
 *
 * POST { "retry_file_removals": true } only retries the queued files that are due.
 */
import { z } from 'zod'
import { type AuditEvent, recordAuditAlone } from '../_shared/audit.ts'
import { authenticate, type Caller } from '../_shared/auth.ts'
import { config } from '../_shared/config.ts'
import { AppError } from '../_shared/errors.ts'
import { readJsonObject, serveFunction } from '../_shared/http.ts'
import type { Db } from '../_shared/db.ts'
import type { Logger } from '../_shared/log.ts'
import { platform, PlatformError } from '../_shared/platform.ts'

const Erase = z.strictObject({
  subject: z.uuid().transform((id) => id.toLowerCase()),
  mode: z.enum(['pseudonymise', 'erase']).default('pseudonymise'),
  dry_run: z.boolean().default(true),
  request_id: z.uuid().optional(),
})
const Retry = z.strictObject({ retry_file_removals: z.literal(true) })

/** Files removed per run at most, so a long backlog cannot hold one request for long. */
const FILES_PER_RUN = 200

interface Location {
  schema_name: string
  table_name: string
  subject_column: string
  action: string
  affected: string
  kept: string
  kept_reason: string | null
}

/** Removes the queued files that are due (this erasure's and earlier failures). */
async function removeDueFiles(db: Db): Promise<{ removed: number; waiting: number }> {
  const settings = config()
  const api = platform(settings.SUPABASE_URL, settings.SUPABASE_SERVICE_ROLE_KEY)
  const due = await db.asService((tx) => tx<Array<{ id: string; bucket: string;
    path: string }>>`
    select id::text, bucket, path from private.storage_deletions
    where done_at is null and next_attempt_at <= now()
    order by next_attempt_at limit ${FILES_PER_RUN}`, { readWrite: true })
  let removed = 0
  for (const file of due) {
    try {
      await api.removeObject(file.bucket, file.path)
      await db.asService((tx) => tx`update private.storage_deletions
        set done_at = now(), attempts = attempts + 1, last_error = null
        where id = ${file.id}::bigint`, { readWrite: true })
      removed += 1
    } catch (error) {
      const message = error instanceof PlatformError ? error.message : 'storage call failed'
      await db.asService((tx) => tx`update private.storage_deletions
        set attempts = attempts + 1, last_error = left(${message}, 500),
            next_attempt_at = now() + interval '5 minutes' * power(2, least(attempts, 8))
        where id = ${file.id}::bigint`, { readWrite: true })
    }
  }
  const [left] = await db.asService((tx) => tx<Array<{ n: number }>>`
    select count(*)::int as n from private.storage_deletions where done_at is null`)
  return { removed, waiting: left?.n ?? 0 }
}

/**
 * Lets through the service role and dsar:manage at aal2; anyone else gets 403, and the
 * refusal is recorded.
 */
async function requireHandler(
  db: Db,
  caller: Caller,
  about: { subject: string; mode: string; dryRun: boolean } | null,
  ctx: { requestId: string; log: Logger },
): Promise<void> {
  if (caller.kind !== 'user') return
  const [rights] = await db.asCaller(caller.claims, (tx) => tx`
    select private.session_allowed() and private.authorize('dsar:manage')
        and coalesce(auth.jwt() ->> 'aal', '') = 'aal2' as allowed`)
  if (rights?.allowed === true) return
  const refusal: AuditEvent = {
    action: 'dsar.delete', targetType: 'user', targetId: about?.subject, outcome: 'FAILURE',
    metadata: { reason: 'forbidden', mode: about?.mode ?? null, dry_run: about?.dryRun ?? null },
    actorId: caller.id, requestId: ctx.requestId,
  }
  await recordAuditAlone(db, refusal, ctx.log)
  throw new AppError('forbidden', 'Erasure is carried out by an administrator signed in '
    + 'with MFA; members file a deletion request instead')
}

export const handler = serveFunction('dsar-delete', async (req, ctx) => {
  const db = ctx.db
  const caller = await authenticate(req, ctx.verify, db)
  const raw = await readJsonObject(req)
  const retry = Retry.safeParse(raw)
  if (retry.success) {
    await requireHandler(db, caller, null, ctx)
    return Response.json({ files: await removeDueFiles(db) })
  }
  const parsed = Erase.safeParse(raw)
  if (!parsed.success) {
    throw new AppError('bad_request', 'The body holds "subject" (a user id), and optionally '
      + '"mode" (pseudonymise or erase), "dry_run" (a boolean) and "request_id" (a UUID)')
  }
  const { subject, mode, dry_run: dryRun, request_id: requestId } = parsed.data
  await requireHandler(db, caller, { subject, mode, dryRun }, ctx)

  const actor = caller.kind === 'user' ? caller.id : null
  let locations: Location[]
  let requestsCompleted: string[] = []
  try {
    locations = await db.asService(async (tx) => {
      const rows = await tx<Location[]>`
        select schema_name, table_name, subject_column, action, affected::text, kept::text,
               kept_reason
        from private.carry_out_erasure(${subject}::uuid, ${mode}, ${dryRun},
            ${requestId ?? null}::uuid, ${actor}::uuid)`
      if (!dryRun) {
        // The requests this erasure answered: completed in this very transaction.
        requestsCompleted = (await tx<Array<{ id: string }>>`
          select id from public.dsar_requests
          where subject_id = ${subject}::uuid and kind = 'deletion' and status = 'completed'
              and completed_at = pg_catalog.now()
          order by id`).map((r) => r.id)
      }
      return rows
    }, { readWrite: !dryRun })
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === 'P0002') throw new AppError('not_found', 'No member with this id')
    if (code === 'LGD02') {
      throw new AppError('bad_request', 'request_id is not an open deletion request for '
        + 'this member')
    }
    throw error
  }
  if (dryRun) {
    // What would happen outside the database too: files removed from Storage, and whether
    // the sign-in account would be deleted or, where a kept profile still refers to it, banned.
    const count = (table: string, column: string, field: 'affected' | 'kept') =>
      Number(locations.find((l) => l.table_name === table && l.subject_column === column)
        ?.[field] ?? 0)
    const profileKept = mode === 'pseudonymise' || count('users', 'id', 'kept') > 0
    return Response.json({
      dry_run: true, mode, subject, locations,
      files: { to_remove: count('submission_attachments', 'owner_id', 'affected'),
        kept: count('submission_attachments', 'owner_id', 'kept') },
      account: profileKept ? 'would be banned' : 'would be deleted',
    })
  }

  const files = await removeDueFiles(db)
  const [profile] = await db.asService((tx) => tx<Array<{ kept: boolean }>>`
    select exists (select 1 from public.users where id = ${subject}::uuid) as kept`)
  const settings = config()
  const api = platform(settings.SUPABASE_URL, settings.SUPABASE_SERVICE_ROLE_KEY)
  const account = profile?.kept ? 'banned' : 'deleted'
  if (profile?.kept) await api.banUser(subject)
  else await api.deleteUser(subject)

  ctx.log.info('dsar_delete_completed', {
    mode, files_removed: files.removed, files_waiting: files.waiting, account,
  })
  return Response.json({
    dry_run: false, mode, locations, files, account, requests_completed: requestsCompleted,
  })
})

if (import.meta.main) Deno.serve(handler)
