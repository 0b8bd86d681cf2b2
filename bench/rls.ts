/**
 * npm run bench -- rls [--reps N (1000)] [--warmup N (100)] [--server-reps N (100)]
 *                      [--server-warmup N (10)] [--keep]
 *
 * What the row-level security of public.submissions costs on its two busiest reads, measured
 * on a scratch database of 10,000 members and 1,000,000 submissions:
 *
 *   own     a participant lists their own submissions, newest first (all 100 of them; the
 *           query carries the Data API's max_rows as its LIMIT)
 *   review  a reviewer lists a page: the 50 oldest pending submissions
 *
 * Each query runs in three modes, interleaved so that drift hits them alike:
 *
 *   rls          as PostgREST runs it: role authenticated and the verified claims in
 *                request.jwt.claims, set for the transaction; the policies decide
 *   by hand      as service_role, which bypasses RLS: the query's own WHERE clause is the only
 *                filter, as in an application that filters rows in its own code
 *   guide-style  the same rows, in guide_style.submissions, under the policy style of the
 *                original guide: one CASE over client-set app.* settings, evaluated per row
 *
 * Two measurements, each in its own phase on its own connection (as `authenticator`, the login
 * role PostgREST uses):
 *
 *   request level (primary; the ratios in the JSON line without a prefix)
 *       Wall-clock time, taken by this client with performance.now(), of the whole unit of work
 *       of one read request as PostgREST issues it over loopback: BEGIN READ ONLY; one
 *       statement of set_config() calls for the role and request.jwt.claims (by hand: the
 *       service_role key's claims; guide-style: its app.* settings as well); the query, all
 *       rows fetched and counted; COMMIT. Every mode goes through the same client with the
 *       same behaviour: one connection, named prepared statements for everything but BEGIN
 *       (the `postgres` client's default, and PostgREST's), the query's one value a parameter,
 *       each mode's query a statement of its own (see requestSample for why).
 *   server side (secondary; the server_* ratios)
 *       EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) of the query, with the value written into the
 *       text, after the same transaction set-up: 'Planning Time' plus 'Execution Time'. It keeps
 *       planning in (RLS adds its policies to the query there) and the InitPlans that call the
 *       policy helpers, and with TIMING OFF does not pay a clock call per node.
 *
 * The request level is the primary figure because it is what a client of the Data API
 * experiences, and what RLS adds to it is what a user can notice. The queries themselves take
 * about 0.05 ms on the server, so server-side ratios are dominated by a fixed cost per
 * statement (the InitPlans that look up the caller's role of record in public.users, so that
 * a suspension takes effect at once) and say little about a request, which also pays for four
 * round trips, the set-up statement and sending the rows.
 *
 * stdout: both tables, then exactly one JSON line: own_ratio, review_ratio, vs_guide_style
 * (request level), server_own_ratio, server_review_ratio (server side).
 */
import { createHash } from 'node:crypto'
import postgres from 'postgres'
import { dbUrl } from '../stack/lib/secrets.ts'
import type { StackProfile } from '../stack/lib/profile.ts'
import { step } from '../stack/lib/say.ts'
import {
  createScratchDatabase,
  startBenchCluster,
  stopBenchCluster,
  type BenchCluster,
} from './scratch.ts'
import { geometricMean, median, percentile, table } from './stats.ts'

const DATABASE = 'bench_rls'
const MEMBERS = 10_000
const SUBMISSIONS = 1_000_000
const SEED_CHUNKS = 4
/** Members 1..REVIEWERS are reviewers; participants are drawn from the members after them. */
const REVIEWERS = 50
const PAGE = 50
/**
 * A participant lists all of their own submissions (100 each here); the Data API caps any
 * response at max_rows (supabase/config.toml), which the query states as its LIMIT.
 */
const MAX_ROWS = 1000
const OWN_ROWS = SUBMISSIONS / MEMBERS
const expectedRows = (query: QueryName) => (query === 'own' ? OWN_ROWS : PAGE)
const TARGET = 1.2
/** The whole run is abandoned (and the cluster stopped) after this long. */
const DEADLINE_MS = 20 * 60_000

type QueryName = 'own' | 'review'
type Mode = 'rls' | 'by hand' | 'guide-style'
const MODES: Mode[] = ['rls', 'by hand', 'guide-style']

interface Options {
  /** Measured rounds and warm-up rounds of the request-level phase. */
  reps: number
  warmup: number
  /** Measured rounds and warm-up rounds of the server-side (EXPLAIN) phase. */
  serverReps: number
  serverWarmup: number
  keep: boolean
}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    reps: 1000, warmup: 100, serverReps: 100, serverWarmup: 10, keep: false,
  }
  const count = (flag: string, value: string | undefined, max: number): number => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < 0 || n > max) {
      throw new TypeError(`${flag} takes a whole number from 0 to ${max}, got "${value ?? ''}"`)
    }
    return n
  }
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]
    if (arg === '--keep') options.keep = true
    else if (arg === '--reps') options.reps = count(arg, argv[++i], 5000)
    else if (arg === '--warmup') options.warmup = count(arg, argv[++i], 500)
    else if (arg === '--server-reps') options.serverReps = count(arg, argv[++i], 1000)
    else if (arg === '--server-warmup') options.serverWarmup = count(arg, argv[++i], 100)
    else throw new TypeError(`unknown option for the rls bench: "${arg}"`)
  }
  if (options.reps < 1) throw new TypeError('--reps must be at least 1')
  if (options.serverReps < 1) throw new TypeError('--server-reps must be at least 1')
  return options
}

/** The deterministic id of bench member n, so that every statement can compute it. */
const memberId = (n: string) => `pg_catalog.md5('leaps-bench-member-' || ${n})::uuid`

/** A uniform number in [0, 1) from row i and stream k: repeatable, unlike random(). */
const unit = (k: number) =>
  `((pg_catalog.hashint8(g.i::bigint * 8 + ${k}) & 2147483647)::float8 / 2147483648.0)`

const SEED_MEMBERS = `
insert into auth.users (id, email, raw_user_meta_data, created_at, updated_at)
select
    ${memberId('n')},
    'member' || n || '@bench.invalid',
    pg_catalog.jsonb_build_object('handle', 'bench_' || n, 'name', 'Bench member ' || n),
    pg_catalog.now() - interval '400 days',
    pg_catalog.now() - interval '400 days'
from pg_catalog.generate_series(1, ${MEMBERS}) as n`

/**
 * One signed-in session per member, as Supabase Auth keeps them: the policies check that a
 * token's session still exists. Its id is derived from the member's, so claims can name it.
 */
const SEED_SESSIONS = `
insert into auth.sessions (id, user_id, aal)
select pg_catalog.md5('leaps-bench-session-' || u.id::text)::uuid, u.id, 'aal1'
from auth.users as u`

/** The id of a member's session, as SEED_SESSIONS derives it. */
function sessionOf(memberId: string): string {
  const hex = createHash('md5').update(`leaps-bench-session-${memberId}`).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-`
    + hex.slice(20)
}

const SEED_REVIEWERS = `
update public.users
set role = 'REVIEWER'
where id in (
    select ${memberId('n')}
    from pg_catalog.generate_series(1, ${REVIEWERS}) as n
)`

/**
 * Submissions g.i in [$1, $2]: owners in turn (100 each), about 10% PENDING, 15% REJECTED,
 * 75% APPROVED, 30% PUBLIC, created over the last year; decided ones carry a reviewer who is
 * never their owner and a review time between creation and now, as the CHECK requires.
 */
const SEED_SUBMISSIONS = `
insert into public.submissions (
    owner_id, activity_code, title, payload, status, visibility,
    reviewer_id, review_note, reviewed_at, created_at, updated_at
)
select
    ${memberId(`(1 + g.i % ${MEMBERS})`)},
    (array['LEARN', 'EXPLORE', 'AMPLIFY', 'PRESENT', 'SHINE']::public.activity_code[])
        [1 + g.i % 5],
    'Activity report ' || g.i,
    -- Every payload carries the consent flags AMPLIFY submissions need.
    pg_catalog.jsonb_build_object('hours', 1 + g.i % 8, 'summary', 'Bench activity ' || g.i,
        'consentDocumented', true, 'institutionalApproval', true),
    r.status,
    r.visibility,
    case when r.status <> 'PENDING' then ${memberId(`(1 + (g.i + 1) % ${REVIEWERS})`)} end,
    case when r.status = 'REJECTED' then 'Please add the certificate.' end,
    case
        when r.status <> 'PENDING'
            then r.created_at + ${unit(4)} * (pg_catalog.now() - r.created_at)
    end,
    r.created_at,
    r.created_at
from pg_catalog.generate_series($1::int, $2::int) as g(i)
cross join lateral (
    select
        case
            when ${unit(1)} < 0.10 then 'PENDING'
            when ${unit(1)} < 0.25 then 'REJECTED'
            else 'APPROVED'
        end::public.submission_status as status,
        case when ${unit(2)} < 0.30 then 'PUBLIC' else 'PRIVATE' end::public.visibility
            as visibility,
        pg_catalog.now() - ${unit(3)} * interval '365 days' as created_at
) as r`

/**
 * The baseline: the guide's policy style on a copy of the same rows. The copy has the same
 * columns, constraints and indexes (not the foreign keys, which reads do not touch) and is
 * filled in heap order with its indexes in place, as public.submissions was.
 */
const GUIDE_STYLE_TABLE = `
create schema guide_style;
comment on schema guide_style is
    'Benchmark baseline only: the original guide''s policy style over a copy of submissions.';
grant usage on schema guide_style to authenticated, service_role;
create table guide_style.submissions (like public.submissions including all);
grant select on guide_style.submissions to authenticated, service_role`

const GUIDE_STYLE_POLICY = `
alter table guide_style.submissions enable row level security;
create policy "guide style: participants read own rows, staff read all rows"
    on guide_style.submissions
    for select
    to authenticated
    using (
        case
            when current_setting('app.current_user_role') = 'PARTICIPANT'
                then owner_id = current_setting('app.current_user_id')::uuid
            when current_setting('app.current_user_role') in ('REVIEWER', 'ADMIN', 'SUPERADMIN')
                then true
            else false
        end
    )`

/** The query's text; `me` is a literal uuid, or a parameter such as '$1::uuid'. */
function queryText(query: QueryName, table: string, me: string): string {
  const columns = 'id, activity_code, title, status, created_at'
  return query === 'own'
    ? `select ${columns} from ${table} where owner_id = ${me} `
      + `order by created_at desc limit ${MAX_ROWS}`
    : `select ${columns} from ${table} where status = 'PENDING' order by created_at limit ${PAGE}`
}

const tableOf = (mode: Mode) =>
  mode === 'guide-style' ? 'guide_style.submissions' : 'public.submissions'

function client(p: StackProfile, user: string, password: string, timeoutMs: number): postgres.Sql {
  return postgres(dbUrl(p, user, password), {
    max: 1,
    onnotice: () => {},
    connect_timeout: 10,
    connection: { application_name: 'leaps-bench-rls', statement_timeout: timeoutMs },
  })
}

async function seed(p: StackProfile, cluster: BenchCluster): Promise<void> {
  const sql = client(p, 'postgres', cluster.secrets.postgresPassword, 10 * 60_000)
  try {
    // Bulk load only: a crash would lose nothing that the next run does not recreate.
    await sql.unsafe('set synchronous_commit = off')
    // The audit trail would record a million seeded rows; reads are what is measured here.
    await sql.unsafe(`select audit.disable_tracking(t::regclass)
                      from pg_catalog.unnest(array['public.users', 'public.submissions']) as t`)
    // The payload screening and regional checks guard what members write; the seeded rows are
    // synthetic and hold no identifiers, and checking a million of them would dominate the run.
    await sql.unsafe(`alter table public.submissions disable trigger submissions_screen_payload;
                      alter table public.submissions disable trigger submissions_regional_rules`)
    step(`seeding ${MEMBERS.toLocaleString('en')} members (auth.users; the trigger adds profiles)`)
    await sql.unsafe(SEED_MEMBERS)
    await sql.unsafe(SEED_SESSIONS)
    await sql.unsafe(SEED_REVIEWERS)
    const chunk = SUBMISSIONS / SEED_CHUNKS
    for (let c = 0; c < SEED_CHUNKS; c += 1) {
      await sql.unsafe(SEED_SUBMISSIONS, [c * chunk + 1, (c + 1) * chunk])
      step(`seeded ${((c + 1) * chunk).toLocaleString('en')} of `
        + `${SUBMISSIONS.toLocaleString('en')} submissions`)
    }

    await sql.unsafe(`alter table public.submissions enable trigger submissions_screen_payload;
                      alter table public.submissions enable trigger submissions_regional_rules`)
    step('copying the submissions into guide_style.submissions (the baseline)')
    await sql.unsafe(GUIDE_STYLE_TABLE)
    const [size] = await sql<Array<{ blocks: number }>>`
      select (pg_catalog.pg_relation_size('public.submissions')
        / pg_catalog.current_setting('block_size')::int)::int as blocks`
    const blocks = size!.blocks
    const per = Math.ceil((blocks + 1) / SEED_CHUNKS)
    for (let c = 0; c < SEED_CHUNKS; c += 1) {
      await sql.unsafe(`
        insert into guide_style.submissions
        select *
        from public.submissions
        where ctid >= '(${c * per},0)'::tid
            and ctid < '(${(c + 1) * per},0)'::tid`)
      step(`copied ${Math.min(100, Math.round(((c + 1) * per * 100) / blocks))}% of the rows`)
    }
    await sql.unsafe(GUIDE_STYLE_POLICY)
    const [counts] = await sql<Array<{ ours: number; copy: number }>>`
      select
        (select count(*) from public.submissions)::int as ours,
        (select count(*) from guide_style.submissions)::int as copy`
    if (counts!.ours !== SUBMISSIONS || counts!.copy !== SUBMISSIONS) {
      throw new Error(`seed incomplete: ${counts!.ours} submissions, ${counts!.copy} copied`)
    }

    // VACUUM as well as ANALYZE: sets hint bits and the visibility map once, so that no timed
    // query pays for the first visit to a freshly loaded page.
    for (const t of ['public.submissions', 'guide_style.submissions', 'public.users']) {
      step(`vacuum (analyze) ${t}`)
      await sql.unsafe(`vacuum (analyze) ${t}`)
    }
  } finally {
    await sql.end()
  }
}

interface PlanNode {
  'Node Type': string
  'Index Name'?: string
  'Relation Name'?: string
  'Parent Relationship'?: string
  'Actual Rows': number
  Plans?: PlanNode[]
}

interface Explained {
  Plan: PlanNode
  'Planning Time': number
  'Execution Time': number
}

/** "Limit > Index Scan [submissions_owner_created_idx]" plus the number of InitPlans. */
function planShape(plan: PlanNode): string {
  const main: string[] = []
  let initPlans = 0
  const walk = (node: PlanNode, inInitPlan: boolean): void => {
    const isInit = inInitPlan || node['Parent Relationship'] === 'InitPlan'
    if (node['Parent Relationship'] === 'InitPlan') initPlans += 1
    const index = node['Index Name'] ? ` [${node['Index Name']}]` : ''
    if (!isInit) main.push(node['Node Type'] + index)
    for (const child of node.Plans ?? []) walk(child, isInit)
  }
  walk(plan, false)
  return main.join(' > ') + (initPlans > 0 ? ` (+${initPlans} InitPlan)` : '')
}

interface Series {
  query: QueryName
  mode: Mode
  /** Milliseconds per sample: request wall clock, or server Planning + Execution Time. */
  total: number[]
  /** Server side only: Planning Time. */
  planning: number[]
  shape?: string
}

function emptySeries(): Series[] {
  const series: Series[] = []
  for (const query of ['own', 'review'] as QueryName[]) {
    for (const mode of MODES) series.push({ query, mode, total: [], planning: [] })
  }
  return series
}

/** The series of round r: all of one mode, then the next, rotating which mode goes first. */
function roundOrder(series: Series[], r: number): Series[] {
  const order = MODES.map((_, i) => MODES[(i + r) % MODES.length]!)
  return order.flatMap((mode) => series.filter((s) => s.mode === mode))
}

interface Actor {
  id: string
  /** Role of record, as the guide's app.current_user_role would carry it. */
  role: 'PARTICIPANT' | 'REVIEWER'
}

/** Claims as Supabase Auth would issue them, for the rls and guide-style modes. */
function claims(actor: Actor): string {
  const now = Math.floor(Date.now() / 1000)
  return JSON.stringify({
    iss: 'http://127.0.0.1/auth/v1',
    sub: actor.id,
    aud: 'authenticated',
    exp: now + 3600,
    iat: now,
    role: 'authenticated',
    aal: 'aal1',
    amr: [{ method: 'password', timestamp: now }],
    session_id: sessionOf(actor.id),
    is_anonymous: false,
  })
}

/** Claims of the service_role key, for the by-hand mode. */
function serviceClaims(): string {
  const now = Math.floor(Date.now() / 1000)
  return JSON.stringify({
    role: 'service_role',
    iss: 'leaps-guard-local',
    iat: now,
    exp: now + 3600,
  })
}

/** The transaction set-up of a mode: one statement, as PostgREST sends one. */
function setUp(tx: postgres.TransactionSql, mode: Mode, actor: Actor, jwt: string) {
  if (mode === 'guide-style') {
    return tx`select
      pg_catalog.set_config('role', 'authenticated', true),
      pg_catalog.set_config('request.jwt.claims', ${jwt}, true),
      pg_catalog.set_config('app.current_user_role', ${actor.role}, true),
      pg_catalog.set_config('app.current_user_id', ${actor.id}, true)`
  }
  return tx`select
    pg_catalog.set_config('role', ${mode === 'by hand' ? 'service_role' : 'authenticated'}, true),
    pg_catalog.set_config('request.jwt.claims', ${jwt}, true)`
}

/**
 * The `postgres` client's options for a named prepared statement. `simple` is not in its
 * types, but without it a query with no parameters would go by the simple protocol, unprepared.
 */
const PREPARED = { prepare: true, simple: false } as postgres.UnsafeQueryOptions

/**
 * One read request, timed by the client from before BEGIN until COMMIT has returned: the
 * unit of work PostgREST runs for a GET. Everything but BEGIN is a named prepared statement.
 */
async function requestSample(
  sql: postgres.Sql,
  query: QueryName,
  mode: Mode,
  actor: Actor,
): Promise<number> {
  // The comment gives each mode a prepared statement of its own. rls and by hand would
  // otherwise share one (same text), and as its plan depends on row security, the server
  // would analyse and plan it again whenever the role changed: every round, here, which no
  // deployment that serves one of the two roles would see.
  const text = `/* ${mode} */ ` + queryText(query, tableOf(mode), query === 'own' ? '$1::uuid' : '')
  const params = query === 'own' ? [actor.id] : []
  const jwt = mode === 'by hand' ? serviceClaims() : claims(actor)
  const t0 = performance.now()
  const count = await sql.begin('read only', async (tx) => {
    await setUp(tx, mode, actor, jwt)
    const rows = await tx.unsafe(text, params, PREPARED)
    return rows.length
  })
  const elapsed = performance.now() - t0
  // Every mode must do the same work: a full page of the same size.
  if (count !== expectedRows(query)) {
    throw new Error(`${query} (${mode}) returned ${count} rows, expected ${expectedRows(query)}; `
      + 'the modes would not be comparable')
  }
  return elapsed
}

interface PreparedUse {
  statement: string
  generic: number
  custom: number
}

async function measureRequests(p: StackProfile, cluster: BenchCluster, options: Options,
  actors: { reviewer: Actor; participants: Actor[] }): Promise<{
    series: Series[]
    prepared: PreparedUse[]
  }> {
  // Connected as `authenticator`, the login role PostgREST uses, which may only take on the
  // API roles.
  const sql = client(p, 'authenticator', cluster.secrets.authenticatorPassword, 10_000)
  const series = emptySeries()
  try {
    const rounds = options.warmup + options.reps
    step(`request level: ${series.length} series, ${options.warmup} warm-up + ${options.reps}`
      + ' rounds')
    for (let r = 0; r < rounds; r += 1) {
      for (const s of roundOrder(series, r)) {
        const actor = s.query === 'own'
          ? actors.participants[r % actors.participants.length]!
          : actors.reviewer
        const elapsed = await requestSample(sql, s.query, s.mode, actor)
        if (r >= options.warmup) s.total.push(elapsed)
      }
      if ((r + 1) % 50 === 0 || r + 1 === rounds) step(`request level: round ${r + 1} of ${rounds}`)
    }
    // Proof that the client did prepare its statements, and which plans the server used.
    const prepared = await sql<Array<{ statement: string; generic: number; custom: number }>>`
      select statement, generic_plans::int as generic, custom_plans::int as custom
      from pg_catalog.pg_prepared_statements
      where statement ~ 'from (public|guide_style)[.]submissions'
          and statement !~ 'pg_prepared_statements'
      order by statement`
    const expected = 2 * MODES.length
    if (prepared.length !== expected) {
      throw new Error(`expected ${expected} prepared queries on the connection, found `
        + `${prepared.length}; the request-level phase did not run as designed`)
    }
    return { series, prepared: [...prepared] }
  } finally {
    await sql.end()
  }
}

/** One EXPLAIN ANALYZE of a query in a mode, after the same transaction set-up. */
async function serverSample(
  sql: postgres.Sql,
  query: QueryName,
  mode: Mode,
  actor: Actor,
): Promise<Explained> {
  const text = queryText(query, tableOf(mode), `'${actor.id}'`)
  const jwt = mode === 'by hand' ? serviceClaims() : claims(actor)
  const rows = await sql.begin('read only', async (tx) => {
    await setUp(tx, mode, actor, jwt)
    return tx.unsafe(`explain (analyze, timing off, format json) ${text}`)
  })
  const raw = (rows[0] as Record<string, unknown> | undefined)?.['QUERY PLAN']
  const parsed = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Explained[]
  const explained = parsed[0]
  if (!explained) throw new Error(`no plan returned for ${query} (${mode})`)
  if (explained.Plan['Actual Rows'] !== expectedRows(query)) {
    throw new Error(`${query} (${mode}) returned ${explained.Plan['Actual Rows']} rows, `
      + `expected ${expectedRows(query)}; the modes would not be comparable`)
  }
  return explained
}

async function measureServer(p: StackProfile, cluster: BenchCluster, options: Options,
  actors: { reviewer: Actor; participants: Actor[] }): Promise<Series[]> {
  const sql = client(p, 'authenticator', cluster.secrets.authenticatorPassword, 10_000)
  const series = emptySeries()
  try {
    const rounds = options.serverWarmup + options.serverReps
    step(`server side: ${series.length} series, ${options.serverWarmup} warm-up + `
      + `${options.serverReps} rounds`)
    for (let r = 0; r < rounds; r += 1) {
      for (const s of roundOrder(series, r)) {
        const actor = s.query === 'own'
          ? actors.participants[r % actors.participants.length]!
          : actors.reviewer
        const e = await serverSample(sql, s.query, s.mode, actor)
        if (r < options.serverWarmup) continue
        s.total.push(e['Planning Time'] + e['Execution Time'])
        s.planning.push(e['Planning Time'])
        s.shape ??= planShape(e.Plan)
      }
      if ((r + 1) % 25 === 0 || r + 1 === rounds) step(`server side: round ${r + 1} of ${rounds}`)
    }
  } finally {
    await sql.end()
  }
  return series
}

const ms = (v: number) => v.toFixed(3)
const ratio = (v: number) => v.toFixed(2)
const round3 = (v: number) => Math.round(v * 1000) / 1000

interface Ratios {
  own: number
  review: number
  ownVsGuide: number
  reviewVsGuide: number
  vsGuide: number
}

function ratiosOf(series: Series[]): Ratios {
  const med = (q: QueryName, m: Mode) =>
    median(series.find((s) => s.query === q && s.mode === m)!.total)
  const ownVsGuide = med('own', 'rls') / med('own', 'guide-style')
  const reviewVsGuide = med('review', 'rls') / med('review', 'guide-style')
  return {
    own: med('own', 'rls') / med('own', 'by hand'),
    review: med('review', 'rls') / med('review', 'by hand'),
    ownVsGuide,
    reviewVsGuide,
    vsGuide: geometricMean([ownVsGuide, reviewVsGuide]),
  }
}

function seriesTable(series: Series[], withPlanning: boolean): string {
  const byHand = (q: QueryName) =>
    median(series.find((s) => s.query === q && s.mode === 'by hand')!.total)
  const rows = series.map((s) => {
    const m = median(s.total)
    const base = byHand(s.query)
    return [
      s.query,
      s.mode,
      ms(m),
      ms(percentile(s.total, 95)),
      ...(withPlanning ? [ms(median(s.planning))] : []),
      s.mode === 'by hand' ? '' : ms(m - base),
      s.mode === 'by hand' ? '1.00' : ratio(m / base),
    ]
  })
  const header = ['query', 'mode', 'median ms', 'p95 ms',
    ...(withPlanning ? ['of it plan ms'] : []), 'extra ms', 'ratio']
  return table(header, rows, header.map((_, i) => i >= 2))
}

function ratioLines(r: Ratios, prefix: string, target: boolean): string[] {
  const flag = (v: number) => (target && v > TARGET ? `  (above the ${TARGET} target)` : '')
  const name = (n: string) => (prefix + n).padEnd(21)
  return [
    `${name('own_ratio')} = rls / by hand, own query    = ${ratio(r.own)}${flag(r.own)}`,
    `${name('review_ratio')} = rls / by hand, review query = ${ratio(r.review)}${flag(r.review)}`,
    `${name('vs_guide_style')} = geometric mean of rls / guide-style = ${ratio(r.vsGuide)}`
      + `  (own ${ratio(r.ownVsGuide)}, review ${ratio(r.reviewVsGuide)};`
      + ' below 1 means faster than the guide)',
  ]
}

function report(request: Series[], prepared: PreparedUse[], server: Series[],
  options: Options): void {
  const req = ratiosOf(request)
  const srv = ratiosOf(server)
  // In table order: own before review, and the modes as in MODES.
  const preparedLines = prepared
    .map((u) => ({
      u,
      query: /owner_id/.test(u.statement) ? 'own' : 'review',
      mode: MODES.findIndex((m) => u.statement.startsWith(`/* ${m} */`)),
    }))
    .sort((a, b) => a.query.localeCompare(b.query) || a.mode - b.mode)
    .map(({ u, query, mode }) => `  ${query.padEnd(6)} ${(MODES[mode] ?? '?').padEnd(11)} `
      + `${u.generic} generic, ${u.custom} custom`)
  const out = [
    `RLS benchmark: ${SUBMISSIONS.toLocaleString('en')} submissions, `
      + `${MEMBERS.toLocaleString('en')} members, own: ${OWN_ROWS} rows, review page: ${PAGE}`,
    '',
    `1. request level (primary): ${options.reps} rounds after ${options.warmup} warm-up`,
    '   client wall clock (performance.now) of one PostgREST-style read over loopback:',
    '   BEGIN READ ONLY; set_config(role, request.jwt.claims); the query, all rows; COMMIT',
    '',
    seriesTable(request, false),
    '',
    ...ratioLines(req, '', true),
    '',
    `2. server side (secondary): ${options.serverReps} rounds after ${options.serverWarmup}`
      + ' warm-up',
    '   Planning Time + Execution Time from EXPLAIN (ANALYZE, TIMING OFF), same set-up',
    '',
    seriesTable(server, true),
    '',
    ...ratioLines(srv, 'server_', false),
    '',
    'legend:',
    '  median ms, p95 ms  per request (1) or per statement on the server (2)',
    '  of it plan ms      median Planning Time (server side only)',
    '  extra ms           median - median of "by hand" for the same query',
    '  ratio              median / median of "by hand" for the same query',
    `  the JSON line's own_ratio, review_ratio and vs_guide_style are request level (1);`,
    '  server_own_ratio and server_review_ratio are server side (2)',
    '',
    'plans (server side, literal value):',
    ...server.map((s) => `  ${s.query.padEnd(6)} ${s.mode.padEnd(11)} ${s.shape ?? ''}`),
    'prepared queries on the request-level connection (plans the server chose):',
    ...preparedLines,
    '',
  ]
  process.stdout.write(out.join('\n') + '\n')
  process.stdout.write(JSON.stringify({
    bench: 'rls',
    own_ratio: round3(req.own),
    review_ratio: round3(req.review),
    vs_guide_style: round3(req.vsGuide),
    server_own_ratio: round3(srv.own),
    server_review_ratio: round3(srv.review),
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
    step(`the rls bench ran longer than ${DEADLINE_MS / 60_000} minutes: giving up`)
    stop()
    process.exit(1)
  }, DEADLINE_MS)
  try {
    const p = await createScratchDatabase(cluster, DATABASE)
    await seed(p, cluster)
    const participants = Array.from({ length: 1000 },
      (_, i): Actor => ({ id: memberIdOf(REVIEWERS + 1 + i * 7), role: 'PARTICIPANT' }))
    const reviewer: Actor = { id: memberIdOf(1), role: 'REVIEWER' }
    const actors = { reviewer, participants }
    const { series: request, prepared } = await measureRequests(p, cluster, options, actors)
    const server = await measureServer(p, cluster, options, actors)
    step(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`)
    report(request, prepared, server, options)
  } finally {
    clearTimeout(watchdog)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    if (options.keep) step(`bench cluster left running on 127.0.0.1:${cluster.profile.dbPort}`)
    stop()
  }
}

/** memberId() computed here: md5 of the same text, laid out as a uuid. */
function memberIdOf(n: number): string {
  const hex = createHash('md5').update(`leaps-bench-member-${n}`).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-`
    + hex.slice(20)
}
