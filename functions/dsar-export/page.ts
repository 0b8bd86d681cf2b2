/**
 * index.html of an export archive: the same data as data.json, for a person to read. A
 * static page with no scripts, no external resources and a policy that forbids both, so
 * opening it from the archive runs nothing and contacts no one. Every value is escaped.
 */

import type { PageSummary } from './document.ts'

export interface PageFile {
  /** Path inside the archive, relative to index.html. */
  archivePath: string
  fileName: string
  mimeType: string
  byteSize: number
  submissionId: string
  /** false when Storage no longer had the file. */
  included: boolean
}

type Doc = Record<string, unknown>

/** Escaped for HTML; control characters (which a file name may carry) become U+FFFD. */
const escape = (value: unknown): string =>
  String(value ?? '').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '\ufffd')
    .replace(/[&<>"']/g, (c) =>
    ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

const list = (value: unknown): Doc[] => (Array.isArray(value) ? value as Doc[] : [])

const when = (value: unknown): string =>
  typeof value === 'string' && value ? value.replace('T', ' ').slice(0, 16) + ' UTC' : '—'

function table(headings: string[], rows: unknown[][]): string {
  if (rows.length === 0) return '<p class="none">None.</p>'
  const head = headings.map((h) => `<th>${escape(h)}</th>`).join('')
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n')
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`
}

function facts(pairs: Array<[string, unknown]>): string {
  return `<dl>${pairs.map(([k, v]) => `<dt>${escape(k)}</dt><dd>${escape(v)}</dd>`).join('')}</dl>`
}

export function renderIndex(doc: Doc, files: PageFile[], summary: PageSummary): string {
  const profile = (doc.profile ?? {}) as Doc
  const account = (doc.account ?? {}) as Doc
  const about = (doc.about_this_data ?? {}) as Doc
  const identifiers = (doc.identifiers ?? {}) as Doc
  const bullet = (items: unknown) =>
    `<ul>${list(items).map((i) => `<li>${escape(i)}</li>`).join('')}</ul>`

  const sections = [
    `<h2>Your profile</h2>`,
    facts([
      ['Handle', profile.handle], ['Name', profile.name], ['School', profile.school],
      ['Region', profile.region], ['Cohort', profile.cohort], ['Role', profile.role],
      ['Status', profile.status], ['Profile visibility', profile.visibility],
      ['E-mail', account.email], ['Phone', account.phone],
      ['Account created', when(account.created_at)],
      ['Last sign-in', when(account.last_sign_in_at)],
    ]),
    `<h2>Your identifiers</h2>`,
    facts([
      ['Phone', identifiers.phone], ['NIK', identifiers.nik], ['NPWP', identifiers.npwp],
      ['Bank account', identifiers.bank_account],
    ]),
    `<h2>Submissions (${summary.submissions.length})</h2>`,
    table(['Created', 'Activity', 'Title', 'Status', 'Reviewed'],
      summary.submissions.map((s) => [escape(when(s.created_at)), escape(s.activity_code),
        escape(s.title), escape(s.status), escape(when(s.reviewed_at))])),
    `<h2>Evidence files (${files.length})</h2>`,
    table(['File', 'Type', 'Size (bytes)', 'Submission'],
      files.map((f) => [
        f.included
          ? `<a href="${escape(f.archivePath.split('/').map(encodeURIComponent).join('/'))}">`
            + `${escape(f.fileName)}</a>`
          : `${escape(f.fileName)} (no longer in storage)`,
        escape(f.mimeType), escape(f.byteSize), escape(f.submissionId)])),
    `<h2>Points: ${escape(summary.pointsTotal)}</h2>`,
    `<p>Per month here; every entry, with its reason, is under <code>points</code> in `
      + `<code>data.json</code>.</p>`,
    table(['Month', 'Points', 'Entries'],
      summary.pointsByMonth.map((m) => [escape(m.month), escape(m.points), escape(m.entries)])),
    `<h2>Badges</h2>`,
    table(['Badge', 'Awarded'],
      list(doc.badges).map((b) => [escape(b.name), escape(when(b.awarded_at))])),
    `<h2>Your requests about your data</h2>`,
    table(['Received', 'Kind', 'Status', 'Due', 'Completed'],
      list(doc.requests).map((r) => [escape(when(r.received_at)), escape(r.kind),
        escape(r.status), escape(when(r.due_at)), escape(when(r.completed_at))])),
    `<h2>Processing history</h2>`,
    `<p>${escape(summary.historyEvents)} recorded events of what you did on the platform and `
      + `what was done about your account are listed under <code>processing_history</code> in `
      + `<code>data.json</code>.</p>`,
    `<h2>About this data</h2>`,
    `<h3>Why we process it</h3>${bullet(about.purposes)}`,
    `<h3>Who receives it</h3>${bullet(about.recipients)}`,
    `<h3>Where it comes from</h3>${bullet(about.sources)}`,
    `<h3>How long it is kept</h3>`,
    table(['Data', 'Kept for', 'Counted from'],
      list(about.retention).map((r) => [escape(r.data), escape(r.kept_for),
        escape(r.counted_from)])),
    `<h3>Your rights</h3>${bullet(about.your_rights)}`,
  ]

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your LEAPS data</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1.5rem; }
th, td { border-bottom: 1px solid #ddd; padding: .25rem .5rem; text-align: left;
  vertical-align: top; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { font-weight: 600; } .none { color: #666; }
</style>
</head>
<body>
<h1>Your LEAPS data</h1>
<p>Exported ${escape(when(doc.export_timestamp))} (request ${escape(doc.request_id)}). The
complete, machine-readable copy is <code>data.json</code> in this archive; your evidence files
are in the <code>attachments</code> folder.</p>
${sections.join('\n')}
</body>
</html>
`
}
