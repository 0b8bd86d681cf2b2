/**
 * npm run db:drift -- --db-url <url> [--json] [--sql] [--profile dev|test]
 *
 * Lists every difference between a live database and the repo: tables, columns, policies,
 * grants, functions, triggers, reference rows and pg_cron jobs, each with the side it is on.
 * The repo side is a scratch database built from supabase/migrations in the local cluster
 * (--profile, default dev): the repo is what its migrations give, so run db:migration first
 * after editing sql/ or policies/. --sql also prints the statements (with the definitions)
 * that would bring the database to the repo. Exits 0 when there is no drift, 1 when there
 * is, 2 when the comparison could not be made.
 */
import { readFileSync } from 'node:fs'
import { profileFromArgs } from '../lib/profile.ts'
import { ensureCluster } from '../lib/stack.ts'
import { StackError } from '../lib/cluster.ts'
import { connect } from '../lib/database.ts'
import {
  buildFromMigrations,
  checkReachable,
  compare,
  createScratch,
  declarativeFiles,
  safeUrl,
  type Scratch,
} from '../lib/schema.ts'
import { describeDifference } from '../lib/drift-report.ts'
import { step } from '../lib/say.ts'

const argv = process.argv.slice(2)
const option = (name: string) => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}

interface CronJob {
  name: string
  schedule: string
  command: string
}

/** Jobs the repo schedules: `cron.schedule('name', 'schedule', $$command$$)` in sql/data. */
function repoCronJobs(): CronJob[] {
  const pattern = /cron\.schedule\(\s*'([^']+)'\s*,\s*'([^']+)'\s*,\s*\$\$([\s\S]*?)\$\$\s*\)/g
  return declarativeFiles().flatMap(({ file }) =>
    [...readFileSync(file, 'utf8').matchAll(pattern)].map((m) => ({
      name: m[1]!,
      schedule: m[2]!,
      command: m[3]!.trim(),
    })))
}

/** The database's jobs, or undefined when it has no pg_cron. */
async function liveCronJobs(url: string): Promise<CronJob[] | undefined> {
  const sql = connect(url)
  try {
    const [has] = await sql`select pg_catalog.to_regclass('cron.job') is not null as present`
    if (!has?.present) return undefined
    const rows = await sql`select jobname, schedule, command from cron.job order by jobname`
    return rows.map((r) => ({
      name: String(r.jobname ?? ''),
      schedule: String(r.schedule),
      command: String(r.command).trim(),
    }))
  } finally {
    await sql.end()
  }
}

function cronLines(live: CronJob[], repo: CronJob[]): string[] {
  const lines: string[] = []
  for (const job of live) {
    const mine = repo.find((r) => r.name === job.name)
    if (!mine) lines.push(`[only in database] cron job ${job.name} (${job.schedule})`)
    else if (mine.schedule !== job.schedule || mine.command !== job.command) {
      lines.push(`[differs] cron job ${job.name}`)
    }
  }
  for (const job of repo) {
    if (!live.some((l) => l.name === job.name)) {
      lines.push(`[only in repo] cron job ${job.name} (${job.schedule})`)
    }
  }
  return lines
}

async function hasProjectSchema(url: string): Promise<boolean> {
  const sql = connect(url)
  try {
    const [row] = await sql`select pg_catalog.to_regclass('public.users') is not null
                              and pg_catalog.to_regnamespace('private') is not null as ok`
    return row?.ok === true
  } finally {
    await sql.end()
  }
}

async function main(): Promise<number> {
  const url = option('--db-url')
  if (argv.includes('--help') || argv.includes('-h') || !url) {
    throw new StackError('usage: npm run db:drift -- --db-url <postgres url> [--json] [--sql]')
  }
  await checkReachable(url)
  if (!(await hasProjectSchema(url))) {
    throw new StackError(`${safeUrl(url)} has no leaps-guard schema (public.users, private)`,
      'apply the migrations first, e.g. supabase db push --db-url <url>')
  }
  const p = profileFromArgs(argv)
  const cluster = await ensureCluster(p)
  let repo: Scratch | undefined
  try {
    step('building the repo side from supabase/migrations')
    repo = await createScratch(p, cluster.secrets, 'drift')
    await buildFromMigrations(p, cluster.secrets, repo)
    step(`comparing with ${safeUrl(url)}`)
    const d = await compare(url, repo.url)
    const live = await liveCronJobs(url)
    if (live === undefined) {
      step('this database has no pg_cron (it runs in one database per cluster): jobs not compared')
    }
    const lines = [
      ...describeDifference(d, { from: 'database', to: 'repo' }),
      ...(live === undefined ? [] : cronLines(live, repoCronJobs())),
    ]
    if (argv.includes('--sql') && d.statements.length > 0) {
      // What migra would run on the database to make it match the repo: the definitions.
      process.stdout.write('-- statements that would bring the database to the repo:\n'
        + d.statements.join('\n') + '\n\n')
    }
    if (argv.includes('--json')) {
      process.stdout.write(JSON.stringify({ drift: lines.length > 0, differences: lines }) + '\n')
    } else if (lines.length === 0) {
      process.stdout.write('no drift: the database matches the repo\n')
    } else {
      process.stdout.write(lines.join('\n') + `\n${lines.length} difference(s)\n`)
    }
    return lines.length === 0 ? 0 : 1
  } finally {
    await repo?.drop().catch(() => undefined)
    cluster.stop()
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const e = error instanceof StackError ? error : new StackError(String(error))
    process.stderr.write(`error: ${e.message}\n` + (e.hint ? `hint:  ${e.hint}\n` : ''))
    process.exit(2)
  },
)
