/**
 * functions/_shared/audit.ts: events are checked before they reach the database, written in
 * the caller's transaction, and a failure to write fails the act.
 *
 * The first part uses a stub transaction that records the query it is given. The second runs
 * the real dsar-export handler in this process against a scratch database of the test
 * stack's cluster (audit_t_fn_<pid>, built from the migrations and dropped afterwards), in
 * which the audit write is broken on purpose: revoking EXECUTE on audit.record_event from
 * service_role, or a trigger that rejects the row. Breaking it in the shared stack database
 * would fail other suites' requests; a scratch database of its own breaks nothing else.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type postgres from 'postgres'
import {
  type AuditEvent,
  checkAuditEvent,
  recordAudit,
  recordAuditAlone,
} from '../../functions/_shared/audit.ts'
import type { Db, Tx } from '../../functions/_shared/db.ts'
import type { Logger } from '../../functions/_shared/log.ts'
import { profile, type StackProfile } from '../../stack/lib/profile.ts'
import { dbUrl, readSecrets, superuserUrl } from '../../stack/lib/secrets.ts'
import { applyMigrations, applyPlatform, connect } from '../../stack/lib/database.ts'
import { issueUserToken } from '../../stack/lib/tokens.ts'
import { stack } from '../fixtures/stack.ts'

const event: AuditEvent = {
  action: 'dsar.export',
  targetType: 'user',
  targetId: '00000000-0000-4000-8000-000000000001',
  outcome: 'SUCCESS',
  metadata: { request_kind: 'access', for_self: true, rows: 3, note: null },
  actorId: '00000000-0000-4000-8000-000000000002',
  requestId: 'req-0001-audit',
}

/** A transaction stand-in: records each query's text and values, answers with `answer`. */
function stubTx(answer: () => Promise<unknown[]>) {
  const calls: Array<{ text: string; values: unknown[] }> = []
  const tag = (strings: TemplateStringsArray, ...values: unknown[]) => {
    calls.push({ text: strings.join('$'), values })
    return answer()
  }
  const tx = Object.assign(tag, { json: (value: unknown) => ({ json: value }) })
  return { tx: tx as unknown as Tx, calls }
}

function capturingLogger() {
  const lines: Array<{ level: string; event: string; fields: Record<string, unknown> }> = []
  const at = (level: string) => (e: string, fields: Record<string, unknown> = {}) => {
    lines.push({ level, event: e, fields })
  }
  const log: Logger = { info: at('info'), warn: at('warn'), error: at('error') }
  return { log, lines }
}

describe('recordAudit', () => {
  it('calls audit.record_event once in the given transaction, with every field bound',
    async () => {
      const { tx, calls } = stubTx(async () => [{ id: '42' }])
      expect(await recordAudit(tx, event)).toBe('42')
      expect(calls).toHaveLength(1)
      expect(calls[0]!.text.replace(/\s+/g, ' ')).toContain('select audit.record_event(')
      expect(calls[0]!.values).toEqual([
        'dsar.export', 'user', event.targetId, 'SUCCESS', { json: event.metadata },
        event.actorId, 'req-0001-audit',
      ])
    })

  it('passes null for an omitted target and actor (a service act)', async () => {
    const { tx, calls } = stubTx(async () => [{ id: '7' }])
    await recordAudit(tx, { ...event, targetId: undefined, actorId: undefined })
    expect(calls[0]!.values[2]).toBeNull()
    expect(calls[0]!.values[5]).toBeNull()
  })

  it('lets a database failure through, so the caller\'s transaction fails with it', async () => {
    const failure = Object.assign(new Error('permission denied for function record_event'),
      { code: '42501' })
    const { tx } = stubTx(async () => { throw failure })
    await expect(recordAudit(tx, event)).rejects.toBe(failure)
  })

  it('fails when the database answers without an id', async () => {
    const { tx } = stubTx(async () => [])
    await expect(recordAudit(tx, event)).rejects.toThrow('audit.record_event returned no id')
  })

  it('refuses malformed events with a TypeError naming the field, before any query',
    async () => {
      const cases: Array<[Partial<AuditEvent>, RegExp]> = [
        [{ action: 'DSAR Export' }, /action must be dotted lowercase/],
        [{ targetType: 'User!' }, /targetType/],
        [{ outcome: 'MAYBE' as AuditEvent['outcome'] }, /outcome must be one of/],
        [{ actorId: 'not-a-uuid' }, /actorId must be a UUID/],
        [{ requestId: 'r'.repeat(65) }, /requestId/],
        [{ requestId: '' }, /requestId/],
        [{ targetId: 'x'.repeat(201) }, /targetId/],
      ]
      for (const [change, message] of cases) {
        const { tx, calls } = stubTx(async () => [{ id: '1' }])
        await expect(recordAudit(tx, { ...event, ...change })).rejects.toThrow(TypeError)
        expect(() => checkAuditEvent({ ...event, ...change })).toThrow(message)
        expect(calls).toHaveLength(0)
      }
    })

  it('refuses metadata that could carry personal data: names, nesting, addresses, long text',
    () => {
      const bad: Array<[Record<string, unknown>, RegExp]> = [
        [{ email: 'siti@example.com' }, /"email" suggests personal data/],
        [{ full_name: 'Siti' }, /"full_name" suggests personal data/],
        [{ school: 'SD 1' }, /"school" suggests personal data/],
        [{ ip_address: '203.0.113.1' }, /"ip_address" suggests personal data/],
        [{ contact: 'siti@example.com' }, /"contact" holds an e-mail address/],
        [{ profile: { id: 1 } }, /"profile" must be a scalar/],
        [{ ids: ['a', 'b'] }, /"ids" must be a scalar/],
        [{ note: 'x'.repeat(201) }, /"note" must be a scalar/],
        [{ count: Number.NaN }, /"count" must be a scalar/],
        [{ 'Bad Key': 1 }, /must be snake_case/],
      ]
      for (const [metadata, message] of bad) {
        expect(() => checkAuditEvent({ ...event, metadata } as AuditEvent)).toThrow(message)
      }
      expect(() => checkAuditEvent({ ...event, metadata: [] as never })).toThrow(/object/)
    })

  it('keeps error messages free of metadata values', () => {
    try {
      checkAuditEvent({ ...event, metadata: { contact: 'siti@example.com' } })
      expect.unreachable()
    } catch (error) {
      expect((error as Error).message).not.toContain('siti')
    }
  })
})

describe('recordAuditAlone', () => {
  const dbWith = (run: (work: (tx: Tx) => Promise<unknown>) => Promise<unknown>): Db => ({
    asService: ((work: (tx: Tx) => Promise<unknown>) => run(work)) as Db['asService'],
    asCaller: () => Promise.reject(new Error('not used')),
    forRequest: () => dbWith(run),
    end: () => Promise.resolve(),
  })

  it('writes in a service transaction of its own and answers true', async () => {
    const { tx, calls } = stubTx(async () => [{ id: '9' }])
    const { log, lines } = capturingLogger()
    expect(await recordAuditAlone(dbWith((work) => work(tx)), event, log)).toBe(true)
    expect(calls).toHaveLength(1)
    expect(lines).toEqual([])
  })

  it('answers false and logs an error, with the cause but no metadata, when it fails',
    async () => {
      const { log, lines } = capturingLogger()
      const failure = Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' })
      const written = await recordAuditAlone(
        dbWith(() => Promise.reject(failure)),
        { ...event, outcome: 'FAILURE', metadata: { reason: 'forbidden' } },
        log,
      )
      expect(written).toBe(false)
      expect(lines).toEqual([{
        level: 'error',
        event: 'audit_write_failed',
        fields: {
          action: 'dsar.export',
          outcome: 'FAILURE',
          cause_type: 'Error',
          cause_code: 'ECONNREFUSED',
          cause_message: 'connection refused',
        },
      }])
      expect(JSON.stringify(lines)).not.toContain('forbidden')
    })
})


/** The stack profile whose cluster serves LEAPS_TEST_DB_URL (test under npm test). */
function clusterOf(url: string): StackProfile {
  const port = Number(new URL(url).port || 5432)
  const dev = profile('dev')
  return port === dev.dbPort ? dev : profile('test')
}

describe('dsar-export when the audit trail cannot be written', () => {
  const cluster = () => clusterOf(stack.dbUrl)
  const name = `audit_t_fn_${process.pid}`
  let owner: postgres.Sql
  let member: { id: string; token: string }
  let other: { id: string; token: string }
  let handler: (req: Request) => Promise<Response>
  let closePool: () => Promise<void>
  const errors: string[] = []
  const savedEnv: Record<string, string | undefined> = {}

  const recordEvent =
    'audit.record_event(text, text, text, audit.outcome, jsonb, uuid, text)'

  async function createMember(handle: string) {
    const [row] = await owner<Array<{ id: string }>>`
      insert into auth.users (id, email, raw_user_meta_data)
      values (gen_random_uuid(), ${`${handle}@example.com`},
              ${owner.json({ handle, name: 'Audit Fn Member' })})
      returning id`
    const { token } = await issueUserToken(owner, stack.jwtSecret, row!.id)
    return { id: row!.id, token }
  }

  const post = (token: string, body: unknown = {}, requestId?: string) =>
    handler(new Request('http://127.0.0.1/functions/v1/dsar-export', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        ...(requestId ? { 'x-request-id': requestId } : {}),
      },
      body: JSON.stringify(body),
    }))

  const exportsRecorded = async () =>
    (await owner<Array<{ n: number }>>`
      select count(*)::int as n from audit.audit_log where action = 'dsar.export'`)[0]!.n

  beforeAll(async () => {
    const p = cluster()
    const secrets = readSecrets(p)
    const admin = connect(superuserUrl(p, secrets))
    try {
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.unsafe(`create database ${name} owner postgres`)
    } finally {
      await admin.end()
    }
    const scratch = { ...p, database: name }
    await applyPlatform(scratch, secrets, { quiet: true })
    await applyMigrations(scratch, secrets, { quiet: true })
    const url = dbUrl(scratch, 'postgres', secrets.postgresPassword)
    owner = connect(url)
    member = await createMember('audit_fn_member')
    other = await createMember('audit_fn_other')

    // The handler reads its configuration once, from the environment of this test file.
    const env = {
      SUPABASE_URL: stack.apiUrl,
      SUPABASE_ANON_KEY: stack.anonKey,
      SUPABASE_SERVICE_ROLE_KEY: stack.serviceRoleKey,
      SUPABASE_DB_URL: url,
      SUPABASE_JWT_SECRET: stack.jwtSecret,
      // dsar-export scans nothing, but the configuration names a scanner (there is no default).
      LEAPS_SCANNER: 'disabled',
    }
    for (const key of Object.keys(env)) savedEnv[key] = process.env[key]
    Object.assign(process.env, env)
    // Imported by a computed path: the entry point ends with Deno.serve, which the Node-side
    // type shim does not declare; at run time the handler is all this test uses.
    const entry: string = '../../functions/dsar-export/index.ts'
    handler = ((await import(/* @vite-ignore */ entry)) as {
      handler: (req: Request) => Promise<Response>
    }).handler
    const { deps } = await import('../../functions/_shared/http.ts')
    closePool = () => deps().db.end()
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => {
      errors.push(String(line))
    })
  }, 120_000)

  afterAll(async () => {
    for (const [key, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
    vi.restoreAllMocks()
    await closePool?.()
    await owner?.end()
    const admin = connect(superuserUrl(cluster(), readSecrets(cluster())))
    try {
      await admin.unsafe(`drop database if exists ${name} with (force)`)
    } finally {
      await admin.end()
    }
  })

  it('exports and records when the trail works (control)', async () => {
    const res = await post(member.token)
    expect(res.status).toBe(200)
    expect((await res.json()).subject).toBe(member.id)
    expect(await exportsRecorded()).toBe(1)
  })

  it('answers 500 and sends no data when service_role may not record', async () => {
    await owner.unsafe(`revoke execute on function ${recordEvent} from service_role`)
    try {
      const res = await post(member.token, {}, 'audit-fn-revoked-0001')
      expect(res.status).toBe(500)
      const text = await res.text()
      expect(JSON.parse(text).error).toEqual({
        code: 'internal',
        message: 'Something went wrong',
        request_id: 'audit-fn-revoked-0001',
      })
      expect(text).not.toContain(member.id)
      expect(text).not.toContain('audit_fn_member')
      expect(res.headers.get('content-disposition')).toBeNull()
      const failed = errors.map((l) => JSON.parse(l))
        .filter((l) => l.request_id === 'audit-fn-revoked-0001' && l.level === 'error')
      expect(failed).toEqual([expect.objectContaining({
        level: 'error',
        event: 'request_failed',
        code: 'internal',
        cause_message: expect.stringContaining('permission denied for function record_event'),
      })])
      expect(await exportsRecorded()).toBe(1)
    } finally {
      await owner.unsafe(`grant execute on function ${recordEvent} to service_role`)
    }
  })

  it('answers 500 when the row is rejected after the data was read', async () => {
    await owner.unsafe(`
      create function public.audit_t_reject() returns trigger language plpgsql as $$
      begin
          raise exception 'audit storage unavailable' using errcode = '53100';
      end $$;
      create trigger audit_t_reject before insert on audit.audit_log
          for each row execute function public.audit_t_reject();`)
    try {
      const res = await post(member.token, {}, 'audit-fn-rejected-0001')
      expect(res.status).toBe(500)
      expect((await res.json()).error.code).toBe('internal')
      expect(await exportsRecorded()).toBe(1)
    } finally {
      await owner.unsafe(`drop trigger audit_t_reject on audit.audit_log;
        drop function public.audit_t_reject();`)
    }
  })

  it('still refuses with 403 when the refusal cannot be recorded, and logs an error',
    async () => {
      await owner.unsafe(`revoke execute on function ${recordEvent} from service_role`)
      try {
        const res = await post(other.token, { subject: member.id }, 'audit-fn-refused-0001')
        expect(res.status).toBe(403)
        expect((await res.json()).error.code).toBe('forbidden')
        const logged = errors.map((l) => JSON.parse(l))
          .filter((l) => l.request_id === 'audit-fn-refused-0001' && l.level === 'error')
        expect(logged).toEqual([expect.objectContaining({
          event: 'audit_write_failed',
          action: 'dsar.export',
          outcome: 'FAILURE',
          cause_code: '42501',
        })])
      } finally {
        await owner.unsafe(`grant execute on function ${recordEvent} to service_role`)
      }
    })

  it('records again once the trail is repaired', async () => {
    expect((await post(member.token)).status).toBe(200)
    expect(await exportsRecorded()).toBe(2)
  })
})
