/**
 * npm run bench -- rls [--reps N (100)] [--warmup N (10)] [--keep]
 *
 * What the row-level security of public.submissions costs on its two busiest reads, measured
 * on a scratch database of 10,000 members and 1,000,000 submissions:
 *
 *   own     a participant lists their 50 latest submissions
 *   review  a reviewer lists the 50 oldest pending submissions
 *
 * Each query runs in three modes, interleaved so that drift hits them alike:
 *
 *   rls          as PostgREST runs it: in one transaction, `set local role authenticated` and
 *                the verified claims in request.jwt.claims; the policies decide
 *   by hand      as service_role, which bypasses RLS: the query's own WHERE clause is the only
 *                filter, as in an application that filters rows in its own code
 *   guide-style  the same rows, in guide_style.submissions, under the policy style of the
 *                original guide: one CASE over client-set app.* settings, evaluated per row
 *
 * Timing is server-side: EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON), 'Planning Time' plus
 * 'Execution Time'. That leaves out the network and the client, keeps planning in (RLS adds
 * its policies to the query there) and the InitPlans that call the policy helpers, and with
 * TIMING OFF does not pay a clock call per node, which would favour the plan with fewer nodes.
 *
 * stdout: the table, then exactly one JSON line with own_ratio, review_ratio, vs_guide_style.
 */
import { createHash, randomUUID } from 'node:crypto'
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
const TARGET = 1.2
/** The whole run is abandoned (and the cluster stopped) after this long. */
const DEADLINE_MS = 20 * 60_000

type QueryName = 'own' | 'review'
type Mode = 'rls' | 'by hand' | 'guide-style'
const MODES: Mode[] = ['rls', 'by hand', 'guide-style']

interface Options {
  reps: number
  warmup: number
  keep: boolean
}

function parseOptions(argv: string[]): Options {
  const options: Options = { reps: 100, warmup: 10, keep: false }
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
    else if (arg === '--reps') options.reps = count(arg, argv[++i], 1000)
    else if (arg === '--warmup') options.warmup = count(arg, argv[++i], 100)
    else throw new TypeError(`unknown option for the rls bench: "${arg}"`)
  }
  if (options.reps < 1) throw new TypeError('--reps must be at least 1')
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
    pg_catalog.jsonb_build_object('hours', 1 + g.i % 8, 'summary', 'Bench activity ' || g.i),
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

function queryText(query: QueryName, table: string, me: string): string {
  const columns = 'id, activity_code, title, status, created_at'
  return query === 'own'
    ? `select ${columns} from ${table} where owner_id = '${me}' `
      + `order by created_at desc limit ${PAGE}`
    : `select ${columns} from ${table} where status = 'PENDING' order by created_at limit ${PAGE}`
}

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
    step(`seeding ${MEMBERS.toLocaleString('en')} members (auth.users; the trigger adds profiles)`)
    await sql.unsafe(SEED_MEMBERS)
    await sql.unsafe(SEED_REVIEWERS)
    const chunk = SUBMISSIONS / SEED_CHUNKS
    for (let c = 0; c < SEED_CHUNKS; c += 1) {
      await sql.unsafe(SEED_SUBMISSIONS, [c * chunk + 1, (c + 1) * chunk])
      step(`seeded ${((c + 1) * chunk).toLocaleString('en')} of `
        + `${SUBMISSIONS.toLocaleString('en')} submissions`)
    }

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
  total: number[]
  planning: number[]
  shape?: string
}

interface Actor {
  id: string
  /** Role of record, as the guide's app.current_user_role would carry it. */
  role: 'PARTICIPANT' | 'REVIEWER'
}

/** Claims as Supabase Auth would issue them, for the rls mode. */
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
    session_id: randomUUID(),
    is_anonymous: false,
  })
}

/** One timed run of a query in a mode, in its own transaction as PostgREST would open it. */
async function sample(
  sql: postgres.Sql,
  query: QueryName,
  mode: Mode,
  actor: Actor,
): Promise<Explained> {
  const text = queryText(query, mode === 'guide-style' ? 'guide_style.submissions'
    : 'public.submissions', actor.id)
  const rows = await sql.begin(async (tx) => {
    if (mode === 'by hand') {
      await tx.unsafe('set local role service_role')
    } else if (mode === 'rls') {
      await tx.unsafe('set local role authenticated')
      await tx`select pg_catalog.set_config('request.jwt.claims', ${claims(actor)}, true)`
    } else {
      await tx.unsafe('set local role authenticated')
      await tx`select
        pg_catalog.set_config('app.current_user_role', ${actor.role}, true),
        pg_catalog.set_config('app.current_user_id', ${actor.id}, true)`
    }
    return tx.unsafe(`explain (analyze, timing off, format json) ${text}`)
  })
  const raw = (rows[0] as Record<string, unknown> | undefined)?.['QUERY PLAN']
  const parsed = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Explained[]
  const explained = parsed[0]
  if (!explained) throw new Error(`no plan returned for ${query} (${mode})`)
  // Every mode must do the same work: a full page of the same size.
  if (explained.Plan['Actual Rows'] !== PAGE) {
    throw new Error(`${query} (${mode}) returned ${explained.Plan['Actual Rows']} rows, `
      + `expected ${PAGE}; the modes would not be comparable`)
  }
  return explained
}

async function measure(p: StackProfile, cluster: BenchCluster, options: Options,
  actors: { reviewer: Actor; participants: Actor[] }): Promise<Series[]> {
  // Connected as `authenticator`, the login role PostgREST uses, which may only take on the
  // API roles.
  const sql = client(p, 'authenticator', cluster.secrets.authenticatorPassword, 10_000)
  const series: Series[] = []
  for (const query of ['own', 'review'] as QueryName[]) {
    for (const mode of MODES) series.push({ query, mode, total: [], planning: [] })
  }
  try {
    const rounds = options.warmup + options.reps
    step(`timing ${series.length} series: ${options.warmup} warm-up + ${options.reps} rounds`)
    for (let r = 0; r < rounds; r += 1) {
      // Rotating the order of the modes spreads any order effect over all of them.
      const order = MODES.map((_, i) => MODES[(i + r) % MODES.length]!)
      for (const s of series.filter((x) => x.mode === order[0])
        .concat(series.filter((x) => x.mode === order[1]))
        .concat(series.filter((x) => x.mode === order[2]))) {
        const actor = s.query === 'own'
          ? actors.participants[r % actors.participants.length]!
          : actors.reviewer
        const e = await sample(sql, s.query, s.mode, actor)
        if (r < options.warmup) continue
        s.total.push(e['Planning Time'] + e['Execution Time'])
        s.planning.push(e['Planning Time'])
        s.shape ??= planShape(e.Plan)
      }
      if ((r + 1) % 10 === 0 || r + 1 === rounds) step(`round ${r + 1} of ${rounds}`)
    }
  } finally {
    await sql.end()
  }
  return series
}

const ms = (v: number) => v.toFixed(3)
const ratio = (v: number) => v.toFixed(2)
const round3 = (v: number) => Math.round(v * 1000) / 1000

function report(series: Series[], options: Options): void {
  const med = (q: QueryName, m: Mode) =>
    median(series.find((s) => s.query === q && s.mode === m)!.total)
  const rows = series.map((s) => {
    const byHand = med(s.query, 'by hand')
    return [
      s.query,
      s.mode,
      ms(median(s.total)),
      ms(percentile(s.total, 95)),
      ms(median(s.planning)),
      s.mode === 'by hand' ? '' : ms(median(s.total) - byHand),
      s.mode === 'by hand' ? '1.00' : ratio(median(s.total) / byHand),
    ]
  })
  const ownRatio = med('own', 'rls') / med('own', 'by hand')
  const reviewRatio = med('review', 'rls') / med('review', 'by hand')
  const ownVsGuide = med('own', 'rls') / med('own', 'guide-style')
  const reviewVsGuide = med('review', 'rls') / med('review', 'guide-style')
  const vsGuide = geometricMean([ownVsGuide, reviewVsGuide])

  const out = [
    `RLS benchmark: ${SUBMISSIONS.toLocaleString('en')} submissions, `
      + `${MEMBERS.toLocaleString('en')} members, ${options.reps} rounds after `
      + `${options.warmup} warm-up, page of ${PAGE}`,
    'time = server-side Planning Time + Execution Time from EXPLAIN (ANALYZE, TIMING OFF)',
    '',
    table(['query', 'mode', 'median ms', 'p95 ms', 'of it plan ms', 'extra ms', 'ratio'], rows,
      [false, false, true, true, true, true, true]),
    '',
    'of it plan ms = median Planning Time; extra ms = median - median of "by hand"',
    'ratio = median / median of "by hand" for the same query',
    `own_ratio      = rls / by hand, own query     = ${ratio(ownRatio)}`
      + (ownRatio <= TARGET ? '' : `  (above the ${TARGET} target)`),
    `review_ratio   = rls / by hand, review query  = ${ratio(reviewRatio)}`
      + (reviewRatio <= TARGET ? '' : `  (above the ${TARGET} target)`),
    `vs_guide_style = geometric mean over both queries of (rls median / guide-style median)`
      + ` = ${ratio(vsGuide)}  (own ${ratio(ownVsGuide)}, review ${ratio(reviewVsGuide)};`
      + ' below 1 means faster than the guide)',
    '',
    'plans:',
    ...series.map((s) => `  ${s.query.padEnd(6)} ${s.mode.padEnd(11)} ${s.shape ?? ''}`),
    '',
  ]
  process.stdout.write(out.join('\n') + '\n')
  process.stdout.write(JSON.stringify({
    bench: 'rls',
    own_ratio: round3(ownRatio),
    review_ratio: round3(reviewRatio),
    vs_guide_style: round3(vsGuide),
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
    const participants = Array.from({ length: Math.min(options.warmup + options.reps, 1000) },
      (_, i): Actor => ({ id: memberIdOf(REVIEWERS + 1 + i * 7), role: 'PARTICIPANT' }))
    const reviewer: Actor = { id: memberIdOf(1), role: 'REVIEWER' }
    const series = await measure(p, cluster, options, { reviewer, participants })
    step(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`)
    report(series, options)
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
