/**
 * npm run retention -- [--dry-run] [--policy <name>] [--db-url <url>] [--profile dev|test]
 *
 * Runs the retention schedule now, as the nightly pg_cron job does (the same run, step and
 * log functions of sql/82_retention.sql), or with --dry-run shows what each policy would
 * touch without changing anything. Each batch commits on its own; progress (one line per
 * batch) goes to stderr as it happens; the summary, one line per policy with its outcome,
 * batches, rows affected and rows kept under legal holds, to stdout.
 *
 * Exit status: 0 every policy succeeded; 1 a policy failed (a security alert was raised);
 * 2 it could not run (bad arguments, unreachable database, schema missing), one line on stderr.
 */
import postgres from 'postgres'
import { connectionProblem } from '../lib/connection-error.ts'
import { defaultUrl, parseUrl } from '../lib/db-url.ts'
import type { ProfileName } from '../lib/profile.ts'

const USAGE = 'usage: npm run retention -- [--dry-run] [--policy <name>] [--db-url <url>] '
  + '[--profile dev|test]'

class CannotRun extends Error {}

interface Options {
  url: URL
  dryRun: boolean
  policy: string | null
}

function parseOptions(argv: string[]): Options {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE + '\n')
    process.exit(0)
  }
  let url: string | undefined
  let dryRun = false
  let policy: string | null = null
  let profileName: ProfileName = 'dev'
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]
    const value = () => {
      const next = argv[i + 1]
      if (next === undefined || next.startsWith('--')) throw new CannotRun(`${arg} needs a value`)
      i += 1
      return next
    }
    if (arg === '--dry-run') dryRun = true
    else if (arg === '--policy') policy = value()
    else if (arg === '--db-url') url = value()
    else if (arg === '--profile') {
      const wanted = value()
      if (wanted !== 'dev' && wanted !== 'test') {
        throw new CannotRun(`--profile must be "dev" or "test", got "${wanted}"`)
      }
      profileName = wanted
    } else throw new CannotRun(`unknown argument "${arg ?? ''}"; ${USAGE}`)
  }
  try {
    return { url: parseUrl(url ?? defaultUrl(profileName)), dryRun, policy }
  } catch (error) {
    throw new CannotRun((error as Error).message)
  }
}

function describe(error: unknown, url: URL): string {
  const e = error as { code?: string; message?: string }
  const shared = connectionProblem(error, url)
  if (shared) return shared
  if (e.code === '3F000' || e.code === '42883' || e.code === '42P01') {
    return 'database has no retention schedule (sql/82_retention.sql); apply the migrations first'
  }
  if (e.code === '42501') {
    return `${decodeURIComponent(url.username || 'postgres')} may not run retention; connect as `
      + 'postgres'
  }
  return (e.message ?? String(error)).split('\n')[0]!
}

interface Run {
  policy: string
  status: string
  batches: number
  affected: string
  kept: string
  seconds: string | null
  error: string | null
}

async function main(options: Options): Promise<number> {
  const sql = postgres(options.url.toString(), {
    max: 1,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: 'leaps-guard retention' },
  })
  try {
    const policies = options.policy !== null
      ? [options.policy]
      : (await sql<Array<{ policy: string }>>`
          select policy from private.retention_policies where enabled order by policy`)
        .map((r) => r.policy)
    const verb = options.dryRun ? 'due' : 'done'
    let failed = false
    // Each statement commits on its own, so every batch is kept as soon as it is reported.
    for (const policy of policies) {
      const [start] = await sql<Array<{ id: string }>>`
        select private.retention_start_run(${policy}, ${options.dryRun})::text as id`
      let total = 0
      let batches = 0
      for (;;) {
        const [step] = await sql<Array<{ affected: string; finished: boolean;
          failure: string | null }>>`
          select affected::text, finished, failure from private.retention_step(${start!.id})`
        batches += 1
        total += Number(step!.affected)
        if (!step!.failure) {
          process.stderr.write(`retention ${policy}: batch ${batches}, `
            + `${total.toLocaleString('en')} rows ${verb} so far\n`)
        }
        if (step!.finished) break
      }
      const [run] = await sql<Run[]>`
        select r.policy, r.status, r.batches, r.affected::text, r.kept::text,
               pg_catalog.round(extract(epoch from r.finished_at - r.started_at)::numeric,
                   2)::text as seconds,
               r.error
        from private.retention_runs as r
        where r.id = ${start!.id}::bigint`
      failed ||= run!.status === 'FAILED'
      process.stdout.write(`${run!.policy}: ${run!.status.toLowerCase()}, ${run!.batches} `
        + `batch(es), ${Number(run!.affected).toLocaleString('en')} ${verb}, `
        + `${Number(run!.kept).toLocaleString('en')} kept, ${run!.seconds ?? '?'} s`
        + (run!.error ? ` (${run!.error})` : '') + '\n')
    }
    return failed ? 1 : 0
  } catch (error) {
    throw new CannotRun(describe(error, options.url))
  } finally {
    await sql.end({ timeout: 1 })
  }
}

Promise.resolve()
  .then(() => main(parseOptions(process.argv.slice(2))))
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    process.stderr.write(`error: ${error instanceof CannotRun ? error.message : String(error)}\n`)
    process.exit(2)
  })
