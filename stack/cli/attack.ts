/**
 * npm run attack: synthetic attacks against the running dev stack, to watch detection,
 * containment and notification work end to end. Traffic goes only to the local stack.
 *
 *   1. brute force: 60 wrong passwords for one account in a few seconds, through the local
 *      sign-in endpoint → the account locks after five, and a HIGH alert is raised
 *   2. a rogue administrator promotes six members → a CRITICAL alert, an incident, and the
 *      administrator suspended automatically (their token is refused at once)
 *   3. an administrator exports six other members' data → an alert, exports paused
 *      automatically, and the next export refused with 503
 *   4. a reviewer opens 150 submissions for review in a minute → an alert
 *   5. the notification outbox delivered once (incident-notify), to the channels given to
 *      `npm start`; a webhook receiver on 127.0.0.1:54398 prints what reaches it
 *
 * Each attack uses accounts made for it (handles attack_*), so the demo cohort stays as it
 * is. The detectors run every minute through pg_cron; the script also runs them at once so
 * that the results show immediately. Afterwards exports stay paused until a SUPERADMIN turns
 * the switch off (printed at the end); `npm run reset` starts everything over.
 */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { verifyWebhookSignature } from '../../functions/_shared/channels.ts'
import { connect } from '../lib/database.ts'
import { profile } from '../lib/profile.ts'
import { apiUrl, dbUrl, readSecrets } from '../lib/secrets.ts'
import { fail, step } from '../lib/say.ts'
import { issueUserToken } from '../lib/tokens.ts'

const p = profile('dev')
const secrets = readSecrets(p)
const api = apiUrl(p)
const sql = connect(dbUrl(p, 'postgres', secrets.postgresPassword))
const run = randomUUID().slice(0, 8)
const RECEIVER_PORT = Number(process.env.LEAPS_ATTACK_RECEIVER_PORT ?? 54398)

/**
 * A webhook receiver on 127.0.0.1 that keeps what it is sent and, knowing the secret, refuses
 * a request whose signature does not verify (401), as a real receiver must.
 */
async function startReceiver(port: number, secret: string | undefined) {
  const received: Array<{ headers: IncomingHttpHeaders; body: string; signed?: boolean }> = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => { body += chunk })
    req.on('end', async () => {
      const signed = secret
        ? await verifyWebhookSignature(secret, req.headers['x-leaps-timestamp'] as string, body,
          req.headers['x-leaps-signature'] as string)
        : undefined
      received.push({ headers: req.headers, body, signed })
      res.writeHead(signed === false ? 401 : 200).end()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  return { port, received, close: () => new Promise<void>((r) => server.close(() => r())) }
}

async function member(handle: string, role = 'PARTICIPANT', mfa = false): Promise<string> {
  const id = randomUUID()
  await sql`insert into auth.users (id, email, raw_user_meta_data, encrypted_password)
    values (${id}, ${`${handle}@example.com`}, ${sql.json({ handle, name: 'Attack Demo' })},
      extensions.crypt('attack-demo-password', extensions.gen_salt('bf', 4)))`
  await sql`update public.users set role = ${role}::public.app_role where id = ${id}`
  if (mfa) {
    await sql`insert into auth.mfa_factors (id, user_id, factor_type, status)
              values (${randomUUID()}, ${id}, 'totp', 'verified')`
  }
  return id
}

const shown = new Set<string>()

/** Runs the detectors now and prints the alerts not shown yet. */
async function detect(since: Date) {
  await sql`select private.run_detectors()`
  const alerts = await sql<Array<{ id: string; severity: string; summary: string }>>`
    select id::text, severity, summary from private.security_alerts
    where raised_at >= ${since} order by id`
  for (const a of alerts.filter((x) => !shown.has(x.id))) {
    shown.add(a.id)
    step(`  alert ${a.severity.toUpperCase()}: ${a.summary}`)
  }
}

async function main() {
  try {
    const health = await fetch(`${api}/health`)
    if (!health.ok) throw new Error()
  } catch {
    fail('the dev stack is not running', 'start it with "npm start" first')
  }
  const receiver = await startReceiver(RECEIVER_PORT, process.env.WEBHOOK_SECRET)
  const started = new Date()
  try {
    step(`webhook receiver on 127.0.0.1:${receiver.port} (start the stack with WEBHOOK_URL=`
      + `http://127.0.0.1:${RECEIVER_PORT}/hook and a WEBHOOK_SECRET to send alerts here)`)

    step('1. brute force: 60 wrong passwords for one account')
    const victim = `attack_victim_${run}`
    await member(victim)
    let lockedAfter = 0
    for (let i = 1; i <= 60; i += 1) {
      const res = await fetch(`${api}/auth/v1/token?grant_type=password`, {
        method: 'POST',
        headers: { apikey: secrets.anonKey, 'content-type': 'application/json',
          'x-forwarded-for': '203.0.113.66' },
        body: JSON.stringify({ email: `${victim}@example.com`, password: `guess-${i}` }),
      })
      const body = await res.json() as { error_description?: string }
      if (!lockedAfter && /Too many/.test(body.error_description ?? '')) lockedAfter = i
    }
    step(`  the account locked at attempt ${lockedAfter}`)
    await detect(started)

    step('2. a rogue administrator promotes six members')
    const rogue = await member(`attack_admin_${run}`, 'ADMIN', true)
    const { token: rogueToken, claims } = await issueUserToken(sql, secrets.jwtSecret, rogue,
      { aal: 'aal2' })
    for (let i = 1; i <= 6; i += 1) {
      const target = await member(`attack_member_${run}_${i}`)
      await sql.begin(async (tx) => {
        await tx`select pg_catalog.set_config('request.jwt.claims', ${JSON.stringify(claims)},
          true)`
        await tx`set local role authenticated`
        await tx`select public.set_user_role(${target}, 'REVIEWER')`
      })
    }
    const phase2 = new Date(Date.now() - 1000)
    await detect(phase2)
    const refused = await fetch(`${api}/functions/v1/dsar-export`, {
      method: 'POST',
      headers: { authorization: `Bearer ${rogueToken}`, 'content-type': 'application/json' },
      body: '{}',
    })
    step(`  the rogue administrator's token now gets ${refused.status} from dsar-export`)
    await refused.body?.cancel()

    step('3. an administrator exports six other members')
    const exporter = await member(`attack_exporter_${run}`, 'ADMIN', true)
    const { token } = await issueUserToken(sql, secrets.jwtSecret, exporter, { aal: 'aal2' })
    const statuses: number[] = []
    for (let i = 1; i <= 7; i += 1) {
      const subject = await member(`attack_subject_${run}_${i}`)
      if (i === 7) await detect(new Date(Date.now() - 1000))
      const res = await fetch(`${api}/functions/v1/dsar-export`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ subject }),
      })
      statuses.push(res.status)
      await res.body?.cancel()
    }
    step(`  export answers: ${statuses.join(' ')} (the last one after the detectors ran)`)

    step('4. a reviewer opens 150 submissions in a minute')
    const reader = await member(`attack_reviewer_${run}`, 'REVIEWER')
    const { claims: readerClaims } = await issueUserToken(sql, secrets.jwtSecret, reader)
    const work = await sql<Array<{ id: string }>>`select id from public.submissions
                                                  order by created_at limit 150`
    await sql.begin(async (tx) => {
      await tx`select pg_catalog.set_config('request.jwt.claims',
        ${JSON.stringify(readerClaims)}, true)`
      await tx`set local role authenticated`
      for (let i = 0; i < 150; i += 1) {
        await tx`select public.open_submission_for_review(${work[i % work.length]!.id})`
      }
    })
    await detect(new Date(Date.now() - 1000))

    step('5. delivering the notification outbox once')
    const notify = await fetch(`${api}/functions/v1/incident-notify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secrets.serviceRoleKey}`,
        'content-type': 'application/json' },
      body: JSON.stringify({ batch: 100 }),
    })
    step(`  incident-notify: ${await notify.text()}`)
    for (const r of receiver.received) {
      step(`  webhook received ${r.body.length} bytes, signature `
        + (r.signed === undefined ? 'not checked (no WEBHOOK_SECRET here)'
          : r.signed ? 'valid' : 'INVALID (answered 401)'))
    }

    const incidents = await sql`select id, severity, category::text, status::text, title
      from private.incidents where created_at >= ${started} order by created_at`
    for (const i of incidents) {
      step(`incident ${i.id}: ${String(i.severity).toUpperCase()} ${i.category} ${i.status} `
        + `"${i.title}"`)
    }
    process.stdout.write([
      '',
      'Next, as an administrator (npm run psql -- --as wayan_sudarma --aal aal2):',
      '  select * from list_incidents();',
      "  select * from incident_timeline('<incident id>');",
      "  select move_incident('<incident id>', 'INVESTIGATING', 'looking');",
      "  select collect_incident_evidence('<incident id>', now() - interval '1 hour');",
      "  select * from incident_evidence_package('<evidence id>', 'for the report');",
      'Exports stay paused until a SUPERADMIN turns them on again',
      '  (npm run psql -- --as ketut_anggraini --aal aal2):',
      "  select set_platform_switch('exports_paused', false, 'attack demo over');",
      '',
    ].join('\n'))
  } finally {
    await receiver.close()
    await sql.end()
  }
}

main().catch((error: unknown) => fail(String(error)))
