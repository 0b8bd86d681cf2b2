/**
 * incident-contain: suspends a member during an incident, everywhere at once.
 *
 * POST { "incident_id": "<incident>", "member_id": "<member>" }, by an ADMIN or SUPERADMIN at
 * aal2 (incident:manage). In the database (public.suspend_member_for_incident, as the caller,
 * so its own checks decide): status SUSPENDED and every session ended, so the member's current
 * token fails on its next statement; then the Auth user is banned through the Auth admin API,
 * so no new session can start. Both steps land on the incident's timeline and in the audit
 * trail. Answers { "sessions_ended": n, "banned": true }.
 */
import { z } from 'zod'
import { authenticate } from '../_shared/auth.ts'
import { AppError } from '../_shared/errors.ts'
import { json, readJsonObject, serveFunction } from '../_shared/http.ts'
import { platform } from '../_shared/platform.ts'

const Body = z.strictObject({
  incident_id: z.uuid(),
  member_id: z.uuid().transform((id) => id.toLowerCase()),
})

export const handler = serveFunction('incident-contain', async (req, ctx) => {
  const { db, config } = ctx
  const caller = await authenticate(req, ctx.verify, db)
  if (caller.kind !== 'user') {
    throw new AppError('forbidden', 'Containment is an administrator\'s act')
  }
  const parsed = Body.safeParse(await readJsonObject(req))
  if (!parsed.success) {
    throw new AppError('bad_request', 'The body needs "incident_id" and "member_id" (UUIDs)')
  }
  const { incident_id: incident, member_id: member } = parsed.data

  let ended: number
  try {
    ended = await db.asCaller(caller.claims, async (tx) => {
      const [row] = await tx`select public.suspend_member_for_incident(${incident}::uuid,
        ${member}::uuid) as ended`
      return Number(row!.ended)
    })
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === '42501') throw new AppError('forbidden', 'You may not contain members')
    if (code === 'P0002') throw new AppError('not_found', 'No such incident')
    if (code === '22023') throw new AppError('bad_request', 'Suspend someone else')
    throw error
  }

  await platform(config.SUPABASE_URL, config.SUPABASE_SERVICE_ROLE_KEY).suspendUser(member)
  await db.asCaller(caller.claims, (tx) => tx`
    select public.add_incident_note(${incident}::uuid,
      'The member''s sign-in account was banned through the Auth admin API.')`)
  ctx.log.info('member_contained', { incident_id: incident, sessions_ended: ended })
  return json({ sessions_ended: ended, banned: true })
})

if (import.meta.main) Deno.serve(handler)
