/**
 * The audit trail's hash chain against a superuser, and the commands that check it from
 * outside (npm run audit:digest, npm run audit:verify).
 *
 * Editing the log needs a superuser (`session_replication_role = replica` switches the
 * append-only triggers off), as a rogue administrator of the server would do it. On the
 * test stack's own database every such edit happens in a transaction that is rolled back.
 * The commands run in processes of their own, so the edits they must find are committed in
 * scratch databases of the same cluster (audit_t_cli_<pid>_*), dropped afterwards.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { profile, projectRoot, type StackProfile } from '../../stack/lib/profile.ts'
import { dbUrl, readSecrets, superuserUrl } from '../../stack/lib/secrets.ts'
import { applyMigrations, applyPlatform, connect } from '../../stack/lib/database.ts'
import { stack } from '../fixtures/stack.ts'

/** The stack profile whose cluster serves LEAPS_TEST_DB_URL (test under npm test). */
function clusterOf(url: string): StackProfile {
  const port = Number(new URL(url).port || 5432)
  const dev = profile('dev')
  return port === dev.dbPort ? dev : profile('test')
}

const cluster = () => clusterOf(stack.dbUrl)
const secrets = () => readSecrets(cluster())

/** The same database as `url`, as the cluster's bootstrap superuser. */
function asSuperuser(url: string): string {
  const u = new URL(url)
  u.username = 'supabase_admin'
  u.password = encodeURIComponent(secrets().superuserPassword)
  return u.toString()
}

interface Verdict {
  valid: boolean
  rows_checked: number
  first_bad_seq: number | null
  first_bad_id: string | null
  problem: string | null
}

const verifyChain = async (tx: postgres.TransactionSql) => {
  const [v] = await tx<Verdict[]>`
    select valid, rows_checked::int, first_bad_seq::int, first_bad_id::text, problem
    from audit.verify_chain()`
  return v!
}

/** Recomputes every link's hash from `fromSeq` to the end and moves the head: a careful
 * rewrite. */
const rehashFrom = (fromSeq: number) => `
  do $$
  declare
      link record;
      hash bytea := coalesce((select c.row_hash from audit.chain as c
                              where c.seq = ${fromSeq - 1}), '\\x'::bytea);
  begin
      for link in
          select c.seq, c.occurred_at, l as entry
          from audit.chain as c
          join audit.audit_log as l on l.id = c.log_id and l.occurred_at = c.occurred_at
          where c.seq >= ${fromSeq}
          order by c.seq
      loop
          hash := extensions.digest(hash || audit.canonical(link.entry, link.seq), 'sha256');
          update audit.chain as c
          set row_hash = hash
          where c.seq = link.seq and c.occurred_at = link.occurred_at;
      end loop;
      update audit.chain_head set last_hash = hash;
  end
  $$`

/** The id of the event sealed at a chain position. */
const eventAt = (seq: number) => `(select c.log_id from audit.chain as c where c.seq = ${seq})`

class Rollback extends Error {}

describe('verify_chain against a superuser editing the log (rolled back)', () => {
  let su: postgres.Sql

  /** Runs `work` after sealing, with the guard triggers off, then rolls everything back. */
  async function tampered<T>(
    work: (tx: postgres.TransactionSql, last: number) => Promise<T>,
  ): Promise<T> {
    let result: T | undefined
    try {
      await su.begin(async (tx) => {
        await tx`set local session_replication_role = replica`
        await tx`select audit.seal()`
        const [head] = await tx<Array<{ last: number }>>`
          select last_seq::int as last from audit.chain_head`
        result = await work(tx, head!.last)
        throw new Rollback()
      })
    } catch (error) {
      if (!(error instanceof Rollback)) throw error
    }
    return result as T
  }

  const rowAt = async (tx: postgres.TransactionSql, seq: number) =>
    (await tx<Array<{ id: string }>>`
      select log_id::text as id from audit.chain where seq = ${seq}`)[0]!.id

  beforeAll(async () => {
    su = postgres(asSuperuser(stack.dbUrl), { max: 1, onnotice: () => {} })
    // Enough finished history to cut into; the stack's seed usually provides it already.
    const [row] = await su<Array<{ finished: number }>>`
      select count(*)::int as finished from audit.audit_log
      where txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint`
    for (let i = row?.finished ?? 0; i < 8; i += 1) {
      await su`select audit.record_event('test.chain_fixture', 'test', ${String(i)})`
    }
  })

  afterAll(async () => {
    await su?.end()
  })

  it('finds nothing wrong with the chain as sealed', async () => {
    const verdict = await tampered(async (tx, last) => ({ last, v: await verifyChain(tx) }))
    expect(verdict.last).toBeGreaterThanOrEqual(8)
    expect(verdict.v).toEqual({
      valid: true, rows_checked: verdict.last, first_bad_seq: null, first_bad_id: null,
      problem: null,
    })
  })

  it('finds a sealed row whose metadata was edited, at its position', async () => {
    const { seq, id, v } = await tampered(async (tx, last) => {
      const seq = Math.floor(last / 2)
      await tx.unsafe(`update audit.audit_log set metadata = metadata || '{"edited": true}'
                       where id = ${eventAt(seq)}`)
      return { seq, id: await rowAt(tx, seq), v: await verifyChain(tx) }
    })
    expect(v).toEqual({
      valid: false, rows_checked: seq - 1, first_bad_seq: seq, first_bad_id: id,
      problem: 'row content changed, or rows swapped, after it was sealed',
    })
  })

  it('finds a sealed row whose actor was rewritten', async () => {
    const { seq, v } = await tampered(async (tx, last) => {
      const seq = last - 1
      await tx.unsafe(`update audit.audit_log set actor_id = gen_random_uuid(),
                       actor_type = 'USER' where id = ${eventAt(seq)}`)
      return { seq, v: await verifyChain(tx) }
    })
    expect([v.valid, v.first_bad_seq, v.problem])
      .toEqual([false, seq, 'row content changed, or rows swapped, after it was sealed'])
  })

  it('finds a deleted sealed event by the link left without it', async () => {
    const { seq, id, v } = await tampered(async (tx, last) => {
      const seq = Math.floor(last / 2)
      const id = await rowAt(tx, seq)
      await tx.unsafe(`delete from audit.audit_log where id = ${id}`)
      return { seq, id, v: await verifyChain(tx) }
    })
    expect(v).toEqual({
      valid: false, rows_checked: seq - 1, first_bad_seq: seq, first_bad_id: id,
      problem: 'the event this link seals was deleted',
    })
  })

  it('finds an event deleted together with its link as the gap it leaves', async () => {
    const { seq, v } = await tampered(async (tx, last) => {
      const seq = Math.floor(last / 2)
      await tx.unsafe(`delete from audit.audit_log where id = ${eventAt(seq)}`)
      await tx`delete from audit.chain where seq = ${seq}`
      return { seq, v: await verifyChain(tx) }
    })
    expect(v).toEqual({
      valid: false, rows_checked: seq - 1, first_bad_seq: seq, first_bad_id: null,
      problem: `link ${seq} of the chain is missing (deleted)`,
    })
  })

  it('finds two rows whose positions were swapped (reordered history)', async () => {
    const { a, movedId, v } = await tampered(async (tx, last) => {
      const a = Math.floor(last / 2) - 1
      const b = a + 2
      const movedId = await rowAt(tx, b)
      const otherId = await rowAt(tx, a)
      // Each link names its event by (log_id, occurred_at); both move (in SQL, keeping the
      // microseconds), through a free id since each event is sealed at most once.
      const at = (id: string) => tx`(select l.occurred_at from audit.audit_log as l
                                     where l.id = ${id}::bigint)`
      await tx`update audit.chain set log_id = -1 where seq = ${a}`
      await tx`update audit.chain set log_id = ${otherId}::bigint, occurred_at = ${at(otherId)}
               where seq = ${b}`
      await tx`update audit.chain set log_id = ${movedId}::bigint, occurred_at = ${at(movedId)}
               where seq = ${a}`
      return { a, movedId, v: await verifyChain(tx) }
    })
    expect(v).toEqual({
      valid: false, rows_checked: a - 1, first_bad_seq: a, first_bad_id: movedId,
      problem: 'row content changed, or rows swapped, after it was sealed',
    })
  })

  it('finds the last rows deleted, against the chain head', async () => {
    const { last, v } = await tampered(async (tx, last) => {
      await tx.unsafe(`delete from audit.audit_log
                       where id in (select log_id from audit.chain where seq > ${last - 2})`)
      await tx`delete from audit.chain where seq > ${last - 2}`
      return { last, v: await verifyChain(tx) }
    })
    expect(v).toEqual({
      valid: false, rows_checked: last - 2, first_bad_seq: last - 1, first_bad_id: null,
      problem: `the chain ends at ${last - 2} but its head says ${last}: rows removed at the end`,
    })
  })

  it('cannot find a consistent rewrite by itself, but its digest no longer matches',
    async () => {
      const result = await tampered(async (tx, last) => {
        const seq = Math.floor(last / 2)
        const [before] = await tx<Array<{ hash: string; previous: string }>>`
          select last_hash as hash,
                 (select encode(row_hash, 'hex') from audit.chain
                  where seq = ${seq - 1}) as previous
          from audit.chain_digest()`
        await tx.unsafe(`update audit.audit_log set metadata = metadata || '{"edited": true}'
                         where id = ${eventAt(seq)}`)
        await tx.unsafe(rehashFrom(seq))
        const [m] = await tx<Array<{ head: boolean; earlier: boolean }>>`
          select audit.digest_matches(${last}, ${before!.hash}) as head,
                 audit.digest_matches(${seq - 1}, ${before!.previous}) as earlier`
        return { v: await verifyChain(tx), ...m! }
      })
      expect(result.v.valid).toBe(true)
      expect(result.head).toBe(false)
      expect(result.earlier).toBe(true)
    })
})


describe('npm run audit:digest and audit:verify', () => {
  const base = `audit_t_cli_${process.pid}`
  const created: string[] = []
  const written: string[] = []
  const workDir = mkdtempSync(path.join(tmpdir(), 'audit-cli-'))

  const urlOf = (database: string) =>
    dbUrl({ ...cluster(), database }, 'postgres', secrets().postgresPassword)

  function npmRun(script: string, args: string[]) {
    const result = spawnSync('npm', ['run', '--silent', script, '--', ...args],
      { cwd: projectRoot, encoding: 'utf8', env: process.env })
    return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() }
  }

  const digest = (database: string, extra: string[] = []) =>
    npmRun('audit:digest', ['--db-url', urlOf(database), ...extra])
  const verify = (database: string, extra: string[] = []) =>
    npmRun('audit:verify', ['--db-url', urlOf(database), ...extra])

  async function admin<T>(work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
    const sql = connect(superuserUrl(cluster(), secrets()))
    try {
      return await work(sql)
    } finally {
      await sql.end()
    }
  }

  /** A copy of the base database, for one edit the commands must find. */
  async function copyOfBase(suffix: string): Promise<string> {
    const name = `${base}_${suffix}`
    await admin(async (sql) => {
      await sql.unsafe(`drop database if exists ${name} with (force)`)
      await sql.unsafe(`create database ${name} template ${base} owner postgres`)
    })
    created.push(name)
    return name
  }

  /** Runs statements as the superuser in `database`, guard triggers off, committed. */
  async function tamper(database: string, statements: string): Promise<void> {
    const u = new URL(asSuperuser(stack.dbUrl))
    u.pathname = `/${database}`
    const sql = postgres(u.toString(), { max: 1, onnotice: () => {} })
    try {
      await sql.begin(async (tx) => {
        await tx`set local session_replication_role = replica`
        await tx.unsafe(statements)
      })
    } finally {
      await sql.end()
    }
  }

  async function record(database: string, count: number): Promise<void> {
    const sql = connect(urlOf(database))
    try {
      for (let i = 0; i < count; i += 1) {
        await sql`select audit.record_event('test.cli', 'test', ${String(i)}, 'SUCCESS',
                  ${sql.json({ n: i })})`
      }
    } finally {
      await sql.end()
    }
  }

  beforeAll(async () => {
    await admin(async (sql) => {
      await sql.unsafe(`drop database if exists ${base} with (force)`)
      await sql.unsafe(`create database ${base} owner postgres`)
    })
    created.push(base)
    const scratch = { ...cluster(), database: base }
    await applyPlatform(scratch, secrets(), { quiet: true })
    await applyMigrations(scratch, secrets(), { quiet: true })
    await record(base, 8)
  }, 120_000)

  afterAll(async () => {
    await admin(async (sql) => {
      for (const name of created.reverse()) {
        await sql.unsafe(`drop database if exists ${name} with (force)`)
      }
    })
    for (const file of written) rmSync(file, { force: true })
    rmSync(workDir, { recursive: true, force: true })
  })

  it('digest seals, writes the head to .leaps/audit-digests and prints the path', async () => {
    const { status, stdout, stderr } = digest(base)
    expect(stderr).toBe('sealed; chain head at seq 8')
    expect(status).toBe(0)
    written.push(stdout)
    expect(path.dirname(stdout)).toBe(path.join(projectRoot, '.leaps', 'audit-digests'))
    expect(path.basename(stdout)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z\.json$/)
    const doc = JSON.parse(readFileSync(stdout, 'utf8'))
    expect(Object.keys(doc)).toEqual(['database', 'last_seq', 'last_hash', 'sealed_at',
      'written_at'])
    const sql = connect(urlOf(base))
    try {
      const [head] = await sql`select last_seq::int, encode(last_hash, 'hex') as last_hash,
                                      sealed_at from audit.chain_head`
      expect(doc).toEqual({
        database: `127.0.0.1:${cluster().dbPort}/${base}`,
        last_seq: 8,
        last_hash: head!.last_hash,
        sealed_at: (head!.sealed_at as Date).toISOString(),
        written_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T.*Z$/),
      })
      expect(doc.last_hash).toMatch(/^[0-9a-f]{64}$/)
    } finally {
      await sql.end()
    }
  })

  it('digest --out writes where it is told, and never over an existing digest', () => {
    const out = path.join(workDir, 'base.json')
    const first = digest(base, ['--out', out])
    expect(first.status).toBe(0)
    expect(first.stdout).toBe(out)
    expect(JSON.parse(readFileSync(out, 'utf8')).last_seq).toBe(8)
    const again = digest(base, ['--out', out])
    expect(again.status).toBe(2)
    expect(again.stderr).toMatch(/^error: cannot write .*base\.json: EEXIST/)
  })

  it('verify answers 0 for a clean chain, with and without its digest', () => {
    const plain = verify(base)
    expect(plain).toMatchObject({ status: 0, stdout: 'audit chain valid: 8 rows verified' })
    const withDigest = verify(base, ['--digest', path.join(workDir, 'base.json')])
    expect(withDigest.status).toBe(0)
    expect(withDigest.stdout).toMatch(
      /^audit chain valid: 8 rows verified; matches the digest of .+Z \(seq 8\)$/)
  })

  it('verify seals new events first, and an older digest still matches', async () => {
    const grown = await copyOfBase('grown')
    await record(grown, 3)
    const result = verify(grown, ['--digest', path.join(workDir, 'base.json')])
    expect(result.stderr).toBe(`note: the digest was written for 127.0.0.1:${cluster().dbPort}/`
      + `${base}; checking 127.0.0.1:${cluster().dbPort}/${grown}`)
    expect(result.status).toBe(0)
    expect(result.stdout).toMatch(/^audit chain valid: 11 rows verified; matches the digest/)
  })

  it('verify answers 1 with the first bad seq when a sealed row was edited', async () => {
    const edited = await copyOfBase('edited')
    await tamper(edited,
      `update audit.audit_log set metadata = '{"n": 99}' where id = ${eventAt(3)}`)
    const { status, stdout } = verify(edited)
    expect(status).toBe(1)
    const [broken, before] = stdout.split('\n')
    expect(broken).toMatch(/^audit chain broken at seq 3 \(audit id \d+\): /)
    expect(broken).toContain(': row content changed, or rows swapped, after it was sealed')
    expect(before).toBe('2 rows verified before it')
  })

  it('verify answers 1 when rows were removed at the end', async () => {
    const cut = await copyOfBase('cut')
    await tamper(cut, 'delete from audit.audit_log where id in '
      + '(select log_id from audit.chain where seq > 6); delete from audit.chain where seq > 6')
    const { status, stdout } = verify(cut)
    expect(status).toBe(1)
    expect(stdout).toContain('audit chain broken at seq 7: the chain ends at 6 but its head '
      + 'says 8: rows removed at the end')
  })

  it('verify --digest answers 1 when history was rewritten consistently', async () => {
    const rewritten = await copyOfBase('rewritten')
    await tamper(rewritten,
      `update audit.audit_log set metadata = '{"n": 99}' where id = ${eventAt(5)};
       ${rehashFrom(5)}`)
    expect(verify(rewritten).status).toBe(0)
    const { status, stdout } = verify(rewritten, ['--digest', path.join(workDir, 'base.json')])
    expect(status).toBe(1)
    expect(stdout).toMatch(/^audit chain does not match the digest: seq 8 no longer has /)
    expect(stdout).toMatch(/the hash recorded at .+Z; history was rewritten$/)
  })

  it('answers 2 with one line when the database cannot be reached', () => {
    const { status, stdout, stderr } = npmRun('audit:verify',
      ['--db-url', 'postgresql://postgres:postgres@127.0.0.1:1/postgres'])
    expect(status).toBe(2)
    expect(stdout).toBe('')
    expect(stderr).toBe('error: cannot connect to 127.0.0.1:1: connection refused')
  })

  it('answers 2 for a database without the audit trail', async () => {
    const bare = `${base}_bare`
    await admin((sql) => sql.unsafe(`create database ${bare} owner postgres`))
    created.push(bare)
    const { status, stderr } = verify(bare)
    expect(status).toBe(2)
    expect(stderr).toBe(
      'error: database has no audit trail (schema audit); apply the migrations first')
  })

  it('answers 2 for bad arguments and for a file that is not a digest', () => {
    const unknown = verify(base, ['--out', 'x.json'])
    expect(unknown.status).toBe(2)
    expect(unknown.stderr).toBe('error: unknown argument "--out" for audit:verify')
    const notDigest = path.join(workDir, 'not-a-digest.json')
    writeFileSync(notDigest, '{"last_seq": "eight"}')
    const bad = verify(base, ['--digest', notDigest])
    expect(bad.status).toBe(2)
    expect(bad.stderr).toMatch(/^error: .*not-a-digest\.json is not an audit digest: /)
    const missing = verify(base, ['--digest', path.join(workDir, 'nowhere.json')])
    expect(missing.status).toBe(2)
    expect(missing.stderr).toMatch(/^error: cannot read digest .*nowhere\.json: ENOENT/)
    expect(existsSync(path.join(workDir, 'nowhere.json'))).toBe(false)
  })
})
