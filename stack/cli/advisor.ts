/**
 * npm run advisor -- [--db-url <url>] [--json] [--suppressed] [--level ERROR|WARN|INFO]
 *                    [--profile dev|test]
 *
 * Reports what the security advisor (schema `advisor`, docs/advisor/README.md) finds in a
 * database, by default the dev stack. Prints the unsuppressed findings grouped by level, each
 * with its detail and remediation, then one summary line such as
 * "0 errors, 0 warnings, 3 info, 2 suppressed". With --json, prints one JSON document instead.
 * --level hides findings below that level; the counts still cover every level. --suppressed
 * lists the findings accepted in advisor.exceptions, with reason and reviewer (--json always
 * includes them).
 *
 * Exit status: 1 when any ERROR finding is reported, 0 otherwise, 2 when the advisor could not
 * run (bad arguments, unreachable database, no advisor schema), with one line on stderr.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import postgres from 'postgres'
import { connectionProblem } from '../lib/connection-error.ts'
import { parse } from 'smol-toml'
import { profile, projectRoot, type ProfileName } from '../lib/profile.ts'
import { dbUrl, readSecrets } from '../lib/secrets.ts'

const LEVELS = ['ERROR', 'WARN', 'INFO'] as const
type Level = (typeof LEVELS)[number]

const USAGE = 'usage: npm run advisor -- [--db-url <url>] [--json] [--suppressed] '
  + '[--level ERROR|WARN|INFO] [--profile dev|test]'

interface Finding {
  id: string
  name: string
  level: Level
  categories: string[]
  object: string
  detail: string
  remediation: string
  metadata: Record<string, unknown>
  cache_key: string
}

interface Options {
  url: string
  json: boolean
  level: Level
  suppressed: boolean
}

/** A failure to run at all: reported as one line on stderr, exit 2. */
class AdvisorError extends Error {}

function parseOptions(argv: string[]): Options {
  let url: string | undefined
  let json = false
  let suppressed = false
  let level: Level = 'INFO'
  let profileName: ProfileName = 'dev'
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]
    const value = () => {
      const next = argv[i + 1]
      if (next === undefined || next.startsWith('--')) {
        throw new AdvisorError(`${arg} needs a value; ${USAGE}`)
      }
      i += 1
      return next
    }
    if (arg === '--db-url') url = value()
    else if (arg === '--json') json = true
    else if (arg === '--suppressed') suppressed = true
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE + '\n')
      process.exit(0)
    }
    else if (arg === '--level') {
      const wanted = value().toUpperCase()
      if (!LEVELS.includes(wanted as Level)) {
        throw new AdvisorError(`--level must be ERROR, WARN or INFO, got "${wanted}"`)
      }
      level = wanted as Level
    } else if (arg === '--profile') {
      const wanted = value()
      if (wanted !== 'dev' && wanted !== 'test') {
        throw new AdvisorError(`--profile must be "dev" or "test", got "${wanted}"`)
      }
      profileName = wanted
    } else {
      throw new AdvisorError(`unknown argument "${arg ?? ''}"; ${USAGE}`)
    }
  }
  return { url: url ?? defaultUrl(profileName), json, level, suppressed }
}

/** The stack's own URL as the `postgres` owner, with its local password when one exists. */
function defaultUrl(name: ProfileName): string {
  const p = profile(name)
  try {
    return dbUrl(p, 'postgres', readSecrets(p).postgresPassword)
  } catch {
    return dbUrl(p)
  }
}

function parseUrl(url: string): URL {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new AdvisorError(
      '--db-url is not a URL; expected postgresql://user:password@host:port/db')
  }
  if (parsed.protocol !== 'postgresql:' && parsed.protocol !== 'postgres:') {
    throw new AdvisorError(`--db-url must be a postgresql:// URL, got "${parsed.protocol}//..."`)
  }
  return parsed
}

/**
 * The schemas supabase/config.toml exposes through the Data API ([api] schemas). The advisor
 * adds them to `public`; it never removes any, so a missing or unreadable file changes nothing.
 */
function configuredSchemas(): string[] {
  try {
    const config = parse(readFileSync(path.join(projectRoot, 'supabase', 'config.toml'), 'utf8'))
    const api = config.api as { schemas?: unknown } | undefined
    return Array.isArray(api?.schemas)
      ? api.schemas.filter((s): s is string => typeof s === 'string')
      : []
  } catch {
    return []
  }
}

/** One line, without the password, saying why the database could not be reached or read. */
function describe(error: unknown, url: URL): string {
  const e = error as { code?: string; message?: string; errors?: Array<{ code?: string }> }
  const code = e.code ?? e.errors?.[0]?.code
  const user = decodeURIComponent(url.username || 'postgres')
  const shared = connectionProblem(error, url)
  if (shared) return shared
  switch (code) {
    case '42501':
      return `${user} may not read the advisor (${e.message ?? 'permission denied'}); `
        + 'connect as postgres or service_role'
    default:
      return e.message ?? String(error)
  }
}

interface Suppressed {
  id: string
  object: string
  cache_key: string
  reason: string
  reviewer: string
}

interface Report {
  findings: Finding[]
  suppressed: number
  suppressedFindings: Suppressed[]
  staleExceptions: string[]
}

async function readReport(url: URL, exposed: string[]): Promise<Report> {
  const sql = postgres(url.toString(), {
    max: 1,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: 'leaps-guard advisor' },
  })
  try {
    return await sql.begin('read only', async (tx) => {
      const [schema] = await tx<Array<{ present: boolean }>>`
        select pg_catalog.to_regclass('advisor.findings') is not null as present`
      if (!schema?.present) {
        throw new AdvisorError('database has no advisor schema; apply the migrations first')
      }
      await tx`select pg_catalog.set_config('advisor.exposed_schemas', ${exposed.join(',')}, true)`
      const rows = await tx<Array<Finding & { suppressed: boolean }>>`
        select id, name, level, categories, object, detail, remediation, metadata, cache_key,
            suppressed
        from advisor.findings
        order by array_position(array['ERROR', 'WARN', 'INFO'], level), id, object, cache_key`
      const stale = await tx<Array<{ cache_key: string }>>`
        select cache_key from advisor.stale_exceptions order by cache_key`
      const accepted = await tx<Suppressed[]>`
        select f.id, f.object, f.cache_key, e.reason, e.reviewer
        from advisor.findings as f
        join advisor.exceptions as e on e.cache_key = f.cache_key
        where f.suppressed
        order by f.id, f.object`
      return {
        findings: rows.filter((r) => !r.suppressed).map(({ suppressed: _, ...f }) => f),
        suppressed: rows.filter((r) => r.suppressed).length,
        suppressedFindings: [...accepted],
        staleExceptions: stale.map((r) => r.cache_key),
      }
    })
  } finally {
    await sql.end({ timeout: 1 })
  }
}

function countByLevel(findings: Finding[]): Record<Level, number> {
  const counts: Record<Level, number> = { ERROR: 0, WARN: 0, INFO: 0 }
  for (const f of findings) counts[f.level] += 1
  return counts
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`
}

function printText(report: Report, shown: Finding[], counts: Record<Level, number>,
  level: Level, showSuppressed: boolean): void {
  const out: string[] = []
  for (const l of LEVELS) {
    const group = shown.filter((f) => f.level === l)
    if (group.length === 0) continue
    out.push(`${l} (${group.length})`)
    for (const f of group) {
      out.push(`  ${f.id} ${f.name}: ${f.object}`)
      out.push(`    ${f.detail}`)
      out.push(`    fix: ${f.remediation}`)
    }
    out.push('')
  }
  if (showSuppressed && report.suppressedFindings.length > 0) {
    out.push(`SUPPRESSED (${report.suppressedFindings.length})`)
    for (const s of report.suppressedFindings) {
      out.push(`  ${s.id} ${s.object}`)
      out.push(`    accepted by ${s.reviewer}: ${s.reason}`)
    }
    out.push('')
  }
  if (report.staleExceptions.length > 0) {
    out.push(`${plural(report.staleExceptions.length, 'exception matches', 'exceptions match')} `
      + `no finding any more (remove from sql/data/80_advisor_exceptions.sql): `
      + report.staleExceptions.join(', '))
  }
  const hidden = LEVELS.slice(LEVELS.indexOf(level) + 1)
    .filter((l) => counts[l] > 0)
    .map((l) => l.toLowerCase())
  out.push(`${plural(counts.ERROR, 'error', 'errors')}, `
    + `${plural(counts.WARN, 'warning', 'warnings')}, `
    + `${counts.INFO} info, ${report.suppressed} suppressed`
    + (report.suppressed > 0 && !showSuppressed ? ' (list them with --suppressed)' : '')
    + (hidden.length > 0 ? ` (${hidden.join(' and ')} not shown: --level ${level})` : ''))
  process.stdout.write(out.join('\n') + '\n')
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2))
  const url = parseUrl(options.url)
  let report: Report
  try {
    report = await readReport(url, configuredSchemas())
  } catch (error) {
    if (error instanceof AdvisorError) throw error
    throw new AdvisorError(describe(error, url))
  }
  const counts = countByLevel(report.findings)
  const rank = (l: Level) => LEVELS.indexOf(l)
  const shown = report.findings.filter((f) => rank(f.level) <= rank(options.level))
  if (options.json) {
    process.stdout.write(JSON.stringify({
      findings: shown,
      suppressed: report.suppressed,
      suppressedFindings: report.suppressedFindings,
      counts,
      staleExceptions: report.staleExceptions,
    }, null, 2) + '\n')
  } else {
    printText(report, shown, counts, options.level, options.suppressed)
  }
  return counts.ERROR > 0 ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error)
    process.stderr.write(`error: ${message.split('\n')[0]}\n`)
    process.exit(2)
  },
)
