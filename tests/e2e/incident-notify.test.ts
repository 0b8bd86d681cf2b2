/**
 * incident-notify over HTTP: a second gateway of the test stack, given channel settings that
 * point at real receivers on 127.0.0.1 started here (webhook, PagerDuty, e-mail API; Slack is
 * left unconfigured on purpose). Outbox rows are written with the owner connection; retries
 * are made due at once (next_attempt_at = now()) instead of waiting out the backoff.
 *
 * The test database is shared, so a run of the function may claim other tests' messages as
 * well: every assertion is about this file's own rows and idempotency keys, and the receivers
 * accept whatever else arrives.
 */
import { randomUUID } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import type { ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type postgres from 'postgres'
import { verifyWebhookSignature } from '../../functions/_shared/channels.ts'
import { startFunctions, waitForFunctions } from '../../stack/lib/functions.ts'
import { profile } from '../../stack/lib/profile.ts'
import { loadOrCreateSecrets } from '../../stack/lib/secrets.ts'
import { stopChild } from '../../stack/lib/stack.ts'
import { type Received, type Receiver, startReceiver } from '../fixtures/receiver.ts'
import { createMember, type Member, ownerSql, stack, tokenFor } from '../fixtures/stack.ts'

const WEBHOOK_SECRET = `whsec-${randomUUID()}-${randomUUID()}`
const EMAIL_API_KEY = `em-${randomUUID()}`
const ROUTING_KEY = `pd${randomUUID().replace(/-/g, '')}`

let sql: postgres.Sql
let gateway: ChildProcess | undefined
let api: string
let webhook: Receiver
let pagerduty: Receiver
let email: Receiver
let member: Member
let logStart = 0

/** Per idempotency key: the status to answer on the n-th request (1-based); 2xx by default. */
const plans = new Map<string, (n: number) => number>()
const seen = new Map<string, number>()
function planned(key: string | undefined, ok: number): number {
  if (!key) return ok
  const n = (seen.get(key) ?? 0) + 1
  seen.set(key, n)
  return plans.get(key)?.(n) ?? ok
}

const keyOf = (r: Received) => r.headers['x-leaps-idempotency-key'] as string | undefined
  ?? (JSON.parse(r.body) as { dedup_key?: string; idempotency_key?: string }).dedup_key
  ?? (JSON.parse(r.body) as { idempotency_key?: string }).idempotency_key
const requestsFor = (receiver: Receiver, key: string) =>
  receiver.received.filter((r) => keyOf(r) === key)

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const port = (probe.address() as { port: number }).port
      probe.close(() => resolve(port))
    })
  })
}

async function notify(token = stack.serviceRoleKey, body: unknown = { batch: 100 }) {
  const res = await fetch(`${api}/functions/v1/incident-notify`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, json: await res.json() }
}

async function enqueue(row: {
  channel: string
  severity: string
  title?: string
  body?: Record<string, unknown>
  recipient?: string
}): Promise<{ id: string; key: string }> {
  const key = `test:${randomUUID()}:${row.channel}`
  const [inserted] = await sql`insert into private.notification_outbox
      (idempotency_key, channel, kind, severity, title, body, recipient_user_id)
    values (${key}, ${row.channel}, 'test.notify', ${row.severity},
      ${row.title ?? 'Test notification'}, ${sql.json((row.body ?? { n: 1 }) as never)},
      ${row.recipient ?? null})
    returning id::text`
  return { id: inserted!.id as string, key }
}

const outboxRow = async (id: string) => (await sql`select status, attempts, last_error
  from private.notification_outbox where id = ${id}`)[0]!
const makeDue = (id: string) =>
  sql`update private.notification_outbox set next_attempt_at = now() where id = ${id}`

beforeAll(async () => {
  sql = ownerSql()
  member = await createMember(sql)
  webhook = await startReceiver(async (r) => {
    const valid = await verifyWebhookSignature(WEBHOOK_SECRET,
      r.headers['x-leaps-timestamp'] as string, r.body, r.headers['x-leaps-signature'] as string)
    if (!valid) return 401
    return planned(r.headers['x-leaps-idempotency-key'] as string, 200)
  })
  pagerduty = await startReceiver((r) =>
    planned((JSON.parse(r.body) as { dedup_key?: string }).dedup_key, 202))
  email = await startReceiver((r) => {
    if (r.headers.authorization !== `Bearer ${EMAIL_API_KEY}`) return 401
    return planned((JSON.parse(r.body) as { idempotency_key?: string }).idempotency_key, 200)
  })
  const base = profile('test')
  const p = { ...base, apiPort: await freePort() }
  api = `http://127.0.0.1:${p.apiPort}`
  logStart = statSync(stack.functionsLog).size
  gateway = startFunctions(p, await loadOrCreateSecrets(base), {
    WEBHOOK_URL: `${webhook.url}/leaps`,
    WEBHOOK_SECRET,
    PAGERDUTY_ROUTING_KEY: ROUTING_KEY,
    PAGERDUTY_EVENTS_URL: `${pagerduty.url}/v2/enqueue`,
    EMAIL_API_URL: `${email.url}/send`,
    EMAIL_API_KEY,
    EMAIL_FROM: 'alerts@leaps.example',
    EMAIL_TO_SECURITY: 'security@leaps.example',
  })
  await waitForFunctions(p, gateway)
  // Whatever other tests left due goes first, so each test below sees its own rows claimed.
  for (let i = 0; i < 20 && (await notify()).json.claimed > 0; i += 1) { /* drain */ }
}, 90_000)

afterAll(async () => {
  await stopChild(gateway)
  await Promise.all([webhook, pagerduty, email].map((r) => r?.close()))
  await sql`delete from auth.users where id = ${member.id}`
  await sql.end()
})

describe('incident-notify', () => {
  it('refuses a member\'s token with 403 and claims nothing; anon gets 401', async () => {
    const { id } = await enqueue({ channel: 'webhook', severity: 'low' })
    const refused = await notify(await tokenFor(sql, member))
    expect(refused.status).toBe(403)
    expect(refused.json.error.code).toBe('forbidden')
    expect((await notify(stack.anonKey)).status).toBe(401)
    expect(await outboxRow(id)).toMatchObject({ status: 'pending', attempts: 0 })
    await notify()
    expect((await outboxRow(id)).status).toBe('delivered')
  })

  it('retries a receiver that fails three times, then delivers exactly once, one key', async () => {
    const { id, key } = await enqueue({ channel: 'webhook', severity: 'high' })
    plans.set(key, (n) => (n <= 3 ? 503 : 200))
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const run = await notify()
      expect(run.status).toBe(200)
      expect(run.json.failed).toBeGreaterThanOrEqual(1)
      expect(await outboxRow(id)).toEqual({ status: 'pending', attempts: attempt,
        last_error: 'http 503' })
      await makeDue(id)
    }
    const last = await notify()
    expect(last.json.delivered).toBeGreaterThanOrEqual(1)
    expect(await outboxRow(id)).toEqual({ status: 'delivered', attempts: 4, last_error: null })
    await makeDue(id)
    await notify()

    const requests = requestsFor(webhook, key)
    expect(requests.map((r) => r.status)).toEqual([503, 503, 503, 200])
    for (const r of requests) {
      expect(r.headers['x-leaps-idempotency-key']).toBe(key)
      expect(JSON.parse(r.body)).toMatchObject({ id, idempotency_key: key, kind: 'test.notify' })
    }
  })

  it('gives up after notification_max_attempts: the message is dead and an alert says so',
    async () => {
      // One open dead-letter alert per channel: earlier runs' must not hide this one.
      await sql`update private.security_alerts set acknowledged_at = now()
        where cause = 'dead_letter:email' and acknowledged_at is null`
      const [limits] = await sql`select private.notification_max_attempts() as max`
      const max = limits!.max as number
      const { id, key } = await enqueue({ channel: 'email', severity: 'high' })
      plans.set(key, () => 500)
      let dead = 0
      for (let attempt = 1; attempt <= max; attempt += 1) {
        dead = (await notify()).json.dead
        await makeDue(id)
      }
      expect(dead).toBeGreaterThanOrEqual(1)
      expect(await outboxRow(id)).toEqual({ status: 'dead', attempts: max,
        last_error: 'http 500' })
      const requests = requestsFor(email, key)
      expect(requests).toHaveLength(max)
      expect(new Set(requests.map((r) => r.headers.authorization)))
        .toEqual(new Set([`Bearer ${EMAIL_API_KEY}`]))

      const alerts = await sql`select id::text, severity from private.security_alerts
        where kind = 'notification.dead_letter' and details ->> 'message_id' = ${id}`
      expect(alerts).toHaveLength(1)
      expect(alerts[0]!.severity).toBe('high')
      // The alert is itself delivered: the webhook hears of it on the next run.
      await notify()
      const told = webhook.received.filter((r) =>
        keyOf(r) === `alert:${alerts[0]!.id}:webhook`)
      expect(told).toHaveLength(1)
      expect(JSON.parse(told[0]!.body).body).toMatchObject({ kind: 'notification.dead_letter',
        details: { message_id: Number(id), channel: 'email', attempts: max } })
      await sql`update private.security_alerts set acknowledged_at = now()
        where id = ${alerts[0]!.id}`
    }, 60_000)

  it('signs webhooks so that the receiver accepts them and refuses a tampered copy', async () => {
    const { id, key } = await enqueue({ channel: 'webhook', severity: 'medium',
      body: { detail: 'signed' } })
    await notify()
    expect((await outboxRow(id)).status).toBe('delivered')
    const [genuine] = requestsFor(webhook, key)
    expect(genuine!.status).toBe(200)
    const headers = {
      'content-type': 'application/json',
      'x-leaps-timestamp': genuine!.headers['x-leaps-timestamp'] as string,
      'x-leaps-signature': genuine!.headers['x-leaps-signature'] as string,
      'x-leaps-idempotency-key': key,
    }
    const resend = (body: string, extra: Record<string, string> = {}) =>
      fetch(`${webhook.url}/leaps`, { method: 'POST', headers: { ...headers, ...extra }, body })
    expect((await resend(genuine!.body.replace('signed', 'forged'))).status).toBe(401)
    expect((await resend(genuine!.body, {
      'x-leaps-timestamp': String(Number(headers['x-leaps-timestamp']) - 1),
    })).status).toBe(401)
    expect((await resend(genuine!.body, { 'x-leaps-signature': `v1=${'0'.repeat(64)}` })).status)
      .toBe(401)
  })

  it('pages PagerDuty for the critical alert only', async () => {
    const tag = randomUUID()
    const [raised] = await sql`select
        private.raise_alert('test.notify', 'critical', 'Critical test alert', '{}',
          ${`test:critical:${tag}`})::text as critical,
        private.raise_alert('test.notify', 'high', 'High test alert', '{}',
          ${`test:high:${tag}`})::text as high`
    const { critical, high } = raised as { critical: string; high: string }
    const direct = await enqueue({ channel: 'pagerduty', severity: 'high' })
    await notify()

    const paged = pagerduty.received.filter((r) =>
      [`alert:${critical}:pagerduty`, `alert:${high}:pagerduty`, direct.key].includes(keyOf(r)!))
    expect(paged).toHaveLength(1)
    expect(JSON.parse(paged[0]!.body)).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: `alert:${critical}:pagerduty`,
      payload: { summary: 'Critical test alert', severity: 'critical', source: 'leaps-guard' },
    })
    expect(await outboxRow(direct.id)).toMatchObject({ status: 'skipped',
      last_error: 'pagerduty takes critical messages only' })
    const rows = await sql`select channel, status from private.notification_outbox
      where body ->> 'alert_id' in (${critical}, ${high}) order by channel`
    expect(rows.filter((r) => r.status === 'delivered').map((r) => r.channel).sort())
      .toEqual(['email', 'email', 'pagerduty', 'webhook', 'webhook'])
    await sql`update private.security_alerts set acknowledged_at = now()
      where cause in (${`test:critical:${tag}`}, ${`test:high:${tag}`})`
  })

  it('finishes a message for an unconfigured channel as skipped', async () => {
    const { id, key } = await enqueue({ channel: 'slack', severity: 'high' })
    const run = await notify()
    expect(run.json.skipped).toBeGreaterThanOrEqual(1)
    expect(await outboxRow(id)).toEqual({ status: 'skipped', attempts: 1,
      last_error: 'channel not configured' })
    for (const receiver of [webhook, pagerduty, email]) {
      expect(requestsFor(receiver, key)).toHaveLength(0)
    }
  })

  it('writes to a member at the address their account has, and logs no address or secret',
    async () => {
      const { id, key } = await enqueue({ channel: 'email', severity: 'high',
        title: 'Pemberitahuan insiden', body: { text: 'Data Anda mungkin terdampak.' },
        recipient: member.id })
      await notify()
      expect((await outboxRow(id)).status).toBe('delivered')
      const [mail] = requestsFor(email, key)
      expect(JSON.parse(mail!.body)).toEqual({
        from: 'alerts@leaps.example',
        to: member.email,
        subject: 'Pemberitahuan insiden',
        text: 'Data Anda mungkin terdampak.',
        idempotency_key: key,
      })

      const log = readFileSync(stack.functionsLog, 'utf8').slice(logStart)
      for (const secret of [member.email, WEBHOOK_SECRET, EMAIL_API_KEY, ROUTING_KEY,
        'Data Anda mungkin']) {
        expect(log).not.toContain(secret)
      }
      const line = log.split('\n').filter((l) => l.includes('"event":"notification"'))
        .map((l) => JSON.parse(l)).find((l) => l.message_id === id)
      expect(line).toMatchObject({ level: 'info', channel: 'email', outcome: 'delivered',
        attempt: 1 })
      expect(line.request_id).toMatch(/^[0-9a-f-]{36}$/)
    })
})
