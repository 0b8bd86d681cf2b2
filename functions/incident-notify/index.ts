/**
 * incident-notify: delivers the notification outbox (private.notification_outbox).
 *
 * POST, by the service role only: pg_cron through pg_net in production, the local scheduler or
 * a test here. Members are refused with 403. The body is empty or { "batch": 1..100 }.
 *
 * One run claims up to `batch` due messages (private.claim_notifications leases them, so two
 * runs at once never send the same message), sends them, every channel beside the others and
 * a few messages at a time within one, and records each outcome with
 * private.finish_notification: delivered; skipped (channel not configured, or a message the
 * channel does not take); or failed, which the database retries with backoff until the
 * message is dead and raises a `notification.dead_letter` alert. A run that dies midway
 * leaves its claimed messages to be claimed again when their lease ends: delivery is at least
 * once, and each message carries its idempotency key so receivers can drop repeats.
 *
 * Answers { claimed, delivered, failed, skipped, dead }: `failed` will be retried, `dead`
 * will not. One log line per message names its id, channel, outcome and attempt; bodies,
 * addresses and keys are never logged.
 */
import { z } from 'zod'
import { authenticate } from '../_shared/auth.ts'
import {
  type Channel,
  type ChannelName,
  channelsFromConfig,
  DeliveryFailed,
  DeliverySkipped,
  type OutboxMessage,
} from '../_shared/channels.ts'
import type { Db } from '../_shared/db.ts'
import { AppError } from '../_shared/errors.ts'
import { json, readJsonObject, serveFunction } from '../_shared/http.ts'
import type { Logger } from '../_shared/log.ts'

const Body = z.strictObject({ batch: z.number().int().min(1).max(100).optional() })

const DEFAULT_BATCH = 20
/** Messages in flight at once on one channel: enough to drain a batch, few enough to be polite. */
const PER_CHANNEL = 4
/**
 * How long a claim holds its messages. A batch of 100 on one channel, four at a time, at the
 * 10-second timeout, takes up to about four minutes; a lease shorter than the run would let a
 * second run send the same message while this one is still waiting on it.
 */
const LEASE = '5 minutes'

interface Row {
  id: string
  idempotency_key: string
  channel: ChannelName
  kind: string
  severity: OutboxMessage['severity']
  title: string
  body: Record<string, unknown> | null
  recipient_user_id: string | null
  attempts: number
  created_at: string
}

type Outcome = 'delivered' | 'failed' | 'skipped' | 'dead'

/** Runs `work` over `items`, at most `limit` at a time; `work` must not throw. */
async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0
  const worker = async () => {
    while (next < items.length) await work(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

/** The address a member has now; none for a deleted, banned or erased account. */
function emailLookup(db: Db) {
  return async (userId: string): Promise<string | null> => {
    const [row] = await db.asService((tx) => tx<Array<{ email: string | null }>>`
      select u.email from auth.users as u
      where u.id = ${userId}::uuid
        and u.deleted_at is null
        and (u.banned_until is null or u.banned_until < pg_catalog.now())`)
    const email = row?.email ?? null
    // Erasure leaves `<id>@erased.invalid`: a placeholder, not somebody's mailbox.
    return email && !email.toLowerCase().endsWith('.invalid') ? email : null
  }
}

/** Sends one message and records the outcome; never throws. */
async function deliver(db: Db, channel: Channel, row: Row, log: Logger): Promise<Outcome> {
  let outcome: 'delivered' | 'failed' | 'skipped' = 'delivered'
  let reason: string | null = null
  try {
    await channel.send({
      id: row.id,
      idempotencyKey: row.idempotency_key,
      channel: row.channel,
      kind: row.kind,
      severity: row.severity,
      title: row.title,
      body: row.body ?? {},
      recipientUserId: row.recipient_user_id,
      createdAt: new Date(row.created_at).toISOString(),
    })
  } catch (error) {
    if (error instanceof DeliverySkipped) {
      outcome = 'skipped'
      reason = error.reason
    } else {
      outcome = 'failed'
      // Only our own short reasons are stored; anything else may hold a URL or a body.
      reason = error instanceof DeliveryFailed ? error.message : 'send failed'
    }
  }
  const fields = { message_id: row.id, channel: row.channel, attempt: row.attempts }
  try {
    const [finished] = await db.asService((tx) => tx<Array<{ result: string | null }>>`
      select private.finish_notification(${row.id}::bigint, ${outcome}, ${reason}) as result`)
    const result = finished?.result
    if (result === null || result === undefined) {
      // The lease ran out and another run holds the message now; it will finish it.
      log.warn('notification', { ...fields, outcome, recorded: false, error: reason })
      return outcome === 'delivered' ? 'delivered' : 'failed'
    }
    const final: Outcome = result === 'retry' ? 'failed' : result as Outcome
    log.info('notification', { ...fields, outcome: final, error: reason })
    return final
  } catch (error) {
    // Left in `sending`: claimed again when the lease ends, so nothing is lost.
    log.error('notification', {
      ...fields, outcome, recorded: false, error: reason,
      cause_message: error instanceof Error ? error.message.slice(0, 200) : undefined,
    })
    return 'failed'
  }
}

export const handler = serveFunction('incident-notify', async (req, ctx) => {
  const { db, config, log } = ctx
  const caller = await authenticate(req, ctx.verify, db)
  if (caller.kind !== 'service') {
    throw new AppError('forbidden', 'Notifications are sent by the platform, not by members')
  }
  // pg_net may post without a body; a body, when there is one, must be valid.
  const raw = req.headers.get('content-type') ? await readJsonObject(req) : {}
  const parsed = Body.safeParse(raw)
  if (!parsed.success) {
    throw new AppError('bad_request', 'The body may hold "batch" (1 to 100), nothing else')
  }
  const batch = parsed.data.batch ?? DEFAULT_BATCH

  const rows = await db.asService((tx) => tx<Row[]>`
    select id::text, idempotency_key, channel, kind, severity, title, body,
           recipient_user_id::text, attempts, created_at
    from private.claim_notifications(${batch}, ${LEASE}::interval)
    order by id`)

  const channels = channelsFromConfig(config, { lookupEmail: emailLookup(db) })
  const counts = { claimed: rows.length, delivered: 0, failed: 0, skipped: 0, dead: 0 }
  const byChannel = new Map<ChannelName, Row[]>()
  for (const row of rows) byChannel.set(row.channel, [...(byChannel.get(row.channel) ?? []), row])
  await Promise.all([...byChannel].map(([name, queue]) =>
    eachLimited(queue, PER_CHANNEL, async (row) => {
      counts[await deliver(db, channels[name], row, log)] += 1
    })
  ))
  return json(counts)
})

if (import.meta.main) Deno.serve(handler)
