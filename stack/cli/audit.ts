/**
 * npm run audit:digest -- [--db-url <url>] [--out <file>] [--profile dev|test]
 * npm run audit:verify -- [--db-url <url>] [--digest <file>] [--profile dev|test]
 *
 * The audit trail's hash chain, from outside the database. `digest` seals what is waiting
 * (audit.seal()) and writes the chain's head, {database, last_seq, last_hash, sealed_at,
 * written_at}, to .leaps/audit-digests/<time>.json or to --out, and prints the file's path.
 * Keep digests somewhere the database's administrators cannot write: a history rewritten
 * from the first edited row onward verifies as a chain, but no longer matches its digests.
 *
 * `verify` seals, walks the chain (audit.verify_chain()) and, with --digest, checks that the
 * row the digest names still has the hash it recorded (audit.digest_matches()).
 *
 * The default database is the dev stack's, as `postgres`; the functions need no more than
 * service_role, which may seal, verify and read digests.
 *
 * Exit status: 0 the chain (and digest) hold; 1 the chain is broken or the digest no longer
 * matches, with the first bad position and the problem; 2 the check could not run (bad
 * arguments, unreachable database, no audit schema, unreadable digest), with one line on
 * stderr.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import postgres from 'postgres'
import { connectionProblem } from '../lib/connection-error.ts'
import { z } from 'zod'
import { projectRoot, type ProfileName } from '../lib/profile.ts'
import { databaseName, defaultUrl, parseUrl as parseDbUrl } from '../lib/db-url.ts'

const USAGE = [
  'usage: npm run audit:digest -- [--db-url <url>] [--out <file>] [--profile dev|test]',
  '       npm run audit:verify -- [--db-url <url>] [--digest <file>] [--profile dev|test]',
].join('\n')

/** The check could not be made: one line on stderr, exit 2. */
class CannotRun extends Error {}

const Digest = z.strictObject({
  database: z.string().min(1),
  last_seq: z.number().int().min(0),
  last_hash: z.string().regex(/^([0-9a-f]{64})?$/, 'must be a hex SHA-256 (or empty at seq 0)'),
  sealed_at: z.string().nullable(),
  written_at: z.string(),
})
type Digest = z.infer<typeof Digest>

interface Options {
  command: 'digest' | 'verify'
  url: string
  out?: string
  digest?: string
}

function parseOptions(argv: string[]): Options {
  const [command, ...rest] = argv
  if (command === '--help' || command === '-h' || rest.includes('--help')) {
    process.stdout.write(USAGE + '\n')
    process.exit(0)
  }
  if (command !== 'digest' && command !== 'verify') {
    throw new CannotRun(`unknown command "${command ?? ''}"; ${USAGE.split('\n')[0]}`)
  }
  let url: string | undefined
  let out: string | undefined
  let digest: string | undefined
  let profileName: ProfileName = 'dev'
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i]
    const value = () => {
      const next = rest[i + 1]
      if (next === undefined || next.startsWith('--')) throw new CannotRun(`${arg} needs a value`)
      i += 1
      return next
    }
    if (arg === '--db-url') url = value()
    else if (arg === '--out' && command === 'digest') out = value()
    else if (arg === '--digest' && command === 'verify') digest = value()
    else if (arg === '--profile') {
      const wanted = value()
      if (wanted !== 'dev' && wanted !== 'test') {
        throw new CannotRun(`--profile must be "dev" or "test", got "${wanted}"`)
      }
      profileName = wanted
    } else {
      throw new CannotRun(`unknown argument "${arg ?? ''}" for audit:${command}`)
    }
  }
  return { command, url: url ?? defaultUrl(profileName), out, digest }
}

/** One line, without the password, saying why the database could not be used. */
function describe(error: unknown, url: URL): string {
  const e = error as { code?: string; message?: string; errors?: Array<{ code?: string }> }
  const code = e.code ?? e.errors?.[0]?.code
  const user = decodeURIComponent(url.username || 'postgres')
  const shared = connectionProblem(error, url)
  if (shared) return shared
  switch (code) {
    case '3F000':
    case '42883':
    case '42P01':
      return 'database has no audit trail (schema audit); apply the migrations first'
    case '42501':
      return `${user} may not seal or verify the audit chain (${e.message ?? 'permission denied'}`
        + '); connect as postgres or service_role'
    default:
      return (e.message ?? String(error)).split('\n')[0]!
  }
}

function connect(url: URL): postgres.Sql {
  return postgres(url.toString(), {
    max: 1,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: 'leaps-guard audit' },
  })
}

/** Seals until nothing of a finished transaction is left waiting; returns how many. */
async function sealAll(sql: postgres.Sql | postgres.TransactionSql): Promise<number> {
  const batch = 50_000
  let total = 0
  for (;;) {
    const [row] = await sql<Array<{ sealed: number }>>`
      select audit.seal(${batch})::int as sealed`
    total += row?.sealed ?? 0
    if ((row?.sealed ?? 0) < batch) return total
  }
}

async function writeDigest(url: URL, out: string | undefined): Promise<number> {
  const sql = connect(url)
  let digest: Digest
  try {
    digest = await sql.begin(async (tx) => {
      await sealAll(tx)
      const [head] = await tx<Array<{ last_seq: string; last_hash: string; sealed_at: Date }>>`
        select last_seq::text, last_hash, sealed_at from audit.chain_digest()`
      if (!head) throw new CannotRun('audit.chain_digest() returned no head')
      return {
        database: databaseName(url),
        last_seq: Number(head.last_seq),
        last_hash: head.last_hash,
        sealed_at: head.sealed_at ? head.sealed_at.toISOString() : null,
        written_at: new Date().toISOString(),
      }
    })
  } catch (error) {
    if (error instanceof CannotRun) throw error
    throw new CannotRun(describe(error, url))
  } finally {
    await sql.end({ timeout: 1 })
  }
  const file = out
    ? path.resolve(out)
    : path.join(projectRoot, '.leaps', 'audit-digests',
      `${digest.written_at.replace(/[:.]/g, '-')}.json`)
  try {
    mkdirSync(path.dirname(file), { recursive: true })
    // Never replace an existing digest: an older one is exactly what a later check needs.
    writeFileSync(file, JSON.stringify(digest, null, 2) + '\n', { flag: 'wx' })
  } catch (error) {
    throw new CannotRun(`cannot write ${file}: ${(error as Error).message.split('\n')[0]}`)
  }
  process.stderr.write(`sealed; chain head at seq ${digest.last_seq}\n`)
  process.stdout.write(file + '\n')
  return 0
}

function readDigest(file: string): Digest {
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new CannotRun(`cannot read digest ${file}: ${(error as Error).message.split('\n')[0]}`)
  }
  const parsed = Digest.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new CannotRun(`${file} is not an audit digest: ${issue?.path.join('.') || 'document'}`
      + ` ${issue?.message ?? ''}`.trimEnd())
  }
  return parsed.data
}

interface Verdict {
  valid: boolean
  rows_checked: string
  first_bad_seq: string | null
  first_bad_id: string | null
  problem: string | null
}

async function verify(url: URL, digestFile: string | undefined): Promise<number> {
  const digest = digestFile ? readDigest(digestFile) : undefined
  // A restored copy may live under another name or server: say so, and let the hashes decide.
  if (digest && digest.database !== databaseName(url)) {
    process.stderr.write(`note: the digest was written for ${digest.database}; `
      + `checking ${databaseName(url)}\n`)
  }
  const sql = connect(url)
  let verdict: Verdict
  let matches: boolean | null = true
  try {
    await sealAll(sql)
    const [row] = await sql<Verdict[]>`
      select valid, rows_checked::text, first_bad_seq::text, first_bad_id::text, problem
      from audit.verify_chain()`
    if (!row) throw new CannotRun('audit.verify_chain() returned nothing')
    verdict = row
    if (digest && digest.last_seq > 0) {
      const [m] = await sql<Array<{ matches: boolean | null }>>`
        select audit.digest_matches(${digest.last_seq}, ${digest.last_hash}) as matches`
      matches = m?.matches === null ? null : m?.matches === true
    }
  } catch (error) {
    if (error instanceof CannotRun) throw error
    throw new CannotRun(describe(error, url))
  } finally {
    await sql.end({ timeout: 1 })
  }

  if (!verdict.valid) {
    const id = verdict.first_bad_id ? ` (audit id ${verdict.first_bad_id})` : ''
    process.stdout.write(`audit chain broken at seq ${verdict.first_bad_seq}${id}: `
      + `${verdict.problem}\n${verdict.rows_checked} rows verified before it\n`)
    return 1
  }
  if (matches === null) {
    process.stdout.write(`audit chain valid: ${verdict.rows_checked} rows verified; the digest `
      + `of ${digest!.written_at} names seq ${digest!.last_seq}, which the retention job has `
      + 'since retired with its month, so it can no longer be compared\n')
    return 0
  }
  if (!matches) {
    process.stdout.write(`audit chain does not match the digest: seq ${digest!.last_seq} no `
      + `longer has the hash recorded at ${digest!.written_at}; history was rewritten\n`)
    return 1
  }
  process.stdout.write(`audit chain valid: ${verdict.rows_checked} rows verified`
    + (digest ? `; matches the digest of ${digest.written_at} (seq ${digest.last_seq})` : '')
    + '\n')
  return 0
}

function parseUrl(url: string): URL {
  try {
    return parseDbUrl(url)
  } catch (error) {
    throw new CannotRun((error as Error).message)
  }
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2))
  const url = parseUrl(options.url)
  return options.command === 'digest'
    ? writeDigest(url, options.out)
    : verify(url, options.digest)
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error)
    process.stderr.write(`error: ${message.split('\n')[0]}\n`)
    process.exit(2)
  },
)
