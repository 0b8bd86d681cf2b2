/**
 * Recording privileged acts in the audit trail (audit.record_event).
 *
 * `recordAudit` writes inside the caller's transaction: if the record cannot be written, the
 * statement fails, the transaction rolls back and the function answers 500, so an act is
 * never done or answered without its record. `recordAuditAlone` is for acts that did not
 * happen (a refusal): it writes in a transaction of its own and, when that fails, answers
 * false and logs an error instead of changing the response.
 *
 * Metadata says what happened in ids, counts, codes, flags and timestamps, never who in
 * words: a flat object of scalars, checked here before anything reaches the database.
 */
import type { Db, Tx } from './db.ts'
import type { Logger } from './log.ts'

export const AUDIT_OUTCOMES = ['SUCCESS', 'FAILURE', 'PARTIAL'] as const
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number]

export type AuditValue = string | number | boolean | null

export interface AuditEvent {
  /** Dotted lowercase name of the act, e.g. `dsar.export`. */
  action: string
  /** Kind of object the act was about, e.g. `user`. */
  targetType: string
  /** Its id, e.g. the subject's user id. */
  targetId?: string
  outcome: AuditOutcome
  /** Ids, counts, codes, flags and ISO timestamps only: never personal data. */
  metadata: Record<string, AuditValue>
  /** The member who acted, when a member did; omitted for service calls. */
  actorId?: string
  /** The id the function answers with, to join the record to the request and its logs. */
  requestId: string
}

/** The same rule as the CHECK on audit.audit_log.action. */
const ACTION = /^[a-z_]+(\.[a-z_]+)*$/
const KEY = /^[a-z][a-z0-9_]{0,62}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** Key words (between underscores) that name personal data or secrets, not ids or counts. */
const PERSONAL_KEY = new RegExp(
  '(^|_)(e?mail|phone|names?|address|birth|dob|school|region|nik|npwp|bank|ip|user_agent' +
    '|token|secret|password)(_|$)',
)
/** A string value holding an address is personal data whatever its key. */
const EMAIL_LIKE = /[^\s@]+@[^\s@]+/
const MAX_STRING = 200
const MAX_KEYS = 32

/**
 * Checks an event before it is written. A bad event is the caller's mistake, so it throws a
 * TypeError naming the field (never the value).
 */
export function checkAuditEvent(event: AuditEvent): void {
  const fail = (what: string) => {
    throw new TypeError(`audit event ${event.action || '(no action)'}: ${what}`)
  }
  if (!ACTION.test(event.action)) fail('action must be dotted lowercase words, e.g. dsar.export')
  if (!ACTION.test(event.targetType)) fail('targetType must be lowercase words')
  if (event.targetId !== undefined && (event.targetId.length < 1 || event.targetId.length > 200)) {
    fail('targetId must be 1 to 200 characters')
  }
  if (!(AUDIT_OUTCOMES as readonly string[]).includes(event.outcome)) {
    fail(`outcome must be one of ${AUDIT_OUTCOMES.join(', ')}`)
  }
  if (event.actorId !== undefined && !UUID.test(event.actorId)) fail('actorId must be a UUID')
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(event.requestId)) fail('requestId is missing or malformed')
  if (
    event.metadata === null || typeof event.metadata !== 'object' ||
    Array.isArray(event.metadata)
  ) {
    fail('metadata must be an object')
  }
  const entries = Object.entries(event.metadata)
  if (entries.length > MAX_KEYS) fail(`metadata may hold at most ${MAX_KEYS} keys`)
  for (const [key, value] of entries) {
    if (!KEY.test(key)) fail(`metadata key "${key.slice(0, 64)}" must be snake_case`)
    if (PERSONAL_KEY.test(key)) fail(`metadata key "${key}" suggests personal data`)
    const ok = value === null || typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value)) ||
      (typeof value === 'string' && value.length <= MAX_STRING)
    if (!ok) fail(`metadata "${key}" must be a scalar (strings up to ${MAX_STRING} characters)`)
    if (typeof value === 'string' && EMAIL_LIKE.test(value)) {
      fail(`metadata "${key}" holds an e-mail address`)
    }
  }
}

/**
 * Records the event within `tx` and returns its audit id. Any failure propagates: the caller's
 * transaction, and with it the act, fails.
 */
export async function recordAudit(tx: Tx, event: AuditEvent): Promise<string> {
  checkAuditEvent(event)
  const rows = await tx<Array<{ id: string }>>`
    select audit.record_event(
        ${event.action}::text,
        ${event.targetType}::text,
        ${event.targetId ?? null}::text,
        ${event.outcome}::audit.outcome,
        ${tx.json(event.metadata)}::jsonb,
        ${event.actorId ?? null}::uuid,
        ${event.requestId}::text
    )::text as id`
  const id = rows[0]?.id
  if (!id) throw new Error('audit.record_event returned no id')
  return id
}

/**
 * Records the event in a service transaction of its own, for acts that did not happen (such
 * as a refusal) and whose answer must not depend on the trail. Returns whether it was
 * written; a failure is logged as an error with the action and outcome, never swallowed.
 */
export async function recordAuditAlone(db: Db, event: AuditEvent, log: Logger): Promise<boolean> {
  try {
    await db.asService((tx) => recordAudit(tx, event))
    return true
  } catch (error) {
    const e = error as { code?: unknown; name?: unknown; message?: unknown }
    log.error('audit_write_failed', {
      action: event.action,
      outcome: event.outcome,
      cause_type: typeof e?.name === 'string' ? e.name : typeof error,
      cause_code: typeof e?.code === 'string' ? e.code : undefined,
      cause_message: typeof e?.message === 'string' ? e.message.slice(0, 300) : undefined,
    })
    return false
  }
}
