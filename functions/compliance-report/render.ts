/**
 * The compliance report as one self-contained HTML page. It loads nothing: the CSS is a single
 * inline <style> element, the charts are inline SVG coloured with presentation attributes (no
 * style attributes), and there are no scripts, fonts, images or links. Every value that comes
 * from the database is escaped, so an action name or a date cannot become markup.
 *
 * Because the stylesheet is fixed, the page's Content-Security-Policy (htmlCsp) allows exactly
 * that stylesheet by its SHA-256 hash and nothing else: an injected <style> or a style
 * attribute would not apply, and nothing can be fetched.
 */
import { z } from 'zod'

const tally = z.number().int().nonnegative()
const hours = z.number().nullable()

/** The document audit.compliance_report() returns (format leaps-guard.compliance-report.v1). */
export const Report = z.object({
  format: z.literal('leaps-guard.compliance-report.v1'),
  month: z.string().regex(/^\d{4}-\d{2}$/),
  period: z.object({ from: z.string(), until: z.string(), time_zone: z.string() }),
  generated_at: z.string(),
  deadline_hours: z.number().positive(),
  activity: z.object({
    events: tally,
    successes: tally,
    failures: tally,
    partials: tally,
    actions: z.array(z.object({
      action: z.string(),
      events: tally,
      unique_actors: tally,
      successes: tally,
      failures: tally,
      partials: tally,
    })),
  }),
  dsar: z.object({
    access_requests: tally,
    deletion_requests: tally,
    completed: tally,
    failed: tally,
    median_response_hours: hours,
    max_response_hours: hours,
    over_deadline: tally,
    untimed: tally,
  }),
  dsar_history: z.array(z.object({
    month: z.string(),
    requests: tally,
    median_response_hours: hours,
    max_response_hours: hours,
    over_deadline: tally,
  })),
  incidents: z.object({
    failed_logins: tally,
    unauthorized_attempts: tally,
    days: z.array(z.object({
      day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
      failed_logins: tally,
      unauthorized_attempts: tally,
      source_ips: tally,
      affected_users: tally,
    })),
  }),
})

export type Report = z.infer<typeof Report>

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** Escapes text for HTML and SVG, in element content and in quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c)
}

const esc = escapeHtml

const STYLE = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: #1f2933;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    sans-serif; }
main { max-width: 820px; margin: 0 auto; padding: 32px 24px 48px; }
header { border-bottom: 2px solid #1f2933; padding-bottom: 12px; margin-bottom: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; }
.meta { color: #52606d; font-size: 12px; margin: 2px 0; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 16px 0; }
.card { border: 1px solid #cbd2d9; border-radius: 6px; padding: 10px 12px; }
.card .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .label { color: #52606d; font-size: 12px; }
.card.alert { border-color: #c62828; }
.card.alert .value { color: #c62828; }
.note { border-left: 4px solid #c62828; background: #fdecea; padding: 8px 12px; margin: 12px 0; }
.ok { border-left: 4px solid #2e7d32; background: #edf7ed; padding: 8px 12px; margin: 12px 0; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 4px; }
th, td { border-bottom: 1px solid #e4e7eb; padding: 5px 8px; text-align: left; }
th { font-size: 12px; color: #52606d; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 12px 0; }
figcaption { color: #52606d; font-size: 12px; margin-top: 4px; }
svg.chart { display: block; width: 100%; height: auto; }
svg.chart text { font-family: inherit; }
footer { margin-top: 40px; color: #52606d; font-size: 12px; border-top: 1px solid #cbd2d9;
  padding-top: 8px; }
@media print {
  @page { size: A4; margin: 14mm; }
  main { max-width: none; padding: 0; }
  section, figure, table { break-inside: avoid; }
  h2 { break-after: avoid; }
  .note, .ok { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
`

let cspCache: Promise<string> | undefined

/** The Content-Security-Policy for the page: only its own stylesheet, by hash; nothing else. */
export function htmlCsp(): Promise<string> {
  cspCache ??= crypto.subtle.digest('SHA-256', new TextEncoder().encode(STYLE)).then((d) => {
    const hash = btoa(String.fromCharCode(...new Uint8Array(d)))
    return `default-src 'none'; style-src 'sha256-${hash}'; frame-ancestors 'none'; ` +
      "base-uri 'none'; form-action 'none'"
  })
  return cspCache
}

const COLORS = {
  success: '#2e7d32',
  failure: '#c62828',
  partial: '#ef8f00',
  median: '#1565c0',
  max: '#90a4ae',
  deadline: '#c62828',
  logins: '#6a1b9a',
  attempts: '#ef6c00',
  grid: '#e4e7eb',
  axis: '#52606d',
  text: '#1f2933',
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
]

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

function n(value: number): string {
  return integer.format(value)
}

/** `1 request`, `2 requests`. */
function count(value: number, one: string, many: string): string {
  return `${n(value)} ${value === 1 ? one : many}`
}

function h(value: number | null): string {
  return value === null ? '–' : `${value.toFixed(1)} h`
}

function monthName(month: string): string {
  const [year, m] = month.split('-')
  return `${MONTHS[Number(m) - 1] ?? month} ${year}`
}

function shortMonth(month: string): string {
  const [year, m] = month.split('-')
  return `${(MONTHS[Number(m) - 1] ?? '?').slice(0, 3)} ${year?.slice(2)}`
}

/** A round upper bound for an axis, so ticks fall on 1, 2 or 5 times a power of ten. */
function niceMax(value: number, minimum = 1): number {
  const v = Math.max(value, minimum)
  const power = 10 ** Math.floor(Math.log10(v))
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= v) return step * power
  }
  return 10 * power
}

/** Numbers written into SVG attributes: finite and short. */
function px(value: number): string {
  return Number.isFinite(value) ? String(Math.round(value * 10) / 10) : '0'
}

interface SvgOptions {
  id: string
  title: string
  description: string
  width: number
  height: number
}

function svg(o: SvgOptions, body: string): string {
  return `<svg class="chart" id="${esc(o.id)}" xmlns="http://www.w3.org/2000/svg" ` +
    `viewBox="0 0 ${o.width} ${o.height}" width="${o.width}" height="${o.height}" ` +
    `role="img" aria-labelledby="${esc(o.id)}-title ${esc(o.id)}-desc">` +
    `<title id="${esc(o.id)}-title">${esc(o.title)}</title>` +
    `<desc id="${esc(o.id)}-desc">${esc(o.description)}</desc>${body}</svg>`
}

function text(
  x: number,
  y: number,
  content: string,
  attrs: Record<string, string | number> = {},
): string {
  const extra = Object.entries({ 'font-size': 11, fill: COLORS.text, ...attrs })
    .map(([k, v]) => ` ${k}="${esc(v)}"`).join('')
  return `<text x="${px(x)}" y="${px(y)}"${extra}>${esc(content)}</text>`
}

function rect(x: number, y: number, w: number, height: number, fill: string, label: string) {
  return `<rect x="${px(x)}" y="${px(y)}" width="${px(Math.max(w, 0))}" ` +
    `height="${px(Math.max(height, 0))}" fill="${esc(fill)}"><title>${esc(label)}</title></rect>`
}

function legend(x: number, y: number, items: Array<[string, string]>): string {
  let out = ''
  let at = x
  for (const [color, label] of items) {
    out += `<rect x="${px(at)}" y="${px(y - 9)}" width="10" height="10" fill="${esc(color)}"/>`
    out += text(at + 14, y, label)
    at += 24 + label.length * 6.2
  }
  return out
}

const MAX_ACTION_BARS = 15

/** Horizontal stacked bars: events per action, split by outcome. */
export function actionsChart(report: Report): string {
  const actions = report.activity.actions.slice(0, MAX_ACTION_BARS)
  const width = 720
  const labelWidth = 190
  const plotWidth = width - labelWidth - 60
  const rowHeight = 24
  const top = 30
  const height = top + Math.max(actions.length, 1) * rowHeight + 16
  const options = {
    id: 'chart-actions',
    title: `Audit events per action, ${monthName(report.month)}`,
    description: actions.length === 0
      ? 'No events were recorded in this month.'
      : actions.map((a) => `${a.action}: ${a.events} events`).join('; '),
    width,
    height,
  }
  let body = legend(labelWidth, 14, [
    [COLORS.success, 'success'],
    [COLORS.failure, 'failure'],
    [COLORS.partial, 'partial'],
  ])
  if (actions.length === 0) {
    body += text(labelWidth, top + 16, 'No events were recorded in this month.', {
      fill: COLORS.axis,
    })
    return svg(options, body)
  }
  const scale = plotWidth / niceMax(Math.max(...actions.map((a) => a.events)))
  actions.forEach((a, i) => {
    const y = top + i * rowHeight
    body += text(labelWidth - 8, y + 15, a.action, { 'text-anchor': 'end' })
    let x = labelWidth
    for (
      const [value, color, label] of [
        [a.successes, COLORS.success, 'successes'],
        [a.failures, COLORS.failure, 'failures'],
        [a.partials, COLORS.partial, 'partial outcomes'],
      ] as const
    ) {
      if (value > 0) {
        body += rect(
          x,
          y + 4,
          value * scale,
          rowHeight - 8,
          color,
          `${a.action}: ${value} ${label}`,
        )
        x += value * scale
      }
    }
    body += text(x + 6, y + 15, n(a.events), { fill: COLORS.axis })
  })
  body += `<line x1="${labelWidth}" y1="${top - 2}" x2="${labelWidth}" ` +
    `y2="${px(top + actions.length * rowHeight)}" stroke="${COLORS.axis}" stroke-width="1"/>`
  return svg(options, body)
}

/** Median and longest response time per month for twelve months, against the deadline. */
export function dsarChart(report: Report): string {
  const width = 720
  const height = 260
  const left = 48
  const right = 16
  const top = 30
  const bottom = 34
  const plotWidth = width - left - right
  const plotHeight = height - top - bottom
  const deadline = report.deadline_hours
  const history = report.dsar_history
  const peak = Math.max(deadline, ...history.map((m) => m.max_response_hours ?? 0))
  // Ticks every 24 hours (a day), up to at least one day beyond the deadline.
  const yMax = Math.ceil((peak * 1.1) / 24) * 24 || 96
  const y = (v: number) => top + plotHeight - (v / yMax) * plotHeight
  const options = {
    id: 'chart-dsar',
    title: `Data-subject request response times, 12 months to ${monthName(report.month)}`,
    description: `Median and longest response time per month in hours; the deadline is ` +
      `${deadline} hours. ` +
      history.map((m) =>
        `${m.month}: ${m.requests} requests, median ${h(m.median_response_hours)}, ` +
        `longest ${h(m.max_response_hours)}`
      ).join('; '),
    width,
    height,
  }
  let body = legend(left, 14, [[COLORS.median, 'median'], [COLORS.max, 'longest']])
  for (let tick = 0; tick <= yMax; tick += 24) {
    body += `<line x1="${left}" y1="${px(y(tick))}" x2="${width - right}" y2="${px(y(tick))}" ` +
      `stroke="${COLORS.grid}" stroke-width="1"/>`
    body += text(left - 6, y(tick) + 4, `${tick} h`, { 'text-anchor': 'end', fill: COLORS.axis })
  }
  const slot = plotWidth / Math.max(history.length, 1)
  const barWidth = Math.min(16, slot / 3)
  history.forEach((m, i) => {
    const cx = left + slot * i + slot / 2
    const median = m.median_response_hours
    const max = m.max_response_hours
    if (median !== null) {
      body += rect(
        cx - barWidth - 1,
        y(median),
        barWidth,
        y(0) - y(median),
        COLORS.median,
        `${m.month}: median ${h(median)}`,
      )
    }
    if (max !== null) {
      body += rect(
        cx + 1,
        y(max),
        barWidth,
        y(0) - y(max),
        COLORS.max,
        `${m.month}: longest ${h(max)}`,
      )
    }
    if (m.requests === 0) body += text(cx, y(0) - 4, '–', { 'text-anchor': 'middle' })
    body += text(cx, height - bottom + 16, shortMonth(m.month), {
      'text-anchor': 'middle',
      fill: m.month === report.month ? COLORS.text : COLORS.axis,
      'font-weight': m.month === report.month ? 'bold' : 'normal',
    })
  })
  body += `<line id="chart-dsar-deadline" x1="${left}" y1="${px(y(deadline))}" ` +
    `x2="${width - right}" y2="${px(y(deadline))}" stroke="${COLORS.deadline}" ` +
    `stroke-width="2" stroke-dasharray="6 4"/>`
  // The deadline's key sits in the legend row, where no bar can cover it.
  const keyX = left + 190
  body += `<line x1="${keyX}" y1="10" x2="${keyX + 24}" y2="10" stroke="${COLORS.deadline}" ` +
    `stroke-width="2" stroke-dasharray="6 4"/>`
  body += text(keyX + 30, 14, `${deadline} h deadline (3x24 hours, UU 27/2022)`, {
    fill: COLORS.deadline,
  })
  body += `<line x1="${left}" y1="${px(y(0))}" x2="${width - right}" y2="${px(y(0))}" ` +
    `stroke="${COLORS.axis}" stroke-width="1"/>`
  return svg(options, body)
}

function daysOf(month: string): string[] {
  const [year, m] = month.split('-').map(Number) as [number, number]
  const last = new Date(Date.UTC(year, m, 0)).getUTCDate()
  return Array.from({ length: last }, (_, i) => `${month}-${String(i + 1).padStart(2, '0')}`)
}

/** Failed sign-ins and unauthorized attempts for every day of the month. */
export function incidentsChart(report: Report): string {
  const width = 720
  const height = 220
  const left = 40
  const right = 12
  const top = 30
  const bottom = 30
  const plotWidth = width - left - right
  const plotHeight = height - top - bottom
  const byDay = new Map(report.incidents.days.map((d) => [d.day, d]))
  const days = daysOf(report.month)
  const peak = Math.max(
    0,
    ...report.incidents.days.map((d) => Math.max(d.failed_logins, d.unauthorized_attempts)),
  )
  const yMax = niceMax(peak, 10)
  const y = (v: number) => top + plotHeight - (v / yMax) * plotHeight
  const options = {
    id: 'chart-incidents',
    title: `Security incidents per day, ${monthName(report.month)} (UTC)`,
    description: report.incidents.days.length === 0
      ? 'No failed sign-ins or unauthorized attempts were recorded in this month.'
      : report.incidents.days.map((d) =>
        `${d.day}: ${d.failed_logins} failed sign-ins, ${d.unauthorized_attempts} ` +
        'unauthorized attempts'
      ).join('; '),
    width,
    height,
  }
  let body = legend(left, 14, [
    [COLORS.logins, 'failed sign-ins'],
    [COLORS.attempts, 'unauthorized attempts'],
  ])
  for (const tick of [0, yMax / 2, yMax]) {
    body += `<line x1="${left}" y1="${px(y(tick))}" x2="${width - right}" y2="${px(y(tick))}" ` +
      `stroke="${COLORS.grid}" stroke-width="1"/>`
    body += text(left - 6, y(tick) + 4, n(tick), { 'text-anchor': 'end', fill: COLORS.axis })
  }
  const slot = plotWidth / days.length
  const barWidth = Math.max(2, slot / 2 - 2)
  days.forEach((day, i) => {
    const x = left + slot * i + 1
    const d = byDay.get(day)
    if (d && d.failed_logins > 0) {
      body += rect(
        x,
        y(d.failed_logins),
        barWidth,
        y(0) - y(d.failed_logins),
        COLORS.logins,
        `${day}: ${d.failed_logins} failed sign-ins`,
      )
    }
    if (d && d.unauthorized_attempts > 0) {
      body += rect(
        x + barWidth,
        y(d.unauthorized_attempts),
        barWidth,
        y(0) - y(d.unauthorized_attempts),
        COLORS.attempts,
        `${day}: ${d.unauthorized_attempts} unauthorized attempts`,
      )
    }
    const dayNumber = i + 1
    if (dayNumber === 1 || dayNumber % 5 === 0) {
      body += text(x + barWidth, height - bottom + 16, String(dayNumber), {
        'text-anchor': 'middle',
        fill: COLORS.axis,
      })
    }
  })
  body += `<line x1="${left}" y1="${px(y(0))}" x2="${width - right}" y2="${px(y(0))}" ` +
    `stroke="${COLORS.axis}" stroke-width="1"/>`
  return svg(options, body)
}

function dsarOk(report: Report): string {
  const total = report.dsar.access_requests + report.dsar.deletion_requests
  return total === 0
    ? 'No data-subject requests were made in this month.'
    : `Every completed request was answered within ${report.deadline_hours} hours.`
}

function card(value: string, label: string, alert = false): string {
  return `<div class="card${alert ? ' alert' : ''}"><div class="value">${esc(value)}</div>` +
    `<div class="label">${esc(label)}</div></div>`
}

function row(cells: Array<string | number>, numericFrom = 1): string {
  return '<tr>' +
    cells.map((c, i) => i >= numericFrom ? `<td class="num">${esc(c)}</td>` : `<td>${esc(c)}</td>`)
      .join('') +
    '</tr>'
}

/** The whole page. `requestId` identifies the request in the function's logs. */
export function renderReportHtml(report: Report, requestId: string): string {
  const { activity, dsar, incidents } = report
  const title = `Compliance report, ${monthName(report.month)}`
  const dsarTotal = dsar.access_requests + dsar.deletion_requests

  const actionRows = activity.actions.map((a) =>
    row([a.action, n(a.events), n(a.unique_actors), n(a.successes), n(a.failures), n(a.partials)])
  ).join('')
  const incidentRows = incidents.days.map((d) =>
    row([
      d.day,
      n(d.failed_logins),
      n(d.unauthorized_attempts),
      n(d.source_ips),
      n(d.affected_users),
    ])
  ).join('')

  const dsarNotes: string[] = []
  if (dsar.over_deadline > 0) {
    dsarNotes.push(
      `${count(dsar.over_deadline, 'request was', 'requests were')} answered after the ` +
        `${report.deadline_hours}-hour deadline.`,
    )
  }
  if (dsar.failed > 0) {
    dsarNotes.push(
      `${count(dsar.failed, 'request', 'requests')} failed; each still needs an answer ` +
        'within the deadline.',
    )
  }
  if (dsar.untimed > 0) {
    dsarNotes.push(
      `${count(dsar.untimed, 'completed request has', 'completed requests have')} no valid ` +
        'request or completion time: left out of the response times.',
    )
  }
  const dsarStatus = dsarNotes.length > 0
    ? dsarNotes.map((t) => `<p class="note">${esc(t)}</p>`).join('')
    : `<p class="ok">${esc(dsarOk(report))}</p>`

  const deadline = report.deadline_hours
  const period = `period ${report.period.from} to ${report.period.until} ` +
    `(${report.period.time_zone})`
  const generated = `Generated ${report.generated_at} · request ${requestId} · ${report.format}`
  const overview = [
    card(n(activity.events), 'audit events'),
    card(n(dsarTotal), 'data-subject requests'),
    card(n(dsar.over_deadline), `answered after ${deadline} h`, dsar.over_deadline > 0),
    card(
      n(incidents.unauthorized_attempts),
      'unauthorized attempts',
      incidents.unauthorized_attempts > 0,
    ),
  ].join('\n')
  const activityLine = `${n(activity.events)} events: ${n(activity.successes)} succeeded, ` +
    `${n(activity.failures)} failed, ${n(activity.partials)} partly succeeded.`
  const actionsCaption = activity.actions.length > MAX_ACTION_BARS
    ? `Events per action (the ${MAX_ACTION_BARS} most frequent), by outcome.`
    : 'Events per action, by outcome.'
  const dsarRows = [
    row(['Access and export requests', n(dsar.access_requests)]),
    row(['Deletion requests', n(dsar.deletion_requests)]),
    row(['Completed', n(dsar.completed)]),
    row(['Failed', n(dsar.failed)]),
    row(['Median response time', h(dsar.median_response_hours)]),
    row(['Longest response time', h(dsar.max_response_hours)]),
    row([`Answered after ${deadline} hours (3x24 hours)`, n(dsar.over_deadline)]),
  ].join('\n')
  const dsarCaption = 'Median and longest response time per month; the dashed line is the ' +
    `${deadline}-hour deadline.`
  const incidentsLine = `${n(incidents.failed_logins)} failed sign-ins and ` +
    `${n(incidents.unauthorized_attempts)} unauthorized attempts (refused or failed acts, ` +
    'rejected tokens).'

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header>
<h1>${esc(title)}</h1>
<p class="meta">LEAPS Tracker audit trail · ${esc(period)}</p>
<p class="meta">${esc(generated)}</p>
</header>

<div class="cards">
${overview}
</div>

<section id="activity">
<h2>Audit activity</h2>
<p>${esc(activityLine)}</p>
<figure>
${actionsChart(report)}
<figcaption>${esc(actionsCaption)}</figcaption>
</figure>
<table>
<thead><tr><th>Action</th><th class="num">Events</th><th class="num">Members acting</th>
<th class="num">Successes</th><th class="num">Failures</th><th class="num">Partial</th></tr>
</thead>
<tbody>${actionRows || '<tr><td colspan="6">No events.</td></tr>'}</tbody>
</table>
</section>

<section id="dsar">
<h2>Data-subject requests (UU 27/2022)</h2>
<table>
<tbody>
${dsarRows}
</tbody>
</table>
${dsarStatus}
<figure>
${dsarChart(report)}
<figcaption>${esc(dsarCaption)}</figcaption>
</figure>
</section>

<section id="incidents">
<h2>Security incidents</h2>
<p>${esc(incidentsLine)}</p>
<figure>
${incidentsChart(report)}
<figcaption>Per UTC day of the month.</figcaption>
</figure>
<table>
<thead><tr><th>Day (UTC)</th><th class="num">Failed sign-ins</th>
<th class="num">Unauthorized attempts</th><th class="num">Source addresses</th>
<th class="num">Members affected</th></tr></thead>
<tbody>${incidentRows || '<tr><td colspan="5">No incidents.</td></tr>'}</tbody>
</table>
</section>

<footer>
Counts come from the audit trail as the reader's access allows (ADMIN or SUPERADMIN with
audit:view at aal2). Months and days are UTC. The report holds no personal data.
</footer>
</main>
</body>
</html>
`
}
