/**
 * npm run bench -- audit [--rounds N (3)] [--explain] [--keep]
 *
 * What the audit trail (sql/70_audit_log.sql, 71_audit_capture.sql, 72_audit_chain.sql) costs
 * the writes to public.submissions, measured on a scratch database of 1,000 members:
 *
 *   bulk        one connection: INSERT of 100,000 submissions in one statement, then one
 *               UPDATE of all of them (title, payload, visibility)
 *   concurrent  8 connections at once, each inserting its own 12,500 submissions and then
 *               updating them, 500 rows a statement, each statement its own transaction;
 *               the time is the wall clock from the first statement to the last commit
 *
 * Each runs in two modes, `without` (audit.disable_tracking('public.submissions')) and `with`
 * (audit.enable_tracking), for --rounds rounds that alternate which mode goes first, so that
 * drift hits both alike; the figures are medians over the rounds. Before every timed step the
 * table is emptied (TRUNCATE, as the owner, with tracking off: a DELETE with tracking on would
 * itself be recorded), tracking is set for the mode, and a CHECKPOINT flushes what the step
 * before left dirty. The audit log is append-only and is never cleaned: its rows accumulate
 * over the run, as they do in production. Autovacuum is turned off on the tables the bench
 * writes (scratch database only) so that it cannot land in one timed step and not another;
 * instead the bench vacuums the audit log itself, untimed, before every step.
 *
 * The concurrent phase runs first; then `select audit.seal(1000000)` links everything it
 * recorded into the hash chain (timed), and `select * from audit.verify_chain()` must find the
 * chain valid, or the bench fails. The bulk phase runs last (its audit rows stay unsealed).
 *
 * Every step checks that it did what its mode claims: 100,000 rows inserted and updated, and
 * exactly one audit row per changed row with tracking on, none with it off.
 *
 * The payload screening and regional-rule triggers of public.submissions are switched off in
 * both modes (npm run bench -- pii measures them); the table's other triggers stay on.
 *
 * With track_functions = pl on the scratch database, pg_stat_user_functions tells how much of
 * each step was spent in the audit trigger (audit.capture_changes) and in the table's own row
 * triggers. --explain adds one more bulk round with tracking on, in a superuser session with
 * auto_explain, and prints the plans (EXPLAIN ANALYZE) of the trigger's INSERT into the log.
 *
 * stdout: the tables, then exactly one JSON line: bulk_ratio (with / without, insert + update),
 * concurrent_ratio (with / without, wall clock), chain_valid, seal_seconds.
 */
import postgres from 'postgres'
import { dbUrl, superuserUrl } from '../stack/lib/secrets.ts'
import type { StackProfile } from '../stack/lib/profile.ts'
import { step } from '../stack/lib/say.ts'
import {
  createScratchDatabase,
  startBenchCluster,
  stopBenchCluster,
  type BenchCluster,
} from './scratch.ts'
import { median, table } from './stats.ts'

const DATABASE = 'bench_audit'
const MEMBERS = 1_000
const BULK_ROWS = 100_000
const WRITERS = 8
const PER_WRITER = 12_500
const BATCH = 500
const SEAL_MAX = 1_000_000
const TARGET = 1.5
/** The whole run is abandoned (and the cluster stopped) after this long. */
const DEADLINE_MS = 20 * 60_000
/** Statement timeout of every session: no single statement of the bench takes this long. */
const STATEMENT_TIMEOUT_MS = 10 * 60_000

type Mode = 'without' | 'with'
type Step = 'bulk insert' | 'bulk update' | 'concurrent'
/** Row triggers whose time pg_stat_user_functions reports, besides the audit trigger. */
const AUDIT_TRIGGER = 'audit.capture_changes'
const ROW_TRIGGERS = ['private.set_owner_active', 'private.guard_submission_update']

interface Options {
  rounds: number
  explain: boolean
  keep: boolean
}

function parseOptions(argv: string[]): Options {
  const options: Options = { rounds: 3, explain: false, keep: false }
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]
    if (arg === '--keep') options.keep = true
    else if (arg === '--explain') options.explain = true
    else if (arg === '--rounds') {
      const value = argv[++i]
      const n = Number(value)
      if (!Number.isInteger(n) || n < 1 || n > 20) {
        throw new TypeError(`--rounds takes a whole number from 1 to 20, got "${value ?? ''}"`)
      }
      options.rounds = n
    } else throw new TypeError(`unknown option for the audit bench: "${arg}"`)
  }
  return options
}

/** The deterministic id of bench member n, as in bench/rls.ts. */
const memberId = (n: string) => `pg_catalog.md5('leaps-bench-member-' || ${n})::uuid`
/** The deterministic id of submission i, so that a writer can find its own rows again. */
const submissionId = (i: string) => `pg_catalog.md5('leaps-bench-submission-' || ${i})::uuid`

const SEED_MEMBERS = `
insert into auth.users (id, email, raw_user_meta_data, created_at, updated_at)
select
    ${memberId('n')},
    'member' || n || '@bench.invalid',
    pg_catalog.jsonb_build_object('handle', 'bench_' || n, 'name', 'Bench member ' || n),
    pg_catalog.now() - interval '400 days',
    pg_catalog.now() - interval '400 days'
from pg_catalog.generate_series(1, ${MEMBERS}) as n`

/** Submissions $1..$2: owners in turn, five activities, a third of them PUBLIC, PENDING. */
const INSERT_RANGE = `
insert into public.submissions (id, owner_id, activity_code, title, payload, visibility)
select
    ${submissionId('g.i')},
    ${memberId(`(1 + g.i % ${MEMBERS})`)},
    (array['LEARN', 'EXPLORE', 'AMPLIFY', 'PRESENT', 'SHINE']::public.activity_code[])
        [1 + g.i % 5],
    'Activity report ' || g.i,
    -- Every payload carries the consent flags AMPLIFY submissions need.
    pg_catalog.jsonb_build_object('hours', 1 + g.i % 8, 'summary', 'Bench activity ' || g.i,
        'consentDocumented', true, 'institutionalApproval', true),
    case when g.i % 3 = 0 then 'PUBLIC' else 'PRIVATE' end::public.visibility
from pg_catalog.generate_series($1::int, $2::int) as g(i)`

/** An edit of content and visibility, as an owner makes it (updated_at is set by a trigger). */
const EDIT = `
update public.submissions
set title = title || ' (edited)',
    payload = payload || '{"edited": true}'::jsonb,
    visibility = case when visibility = 'PUBLIC' then 'PRIVATE' else 'PUBLIC' end
        ::public.visibility`

const UPDATE_ALL = EDIT

/** Submissions $1..$2 found by primary key. */
const UPDATE_RANGE = `${EDIT}
where id = any (array(
    select ${submissionId('g.i')}
    from pg_catalog.generate_series($1::int, $2::int) as g(i)))`

/** Tables a TRUNCATE of public.submissions must take along (they reference it). */
const EMPTY_SUBMISSIONS = `
truncate public.submissions, public.submission_attachments, public.points_ledger`

function client(url: string, name: string): postgres.Sql {
  return postgres(url, {
    max: 1,
    onnotice: () => {},
    connect_timeout: 10,
    connection: { application_name: name, statement_timeout: STATEMENT_TIMEOUT_MS },
  })
}

const ownerUrl = (p: StackProfile, c: BenchCluster) =>
  dbUrl(p, 'postgres', c.secrets.postgresPassword)

/** Named prepared statements for the statements with parameters, as an application sends. */
const PREPARED = { prepare: true } as postgres.UnsafeQueryOptions

interface FunctionStats {
  [name: string]: { calls: number; total: number }
}

interface Sample {
  step: Step
  mode: Mode
  round: number
  seconds: number
  /** Time the sessions spent in the step's statements: `seconds` in bulk, summed in concurrent. */
  busy: number
  auditRows: number
  /** Milliseconds spent per function (total_time) during the step, all sessions together. */
  functions: Record<string, number>
}

/**
 * The sessions of the run: the owner (`postgres`, who owns the tables and the audit schema)
 * for set-up and the bulk phase, the bootstrap superuser for CHECKPOINT, and the writers.
 */
interface Sessions {
  owner: postgres.Sql
  admin: postgres.Sql
}

async function prepareDatabase(p: StackProfile, cluster: BenchCluster): Promise<void> {
  // Superuser settings of the scratch database, for the sessions opened after this.
  const admin = client(superuserUrl(p, cluster.secrets), 'leaps-bench-audit')
  try {
    await admin.unsafe(`alter database ${DATABASE} set track_functions = 'pl'`)
  } finally {
    await admin.end()
  }
  const owner = client(ownerUrl(p, cluster), 'leaps-bench-audit')
  try {
    step(`seeding ${MEMBERS.toLocaleString('en')} members (auth.users; the trigger adds profiles)`)
    await owner.unsafe(SEED_MEMBERS)
    const [members] = await owner<Array<{ n: number }>>`
      select count(*)::int as n from public.users`
    if (members!.n !== MEMBERS) throw new Error(`seed incomplete: ${members!.n} profiles`)
    // Autovacuum off on what the bench writes; reset() vacuums the audit log before each step.
    const tables = await owner<Array<{ name: string }>>`
      select c.oid::regclass::text as name
      from pg_catalog.pg_class as c
      where c.oid = 'public.submissions'::regclass
          or c.oid in (
              select i.inhrelid
              from pg_catalog.pg_inherits as i
              where i.inhparent = 'audit.audit_log'::regclass)`
    for (const t of tables) {
      await owner.unsafe(`alter table ${t.name} set (autovacuum_enabled = off)`)
    }
    // The payload screening and the regional rules check every submission too; they have a
    // bench of their own (pii), and here they would only add the same cost to both modes.
    await owner.unsafe(`alter table public.submissions disable trigger submissions_screen_payload;
                        alter table public.submissions disable trigger submissions_regional_rules`)
    await owner.unsafe('vacuum (analyze) public.users, auth.users, audit.audit_log')
  } finally {
    await owner.end()
  }
}

async function lastAuditId(sql: postgres.Sql): Promise<string> {
  const [row] = await sql<Array<{ id: string }>>`
    select coalesce(max(id), 0)::text as id from audit.audit_log`
  return row!.id
}

async function auditRowsSince(sql: postgres.Sql, id: string): Promise<number> {
  const [row] = await sql<Array<{ n: number }>>`
    select count(*)::int as n from audit.audit_log where id > ${id}::bigint`
  return row!.n
}

/** pg_stat_user_functions as the server holds it now (the caller flushed its sessions). */
async function functionStats(sql: postgres.Sql): Promise<FunctionStats> {
  const rows = await sql<Array<{ name: string; calls: number; total: number }>>`
    select schemaname || '.' || funcname as name, calls::float8 as calls,
        total_time::float8 as total
    from pg_catalog.pg_stat_user_functions`
  const stats: FunctionStats = {}
  for (const r of rows) stats[r.name] = { calls: r.calls, total: r.total }
  return stats
}

/** Makes a session publish its pending statistics before it answers the next statement. */
async function flushStats(sql: postgres.Sql): Promise<void> {
  await sql.unsafe('select pg_catalog.pg_stat_force_next_flush()')
  await sql.unsafe('select 1')
}

function statsDelta(before: FunctionStats, after: FunctionStats): Record<string, number> {
  const delta: Record<string, number> = {}
  for (const name of [AUDIT_TRIGGER, ...ROW_TRIGGERS]) {
    delta[name] = (after[name]?.total ?? 0) - (before[name]?.total ?? 0)
  }
  return delta
}

/**
 * Empties public.submissions with tracking off, sets tracking for the mode, vacuums what the
 * previous step left and checkpoints, so that the step starts from the same state in both
 * modes.
 */
async function reset(s: Sessions, mode: Mode): Promise<void> {
  await s.owner.unsafe(`select audit.disable_tracking('public.submissions')`)
  const [left] = await s.owner<Array<{ attachments: number; points: number }>>`
    select
      (select count(*) from public.submission_attachments)::int as attachments,
      (select count(*) from public.points_ledger)::int as points`
  if (left!.attachments !== 0 || left!.points !== 0) {
    throw new Error('public.submission_attachments or public.points_ledger holds rows; the '
      + 'bench writes none and will not truncate rows it did not write')
  }
  await s.owner.unsafe(EMPTY_SUBMISSIONS)
  await s.owner.unsafe('vacuum audit.audit_log')
  if (mode === 'with') await s.owner.unsafe(`select audit.enable_tracking('public.submissions')`)
  const [triggers] = await s.owner<Array<{ n: number }>>`
    select count(*)::int as n
    from pg_catalog.pg_trigger
    where tgrelid = 'public.submissions'::regclass
        and tgname in ('audit_insert', 'audit_update', 'audit_delete')`
  if (triggers!.n !== (mode === 'with' ? 3 : 0)) {
    throw new Error(`public.submissions has ${triggers!.n} audit triggers in mode "${mode}"`)
  }
  await s.admin.unsafe('checkpoint')
}

function expectAuditRows(stepName: Step, mode: Mode, rows: number, changed: number): void {
  const expected = mode === 'with' ? changed : 0
  if (rows !== expected) {
    throw new Error(`${stepName} (${mode}): ${rows} audit rows for ${changed} changed rows, `
      + `expected ${expected}`)
  }
}

async function bulkRound(s: Sessions, mode: Mode, round: number): Promise<Sample[]> {
  await reset(s, mode)
  const samples: Sample[] = []
  for (const stepName of ['bulk insert', 'bulk update'] as Step[]) {
    const text = stepName === 'bulk insert' ? INSERT_RANGE : UPDATE_ALL
    const params = stepName === 'bulk insert' ? [1, BULK_ROWS] : []
    const fromId = await lastAuditId(s.owner)
    await flushStats(s.owner)
    const before = await functionStats(s.owner)
    const t0 = performance.now()
    const result = await s.owner.unsafe(text, params, PREPARED)
    const seconds = (performance.now() - t0) / 1000
    if (result.count !== BULK_ROWS) {
      throw new Error(`${stepName} (${mode}) changed ${result.count} rows, expected ${BULK_ROWS}`)
    }
    await flushStats(s.owner)
    const after = await functionStats(s.owner)
    const auditRows = await auditRowsSince(s.owner, fromId)
    expectAuditRows(stepName, mode, auditRows, BULK_ROWS)
    samples.push({
      step: stepName, mode, round, seconds, busy: seconds, auditRows,
      functions: statsDelta(before, after),
    })
    step(`bulk round ${round + 1}, ${mode} audit: ${stepName.slice(5)} ${seconds.toFixed(2)} s`)
  }
  return samples
}

/**
 * One writer: its own rows from..to, inserted and then updated, BATCH rows a statement, each
 * statement its own transaction. Returns the seconds it spent in its statements.
 */
async function writer(sql: postgres.Sql, from: number, to: number): Promise<number> {
  let busy = 0
  for (const text of [INSERT_RANGE, UPDATE_RANGE]) {
    for (let lo = from; lo <= to; lo += BATCH) {
      const hi = Math.min(lo + BATCH - 1, to)
      const t0 = performance.now()
      const result = await sql.unsafe(text, [lo, hi], PREPARED)
      busy += performance.now() - t0
      if (result.count !== hi - lo + 1) {
        throw new Error(`a writer's batch ${lo}..${hi} changed ${result.count} rows`)
      }
    }
  }
  return busy / 1000
}

async function concurrentRound(
  s: Sessions,
  writers: postgres.Sql[],
  mode: Mode,
  round: number,
): Promise<Sample> {
  await reset(s, mode)
  const fromId = await lastAuditId(s.owner)
  await Promise.all(writers.map((w) => flushStats(w)))
  const before = await functionStats(s.owner)
  const t0 = performance.now()
  const busy = await Promise.all(
    writers.map((w, k) => writer(w, k * PER_WRITER + 1, (k + 1) * PER_WRITER)))
  const seconds = (performance.now() - t0) / 1000
  await Promise.all(writers.map((w) => flushStats(w)))
  const after = await functionStats(s.owner)
  const [done] = await s.owner<Array<{ n: number; edited: number }>>`
    select count(*)::int as n,
        count(*) filter (where title like '% (edited)')::int as edited
    from public.submissions`
  const total = WRITERS * PER_WRITER
  if (done!.n !== total || done!.edited !== total) {
    throw new Error(`concurrent (${mode}): ${done!.n} rows, ${done!.edited} edited; `
      + `expected ${total} of both`)
  }
  const auditRows = await auditRowsSince(s.owner, fromId)
  expectAuditRows('concurrent', mode, auditRows, 2 * total)
  step(`concurrent round ${round + 1}, ${mode} audit: ${seconds.toFixed(2)} s`)
  return {
    step: 'concurrent', mode, round, seconds, busy: busy.reduce((a, b) => a + b, 0), auditRows,
    functions: statsDelta(before, after),
  }
}

/** Round r runs `without` first when r is even, `with` first when it is odd. */
const roundModes = (r: number): Mode[] => (r % 2 === 0 ? ['without', 'with'] : ['with', 'without'])

interface Chain {
  sealed: number
  unsealedBefore: number
  sealSeconds: number
  valid: boolean
  rowsChecked: number
  verifySeconds: number
  problem: string | null
}

async function sealAndVerify(s: Sessions): Promise<Chain> {
  const [pending] = await s.owner<Array<{ n: number }>>`
    select count(*)::int as n from audit.audit_log as l
    where not exists (select 1 from audit.chain as c
                      where c.log_id = l.id and c.occurred_at = l.occurred_at)`
  const unsealedBefore = pending!.n
  step(`sealing: select audit.seal(${SEAL_MAX}) over ${unsealedBefore.toLocaleString('en')} `
    + 'unsealed audit rows')
  let t0 = performance.now()
  const [sealed] = await s.owner<Array<{ n: number }>>`
    select audit.seal(${SEAL_MAX})::int as n`
  const sealSeconds = (performance.now() - t0) / 1000
  step(`sealed ${sealed!.n.toLocaleString('en')} rows in ${sealSeconds.toFixed(1)} s; `
    + 'verifying the chain')
  t0 = performance.now()
  const [v] = await s.owner<Array<{ valid: boolean; rows: number; problem: string | null;
    bad_seq: string | null; bad_id: string | null }>>`
    select valid, rows_checked::int as rows, problem,
        first_bad_seq::text as bad_seq, first_bad_id::text as bad_id
    from audit.verify_chain()`
  const verifySeconds = (performance.now() - t0) / 1000
  if (!v) throw new Error('audit.verify_chain() returned no row')
  const problem = v.valid ? null
    : `${v.problem ?? 'invalid'} (first bad seq ${v.bad_seq ?? '-'}, id ${v.bad_id ?? '-'})`
  step(`verify_chain: valid = ${v.valid}, ${v.rows.toLocaleString('en')} rows in `
    + `${verifySeconds.toFixed(1)} s`)
  return {
    sealed: sealed!.n, unsealedBefore, sealSeconds, valid: v.valid, rowsChecked: v.rows,
    verifySeconds, problem,
  }
}

/**
 * One more bulk insert and update with tracking on, in a superuser session with auto_explain,
 * keeping the plans of the audit trigger's INSERT into the log.
 */
async function explainTrigger(
  s: Sessions,
  p: StackProfile,
  cluster: BenchCluster,
): Promise<string[]> {
  await reset(s, 'with')
  const plans: string[] = []
  const sql = postgres(superuserUrl(p, cluster.secrets), {
    max: 1,
    connect_timeout: 10,
    connection: {
      application_name: 'leaps-bench-audit',
      statement_timeout: STATEMENT_TIMEOUT_MS,
    },
    onnotice: (notice) => {
      const message = String(notice.message ?? '')
      if (/insert into audit\.audit_log/.test(message)) plans.push(message)
    },
  })
  try {
    await sql.unsafe(`load 'auto_explain'`)
    for (const setting of [
      'auto_explain.log_min_duration = 200',
      'auto_explain.log_analyze = on',
      'auto_explain.log_buffers = on',
      'auto_explain.log_wal = on',
      'auto_explain.log_nested_statements = on',
      'client_min_messages = log',
    ]) await sql.unsafe(`set ${setting}`)
    step('explain: bulk insert with auto_explain')
    await sql.unsafe(INSERT_RANGE, [1, BULK_ROWS])
    step('explain: bulk update with auto_explain')
    await sql.unsafe(UPDATE_ALL)
  } finally {
    await sql.end()
  }
  return plans
}

const secs = (v: number) => v.toFixed(2)
const round3 = (v: number) => Math.round(v * 1000) / 1000
const count = (v: number) => Math.round(v).toLocaleString('en')

/** A row of the main table: a timed step, or the bulk insert and update of a round together. */
type Phase = Step | 'bulk total'
const PHASES: Phase[] = ['bulk insert', 'bulk update', 'bulk total', 'concurrent']
const MODES: Mode[] = ['without', 'with']

const phaseLabel = (phase: Phase) =>
  phase === 'bulk total' ? 'bulk insert+update'
    : phase === 'concurrent' ? `concurrent (${WRITERS} writers)` : phase

/** Seconds of each round of a phase in a mode, in round order. */
function series(samples: Sample[], phase: Phase, mode: Mode): number[] {
  const of = (st: Step) => samples
    .filter((x) => x.step === st && x.mode === mode)
    .sort((a, b) => a.round - b.round)
  if (phase !== 'bulk total') return of(phase).map((x) => x.seconds)
  // Insert and update of the same round added up; the median is taken over those sums.
  const updates = of('bulk update')
  return of('bulk insert').map((x) =>
    x.seconds + (updates.find((u) => u.round === x.round)?.seconds ?? Number.NaN))
}

const medianOf = (samples: Sample[], phase: Phase, mode: Mode) =>
  median(series(samples, phase, mode))
const ratioOf = (samples: Sample[], phase: Phase) =>
  medianOf(samples, phase, 'with') / medianOf(samples, phase, 'without')

function mainTable(samples: Sample[]): string {
  const rows = PHASES.flatMap((phase) => MODES.map((mode) => [
    phaseLabel(phase),
    mode,
    secs(medianOf(samples, phase, mode)),
    mode === 'without' ? '1.00' : ratioOf(samples, phase).toFixed(2),
    series(samples, phase, mode).map(secs).join(' '),
  ]))
  return table(['phase', 'mode', 'median s', 'ratio', 'each round s'], rows,
    [false, false, true, true, false])
}

/** Medians over the rounds of the time in the audit trigger and the table's row triggers. */
function functionTable(samples: Sample[]): string {
  const med = (st: Step, mode: Mode, pick: (x: Sample) => number) =>
    median(samples.filter((x) => x.step === st && x.mode === mode).map(pick))
  const rows = (['bulk insert', 'bulk update', 'concurrent'] as Step[]).flatMap((st) =>
    MODES.map((mode) => {
      const busy = med(st, mode, (x) => x.busy)
      const audit = med(st, mode, (x) => (x.functions[AUDIT_TRIGGER] ?? 0) / 1000)
      return [
        phaseLabel(st),
        mode,
        secs(busy),
        secs(audit),
        `${Math.round((audit / busy) * 100)}%`,
        ...ROW_TRIGGERS.map((name) => secs(med(st, mode, (x) => (x.functions[name] ?? 0) / 1000))),
      ]
    }))
  const header = ['phase', 'mode', 'session s', 'audit trigger s', 'share',
    ...ROW_TRIGGERS.map((n) => `${n.split('.')[1] ?? n} s`)]
  return table(header, rows, header.map((_, i) => i >= 2))
}

/** The plan part of an auto_explain message: its duration line and the plan, no query text. */
function planLines(message: string): string[] {
  const lines = message.split('\n')
  const start = lines.findIndex((l) => /^\s*Insert on /.test(l))
  return [lines[0] ?? '', ...(start >= 0 ? lines.slice(start) : lines.slice(1))]
}

function report(samples: Sample[], chain: Chain, plans: string[], options: Options,
  runSeconds: number): void {
  const bulkRatio = ratioOf(samples, 'bulk total')
  const concurrentRatio = ratioOf(samples, 'concurrent')
  const flag = (v: number) => (v > TARGET ? `  (above the ${TARGET} target)` : '')
  const perRow = (chain.sealSeconds / Math.max(1, chain.sealed)) * 1e6
  const out = [
    `Audit trail benchmark: ${count(MEMBERS)} members; bulk: ${count(BULK_ROWS)} rows in one `
      + `statement; concurrent: ${WRITERS} writers x ${count(PER_WRITER)} rows, ${BATCH} a `
      + `statement; ${options.rounds} round(s) per mode, medians`,
    '',
    mainTable(samples),
    '',
    `bulk_ratio       = with / without, insert + update = ${bulkRatio.toFixed(2)}`
      + flag(bulkRatio),
    `concurrent_ratio = with / without, wall clock      = ${concurrentRatio.toFixed(2)}`
      + flag(concurrentRatio),
    '',
    'hash chain, after the concurrent phase:',
    `  audit.seal(${SEAL_MAX})  ${secs(chain.sealSeconds)} s for ${count(chain.sealed)} rows `
      + `(${perRow.toFixed(0)} us a row, ${count(chain.sealed / chain.sealSeconds)} rows/s; `
      + `${count(chain.unsealedBefore - chain.sealed)} left unsealed)`,
    `  audit.verify_chain()   ${secs(chain.verifySeconds)} s for ${count(chain.rowsChecked)} `
      + `rows: ${chain.valid ? 'valid' : `INVALID: ${chain.problem ?? ''}`}`,
    '',
    'where the time goes (pg_stat_user_functions.total_time, track_functions = pl, medians):',
    '',
    functionTable(samples),
    '',
    'legend:',
    '  session s        time the sessions spent in the step\'s statements: the step\'s time in',
    `                   bulk, the sum over the ${WRITERS} writers in concurrent (which on fewer`,
    `                   cores than writers includes waiting for a core, as the function times do)`,
    '  audit trigger s  time in audit.capture_changes, its INSERT into the log included',
    '  share            audit trigger s / session s',
    '  other columns    the row triggers public.submissions has in both modes',
    '',
  ]
  if (plans.length > 0) {
    out.push('plans of the audit trigger\'s INSERT (auto_explain; bulk insert, then update):', '')
    for (const plan of plans) out.push(...planLines(plan), '')
  } else if (bulkRatio > TARGET || concurrentRatio > TARGET) {
    out.push('above the target: --explain prints the plans of the audit trigger\'s INSERT', '')
  }
  out.push(`run time ${runSeconds.toFixed(0)} s`, '')
  process.stdout.write(out.join('\n') + '\n')
  process.stdout.write(JSON.stringify({
    bench: 'audit',
    bulk_ratio: round3(bulkRatio),
    concurrent_ratio: round3(concurrentRatio),
    chain_valid: chain.valid,
    seal_seconds: round3(chain.sealSeconds),
  }) + '\n')
}

export async function run(argv: string[]): Promise<void> {
  const options = parseOptions(argv)
  const started = Date.now()
  const cluster = await startBenchCluster()
  let stopped = false
  const stop = () => {
    if (stopped || options.keep) return
    stopped = true
    stopBenchCluster(cluster)
  }
  const onSignal = (signal: NodeJS.Signals) => {
    step(`${signal}: stopping the bench cluster`)
    stop()
    process.exit(130)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const watchdog = setTimeout(() => {
    step(`the audit bench ran longer than ${DEADLINE_MS / 60_000} minutes: giving up`)
    stop()
    process.exit(1)
  }, DEADLINE_MS)
  const open: postgres.Sql[] = []
  try {
    const p = await createScratchDatabase(cluster, DATABASE)
    await prepareDatabase(p, cluster)
    const sessions: Sessions = {
      owner: client(ownerUrl(p, cluster), 'leaps-bench-audit'),
      admin: client(superuserUrl(p, cluster.secrets), 'leaps-bench-audit'),
    }
    open.push(sessions.owner, sessions.admin)
    const writers = Array.from({ length: WRITERS },
      (_, k) => client(ownerUrl(p, cluster), `leaps-bench-audit-writer-${k + 1}`))
    open.push(...writers)
    // Connected before any clock starts.
    await Promise.all([...open].map((sql) => sql.unsafe('select 1')))

    const samples: Sample[] = []
    step(`concurrent phase: ${options.rounds} rounds, ${WRITERS} writers x `
      + `${PER_WRITER.toLocaleString('en')} rows, batches of ${BATCH}`)
    for (let r = 0; r < options.rounds; r += 1) {
      for (const mode of roundModes(r)) {
        samples.push(await concurrentRound(sessions, writers, mode, r))
      }
    }
    await Promise.all(writers.map((w) => w.end()))
    const chain = await sealAndVerify(sessions)

    step(`bulk phase: ${options.rounds} rounds, ${BULK_ROWS.toLocaleString('en')} rows`)
    for (let r = 0; r < options.rounds; r += 1) {
      for (const mode of roundModes(r)) samples.push(...await bulkRound(sessions, mode, r))
    }
    const plans = options.explain ? await explainTrigger(sessions, p, cluster) : []
    // Tracking back on, as the migrations leave it (for a look with --keep).
    await sessions.owner.unsafe(`select audit.enable_tracking('public.submissions')`)

    const runSeconds = (Date.now() - started) / 1000
    step(`done in ${runSeconds.toFixed(0)} s`)
    report(samples, chain, plans, options, runSeconds)
    if (!chain.valid) {
      throw new Error('the audit chain does not verify after the concurrent phase: '
        + (chain.problem ?? 'no reason given'))
    }
  } finally {
    clearTimeout(watchdog)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await Promise.allSettled(open.map((sql) => sql.end({ timeout: 5 })))
    if (options.keep) step(`bench cluster left running on 127.0.0.1:${cluster.profile.dbPort}`)
    stop()
  }
}
