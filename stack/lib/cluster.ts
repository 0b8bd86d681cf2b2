/**
 * The private PostgreSQL 15 cluster of a stack profile: Debian packages it needs, creation,
 * start and stop. PostgreSQL refuses to run as root, so when we are root the server runs as
 * the `postgres` system account that Debian's packages create.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync }
  from 'node:fs'
import path from 'node:path'
import type { StackProfile } from './profile.ts'
import type { LocalSecrets } from './secrets.ts'
import { step } from './say.ts'

const PG_BIN = process.env.LEAPS_PG_BIN ?? '/usr/lib/postgresql/15/bin'
const isRoot = process.getuid?.() === 0

/** Debian packages and a file each one installs, to tell whether it is present. */
const REQUIRED_PACKAGES: Array<[string, string]> = [
  ['postgresql-15-cron', '/usr/share/postgresql/15/extension/pg_cron.control'],
  ['postgresql-15-pgtap', '/usr/share/postgresql/15/extension/pgtap.control'],
  ['postgresql-15-pgaudit', '/usr/share/postgresql/15/extension/pgaudit.control'],
  ['libtap-parser-sourcehandler-pgtap-perl', '/usr/bin/pg_prove'],
  // plpgsql_check, for `supabase db lint`.
  ['postgresql-15-plpgsql-check', '/usr/share/postgresql/15/extension/plpgsql_check.control'],
  // The virus scanner of uploads. Only its binaries are used: the stack starts its own clamd
  // with the project's test signature, never Debian's services or downloaded signatures.
  ['clamav', '/usr/bin/clamscan'],
  ['clamav-daemon', '/usr/sbin/clamd'],
]

export class StackError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message)
  }
}

function run(cmd: string, args: string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(cmd, args, { encoding: 'utf8', ...options })
  if (result.error) throw new StackError(`${cmd} could not start: ${result.error.message}`)
  if (result.status !== 0) {
    const out = `${String(result.stdout ?? '')}${String(result.stderr ?? '')}`.trim()
    throw new StackError(`${path.basename(cmd)} ${args[0] ?? ''} failed (exit ${result.status})`
      + (out ? `:\n${out}` : ''))
  }
  return String(result.stdout ?? '')
}

/** Runs a server binary as the account that owns the cluster. */
function runAsOwner(binary: string, args: string[]): string {
  const cmd = path.join(PG_BIN, binary)
  return isRoot ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args)
}

export function ensurePackages(): void {
  if (!existsSync(path.join(PG_BIN, 'postgres'))) {
    throw new StackError(`PostgreSQL 15 server binaries not found in ${PG_BIN}`,
      'install postgresql-15, or point LEAPS_PG_BIN at its bin folder')
  }
  const missing = REQUIRED_PACKAGES.filter(([, file]) => !existsSync(file)).map(([pkg]) => pkg)
  if (missing.length === 0) return
  const command = `apt-get install -y ${missing.join(' ')}`
  if (!isRoot) {
    throw new StackError(`missing Debian packages: ${missing.join(', ')}`,
      `run: sudo apt-get update && sudo ${command}`)
  }
  step(`installing ${missing.join(', ')}`)
  const install = (): boolean =>
    spawnSync('apt-get', ['install', '-y', '-qq', ...missing], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }).status === 0
  if (!install()) {
    run('apt-get', ['update', '-qq'])
    if (!install()) throw new StackError(`could not install ${missing.join(', ')}`)
  }
}

/**
 * As root, the `postgres` account must be able to walk down to the cluster folder. A clone in
 * a private folder (mktemp -d gives 0700) blocks it; granting search (x) on the folders above
 * lets it through without letting it list or read them.
 */
function letOwnerReach(dir: string): void {
  if (!isRoot) return
  let current = path.dirname(dir)
  while (current !== path.dirname(current)) {
    const mode = statSync(current).mode
    if ((mode & 0o001) === 0) {
      step(`granting search permission on ${current} so the postgres account can reach it`)
      chmodSync(current, mode | 0o001)
    }
    current = path.dirname(current)
  }
}

function ownerIds(): { uid: number; gid: number } {
  const uid = Number(run('id', ['-u', 'postgres']).trim())
  const gid = Number(run('id', ['-g', 'postgres']).trim())
  return { uid, gid }
}

export function clusterExists(p: StackProfile): boolean {
  return existsSync(path.join(p.pgdata, 'PG_VERSION'))
}

export function createCluster(p: StackProfile, s: LocalSecrets): void {
  mkdirSync(p.pgdata, { recursive: true, mode: 0o700 })
  letOwnerReach(p.pgdata)
  const pwfile = path.join(p.dir, 'superuser.pw')
  writeFileSync(pwfile, s.superuserPassword + '\n', { mode: 0o600 })
  if (isRoot) {
    const { uid, gid } = ownerIds()
    chownSync(p.dir, uid, gid)
    chownSync(p.pgdata, uid, gid)
    chownSync(pwfile, uid, gid)
  }
  step(`creating PostgreSQL cluster in ${path.relative(process.cwd(), p.pgdata) || p.pgdata}`)
  runAsOwner('initdb', [
    '--pgdata', p.pgdata,
    '--username', 'supabase_admin',
    '--pwfile', pwfile,
    '--auth', 'scram-sha-256',
    '--encoding', 'UTF8',
    '--locale', 'C.UTF-8',
  ])
  const conf = [
    '',
    '# leaps-guard local stack',
    "listen_addresses = '127.0.0.1'",
    `port = ${p.dbPort}`,
    "unix_socket_directories = ''",
    "shared_preload_libraries = 'pg_cron, pgaudit, pg_stat_statements'",
    `cron.database_name = '${p.database}'`,
    "cron.timezone = 'UTC'",
    "password_encryption = 'scram-sha-256'",
    "timezone = 'UTC'",
    "pgaudit.log = 'role, ddl'",
    'pgaudit.log_relation = off',
    // A migration is one statement of many DDL commands; log its text once, not per command.
    'pgaudit.log_statement_once = on',
    'max_connections = 100',
    "shared_buffers = '256MB'",
    ...(p.name === 'test' ? ['fsync = off', 'synchronous_commit = off', 'full_page_writes = off']
      : []),
    '',
  ].join('\n')
  writeFileSync(path.join(p.pgdata, 'postgresql.conf'),
    readFileSync(path.join(p.pgdata, 'postgresql.conf'), 'utf8') + conf)
  writeFileSync(path.join(p.pgdata, 'pg_hba.conf'), [
    '# Only loopback TCP, always with a password.',
    'host all all 127.0.0.1/32 scram-sha-256',
    '',
  ].join('\n'))
}

export function clusterRunning(p: StackProfile): boolean {
  if (!clusterExists(p)) return false
  const cmd = path.join(PG_BIN, 'pg_ctl')
  const args = ['status', '--pgdata', p.pgdata]
  const result = isRoot
    ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' })
    : spawnSync(cmd, args, { encoding: 'utf8' })
  return result.status === 0
}

/**
 * Settings every start passes, so that clusters made by an older version get them too:
 * pg_cron runs jobs in background workers (its default, a libpq connection to localhost,
 * cannot pass the password-only pg_hba.conf, so no job would ever run), and a refused
 * statement's text, which may hold the personal data it was refused for, stays out of the log.
 */
const SERVER_OPTIONS = [
  '-c cron.use_background_workers=on',
  '-c max_worker_processes=16',
  '-c log_min_error_statement=panic',
].join(' ')

export function startCluster(p: StackProfile): void {
  if (clusterRunning(p)) {
    step(`PostgreSQL already running on 127.0.0.1:${p.dbPort}`)
    return
  }
  letOwnerReach(p.pgdata)
  step(`starting PostgreSQL on 127.0.0.1:${p.dbPort}`)
  const log = path.join(p.dir, 'postgres.log')
  // The server log can hold what the database refused: readable by its owner alone.
  if (!existsSync(log)) writeFileSync(log, '', { mode: 0o600 })
  chmodSync(log, 0o600)
  if (isRoot) {
    const { uid, gid } = ownerIds()
    chownSync(log, uid, gid)
  }
  try {
    runAsOwner('pg_ctl', ['start', '--pgdata', p.pgdata, '--log', log, '--wait', '--timeout', '60',
      '--options', SERVER_OPTIONS])
  } catch (error) {
    const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : ''
    throw new StackError(`PostgreSQL did not start on port ${p.dbPort}`,
      `last lines of ${log}:\n${tail}\n(${(error as Error).message})`)
  }
}

export function stopCluster(p: StackProfile): void {
  if (!clusterRunning(p)) return
  step('stopping PostgreSQL')
  runAsOwner('pg_ctl', ['stop', '--pgdata', p.pgdata, '--mode', 'fast', '--wait'])
  step('PostgreSQL stopped')
}
