/**
 * Notification channels: where incident-notify delivers the outbox (private.notification_outbox).
 * Each channel is one small object with `send(message)`, built from the configuration; the
 * same code talks to the real services in production and to local receivers in tests.
 *
 * Rules every channel keeps:
 * - the message's idempotency key travels with every attempt (in the API's own field, or an
 *   `Idempotency-Key` header), so a receiver can drop the repeats that at-least-once delivery
 *   brings;
 * - one attempt waits at most `timeoutMs` (10 s), follows no redirect, and counts any answer
 *   outside 2xx as a failure;
 * - a failure says only what kind it was (`http 503`, `timeout`, `connection failed`): never a
 *   response body, an address, a key, or a URL (a Slack webhook URL is itself a secret).
 *
 * `send` resolves when the message was accepted, throws DeliverySkipped when there is nothing
 * to try (channel not configured, message not for this channel) and DeliveryFailed otherwise.
 */
import type { Config } from './config.ts'

export const CHANNEL_NAMES = ['slack', 'pagerduty', 'email', 'webhook'] as const
export type ChannelName = (typeof CHANNEL_NAMES)[number]
export type Severity = 'low' | 'medium' | 'high' | 'critical'

/** One row of the outbox, as the channels see it. */
export interface OutboxMessage {
  id: string
  idempotencyKey: string
  channel: ChannelName
  kind: string
  severity: Severity
  title: string
  body: Record<string, unknown>
  /** A member the message is for; their address is looked up when it is sent. */
  recipientUserId: string | null
  createdAt: string
}

export interface Channel {
  send(message: OutboxMessage): Promise<void>
}

/** Nothing was tried, and nothing will be: the outbox records the reason and moves on. */
export class DeliverySkipped extends Error {
  constructor(readonly reason: string) {
    super(reason)
    this.name = 'DeliverySkipped'
  }
}

/** An attempt that failed; the message is a short, safe description worth retrying on. */
export class DeliveryFailed extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DeliveryFailed'
  }
}

export const NOT_CONFIGURED = 'channel not configured'
export const DEFAULT_TIMEOUT_MS = 10_000

/** Finds a member's current e-mail address, or null when there is none to write to. */
export type LookupEmail = (userId: string) => Promise<string | null>

interface Common {
  timeoutMs?: number
}

/** Posts a JSON body; resolves on 2xx, throws DeliveryFailed with a safe reason otherwise. */
async function post(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<void> {
  let res: Response
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      // A redirect would carry a signed message to a host nobody configured.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch (error) {
    // The runtime's message may hold the URL; only the kind of failure leaves here.
    const name = (error as { name?: unknown } | null)?.name
    throw new DeliveryFailed(name === 'TimeoutError' || name === 'AbortError'
      ? 'timeout'
      : 'connection failed')
  }
  await res.body?.cancel().catch(() => {})
  if (res.status < 200 || res.status > 299) throw new DeliveryFailed(`http ${res.status}`)
}

const notConfigured: Channel = {
  send: () => Promise.reject(new DeliverySkipped(NOT_CONFIGURED)),
}

/** Slack's mrkdwn reads `<...>` as links and mentions (`<!channel>`); alert text must not. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}

/** Slack incoming webhook: `{text, blocks}`; Slack has no idempotency field, so a header. */
export function slackChannel(options: Common & { webhookUrl: string }): Channel {
  return {
    send(message) {
      const label = `[${message.severity.toUpperCase()}] ${message.title}`
      // Inside a code block; a ``` in the details would end it early.
      const details = clip(JSON.stringify(message.body, null, 2), 2800).replace(/```/g, "'''")
      const payload = {
        text: slackEscape(label),
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: `*${slackEscape(label)}*` } },
          {
            type: 'section',
            text: { type: 'mrkdwn', text: `\`\`\`${slackEscape(details)}\`\`\`` },
          },
          {
            type: 'context',
            elements: [{
              type: 'mrkdwn',
              text: slackEscape(`${message.kind} · message ${message.id} · leaps-guard`),
            }],
          },
        ],
      }
      return post(options.webhookUrl, JSON.stringify(payload),
        { 'idempotency-key': message.idempotencyKey }, options.timeoutMs)
    },
  }
}

/** PagerDuty Events API v2. It pages a person, so only CRITICAL messages go; others skip. */
export function pagerDutyChannel(
  options: Common & { routingKey: string; eventsUrl: string },
): Channel {
  return {
    send(message) {
      if (message.severity !== 'critical') {
        return Promise.reject(new DeliverySkipped('pagerduty takes critical messages only'))
      }
      const event = {
        routing_key: options.routingKey,
        event_action: 'trigger',
        // PagerDuty folds events with one dedup_key into one incident: repeats add nothing.
        dedup_key: message.idempotencyKey,
        payload: {
          summary: clip(message.title, 1024),
          severity: 'critical',
          source: 'leaps-guard',
          custom_details: message.body,
        },
      }
      return post(options.eventsUrl, JSON.stringify(event), {}, options.timeoutMs)
    },
  }
}

/** Header values and subjects stay on one line, whatever a title holds. */
const oneLine = (text: string) => text.replace(/[\r\n\u2028\u2029]+/g, ' ').trim()

/**
 * An HTTP e-mail API: POST {from, to, subject, text, idempotency_key} with a bearer key.
 * Alerts go to the security team's address; a message for a member goes to the address their
 * account has when it is sent, which is never stored in the outbox nor written to a log.
 */
export function emailChannel(options: Common & {
  apiUrl: string
  apiKey: string
  from: string
  securityTo?: string
  lookupEmail: LookupEmail
}): Channel {
  return {
    async send(message) {
      let to: string | null
      if (message.recipientUserId) {
        try {
          to = await options.lookupEmail(message.recipientUserId)
        } catch {
          throw new DeliveryFailed('recipient lookup failed')
        }
        if (!to) throw new DeliverySkipped('recipient has no e-mail address')
      } else {
        if (!options.securityTo) throw new DeliverySkipped(NOT_CONFIGURED)
        to = options.securityTo
      }
      const forTeam = !message.recipientUserId
      const subject = oneLine(forTeam
        ? `[leaps-guard ${message.severity.toUpperCase()}] ${message.title}`
        : message.title)
      // A member's notice carries its own wording in body.text; alerts show their details.
      const text = typeof message.body.text === 'string'
        ? message.body.text
        : `${message.title}\n\nkind: ${message.kind}\nseverity: ${message.severity}\n`
          + `message: ${message.id}\n\n${JSON.stringify(message.body, null, 2)}\n`
      const mail = {
        from: options.from,
        to,
        subject: clip(subject, 200),
        text,
        idempotency_key: message.idempotencyKey,
      }
      await post(options.apiUrl, JSON.stringify(mail),
        { authorization: `Bearer ${options.apiKey}` }, options.timeoutMs)
    },
  }
}

const encoder = new TextEncoder()
const SIGNATURE = /^v1=([0-9a-f]{64})$/
const TIMESTAMP = /^[0-9]{1,12}$/

async function hmacSha256(secret: string, data: Uint8Array): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, data as Uint8Array<ArrayBuffer>))
}

/** What is signed: the timestamp, a dot, then the body exactly as sent. */
function signedBytes(timestamp: string, body: string | Uint8Array): Uint8Array {
  const head = encoder.encode(`${timestamp}.`)
  const rest = typeof body === 'string' ? encoder.encode(body) : body
  const out = new Uint8Array(head.length + rest.length)
  out.set(head)
  out.set(rest, head.length)
  return out
}

const toHex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

/** The `x-leaps-signature` value for a body sent at `timestamp` (unix seconds). */
export async function signWebhook(
  secret: string,
  timestamp: string,
  body: string | Uint8Array,
): Promise<string> {
  return `v1=${toHex(await hmacSha256(secret, signedBytes(timestamp, body)))}`
}

/**
 * For receivers of the webhook: true when `signature` (the `x-leaps-signature` header) is
 * this secret's HMAC-SHA256 of `timestamp` (`x-leaps-timestamp`), a dot and the raw body, and
 * the timestamp is within `toleranceSeconds` of now, so a captured request cannot be replayed
 * later. Verify the bytes as received, before parsing them. The comparison takes the same time
 * wherever the signatures differ.
 */
export async function verifyWebhookSignature(
  secret: string,
  timestamp: string | null | undefined,
  body: string | Uint8Array,
  signature: string | null | undefined,
  toleranceSeconds = 300,
  nowMs = Date.now(),
): Promise<boolean> {
  if (!timestamp || !TIMESTAMP.test(timestamp)) return false
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSeconds) return false
  const given = SIGNATURE.exec(signature?.trim().toLowerCase() ?? '')?.[1]
  if (!given) return false
  const expected = await hmacSha256(secret, signedBytes(timestamp, body))
  let difference = 0
  for (let i = 0; i < expected.length; i += 1) {
    difference |= expected[i]! ^ parseInt(given.slice(i * 2, i * 2 + 2), 16)
  }
  return difference === 0
}

/**
 * A generic receiver: the message as JSON, signed with HMAC-SHA256 over timestamp and body.
 * The member a message is for is not sent; a receiver gets what happened, not to whom.
 */
export function webhookChannel(
  options: Common & { url: string; secret: string; now?: () => number },
): Channel {
  return {
    async send(message) {
      const body = JSON.stringify({
        id: message.id,
        idempotency_key: message.idempotencyKey,
        kind: message.kind,
        severity: message.severity,
        title: message.title,
        body: message.body,
        created_at: message.createdAt,
      })
      const timestamp = String(Math.floor((options.now?.() ?? Date.now()) / 1000))
      await post(options.url, body, {
        'x-leaps-timestamp': timestamp,
        'x-leaps-signature': await signWebhook(options.secret, timestamp, body),
        'x-leaps-idempotency-key': message.idempotencyKey,
      }, options.timeoutMs)
    },
  }
}

/** Every channel, from the configuration; a channel without its settings skips. */
export function channelsFromConfig(
  config: Config,
  options: Common & { lookupEmail: LookupEmail },
): Record<ChannelName, Channel> {
  const { timeoutMs } = options
  return {
    slack: config.SLACK_WEBHOOK_URL
      ? slackChannel({ webhookUrl: config.SLACK_WEBHOOK_URL, timeoutMs })
      : notConfigured,
    pagerduty: config.PAGERDUTY_ROUTING_KEY
      ? pagerDutyChannel({
        routingKey: config.PAGERDUTY_ROUTING_KEY,
        eventsUrl: config.PAGERDUTY_EVENTS_URL,
        timeoutMs,
      })
      : notConfigured,
    email: config.EMAIL_API_URL && config.EMAIL_API_KEY && config.EMAIL_FROM
      ? emailChannel({
        apiUrl: config.EMAIL_API_URL,
        apiKey: config.EMAIL_API_KEY,
        from: config.EMAIL_FROM,
        securityTo: config.EMAIL_TO_SECURITY,
        lookupEmail: options.lookupEmail,
        timeoutMs,
      })
      : notConfigured,
    webhook: config.WEBHOOK_URL && config.WEBHOOK_SECRET
      ? webhookChannel({ url: config.WEBHOOK_URL, secret: config.WEBHOOK_SECRET, timeoutMs })
      : notConfigured,
  }
}
