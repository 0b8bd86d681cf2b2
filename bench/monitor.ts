/**
 * npm run bench -- monitor [--runs N (7)] [--audit-rows N (10000000)] [--keep]
 *
 * What the security detectors (sql/91_security_signals.sql) cost on a database the size of a
 * busy month, on a scratch database of the bench cluster:
 *
 *   data       20,000 members (auth.users; 1 SUPERADMIN, 4 ADMINs, 50 REVIEWERs), 150 role
 *              changes and 500,000 sign-in attempts (8% failed) over 30 days, and 10,000,000
 *              audit events: all but the newest hour spread evenly over 30 days (about 230 a
 *              minute, written in time order as the log is), then a realistic newest hour of
 *              about 4,800 events from 300 members. The newest hour holds attacks the detectors
 *              must find: a member exporting personal data 12 times, one opening 400 evidence
 *              links, an administrator with 45 privileged acts and 8 role changes in 6 hours,
 *              a member uploading 70 files a minute, 5 accounts created a minute, and failed
 *              sign-ins (one account attacked from one address, credential stuffing from
 *              another). The attacks with short windows (1 to 10 minutes) go on for 15 minutes
 *              past the moment they are written: rows timed in the near future, which enter
 *              the windows as the clock reaches them, so that every measurement sees the same
 *              attack in progress however long the run takes. Bulk fills use generate_series
 *              in chunks; audit tracking of public.users, private.member_identifiers and
 *              private.role_changes is off while they are filled (else the fill would add
 *              20,000 audit rows of its own to the newest hour) and back on afterwards;
 *              everything is vacuumed and analysed before measuring.
 *   detector   for every rule of private.detection_rules but `lockout` (the sign-in hook's
 *              own check), `select * from private.detect(now(), '<rule>')`, timed two ways:
 *              new session  each run in a session of its own, as the job runs: pg_cron starts
 *                           a background worker, a new backend, for every run, so the function
 *                           is compiled, its queries planned afresh (custom plans) and the
 *                           catalog caches filled every minute. One untimed run first, then
 *                           --runs runs; the median. These are the headline figures.
 *              warm         one session, 5 warm-up runs (the plan cache plans the first five
 *                           executions of a statement afresh, then may settle on a generic
 *                           plan), then --runs runs; the median: what a long-lived caller pays.
 *              and the number of findings.
 *   baseline   the same runs, both ways, of a plain `select count(*)` of the detector's window:
 *              its table, its time range and the table-level filter it uses (failed sign-ins;
 *              audit rows with an actor, through the BRIN index on occurred_at; role changes
 *              with an actor; accounts created), without the rule-specific filter, the
 *              grouping and the evidence. It is the least any detector over that window has
 *              to read; ratio = detector / baseline tells what the detector adds to reading
 *              its window (plan choice, aggregation, PL/pgSQL). Printed per detector; the JSON
 *              line has the worst detector's warm ratio.
 *   job        the per-minute cron job's command (`select set_config('leaps.job', ...),
 *              private.run_detectors()`), each run in a transaction that is rolled back, so
 *              that alerts, incidents and automatic responses do not accumulate: every run
 *              raises every alert anew (the first minute of an attack, the dearest one).
 *              Timed both ways, like the detectors; the headline is the new-session figure.
 *
 * Times are client wall clock over the loopback connection, as `postgres` (the owner of the
 * cron job), statements sent as simple queries: the round trip (about 0.1 ms) is included,
 * connecting is not. The slowest detector (new session) is then run with auto_explain
 * (ANALYZE, BUFFERS, nested statements) in a new superuser session (auto_explain needs one;
 * the functions are SECURITY DEFINER and run as their owner whoever calls), once as the job
 * would and once after 5 more runs, and the plans of its query are printed.
 *
 * stdout: tables, the plans, then exactly one JSON line
 *   {"bench":"monitor","worst_detector_ms","job_ms","worst_detector","worst_detector_warm_ms",
 *    "job_warm_ms","worst_ratio","alerts_raised","audit_rows"}
 * Targets: every detector under 50 ms, the job under 250 ms.
 */
import postgres from 'postgres'
import { superuserUrl, dbUrl } from '../stack/lib/secrets.ts'
import type { StackProfile } from '../stack/lib/profile.ts'
import { step } from '../stack/lib/say.ts'
import { createScratchDatabase, withBenchCluster, type BenchCluster } from './scratch.ts'
import { median, table } from './stats.ts'

const DATABASE = 'bench_monitor'
const MEMBERS = 20_000
const ADMINS = 5
const REVIEWERS = 50
const DAYS = 30
const AUDIT_ROWS = 10_000_000
const AUDIT_CHUNK = 500_000
const SIGN_INS = 500_000
const SIGN_IN_CHUNK = 100_000
const FAILED_SHARE = 0.08
const ROLE_CHANGES = 150
/** Newest hour: ordinary events from this many members. */
const RECENT_EVENTS = 4_000
const RECENT_ACTORS = 300
const TARGET_DETECTOR_MS = 50
const TARGET_JOB_MS = 250
const DEADLINE_MS = 25 * 60_000
const STATEMENT_TIMEOUT_MS = 5 * 60_000

/** The attackers and the attacked, by member number. */
const ADMIN_D = 2
const EXPORTER = 101
const SCRAPER = 102
const UPLOADER = 103
const VICTIM = 104

/** The attacks in the newest hour: how many rows each writes. */
const EXPORTS = 12
const LINKS = 400
const ADMIN_ACTS = 45
const UPLOADS_PER_MINUTE = 70
const ATTACK_PAST_MIN = 5
const ATTACK_FUTURE_MIN = 15
const UPLOADS = UPLOADS_PER_MINUTE * (ATTACK_PAST_MIN + ATTACK_FUTURE_MIN)
const NEW_USERS_PER_MINUTE = 5
const NEW_USERS = NEW_USERS_PER_MINUTE * (ATTACK_PAST_MIN + ATTACK_FUTURE_MIN)
const ROLE_BURST = 8
const RECENT_AUDIT = RECENT_EVENTS + EXPORTS + LINKS + ADMIN_ACTS + UPLOADS

interface Options {
  runs: number
  /** Audit events in all, the newest hour's included (a smaller figure for a quick try). */
  auditRows: number
  keep: boolean
}

function parseOptions(argv: string[]): Options {
  const options: Options = { runs: 7, auditRows: AUDIT_ROWS, keep: false }
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]
    if (arg === '--keep') options.keep = true
    else if (arg === '--runs') {
      const value = argv[++i]
      const n = Number(value)
      if (!Number.isInteger(n) || n < 1 || n > 99) {
        throw new TypeError(`--runs takes a whole number from 1 to 99, got "${value ?? ''}"`)
      }
      options.runs = n
    } else if (arg === '--audit-rows') {
      const value = argv[++i]
      const n = Number(value)
      if (!Number.isInteger(n) || n < 100_000 || n > 100_000_000) {
        throw new TypeError(`--audit-rows takes a whole number from 100000 to 100000000, got `
          + `"${value ?? ''}"`)
      }
      options.auditRows = n
    } else throw new TypeError(`unknown option for the monitor bench: "${arg}"`)
  }
  return options
}

/** The deterministic id of bench member n, as in bench/rls.ts and bench/audit.ts. */
const memberId = (n: string) => `pg_catalog.md5('leaps-bench-member-' || (${n}))::uuid`

/** Members 1..n created over the 400 days before $1 (ending a day before it). */
const SEED_MEMBERS = `
insert into auth.users (id, email, raw_user_meta_data, created_at, updated_at)
select ${memberId('n')}, 'member' || n || '@bench.invalid',
    pg_catalog.jsonb_build_object('handle', 'bench_' || n, 'name', 'Bench member ' || n),
    $1::timestamptz - interval '400 days' + (n::float8 / $2::int) * interval '399 days',
    $1::timestamptz - interval '1 day'
from pg_catalog.generate_series(1, $2::int) as n`

const SET_ROLES = `
update public.users as u
set role = case when r.n = 1 then 'SUPERADMIN' when r.n <= ${ADMINS} then 'ADMIN'
                else 'REVIEWER' end::public.app_role
from (select n, ${memberId('n')} as id
      from pg_catalog.generate_series(1, ${ADMINS + REVIEWERS}) as n) as r
where u.id = r.id`

/** Role changes over the history by the administrators, none of them many in a day. */
const HISTORY_ROLE_CHANGES = `
insert into private.role_changes (user_id, old_role, new_role, changed_by, changed_at)
select ${memberId(`${ADMINS + REVIEWERS + 1} + pg_catalog.floor(pg_catalog.random() * 10000)::int`)},
    'PARTICIPANT', 'REVIEWER', ${memberId(`1 + pg_catalog.floor(pg_catalog.random() * ${ADMINS})::int`)},
    $1::timestamptz - interval '${DAYS} days' + (g::float8 / ${ROLE_CHANGES})
        * interval '${DAYS - 1} days'
from pg_catalog.generate_series(1, ${ROLE_CHANGES}) as g`

/** Sign-in attempts $3..$4, one every $2 seconds from $1; some failed, most with an address. */
const SIGN_IN_RANGE = `
insert into private.sign_in_attempts (user_id, factor, valid, source, attempted_at)
select ${memberId(`1 + pg_catalog.floor(pg_catalog.random() * ${MEMBERS})::int`)},
    case when pg_catalog.random() < 0.1 then 'mfa' else 'password' end,
    pg_catalog.random() >= ${FAILED_SHARE},
    case when pg_catalog.random() < 0.6
         then '100.64.0.0'::inet + pg_catalog.floor(pg_catalog.random() * 50000)::int end,
    $1::timestamptz + ((g - 1) * $2::float8) * interval '1 second'
from pg_catalog.generate_series($3::bigint, $4::bigint) as g`

/**
 * Audit events $3..$4, one every $2 seconds from $1, by members $5 + k * $7 for k in
 * 0..$6 - 1 (or by the service and cron, without an actor). The action mix of an ordinary
 * day: row changes, evidence links and uploads, exports, reports, identifier look-ups.
 */
const AUDIT_RANGE = `
insert into audit.audit_log (occurred_at, actor_id, actor_type, action, target_type, target_id,
    record_id, outcome, ip_address, user_agent, request_id, changed_fields, metadata)
select s.t,
    case when s.k < 88 then ${memberId('$5::int + s.m * $7::int')} end,
    (case when s.k < 88 then 'USER' when s.k < 96 then 'SERVICE' else 'CRON' end)
        ::audit.actor_type,
    a.action,
    case when a.action in ('insert', 'update', 'delete') then 'public.submissions'
         when a.action like 'evidence.%' then 'evidence'
         when a.action in ('dsar.export', 'pii.reveal', 'pii.lookup') then 'user'
         when a.action = 'analytics.read' then 'analytics'
         else 'audit' end,
    s.x::text,
    case when a.action in ('insert', 'update', 'delete')
         then pg_catalog.md5('public.submissions:' || s.x)::uuid end,
    case when s.k = 0 then 'FAILURE' else 'SUCCESS' end::audit.outcome,
    case when s.k < 88 then '100.64.0.0'::inet + (s.x % 50000) end,
    case when s.k < 88 then 'Mozilla/5.0 (Linux; Android 13) LEAPS/1.4' end,
    'req-' || s.g,
    case when a.action = 'update' then array['title', 'payload', 'updated_at'] end,
    case when a.action in ('insert', 'update')
         then '{"status": "PENDING", "visibility": "PRIVATE"}'::jsonb
         else '{}'::jsonb end
from (
    select g,
        $1::timestamptz + ((g - 1) * $2::float8) * interval '1 second' as t,
        pg_catalog.floor(pg_catalog.random() * 100)::int as k,
        pg_catalog.floor(pg_catalog.random() * 100)::int as a,
        pg_catalog.floor(pg_catalog.random() * $6::int)::int as m,
        pg_catalog.floor(pg_catalog.random() * 1000000)::int as x
    from pg_catalog.generate_series($3::bigint, $4::bigint) as g
) as s
cross join lateral (
    select case when s.a < 45 then 'update' when s.a < 60 then 'insert'
                when s.a < 63 then 'delete' when s.a < 78 then 'evidence.url'
                when s.a < 86 then 'evidence.upload' when s.a < 88 then 'dsar.export'
                when s.a < 93 then 'analytics.read' when s.a < 96 then 'audit.report_viewed'
                when s.a < 98 then 'pii.reveal' else 'pii.lookup' end as action
) as a`

/** Creates the monthly partitions (log and chain) the 30 days of history need. */
const HISTORY_PARTITIONS = `
do $do$
declare
    month date;
    parent text;
    name text;
begin
    for month in
        select pg_catalog.generate_series(
            pg_catalog.date_trunc('month', pg_catalog.now() - interval '${DAYS + 1} days'),
            pg_catalog.date_trunc('month', pg_catalog.now() + interval '1 hour'),
            interval '1 month')::date
    loop
        foreach parent in array array['audit_log', 'chain'] loop
            name := parent || '_' || pg_catalog.to_char(month, 'YYYY_MM');
            if pg_catalog.to_regclass('audit_partitions.' || name) is null then
                execute pg_catalog.format('create table audit_partitions.%I partition of audit.%I '
                    || 'for values from (%L) to (%L)', name, parent, month,
                    (month + interval '1 month')::date);
                execute pg_catalog.format('create trigger no_truncate before truncate on '
                    || 'audit_partitions.%I for each statement '
                    || 'execute function audit.refuse_truncate()', name);
            end if;
        end loop;
    end loop;
end
$do$`

/**
 * The attacks, around $1 (now when they are written): audit events, sign-ins, accounts and
 * role changes. Minutes before $1 and, for the short windows, up to ATTACK_FUTURE_MIN after.
 */
const ATTACK_AUDIT = `
insert into audit.audit_log (occurred_at, actor_id, actor_type, action, target_type, target_id,
    outcome, ip_address, user_agent, request_id, metadata)
select t, actor, 'USER', action, target_type, target_id, 'SUCCESS',
    '198.51.100.77'::inet, 'Mozilla/5.0 (X11; Linux x86_64)', 'attack-' || action || '-' || g,
    '{}'::jsonb
from (
    -- a member exporting others' data: ${EXPORTS} exports in 40 minutes
    select g, $1::timestamptz - interval '40 minutes' + g * interval '3 minutes' as t,
        ${memberId(String(EXPORTER))} as actor, 'dsar.export' as action, 'user' as target_type,
        ${memberId(`1000 + g`)}::text as target_id
    from pg_catalog.generate_series(0, ${EXPORTS - 1}) as g
    union all
    -- a member opening evidence links: ${LINKS} in 45 minutes
    select g, $1::timestamptz - interval '45 minutes' + g * interval '6.75 seconds',
        ${memberId(String(SCRAPER))}, 'evidence.url', 'evidence', 'evidence/' || (5000 + g)
    from pg_catalog.generate_series(0, ${LINKS - 1}) as g
    union all
    -- an administrator's privileged acts: ${ADMIN_ACTS} in 50 minutes
    select g, $1::timestamptz - interval '50 minutes' + g * interval '66 seconds',
        ${memberId(String(ADMIN_D))},
        (array['pii.lookup', 'audit.report_viewed', 'analytics.read', 'incident.note',
               'dsar.delete'])[1 + g % 5],
        'user', ${memberId(`2000 + g`)}::text
    from pg_catalog.generate_series(0, ${ADMIN_ACTS - 1}) as g
    union all
    -- a member uploading ${UPLOADS_PER_MINUTE} files a minute, from ${ATTACK_PAST_MIN} minutes
    -- ago to ${ATTACK_FUTURE_MIN} minutes ahead
    select g, $1::timestamptz - interval '${ATTACK_PAST_MIN} minutes'
            + g * (interval '1 minute' / ${UPLOADS_PER_MINUTE}),
        ${memberId(String(UPLOADER))}, 'evidence.upload', 'evidence', 'evidence/u' || g
    from pg_catalog.generate_series(0, ${UPLOADS - 1}) as g
) as a (g, t, actor, action, target_type, target_id)`

const ATTACK_SIGN_INS = `
insert into private.sign_in_attempts (user_id, factor, valid, source, attempted_at)
-- one account attacked from one address: 4 failures a minute for 20 minutes and on
select ${memberId(String(VICTIM))}, 'password', false, '203.0.113.66'::inet,
    $1::timestamptz - interval '20 minutes' + g * interval '15 seconds'
from pg_catalog.generate_series(0, 4 * (20 + ${ATTACK_FUTURE_MIN}) - 1) as g
union all
-- credential stuffing from another address: 3 failures a minute over many accounts
select ${memberId(`3000 + g`)}, 'password', false, '198.51.100.23'::inet,
    $1::timestamptz - interval '30 minutes' + g * interval '20 seconds'
from pg_catalog.generate_series(0, 3 * (30 + ${ATTACK_FUTURE_MIN}) - 1) as g`

const ATTACK_ACCOUNTS = `
insert into auth.users (id, email, raw_user_meta_data, created_at, updated_at)
select ${memberId(`${MEMBERS} + g`)}, 'member' || (${MEMBERS} + g) || '@bench.invalid',
    pg_catalog.jsonb_build_object('handle', 'bench_' || (${MEMBERS} + g)),
    $1::timestamptz - interval '${ATTACK_PAST_MIN} minutes'
        + g * (interval '1 minute' / ${NEW_USERS_PER_MINUTE}),
    $1::timestamptz
from pg_catalog.generate_series(1, ${NEW_USERS}) as g`

const ATTACK_ROLE_CHANGES = `
insert into private.role_changes (user_id, old_role, new_role, changed_by, changed_at)
select ${memberId('4000 + g')}, 'PARTICIPANT', 'ADMIN', ${memberId(String(ADMIN_D))},
    $1::timestamptz - interval '6 hours' + g * interval '40 minutes'
from pg_catalog.generate_series(0, ${ROLE_BURST - 1}) as g`

/**
 * The plain count of each detector's window: the baseline. The window is written as a literal
 * (a subquery would hide it from the planner, which then estimates, and JIT-compiles, a scan
 * of every partition).
 */
function windowCount(rule: string, window: string): string {
  if (!/^[0-9:. a-z]+$/.test(window)) throw new TypeError(`odd window "${window}"`)
  const w = `interval '${window}'`
  switch (rule) {
    case 'failed_logins_per_user':
    case 'failed_login_spike':
      return `select count(*) from private.sign_in_attempts as a where not a.valid
              and a.attempted_at > now() - ${w} and a.attempted_at <= now()`
    case 'brute_force_per_source':
      return `select count(*) from private.sign_in_attempts as a
              where a.source is not null and not a.valid
              and a.attempted_at > now() - ${w} and a.attempted_at <= now()`
    case 'new_users_per_minute':
      return `select count(*) from auth.users as u
              where u.created_at > now() - ${w} and u.created_at <= now()`
    case 'role_changes_per_actor':
      return `select count(*) from private.role_changes as c where c.changed_by is not null
              and c.changed_at > now() - ${w} and c.changed_at <= now()`
    default:
      return `select count(*) from audit.audit_log as l where l.actor_id is not null
              and l.occurred_at > now() - ${w} and l.occurred_at <= now()`
  }
}

/** Audited tables the fill writes: not tracked while it writes them (see the header). */
const UNTRACKED = `'public.users', 'private.member_identifiers', 'private.role_changes'`

const JOB = `select pg_catalog.set_config('leaps.job', 'security-detectors', true),
    private.run_detectors() as raised`

function client(url: string, name: string, onnotice?: (n: postgres.Notice) => void) {
  return postgres(url, {
    max: 1,
    onnotice: onnotice ?? (() => {}),
    connect_timeout: 10,
    connection: { application_name: name, statement_timeout: STATEMENT_TIMEOUT_MS },
  })
}

const ownerUrl = (p: StackProfile, c: BenchCluster) =>
  dbUrl(p, 'postgres', c.secrets.postgresPassword)

const count = (v: number) => Math.round(v).toLocaleString('en')

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now()
  const result = await work()
  return [performance.now() - t0, result]
}

/** Members, role changes, sign-ins and the 30 days of audit history; then vacuum. */
async function fillHistory(sql: postgres.Sql, auditRows: number): Promise<void> {
  const history = auditRows - RECENT_AUDIT
  await sql.unsafe(`select audit.disable_tracking(t) from pg_catalog.unnest(array[${UNTRACKED}]
                    ::regclass[]) as t`)
  const t0 = (await sql<Array<{ t0: string }>>`select now()::text as t0`)[0]!.t0
  await sql.unsafe(`select pg_catalog.setseed(0.42)`)
  step(`seeding ${count(MEMBERS)} members (auth.users; the trigger adds profiles), roles`)
  await sql.unsafe(SEED_MEMBERS, [t0, MEMBERS])
  await sql.unsafe(SET_ROLES)
  await sql.unsafe(HISTORY_ROLE_CHANGES, [t0])

  // The history ends an hour before t0; the newest hour is written just before measuring.
  const span = DAYS * 86_400 - 3_600
  const from = (await sql.unsafe<Array<{ from: string }>>(
    `select ($1::timestamptz - interval '${DAYS} days')::text as "from"`, [t0]))[0]!.from
  let t = performance.now()
  for (let lo = 1; lo <= SIGN_INS; lo += SIGN_IN_CHUNK) {
    const hi = Math.min(lo + SIGN_IN_CHUNK - 1, SIGN_INS)
    await sql.unsafe(SIGN_IN_RANGE, [from, span / SIGN_INS, lo, hi])
  }
  step(`${count(SIGN_INS)} sign-in attempts over ${DAYS} days in `
    + `${((performance.now() - t) / 1000).toFixed(1)} s`)

  await sql.unsafe(HISTORY_PARTITIONS)
  t = performance.now()
  const every = span / history
  for (let lo = 1; lo <= history; lo += AUDIT_CHUNK) {
    const hi = Math.min(lo + AUDIT_CHUNK - 1, history)
    await sql.unsafe(AUDIT_RANGE, [from, every, lo, hi, 1, MEMBERS, 1])
    const s = (performance.now() - t) / 1000
    step(`audit history: ${count(hi)} of ${count(history)} rows, ${s.toFixed(0)} s `
      + `(${count(hi / s)} rows/s)`)
  }
  step('vacuum analyze (audit log, sign-ins, users, role changes)')
  t = performance.now()
  await sql.unsafe(`vacuum (analyze) audit.audit_log, private.sign_in_attempts, auth.users,
                    public.users, private.role_changes`)
  step(`vacuumed in ${((performance.now() - t) / 1000).toFixed(0)} s`)
}

/** The newest hour and the attacks, around now; then tracking back on, vacuum, analyze. */
async function fillNewestHour(sql: postgres.Sql): Promise<string> {
  const t1 = (await sql<Array<{ t1: string }>>`select now()::text as t1`)[0]!.t1
  step(`newest hour: ${count(RECENT_EVENTS)} events from ${RECENT_ACTORS} members, and the attacks`)
  const from = (await sql.unsafe<Array<{ from: string }>>(
    `select ($1::timestamptz - interval '1 hour')::text as "from"`, [t1]))[0]!.from
  // Members 200, 260, ... : none of the attackers, administrators or reviewers.
  await sql.unsafe(AUDIT_RANGE, [from, 3_600 / RECENT_EVENTS, 1, RECENT_EVENTS, 200,
    RECENT_ACTORS, 60])
  await sql.unsafe(ATTACK_AUDIT, [t1])
  const signIns = Math.round(SIGN_INS / (DAYS * 24))
  await sql.unsafe(SIGN_IN_RANGE, [from, 3_600 / signIns, 1, signIns])
  await sql.unsafe(ATTACK_SIGN_INS, [t1])
  await sql.unsafe(ATTACK_ACCOUNTS, [t1])
  await sql.unsafe(ATTACK_ROLE_CHANGES, [t1])
  await sql.unsafe(`select audit.enable_tracking(t) from pg_catalog.unnest(array[${UNTRACKED}]
                    ::regclass[]) as t`)
  await sql.unsafe(`vacuum (analyze) audit.audit_log, private.sign_in_attempts, auth.users,
                    public.users, private.role_changes`)
  return t1
}

/** Warm-up runs of a warm session: the plan cache plans the first five afresh (custom plans). */
const WARM_UP = 5

interface Measure {
  rule: string
  window: string
  cold: number[]
  coldBase: number[]
  warm: number[]
  warmBase: number[]
  findings: number
  baseRows: number
  top: string
}

type Rows = Array<Record<string, unknown>>

/** Opens a session and waits until it is connected (outside any clock). */
async function session(url: string): Promise<postgres.Sql> {
  const sql = client(url, 'leaps-bench-monitor')
  await sql.unsafe('select 1')
  return sql
}

/** `runs` times in a new session each, after one untimed run: as a pg_cron worker runs. */
async function coldRuns(url: string, text: string, runs: number): Promise<[number[], Rows]> {
  const ms: number[] = []
  let last: Rows = []
  for (let i = 0; i <= runs; i += 1) {
    const sql = await session(url)
    try {
      const [d, rows] = await timed(() => sql.unsafe<Rows>(text))
      if (i > 0) ms.push(d)
      last = rows
    } finally {
      await sql.end({ timeout: 5 })
    }
  }
  return [ms, last]
}

async function measureDetectors(url: string, rules: Array<{ rule: string; window: string }>,
  runs: number): Promise<Measure[]> {
  const out: Measure[] = []
  for (const { rule, window } of rules) {
    const detect = `select * from private.detect(now(), '${rule}')`
    const base = windowCount(rule, window)
    const [cold, found] = await coldRuns(url, detect, runs)
    const [coldBase] = await coldRuns(url, base, runs)
    const warm: number[] = []
    const warmBase: number[] = []
    let baseRows = 0
    const sql = await session(url)
    try {
      for (let i = 0; i < WARM_UP + runs; i += 1) {
        const [d] = await timed(() => sql.unsafe(detect))
        const [b, counted] = await timed(() => sql.unsafe<Array<{ count: string }>>(base))
        if (i >= WARM_UP) {
          warm.push(d)
          warmBase.push(b)
        }
        baseRows = Number(counted[0]!.count)
      }
    } finally {
      await sql.end({ timeout: 5 })
    }
    const worst = [...found].sort((a, b) => Number(b.observed) - Number(a.observed))[0]
    const top = worst ? `${String(worst.subject).slice(0, 14)} ${String(worst.observed)} `
      + String(worst.severity) : '-'
    step(`${rule}: ${median(cold).toFixed(2)} ms in a new session, ${median(warm).toFixed(2)} `
      + `ms warm, ${found.length} finding(s); window count ${median(warmBase).toFixed(2)} ms warm`)
    out.push({ rule, window, cold, coldBase, warm, warmBase, findings: found.length, baseRows,
      top })
  }
  return out
}

class Rollback extends Error {}

/** The job once in `sql`, in a transaction rolled back; its time, alerts and incidents. */
async function jobOnce(sql: postgres.Sql): Promise<[number, number, number]> {
  let result: [number, number, number] = [0, 0, 0]
  try {
    await sql.begin(async (tx) => {
      const [d, rows] = await timed(() => tx.unsafe<Array<{ raised: number }>>(JOB))
      const [n] = await tx.unsafe<Array<{ n: number }>>(
        `select count(*)::int as n from private.incidents`)
      result = [d, Number(rows[0]!.raised), n!.n]
      throw new Rollback()
    })
  } catch (error) {
    if (!(error instanceof Rollback)) throw error
  }
  return result
}

interface Job {
  cold: number[]
  warm: number[]
  raised: number
  incidents: number
}

async function measureJob(url: string, runs: number): Promise<Job> {
  const cold: number[] = []
  const warm: number[] = []
  let raised = 0
  let incidents = 0
  for (let i = 0; i <= runs; i += 1) {
    const sql = await session(url)
    try {
      const [d, r, n] = await jobOnce(sql)
      if (i > 0) cold.push(d)
      raised = r
      incidents = n
    } finally {
      await sql.end({ timeout: 5 })
    }
  }
  const sql = await session(url)
  try {
    for (let i = 0; i < WARM_UP + runs; i += 1) {
      const [d] = await jobOnce(sql)
      if (i >= WARM_UP) warm.push(d)
    }
  } finally {
    await sql.end({ timeout: 5 })
  }
  step(`job: ${median(cold).toFixed(1)} ms in a new session, ${median(warm).toFixed(1)} ms warm; `
    + `${raised} alert(s) raised, ${incidents} incident(s) opened (rolled back)`)
  return { cold, warm, raised, incidents }
}

interface Plan {
  lines: string[]
  generic: boolean
}

/** The plan of the detector's own query (a RETURN QUERY), from an auto_explain message. */
function planOf(message: string | undefined): Plan {
  if (message === undefined) return { lines: ['(no plan captured)'], generic: false }
  const lines = message.split('\n')
  const root = lines.findIndex((l) => /\(actual time=/.test(l))
  const plan = root >= 0 ? lines.slice(root) : lines.slice(1)
  return { lines: [lines[0] ?? '', ...plan], generic: plan.some((l) => /\$\d/.test(l)) }
}

/**
 * The plans of a detector's query with auto_explain (ANALYZE, BUFFERS, nested statements), in
 * a new session: the first run (as the job runs it: a custom plan), then after WARM_UP more
 * runs (what a long-lived session settles on).
 */
async function explainDetector(url: string, rule: string): Promise<{ first: Plan; settled: Plan }> {
  const notices: string[] = []
  const sql = client(url, 'leaps-bench-monitor', (n) => notices.push(String(n.message ?? '')))
  const detect = `select * from private.detect(now(), '${rule}')`
  const capture = async (): Promise<Plan> => {
    notices.length = 0
    await sql.unsafe('set auto_explain.log_min_duration = 0')
    await sql.unsafe(detect)
    await sql.unsafe('set auto_explain.log_min_duration = -1')
    return planOf(notices.find((n) => n.includes('Query Text: select r.rule')))
  }
  try {
    await sql.unsafe(`load 'auto_explain'`)
    for (const setting of ['auto_explain.log_min_duration = -1',
      'auto_explain.log_analyze = on', 'auto_explain.log_buffers = on',
      'auto_explain.log_nested_statements = on', 'client_min_messages = log',
    ]) await sql.unsafe(`set ${setting}`)
    const first = await capture()
    for (let i = 0; i < WARM_UP; i += 1) await sql.unsafe(detect)
    const settled = await capture()
    return { first, settled }
  } finally {
    await sql.end({ timeout: 5 })
  }
}

/** The root line of a plan, its Buffers line and JIT's time if any, for the summary. */
function summaryOf(plan: Plan): string[] {
  const root = plan.lines[1]
  const buffers = plan.lines.slice(2).find((l) => /^\s*Buffers:/.test(l))
  const jit = plan.lines.find((l) => /^\s*Timing: Generation/.test(l))
  return [plan.lines[0] ?? '', root ?? '', buffers ?? '', jit ? `JIT ${jit.trim()}` : '']
    .map((l) => l.trim()).filter(Boolean)
}

export async function run(argv: string[]): Promise<void> {
  const options = parseOptions(argv)
  const started = Date.now()
  await withBenchCluster('monitor', { keep: options.keep, deadlineMs: DEADLINE_MS },
    async (cluster) => {
      const p = await createScratchDatabase(cluster, DATABASE)
      const url = ownerUrl(p, cluster)
      const owner = client(url, 'leaps-bench-monitor')
      try {
        const fillStarted = performance.now()
        await fillHistory(owner, options.auditRows)
        const t1 = await fillNewestHour(owner)
        const fillSeconds = (performance.now() - fillStarted) / 1000
        step(`data ready in ${fillSeconds.toFixed(0)} s`)

        const [sizes] = await owner<Array<{ audit: string; signins: string; users: string;
          size: string; recent: string }>>`
          select (select count(*) from audit.audit_log)::text as audit,
              (select count(*) from private.sign_in_attempts)::text as signins,
              (select count(*) from auth.users)::text as users,
              pg_catalog.pg_size_pretty((select pg_catalog.sum(
                  pg_catalog.pg_total_relation_size(i.inhrelid))
                  from pg_catalog.pg_inherits as i
                  where i.inhparent = 'audit.audit_log'::regclass)) as size,
              (select count(*) from audit.audit_log
               where occurred_at > now() - interval '1 hour' and occurred_at <= now())::text
                  as recent`
        const rules = await owner<Array<{ rule: string; window: string }>>`
          select rule, window_length::text as window from private.detection_rules
          where rule <> 'lockout' order by rule`

        step(`measuring ${rules.length} detectors: ${options.runs} runs each in new sessions, `
          + `then ${options.runs} in one session after ${WARM_UP} warm-up runs`)
        const detectors = await measureDetectors(url, rules, options.runs)
        const job = await measureJob(url, options.runs)

        const cold = (m: Measure) => median(m.cold)
        const warmOf = (m: Measure) => median(m.warm)
        const worst = detectors.reduce((a, b) => (cold(b) > cold(a) ? b : a))
        const worstWarm = detectors.reduce((a, b) => (warmOf(b) > warmOf(a) ? b : a))
        step(`explaining ${worst.rule} (auto_explain, a new session)`)
        const plans = await explainDetector(superuserUrl(p, cluster.secrets), worst.rule)

        const worstMs = cold(worst)
        const worstRatio = warmOf(worst) / median(worst.warmBase)
        const jobMs = median(job.cold)
        const jobWarmMs = median(job.warm)
        const warmSum = detectors.reduce((sum, m) => sum + warmOf(m), 0)
        const flag = (v: number, target: number) =>
          (v >= target ? `  ABOVE the ${target} ms target` : `  (target < ${target} ms)`)
        const runSeconds = (Date.now() - started) / 1000

        const rows = detectors.map((m) => [
          m.rule, m.window, cold(m).toFixed(2), Math.max(...m.cold).toFixed(2),
          warmOf(m).toFixed(2), String(m.findings), m.top, median(m.coldBase).toFixed(2),
          median(m.warmBase).toFixed(2), count(m.baseRows),
          (cold(m) / median(m.coldBase)).toFixed(1), (warmOf(m) / median(m.warmBase)).toFixed(1),
        ])
        const planNote = (pl: Plan) => (pl.generic ? 'generic plan, parameters as $n'
          : 'custom plan')
        const out = [
          `Security detectors on ${count(Number(sizes!.audit))} audit events (${sizes!.size} `
            + `with indexes; ${count(Number(sizes!.recent))} in the newest hour), `
            + `${count(Number(sizes!.signins))} sign-in attempts, ${count(Number(sizes!.users))} `
            + `accounts; newest hour written at ${t1}; data written in ${fillSeconds.toFixed(0)} s`,
          'client wall clock over loopback, as `postgres`; medians of '
            + `${options.runs} runs. new session: each run in a session of its own, as pg_cron's `
            + `worker runs the job (one untimed run first); warm: one session, after `
            + `${WARM_UP} warm-up runs`,
          '',
          table(['detector', 'window', 'new ms', 'max ms', 'warm ms', 'findings',
            'largest finding', 'count new ms', 'count warm ms', 'window rows', 'ratio new',
            'ratio warm'], rows,
          [false, false, true, true, true, true, false, true, true, true, true, true]),
          '',
          'baseline: count(*) of the rows of the detector\'s window (its table, time range and '
            + 'table-level filter),',
          'timed the same way; ratio = detector / count: what the detector adds to reading its '
            + 'window',
          '',
          `worst detector   ${worst.rule}: ${worstMs.toFixed(2)} ms in a new session, `
            + `${warmOf(worst).toFixed(2)} ms warm (${worstRatio.toFixed(1)}x its window count)`
            + flag(worstMs, TARGET_DETECTOR_MS),
          ...(worstWarm.rule !== worst.rule ? [`                 slowest warm: ${worstWarm.rule} `
            + `${warmOf(worstWarm).toFixed(2)} ms`] : []),
          `job              run_detectors() as the cron job runs it, rolled back: `
            + `${jobMs.toFixed(1)} ms in a new session (runs `
            + `${job.cold.map((v) => v.toFixed(1)).join(' ')}), ${jobWarmMs.toFixed(1)} ms warm; `
            + `${job.raised} alerts raised, ${job.incidents} incidents opened`
            + flag(jobMs, TARGET_JOB_MS),
          `                 warm: ${(jobWarmMs / warmSum).toFixed(2)}x the sum of the warm `
            + `detectors (${warmSum.toFixed(1)} ms), the rest raising alerts and responding; `
            + `a new session adds ${(jobMs - jobWarmMs).toFixed(1)} ms (catalog caches, `
            + `compiling, planning)`,
          '',
          `EXPLAIN (ANALYZE, BUFFERS) of ${worst.rule}'s query (auto_explain, nested statement):`,
          `  first run in a session (${planNote(plans.first)}):`,
          ...summaryOf(plans.first).map((l) => `    ${l}`),
          `  after ${WARM_UP} more runs (${planNote(plans.settled)}):`,
          ...summaryOf(plans.settled).map((l) => `    ${l}`),
          '',
          'full plan, first run:',
          ...plans.first.lines.slice(1).map((l) => `  ${l}`),
          '',
          `run time ${runSeconds.toFixed(0)} s`,
          '',
        ]
        process.stdout.write(out.join('\n') + '\n')
        process.stdout.write(JSON.stringify({
          bench: 'monitor',
          worst_detector_ms: Number(worstMs.toFixed(3)),
          job_ms: Number(jobMs.toFixed(3)),
          worst_detector: worst.rule,
          worst_detector_warm_ms: Number(warmOf(worstWarm).toFixed(3)),
          job_warm_ms: Number(jobWarmMs.toFixed(3)),
          worst_ratio: Number(worstRatio.toFixed(2)),
          alerts_raised: job.raised,
          audit_rows: Number(sizes!.audit),
        }) + '\n')
      } finally {
        await owner.end({ timeout: 5 })
      }
    })
}
