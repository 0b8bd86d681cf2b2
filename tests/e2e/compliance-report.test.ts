/**
 * compliance-report over HTTP, against the Deno functions server of the test stack, and its
 * HTML page in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core).
 *
 * The audit log is append-only, so the events seeded here stay. They go into a month of the
 * last century in which no events exist yet (checked first), which keeps the counts exact
 * however often the suite runs against the same database.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type postgres from 'postgres'
import { type BrowserContext, chromium } from 'playwright-core'
import { projectRoot } from '../../stack/lib/profile.ts'
import { renderReportHtml, type Report } from '../../functions/compliance-report/render.ts'
import { createMember, type Member, ownerSql, stack, tokenFor } from '../fixtures/stack.ts'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync']
const ARTIFACTS = path.join(projectRoot, '.leaps', 'test', 'artifacts')

let sql: postgres.Sql
let admin: Member
let superadmin: Member
let participant: Member
let month: string

const url = (query = '') => `${stack.apiUrl}/functions/v1/compliance-report${query}`

async function report(token: string | undefined, query = '', init: RequestInit = {}) {
  const headers: Record<string, string> = {}
  if (token) headers.authorization = `Bearer ${token}`
  const res = await fetch(url(query), { headers, ...init })
  const text = await res.text()
  const type = res.headers.get('content-type') ?? ''
  return { res, status: res.status, text, json: type.includes('json') ? JSON.parse(text) : null }
}

/** A month from 1971 to 1999 in which none of the three views has a row yet. */
async function emptyMonth(): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const year = 1971 + Math.floor(Math.random() * 29)
    const candidate = `${year}-${String(1 + Math.floor(Math.random() * 12)).padStart(2, '0')}`
    const first = `${candidate}-01`
    const [row] = await sql`
      select (select count(*) from audit.monthly_summary where month = ${first}::date)
           + (select count(*) from audit.dsar_report where month = ${first}::date)
           + (select count(*) from audit.security_incidents
              where day >= ${first}::date and day < ${first}::date + interval '1 month')
             as used`
    if (Number(row!.used) === 0) return candidate
  }
  throw new Error('no empty month left between 1971 and 1999')
}

beforeAll(async () => {
  sql = ownerSql()
  admin = await createMember(sql, { role: 'ADMIN', mfa: true })
  superadmin = await createMember(sql, { role: 'SUPERADMIN', mfa: true })
  participant = await createMember(sql)
  month = await emptyMonth()
  const at = (day: string, time: string) => `${month}-${day}T${time}Z`
  const dsar = (kind: string, requested: string, completed: string, forSelf: boolean) =>
    sql.json({ request_kind: kind, requested_at: requested, completed_at: completed,
      for_self: forSelf })
  const p = participant.id
  const a = admin.id
  await sql`insert into audit.audit_log ${sql([
    // Access, self, 2 h.
    { occurred_at: at('02', '10:00:00'), actor_id: p, actor_type: 'USER',
      action: 'dsar.export', target_type: 'user', target_id: p, outcome: 'SUCCESS',
      metadata: dsar('access', at('02', '08:00:00'), at('02', '10:00:00'), true) },
    // Access by an administrator, 84 h: over the deadline.
    { occurred_at: at('06', '12:00:00'), actor_id: a, actor_type: 'USER',
      action: 'dsar.export', target_type: 'user', target_id: p, outcome: 'SUCCESS',
      metadata: dsar('access', at('03', '00:00:00'), at('06', '12:00:00'), false) },
    // A failed deletion: a failed request and an incident.
    { occurred_at: at('10', '00:01:00'), actor_id: a, actor_type: 'USER',
      action: 'dsar.delete', target_type: 'user', target_id: p, outcome: 'FAILURE',
      ip_address: '192.0.2.44',
      metadata: dsar('deletion', at('10', '00:00:00'), at('10', '00:01:00'), false) },
    ...['203.0.113.7', '203.0.113.7', '203.0.113.8'].map((ip, i) => (
      { occurred_at: at('12', `0${i}:00:00`), actor_id: null, actor_type: 'SYSTEM',
        action: 'auth.login_failed', target_type: 'user', target_id: p, outcome: 'FAILURE',
        ip_address: ip, metadata: sql.json({}) })),
    { occurred_at: at('20', '05:00:00'), actor_id: null, actor_type: 'SYSTEM',
      action: 'auth.token_rejected', target_type: 'function', target_id: 'dsar-export',
      outcome: 'FAILURE', ip_address: '198.51.100.3', metadata: sql.json({}) },
    ...['x1', 'x2'].map((id) => (
      { occurred_at: at('05', '09:00:00'), actor_id: p, actor_type: 'USER', action: 'insert',
        target_type: 'public.submissions', target_id: id, outcome: 'SUCCESS',
        ip_address: null, metadata: sql.json({}) })),
  ].map((e) => ({ ip_address: null, ...e })))}`
})

afterAll(async () => {
  await sql`delete from auth.users where id in ${sql([admin.id, superadmin.id, participant.id])}`
  await sql.end()
})

describe('compliance-report: who may read it', () => {
  it('answers 401 without a token, with the anon key and with a forged token', async () => {
    const none = await report(undefined, `?month=${month}`)
    expect(none.status).toBe(401)
    expect(none.json.error.code).toBe('unauthorized')
    const anon = await report(stack.anonKey, `?month=${month}`)
    expect(anon.status).toBe(401)
    expect(anon.json.error.code).toBe('unauthorized')
    const forged = await report('eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.x')
    expect(forged.status).toBe(401)
  })

  it('refuses a participant with 403, in JSON even when HTML is asked for', async () => {
    const { status, json, res } = await report(await tokenFor(sql, participant),
      `?month=${month}&format=html`)
    expect(status).toBe(403)
    expect(res.headers.get('content-type')).toContain('application/json')
    expect(json.error).toMatchObject({
      code: 'forbidden',
      message: 'Compliance reports are for administrators signed in with MFA (aal2)',
    })
  })

  it('refuses an ADMIN at aal1 with 403: the audit trail needs MFA', async () => {
    const { status, json } = await report(await tokenFor(sql, admin), `?month=${month}`)
    expect(status).toBe(403)
    expect(json.error.code).toBe('forbidden')
  })

  it('refuses the service role with 403: the report is for signed-in administrators', async () => {
    const { status, json } = await report(stack.serviceRoleKey, `?month=${month}`)
    expect(status).toBe(403)
    expect(json.error.code).toBe('forbidden')
  })

  it('refuses a suspended ADMIN at aal2 with 403', async () => {
    const suspended = await createMember(sql, { role: 'ADMIN', status: 'SUSPENDED', mfa: true })
    try {
      const { status } = await report(await tokenFor(sql, suspended, { aal: 'aal2' }))
      expect(status).toBe(403)
    } finally {
      await sql`delete from auth.users where id = ${suspended.id}`
    }
  })

  it('lets a SUPERADMIN at aal2 read it', async () => {
    const { status, json } = await report(await tokenFor(sql, superadmin, { aal: 'aal2' }),
      `?month=${month}`)
    expect(status).toBe(200)
    expect(json.activity.events).toBe(9)
  })
})

describe('compliance-report: its own audit record', () => {
  async function recorded(requestId: string) {
    return sql`select actor_id, actor_type, target_type, target_id, outcome, metadata
               from audit.audit_log
               where action = 'audit.report_viewed' and request_id = ${requestId}`
  }

  it('records every report served as audit.report_viewed, before sending it', async () => {
    const token = await tokenFor(sql, admin, { aal: 'aal2' })
    const requestId = `report-audit-${Date.now()}`
    const { status } = await report(token, `?month=${month}&format=html`, {
      headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId },
    })
    expect(status).toBe(200)
    expect(await recorded(requestId)).toEqual([{ actor_id: admin.id, actor_type: 'USER',
      target_type: 'audit_report', target_id: month, outcome: 'SUCCESS',
      metadata: { month, format: 'html', events: 9 } }])
  })

  it('records a refused look at the report as FAILURE', async () => {
    const token = await tokenFor(sql, participant)
    const requestId = `report-refused-${Date.now()}`
    const { status } = await report(token, `?month=${month}`, {
      headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId },
    })
    expect(status).toBe(403)
    expect(await recorded(requestId)).toEqual([{ actor_id: participant.id, actor_type: 'USER',
      target_type: 'audit_report', target_id: month, outcome: 'FAILURE',
      metadata: { month, format: 'json', reason: 'forbidden' } }])
  })
})

describe('compliance-report: bad requests', () => {
  it.each(['2026-13', '2026-1', '26-01', '1969-12', '2026-00', 'now', '2026-11-01', ''])(
    'answers 400 to month=%j',
    async (bad) => {
      const token = await tokenFor(sql, admin, { aal: 'aal2' })
      const { status, json } = await report(token, `?month=${encodeURIComponent(bad)}`)
      expect(status).toBe(400)
      expect(json.error.code).toBe('bad_request')
      expect(json.error.message).toContain('YYYY-MM')
    },
  )

  it('answers 400 to an unknown format and to unknown body fields', async () => {
    const token = await tokenFor(sql, admin, { aal: 'aal2' })
    const format = await report(token, `?month=${month}&format=pdf`)
    expect(format.status).toBe(400)
    expect(format.json.error.message).toBe('"format" must be json or html')
    const body = await report(token, '', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ month, subject: admin.id }),
    })
    expect(body.status).toBe(400)
    expect(body.json.error.code).toBe('bad_request')
  })

  it('answers 405 to DELETE', async () => {
    const token = await tokenFor(sql, admin, { aal: 'aal2' })
    const { status, json } = await report(token, '', { method: 'DELETE' })
    expect(status).toBe(405)
    expect(json.error.code).toBe('method_not_allowed')
  })
})

describe('compliance-report: JSON', () => {
  it('counts the seeded month exactly, read as the admin under the audit log policies',
    async () => {
      const token = await tokenFor(sql, admin, { aal: 'aal2' })
      const { status, json, res } = await report(token, `?month=${month}`)
      expect(status).toBe(200)
      expect(res.headers.get('content-type')).toContain('application/json')
      expect(json.request_id).toBe(res.headers.get('x-request-id'))
      expect(json.format).toBe('leaps-guard.compliance-report.v1')
      expect(json.month).toBe(month)
      expect(json.period).toEqual({ from: `${month}-01T00:00:00Z`,
        until: expect.stringMatching(/^\d{4}-\d{2}-01T00:00:00Z$/), time_zone: 'UTC' })
      expect(json.deadline_hours).toBe(72)
      expect(json.activity).toMatchObject({ events: 9, successes: 4, failures: 5, partials: 0 })
      expect(json.activity.actions).toEqual([
        { action: 'auth.login_failed', events: 3, unique_actors: 0, successes: 0, failures: 3,
          partials: 0 },
        { action: 'dsar.export', events: 2, unique_actors: 2, successes: 2, failures: 0,
          partials: 0 },
        { action: 'insert', events: 2, unique_actors: 1, successes: 2, failures: 0, partials: 0 },
        { action: 'auth.token_rejected', events: 1, unique_actors: 0, successes: 0, failures: 1,
          partials: 0 },
        { action: 'dsar.delete', events: 1, unique_actors: 1, successes: 0, failures: 1,
          partials: 0 },
      ])
      expect(json.dsar).toEqual({ access_requests: 2, deletion_requests: 1, completed: 2,
        failed: 1, median_response_hours: 43, max_response_hours: 84, over_deadline: 1,
        untimed: 0 })
      expect(json.dsar_history).toHaveLength(12)
      expect(json.dsar_history.at(-1)).toEqual({ month, requests: 3, median_response_hours: 43,
        max_response_hours: 84, over_deadline: 1 })
      expect(json.incidents).toEqual({
        failed_logins: 3,
        unauthorized_attempts: 5,
        days: [
          { day: `${month}-10`, failed_logins: 0, unauthorized_attempts: 1, source_ips: 1,
            affected_users: 2 },
          { day: `${month}-12`, failed_logins: 3, unauthorized_attempts: 3, source_ips: 2,
            affected_users: 1 },
          { day: `${month}-20`, failed_logins: 0, unauthorized_attempts: 1, source_ips: 1,
            affected_users: 0 },
        ],
      })
      // Counts only: no member ids or addresses leave in the report.
      expect(JSON.stringify(json)).not.toContain(participant.id)
      expect(JSON.stringify(json)).not.toContain('203.0.113.7')
    })

  it('gives the same report to a POST, with the month in the query or in the body', async () => {
    const token = await tokenFor(sql, admin, { aal: 'aal2' })
    const headers = { authorization: `Bearer ${token}` }
    const get = await report(token, `?month=${month}`)
    const postQuery = await report(token, `?month=${month}`, { method: 'POST', headers })
    const postBody = await report(token, '', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ month }),
    })
    const strip = (j: Record<string, unknown>) => ({ ...j, request_id: null, generated_at: null })
    expect(postQuery.status).toBe(200)
    expect(postBody.status).toBe(200)
    expect(strip(postQuery.json)).toEqual(strip(get.json))
    expect(strip(postBody.json)).toEqual(strip(get.json))
  })

  it('reports the current UTC month by default', async () => {
    const { status, json } = await report(await tokenFor(sql, admin, { aal: 'aal2' }))
    expect(status).toBe(200)
    expect(json.month).toBe(new Date().toISOString().slice(0, 7))
  })

  it('sends the strict shared security headers with JSON', async () => {
    const { res } = await report(await tokenFor(sql, admin, { aal: 'aal2' }), `?month=${month}`)
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('vary')).toContain('Accept')
  })

  it('logs one line per report with the request id, and no token', async () => {
    const token = await tokenFor(sql, admin, { aal: 'aal2' })
    const requestId = `report-log-${month}-${Date.now()}`
    await report(token, `?month=${month}`, {
      headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId },
    })
    await new Promise((r) => setTimeout(r, 200))
    const lines = readFileSync(stack.functionsLog, 'utf8').split('\n').filter(Boolean)
    const mine = lines.filter((l) => l.includes(requestId)).map((l) => JSON.parse(l))
    expect(mine.find((l) => l.event === 'compliance_report_served')).toMatchObject({
      month, format: 'json', events: 9 })
    expect(lines.join('\n')).not.toContain(token.split('.')[2])
  })
})

describe('compliance-report: HTML', () => {
  let context: BrowserContext
  let userDataDir: string

  beforeAll(async () => {
    userDataDir = mkdtempSync(path.join(tmpdir(), 'leaps-chromium-'))
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 900, height: 1200 },
    })
  })

  afterAll(async () => {
    await context?.close()
    rmSync(userDataDir, { recursive: true, force: true })
  })

  it('answers Accept: text/html with a page that may load nothing but its own stylesheet',
    async () => {
      const token = await tokenFor(sql, admin, { aal: 'aal2' })
      const { status, res, text } = await report(token, `?month=${month}`, {
        headers: { authorization: `Bearer ${token}`, accept: 'text/html,*/*;q=0.8' },
      })
      expect(status).toBe(200)
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
      const csp = res.headers.get('content-security-policy') ?? ''
      expect(csp).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+={0,2}'; /)
      expect(csp).not.toContain('unsafe')
      expect(csp).not.toContain('script-src')
      expect(res.headers.get('x-frame-options')).toBe('DENY')
      expect(text).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|url\(|@import| style="/i)
      expect(text).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg")/)
    })

  it('renders in Chromium with its three charts, no errors and no other request', async () => {
    const token = await tokenFor(sql, admin, { aal: 'aal2' })
    const page = await context.newPage()
    const problems: string[] = []
    const requests: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console: ${m.text()}`)
    })
    page.on('pageerror', (e) => problems.push(`page: ${e.message}`))
    page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`))
    page.on('request', (r) => requests.push(r.url()))
    await page.setExtraHTTPHeaders({ authorization: `Bearer ${token}` })
    const response = await page.goto(url(`?month=${month}&format=html`),
      { waitUntil: 'load' })
    expect(response?.status()).toBe(200)

    for (const id of ['chart-actions', 'chart-dsar', 'chart-incidents']) {
      expect(await page.locator(`svg#${id}`).count(), id).toBe(1)
    }
    // One stacked bar part per outcome present: 3 + 2 + 2 + 1 + 1 rows, one colour each.
    expect(await page.locator('svg#chart-actions rect title').count()).toBe(5)
    expect(await page.locator('svg#chart-dsar line#chart-dsar-deadline').count()).toBe(1)
    expect(await page.locator('svg#chart-dsar rect title').allTextContents())
      .toEqual(expect.arrayContaining([`${month}: median 43.0 h`, `${month}: longest 84.0 h`]))
    // Day 12: failed sign-ins and attempts; days 10 and 20: attempts only.
    expect(await page.locator('svg#chart-incidents rect title').count()).toBe(4)
    // The stylesheet applied, so the CSP hash matches the page's one <style> element.
    expect(await page.locator('.cards').evaluate((e) => getComputedStyle(e).display))
      .toBe('grid')
    expect(await page.title()).toMatch(/^Compliance report, \w+ \d{4}$/)
    expect(await page.locator('#dsar').innerText())
      .toContain('1 request was answered after the 72-hour deadline')

    mkdirSync(ARTIFACTS, { recursive: true })
    const file = path.join(ARTIFACTS, 'compliance-report.png')
    rmSync(file, { force: true })
    await page.screenshot({ path: file, fullPage: true })
    expect(existsSync(file)).toBe(true)
    expect(statSync(file).size).toBeGreaterThan(10_000)

    await page.emulateMedia({ media: 'print' })
    const pdf = await page.pdf({ format: 'A4', printBackground: true })
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-')

    expect(problems).toEqual([])
    expect(requests).toEqual([url(`?month=${month}&format=html`)])
    await page.close()
  })

  it('escapes every text it renders, so report values never become markup', async () => {
    const hostile = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
    const doc: Report = {
      format: 'leaps-guard.compliance-report.v1',
      month: '1999-02',
      period: { from: '1999-02-01T00:00:00Z', until: `"><style>*{display:none}</style>`,
        time_zone: hostile },
      generated_at: hostile,
      deadline_hours: 72,
      activity: { events: 1, successes: 1, failures: 0, partials: 0, actions: [
        { action: hostile, events: 1, unique_actors: 1, successes: 1, failures: 0,
          partials: 0 }] },
      dsar: { access_requests: 0, deletion_requests: 0, completed: 0, failed: 0,
        median_response_hours: null, max_response_hours: null, over_deadline: 0, untimed: 0 },
      dsar_history: [{ month: hostile, requests: 0, median_response_hours: null,
        max_response_hours: null, over_deadline: 0 }],
      incidents: { failed_logins: 1, unauthorized_attempts: 1, days: [
        { day: '1999-02-28', failed_logins: 1, unauthorized_attempts: 1, source_ips: 1,
          affected_users: 1 }] },
    }
    const html = renderReportHtml(doc, '</p><script>1</script>')
    expect(html).not.toContain('<script')
    expect(html).not.toContain('<img')
    expect(html.match(/<style>/g)).toHaveLength(1)

    const page = await context.newPage()
    const problems: string[] = []
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()) })
    page.on('pageerror', (e) => problems.push(e.message))
    page.on('request', (r) => problems.push(`request: ${r.url()}`))
    await page.setContent(html, { waitUntil: 'load' })
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned))
      .toBeUndefined()
    expect(await page.locator('script, img').count()).toBe(0)
    expect(await page.locator('#activity tbody td').first().innerText()).toBe(hostile)
    expect(await page.locator('.cards').evaluate((e) => getComputedStyle(e).display))
      .toBe('grid')
    expect(problems).toEqual([])
    await page.close()
  })
})
