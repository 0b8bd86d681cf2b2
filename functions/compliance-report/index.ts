/**
 * compliance-report: one month of the audit trail for compliance officers: activity per
 * action, data-subject requests against the UU 27/2022 deadline (3x24 hours) and security
 * incidents per day, from the views of sql/73_audit_reports.sql.
 *
 * GET or POST `?month=YYYY-MM` (default: the current UTC month); a POST may instead send
 * `{"month": "YYYY-MM", "format": "html"}`. The answer is JSON, or a self-contained HTML page
 * with `?format=html` or when `Accept` prefers text/html.
 *
 * Only a signed-in ADMIN or SUPERADMIN at aal2 (audit:view) may read it, decided by the
 * helpers the RLS policies use, and the report is read as that caller, so the policies of
 * audit.audit_log apply to every figure. The service role is refused: the report is for
 * people. Every report served is recorded as `audit.report_viewed` (target: the month) before
 * it is sent; a refusal is recorded as FAILURE.
 *
 * The HTML page gets its own Content-Security-Policy in place of the shared one (which is
 * `default-src 'none'` and would block its stylesheet): still nothing may load, and the only
 * style allowed is the page's one inline stylesheet, by its SHA-256 hash (see render.ts).
 */
import { z } from 'zod'
import { type AuditEvent, recordAudit, recordAuditAlone } from '../_shared/audit.ts'
import { authenticate } from '../_shared/auth.ts'
import { AppError } from '../_shared/errors.ts'
import { json, readJsonObject, serveFunction } from '../_shared/http.ts'
import { htmlCsp, renderReportHtml, Report } from './render.ts'

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/
const FIRST_YEAR = 1970

const Body = z.strictObject({
  month: z.string().optional(),
  format: z.string().optional(),
})

type Format = 'json' | 'html'

/** The first day of `YYYY-MM`, or of the current UTC month; a 400 for anything else. */
export function firstDayOf(month: string | undefined, now = new Date()): string {
  if (month === undefined) {
    return `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}-01`
  }
  const match = MONTH.exec(month)
  if (!match || Number(match[1]) < FIRST_YEAR) {
    throw new AppError(
      'bad_request',
      `"month" must be a month written YYYY-MM, from ${FIRST_YEAR}-01, e.g. 2026-11`,
    )
  }
  return `${month}-01`
}

/** Quality factor of a media type in an Accept header (0 when absent or refused). */
function quality(accept: string, type: string): number {
  for (const part of accept.toLowerCase().split(',')) {
    const [media, ...params] = part.trim().split(';').map((s) => s.trim())
    if (media !== type) continue
    const q = params.find((p) => p.startsWith('q='))
    const value = q ? Number(q.slice(2)) : 1
    return Number.isFinite(value) ? value : 0
  }
  return 0
}

export function chooseFormat(requested: string | undefined, accept: string | null): Format {
  if (requested !== undefined) {
    if (requested === 'json' || requested === 'html') return requested
    throw new AppError('bad_request', '"format" must be json or html')
  }
  const header = accept ?? ''
  return quality(header, 'text/html') > quality(header, 'application/json') ? 'html' : 'json'
}

async function readParameters(req: Request): Promise<{ month?: string; format?: string }> {
  const query = new URL(req.url).searchParams
  const fromQuery = {
    month: query.get('month') ?? undefined,
    format: query.get('format') ?? undefined,
  }
  // A bodiless POST (as clients send to invoke a function) carries neither length nor type.
  const length = req.headers.get('content-length')
  const hasBody = req.body !== null && (req.headers.has('content-type') ||
    req.headers.has('transfer-encoding') || (length !== null && length !== '0'))
  if (req.method !== 'POST' || !hasBody) return fromQuery
  const parsed = Body.safeParse(await readJsonObject(req, 4 * 1024))
  if (!parsed.success) {
    throw new AppError('bad_request', 'The body may hold only "month" and "format"')
  }
  const fromBody = parsed.data
  if (
    (fromBody.month !== undefined && fromQuery.month !== undefined) ||
    (fromBody.format !== undefined && fromQuery.format !== undefined)
  ) {
    throw new AppError('bad_request', 'Give "month" and "format" in the query or the body')
  }
  return { month: fromQuery.month ?? fromBody.month, format: fromQuery.format ?? fromBody.format }
}

const FORBIDDEN = 'Compliance reports are for administrators signed in with MFA (aal2)'

const serve = serveFunction('compliance-report', async (req, ctx) => {
  const db = ctx.db
  const caller = await authenticate(req, ctx.verify, db)
  const params = await readParameters(req)
  const firstDay = firstDayOf(params.month)
  const format = chooseFormat(params.format, req.headers.get('accept'))
  const month = firstDay.slice(0, 7)
  const viewed = (outcome: AuditEvent['outcome'], details: AuditEvent['metadata']) => ({
    action: 'audit.report_viewed',
    targetType: 'audit_report',
    targetId: month,
    outcome,
    metadata: { month, format, ...details },
    actorId: caller.kind === 'user' ? caller.id : undefined,
    requestId: ctx.requestId,
  })

  // One transaction as the caller: the right to read the audit trail (active account, aal2
  // for administrators, audit:view), then the report under the same policies.
  const text = caller.kind !== 'user' ? null : await db.asCaller(caller.claims, async (tx) => {
    const [rights] = await tx`
      select private.session_allowed() and private.authorize('audit:view') as allowed`
    if (rights?.allowed !== true) return null
    const [row] = await tx`select audit.compliance_report(${firstDay}::date)::text as report`
    return (row?.report as string | undefined) ?? ''
  })
  if (text === null) {
    // A refused look at the audit trail is itself an incident worth a record.
    await recordAuditAlone(db, viewed('FAILURE', { reason: 'forbidden' }), ctx.log)
    throw new AppError('forbidden', FORBIDDEN)
  }
  const parsed = Report.safeParse(text ? JSON.parse(text) : undefined)
  if (!parsed.success) {
    throw new AppError('internal', 'The report could not be built', { cause: parsed.error })
  }
  const report = parsed.data
  // Reading the audit trail is a privileged act: no report goes out without its record.
  await db.asService((tx) => recordAudit(tx, viewed('SUCCESS', { events: report.activity.events })))

  ctx.log.info('compliance_report_served', {
    month: report.month,
    format,
    events: report.activity.events,
  })
  if (format === 'json') return json({ ...report, request_id: ctx.requestId })
  return new Response(renderReportHtml(report, ctx.requestId), {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-disposition': `inline; filename="compliance-report-${report.month}.html"`,
    },
  })
}, { methods: ['GET', 'POST'] })

/**
 * The shared pipeline sets the strict CSP on every response; an HTML page gets the policy
 * that lets its own stylesheet apply. The answer depends on Accept, so caches must key on it.
 */
export async function handler(req: Request): Promise<Response> {
  const response = await serve(req)
  const headers = new Headers(response.headers)
  headers.set('vary', 'Origin, Accept')
  if ((headers.get('content-type') ?? '').startsWith('text/html')) {
    headers.set('content-security-policy', await htmlCsp())
  }
  return new Response(response.body, { status: response.status, headers })
}

if (import.meta.main) Deno.serve(handler)
