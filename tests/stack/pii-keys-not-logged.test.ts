/**
 * No encryption, blind-index or analytics key reaches the server log or pg_stat_statements,
 * with every kind of statement logging the cluster offers turned fully on for the session
 * that exercises the keys: log_statement = all, log_min_duration_statement = 0, pgaudit for
 * every class with parameters, auto_explain of nested statements, and pg_stat_statements
 * tracking nested statements too.
 *
 * The session stores, reveals and looks up identifiers as a member and an admin, rotates the
 * key (which makes one in Vault) and decrypts with a wrong key, all in one transaction rolled
 * back at the end (the members it acts as included); the keys it used are read inside that
 * transaction to search for them.
 */
import { randomUUID } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { profile } from '../../stack/lib/profile.ts'
import { readSecrets } from '../../stack/lib/secrets.ts'
import { createMember, stack, type Member } from '../fixtures/stack.ts'

const cluster = profile('test')
const logFile = path.join(cluster.dir, 'postgres.log')

function asSuperuser(url: string): string {
  const u = new URL(url)
  u.username = 'supabase_admin'
  u.password = encodeURIComponent(readSecrets(cluster).superuserPassword)
  return u.toString()
}

const claims = (member: Member, aal: string, sessionId: string) => JSON.stringify({
  sub: member.id, role: 'authenticated', aal, session_id: sessionId,
})

class Rollback extends Error {}

describe('keys never appear in logs or pg_stat_statements', () => {
  let su: postgres.Sql
  let member: Member
  let admin: Member
  let keys: string[] = []
  let logged = ''
  let statements = ''

  beforeAll(async () => {
    su = postgres(asSuperuser(stack.dbUrl), { max: 1, onnotice: () => {} })
    await su`select extensions.pg_stat_statements_reset()`
    const logStart = statSync(logFile).size

    try {
      await su.begin(async (tx) => {
        // Members made inside the transaction, so that nothing of this test outlives it.
        member = await createMember(tx as unknown as postgres.Sql)
        admin = await createMember(tx as unknown as postgres.Sql, { role: 'ADMIN', mfa: true })
        // The sessions their tokens would name (the database checks them).
        const sessions = { member: randomUUID(), admin: randomUUID() }
        await tx`insert into auth.sessions (id, user_id, aal)
                 values (${sessions.member}, ${member.id}, 'aal1'),
                        (${sessions.admin}, ${admin.id}, 'aal2')`
        await tx.unsafe(`
          set local log_statement = 'all';
          set local log_min_duration_statement = 0;
          set local log_min_error_statement = 'info';
          set local pgaudit.log = 'all';
          set local pgaudit.log_parameter = on;
          set local pgaudit.log_relation = on;
          set local pgaudit.log_statement_once = off;
          set local pg_stat_statements.track = 'all';
          load 'auto_explain';
          set local auto_explain.log_min_duration = 0;
          set local auto_explain.log_nested_statements = on;
          set local auto_explain.log_verbose = on;`)

        const asMember = claims(member, 'aal1', sessions.member)
        await tx`select set_config('request.jwt.claims', ${asMember}, true)`
        await tx`set local role authenticated`
        await tx`select public.set_personal_identifier('phone', '0812 7000 1234')`
        await tx`select public.set_personal_identifier('nik', '3201234105900001')`
        await tx`select public.set_personal_identifier('bank_account', '1234567890')`
        await tx`select public.reveal_personal_identifier('nik')`
        const asAdmin = claims(admin, 'aal2', sessions.admin)
        await tx`select set_config('request.jwt.claims', ${asAdmin}, true)`
        await tx`select public.find_member_by_identifier('phone', '+62 812 7000 1234')`
        await tx`select public.reveal_personal_identifier('phone', ${member.id})`
        await tx`reset role`

        await tx`select * from private.pii_start_rotation()`
        await tx`select private.pii_reencrypt_batch(1000)`
        await tx`select private.pii_finish_rotation()`
        await tx.savepoint(async (sp) => {
          await sp`select private.pii_decrypt(m.nik, 1::smallint)
                   from private.member_identifiers as m where m.user_id = ${member.id}`
        }).catch(() => undefined)

        // Read without the logging, so that this query's own text is all that is logged.
        await tx.unsafe(`set local log_statement = 'none'; set local pgaudit.log = 'none';`)
        keys = (await tx<Array<{ secret: string }>>`
          select s.decrypted_secret as secret
          from vault.decrypted_secrets as s
          join private.pii_keys as k on k.secret_name = s.name`).map((r) => r.secret)
        throw new Rollback()
      })
    } catch (error) {
      if (!(error instanceof Rollback)) throw error
    }

    // The logging collector writes asynchronously; give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 500))
    logged = readFileSync(logFile, 'utf8').slice(logStart)
    statements = (await su<Array<{ query: string }>>`
      select query from extensions.pg_stat_statements`).map((r) => r.query).join('\n')
  }, 60_000)

  afterAll(async () => {
    await su?.end()
  })

  it('exercised at least an encryption, a blind-index and the rotated key', () => {
    expect(keys.length).toBeGreaterThanOrEqual(4)
    for (const key of keys) expect(key).toMatch(/^[0-9a-f]{64}$/)
  })

  it('logged the nested statements, so the search below means something', () => {
    expect(logged).toContain('AUDIT: SESSION')
    expect(logged).toContain('pgp_sym_encrypt')
    expect(logged).toContain('set_personal_identifier')
    expect(statements).toContain('decrypted_secrets')
  })

  it('no key appears in the server log', () => {
    const found = keys.filter((key) => logged.includes(key))
    expect(found.length, 'keys found in the server log').toBe(0)
  })

  it('no key appears in pg_stat_statements', () => {
    const found = keys.filter((key) => statements.includes(key))
    expect(found.length, 'keys found in pg_stat_statements').toBe(0)
  })

  it('no stored value appears in pg_stat_statements', () => {
    expect(statements).not.toContain('3201234105900001')
    expect(statements).not.toContain('7000 1234')
  })
})
