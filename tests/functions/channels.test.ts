/**
 * Notification channels against real HTTP receivers on 127.0.0.1: what each channel sends,
 * that failures say no more than their kind, and the webhook signature a receiver checks.
 */
import net from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  channelsFromConfig,
  DeliveryFailed,
  DeliverySkipped,
  emailChannel,
  NOT_CONFIGURED,
  type OutboxMessage,
  pagerDutyChannel,
  signWebhook,
  slackChannel,
  verifyWebhookSignature,
  webhookChannel,
} from '../../functions/_shared/channels.ts'
import { ConfigError, parseConfig } from '../../functions/_shared/config.ts'
import { type Receiver, startReceiver } from '../fixtures/receiver.ts'

const SECRET = 'whsec-test-0123456789abcdef0123456789abcdef'
const NOW = Date.UTC(2026, 11, 4, 12, 0, 0)
const NOW_SECONDS = String(NOW / 1000)

const message = (overrides: Partial<OutboxMessage> = {}): OutboxMessage => ({
  id: '42',
  idempotencyKey: 'alert:7:webhook',
  channel: 'webhook',
  kind: 'alert',
  severity: 'critical',
  title: 'Retention job failed',
  body: { alert_id: 7, kind: 'retention.failed', details: { policy: 'sessions' } },
  recipientUserId: null,
  createdAt: '2026-12-04T11:59:00.000Z',
  ...overrides,
})

/** The error a send rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected the send to fail')
}

let receiver: Receiver

beforeAll(async () => {
  receiver = await startReceiver()
})

afterAll(async () => {
  await receiver.close()
})

beforeEach(() => {
  receiver.received.length = 0
  receiver.respond = () => 200
})

const lastJson = () => JSON.parse(receiver.received.at(-1)!.body) as Record<string, unknown>

describe('webhook signatures', () => {
  const body = '{"id":"42","title":"Retention job failed"}'

  it('verifies a signature made with the same secret, timestamp and body', async () => {
    const signature = await signWebhook(SECRET, NOW_SECONDS, body)
    expect(signature).toMatch(/^v1=[0-9a-f]{64}$/)
    expect(await verifyWebhookSignature(SECRET, NOW_SECONDS, body, signature, 300, NOW))
      .toBe(true)
    expect(await verifyWebhookSignature(SECRET, NOW_SECONDS, new TextEncoder().encode(body),
      signature, 300, NOW)).toBe(true)
  })

  it('refuses a signature made with another secret', async () => {
    const signature = await signWebhook(`${SECRET}-other`, NOW_SECONDS, body)
    expect(await verifyWebhookSignature(SECRET, NOW_SECONDS, body, signature, 300, NOW))
      .toBe(false)
  })

  it('refuses a body altered after signing, by one character', async () => {
    const signature = await signWebhook(SECRET, NOW_SECONDS, body)
    const altered = body.replace('42', '43')
    expect(await verifyWebhookSignature(SECRET, NOW_SECONDS, altered, signature, 300, NOW))
      .toBe(false)
  })

  it('refuses a timestamp moved after signing (it is part of what is signed)', async () => {
    const signature = await signWebhook(SECRET, NOW_SECONDS, body)
    const moved = String(Number(NOW_SECONDS) + 1)
    expect(await verifyWebhookSignature(SECRET, moved, body, signature, 300, NOW)).toBe(false)
  })

  it('refuses a correctly signed request older or newer than the tolerance (replay)', async () => {
    const old = String(NOW / 1000 - 301)
    const oldSignature = await signWebhook(SECRET, old, body)
    expect(await verifyWebhookSignature(SECRET, old, body, oldSignature, 300, NOW)).toBe(false)
    expect(await verifyWebhookSignature(SECRET, old, body, oldSignature, 600, NOW)).toBe(true)
    const future = String(NOW / 1000 + 301)
    expect(await verifyWebhookSignature(SECRET, future, body,
      await signWebhook(SECRET, future, body), 300, NOW)).toBe(false)
  })

  it('refuses missing or malformed headers', async () => {
    const signature = await signWebhook(SECRET, NOW_SECONDS, body)
    const hex = signature.slice(3)
    for (const [timestamp, sig] of [
      [null, signature], [NOW_SECONDS, null], ['', signature], [`${NOW_SECONDS}.5`, signature],
      [NOW_SECONDS, hex], [NOW_SECONDS, `v0=${hex}`], [NOW_SECONDS, `v1=${hex.slice(2)}`],
      [NOW_SECONDS, `v1=${hex}00`], [NOW_SECONDS, `v1=${'z'.repeat(64)}`],
    ] as const) {
      expect(await verifyWebhookSignature(SECRET, timestamp, body, sig, 300, NOW)).toBe(false)
    }
  })
})

describe('request shapes', () => {
  it('webhook: signed JSON with timestamp, signature and idempotency key headers', async () => {
    await webhookChannel({ url: `${receiver.url}/hook`, secret: SECRET, now: () => NOW })
      .send(message())
    const request = receiver.received.at(-1)!
    expect(request.method).toBe('POST')
    expect(request.path).toBe('/hook')
    expect(request.headers['content-type']).toBe('application/json')
    expect(request.headers['x-leaps-timestamp']).toBe(NOW_SECONDS)
    expect(request.headers['x-leaps-idempotency-key']).toBe('alert:7:webhook')
    expect(await verifyWebhookSignature(SECRET, NOW_SECONDS, request.body,
      request.headers['x-leaps-signature'] as string, 300, NOW)).toBe(true)
    expect(JSON.parse(request.body)).toEqual({
      id: '42',
      idempotency_key: 'alert:7:webhook',
      kind: 'alert',
      severity: 'critical',
      title: 'Retention job failed',
      body: { alert_id: 7, kind: 'retention.failed', details: { policy: 'sessions' } },
      created_at: '2026-12-04T11:59:00.000Z',
    })
  })

  it('webhook: never names the member a message is for', async () => {
    await webhookChannel({ url: receiver.url, secret: SECRET })
      .send(message({ recipientUserId: '00000000-0000-4000-8000-000000000001' }))
    expect(receiver.received.at(-1)!.body).not.toContain('00000000-0000-4000-8000-000000000001')
  })

  it('slack: text and blocks, idempotency key as a header, mentions defused', async () => {
    await slackChannel({ webhookUrl: `${receiver.url}/services/T0/B0/secretpath` }).send(message({
      channel: 'slack', idempotencyKey: 'alert:7:slack', severity: 'high',
      title: 'Failed logins <!channel> & more',
    }))
    const request = receiver.received.at(-1)!
    expect(request.path).toBe('/services/T0/B0/secretpath')
    expect(request.headers['idempotency-key']).toBe('alert:7:slack')
    const payload = JSON.parse(request.body)
    expect(payload.text).toBe('[HIGH] Failed logins &lt;!channel&gt; &amp; more')
    expect(payload.blocks).toHaveLength(3)
    expect(payload.blocks[0]).toEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: '*[HIGH] Failed logins &lt;!channel&gt; &amp; more*' },
    })
    expect(payload.blocks[1].text.text).toContain('retention.failed')
    expect(request.body).not.toContain('<!channel>')
  })

  it('pagerduty: an Events API v2 trigger with the idempotency key as dedup_key', async () => {
    await pagerDutyChannel({ routingKey: 'R0UT1NGKEY', eventsUrl: `${receiver.url}/v2/enqueue` })
      .send(message({ channel: 'pagerduty', idempotencyKey: 'alert:7:pagerduty' }))
    expect(receiver.received.at(-1)!.path).toBe('/v2/enqueue')
    expect(lastJson()).toEqual({
      routing_key: 'R0UT1NGKEY',
      event_action: 'trigger',
      dedup_key: 'alert:7:pagerduty',
      payload: {
        summary: 'Retention job failed',
        severity: 'critical',
        source: 'leaps-guard',
        custom_details: { alert_id: 7, kind: 'retention.failed', details: { policy: 'sessions' } },
      },
    })
  })

  it('pagerduty: a message below CRITICAL is skipped without a request', async () => {
    const channel = pagerDutyChannel({ routingKey: 'R0UT1NGKEY', eventsUrl: receiver.url })
    for (const severity of ['low', 'medium', 'high'] as const) {
      const error = await rejection(channel.send(message({ channel: 'pagerduty', severity })))
      expect(error).toBeInstanceOf(DeliverySkipped)
      expect((error as DeliverySkipped).reason).toBe('pagerduty takes critical messages only')
    }
    expect(receiver.received).toHaveLength(0)
  })

  const email = (lookup: (id: string) => Promise<string | null> = async () => null,
    securityTo: string | null = 'security@leaps.example') => emailChannel({
    apiUrl: `${receiver.url}/send`,
    apiKey: 'em-key-123',
    from: 'alerts@leaps.example',
    securityTo: securityTo ?? undefined,
    lookupEmail: lookup,
  })

  it('email: alerts go to the security team, with the bearer key and idempotency key', async () => {
    await email().send(message({ channel: 'email', idempotencyKey: 'alert:7:email',
      title: 'Two\r\nlines' }))
    const request = receiver.received.at(-1)!
    expect(request.path).toBe('/send')
    expect(request.headers.authorization).toBe('Bearer em-key-123')
    const mail = lastJson()
    expect(mail).toMatchObject({
      from: 'alerts@leaps.example',
      to: 'security@leaps.example',
      subject: '[leaps-guard CRITICAL] Two lines',
      idempotency_key: 'alert:7:email',
    })
    expect(Object.keys(mail).sort()).toEqual(['from', 'idempotency_key', 'subject', 'text', 'to'])
    expect(mail.text).toContain('retention.failed')
  })

  it('email: a member\'s message goes to the address looked up when it is sent', async () => {
    const asked: string[] = []
    const member = '00000000-0000-4000-8000-000000000009'
    await email(async (id) => {
      asked.push(id)
      return 'siti@example.com'
    }).send(message({ channel: 'email', recipientUserId: member, title: 'Pemberitahuan',
      body: { text: 'Data Anda terdampak insiden.' } }))
    expect(asked).toEqual([member])
    expect(lastJson()).toMatchObject({ to: 'siti@example.com', subject: 'Pemberitahuan',
      text: 'Data Anda terdampak insiden.' })
  })

  it('email: skipped when the member has no address, or no team address is set', async () => {
    const noAddress = await rejection(email().send(message({ channel: 'email',
      recipientUserId: '00000000-0000-4000-8000-000000000009' })))
    expect((noAddress as DeliverySkipped).reason).toBe('recipient has no e-mail address')
    const noTeam = await rejection(email(undefined, null).send(message({ channel: 'email' })))
    expect((noTeam as DeliverySkipped).reason).toBe(NOT_CONFIGURED)
    expect(receiver.received).toHaveLength(0)
  })

  it('email: a failing address lookup is a failure to retry, not a skip', async () => {
    const error = await rejection(email(() => Promise.reject(new Error('db down')))
      .send(message({ channel: 'email', recipientUserId: '00000000-0000-4000-8000-000000000009' })))
    expect(error).toBeInstanceOf(DeliveryFailed)
    expect(error.message).toBe('recipient lookup failed')
  })
})

describe('failures', () => {
  const slackAt = (url: string, timeoutMs?: number) =>
    slackChannel({ webhookUrl: `${url}/services/T0/B0/tok3n`, timeoutMs })

  it('an answer outside 2xx fails with the status only: no body, URL or secret', async () => {
    for (const status of [400, 401, 429, 500, 503]) {
      receiver.respond = () => status
      const error = await rejection(slackAt(receiver.url).send(message({ channel: 'slack' })))
      expect(error).toBeInstanceOf(DeliveryFailed)
      expect(error.message).toBe(`http ${status}`)
    }
    receiver.respond = () => 500
    const webhookError = await rejection(webhookChannel({ url: `${receiver.url}/h?token=abc`,
      secret: SECRET }).send(message()))
    expect(webhookError.message).toBe('http 500')
  })

  it('a redirect is not followed: it is a failure', async () => {
    receiver.respond = () => 302
    const error = await rejection(webhookChannel({ url: receiver.url, secret: SECRET })
      .send(message()))
    expect(error.message).toBe('http 302')
    expect(receiver.received).toHaveLength(1)
  })

  it('a receiver that does not answer in time fails as a timeout', async () => {
    receiver.respond = () => 'hang'
    const started = Date.now()
    const error = await rejection(slackAt(receiver.url, 300).send(message({ channel: 'slack' })))
    expect(error).toBeInstanceOf(DeliveryFailed)
    expect(error.message).toBe('timeout')
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('a receiver that is not there fails as a connection failure, without the URL', async () => {
    const server = net.createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as net.AddressInfo).port
    await new Promise((resolve) => server.close(resolve))
    const error = await rejection(slackAt(`http://127.0.0.1:${port}`).send(message()))
    expect(error.message).toBe('connection failed')
  })
})

describe('channels from the configuration', () => {
  const base = {
    SUPABASE_URL: 'http://127.0.0.1:54321',
    SUPABASE_ANON_KEY: 'anon-key-anon-key-anon-key',
    SUPABASE_SERVICE_ROLE_KEY: 'service-key-service-key-service',
    SUPABASE_DB_URL: 'postgresql://postgres:postgres@127.0.0.1:54322/postgres',
    SUPABASE_JWT_SECRET: 'x'.repeat(40),
    LEAPS_SCANNER: 'disabled',
  }
  const lookupEmail = async () => null

  it('skips every channel that has no settings', async () => {
    const channels = channelsFromConfig(parseConfig(base), { lookupEmail })
    for (const name of ['slack', 'pagerduty', 'email', 'webhook'] as const) {
      const error = await rejection(channels[name].send(message({ channel: name })))
      expect(error).toBeInstanceOf(DeliverySkipped)
      expect((error as DeliverySkipped).reason).toBe('channel not configured')
    }
  })

  it('sends through a configured channel, PagerDuty at its default URL unless told', async () => {
    const config = parseConfig({ ...base, WEBHOOK_URL: `${receiver.url}/w`,
      WEBHOOK_SECRET: SECRET, PAGERDUTY_ROUTING_KEY: 'R0UT1NGKEY' })
    expect(config.PAGERDUTY_EVENTS_URL).toBe('https://events.pagerduty.com/v2/enqueue')
    await channelsFromConfig(config, { lookupEmail }).webhook.send(message())
    expect(receiver.received.at(-1)!.path).toBe('/w')
  })

  it('refuses half a channel at start-up', () => {
    expect(() => parseConfig({ ...base, WEBHOOK_URL: 'https://hooks.example/x' }))
      .toThrow(/WEBHOOK_URL: the webhook needs WEBHOOK_URL and WEBHOOK_SECRET together/)
    expect(() => parseConfig({ ...base, EMAIL_API_URL: 'https://mail.example/send',
      EMAIL_API_KEY: 'k' })).toThrow(/EMAIL_API_URL: e-mail needs/)
    expect(() => parseConfig({ ...base, EMAIL_TO_SECURITY: 'security@leaps.example' }))
      .toThrow(ConfigError)
    expect(() => parseConfig({ ...base, WEBHOOK_URL: 'https://hooks.example/x',
      WEBHOOK_SECRET: 'short' })).toThrow(/WEBHOOK_SECRET: must be at least 32 characters/)
  })

  it('refuses plain http to another machine', () => {
    expect(() => parseConfig({ ...base, SLACK_WEBHOOK_URL: 'http://hooks.slack.com/services/x' }))
      .toThrow(/SLACK_WEBHOOK_URL: must be an https URL/)
    expect(parseConfig({ ...base, SLACK_WEBHOOK_URL: 'http://localhost:9/x' }).SLACK_WEBHOOK_URL)
      .toBe('http://localhost:9/x')
  })
})
