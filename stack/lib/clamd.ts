/**
 * The ClamAV daemon (clamd) of a stack profile, so uploads are scanned for real without any
 * signature download. clamd loads one database: stack/clamav/leaps-test.ndb, which knows only
 * the EICAR test file. Every start rewrites the configuration and the database folder, and
 * clamd runs in the foreground as our child, so the pid we record is the process that scans.
 *
 * As root, clamd drops to Debian's `clamav` account (it parses untrusted files); its folder is
 * handed to that account. It listens on 127.0.0.1 and on a Unix socket in its folder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import {
  chownSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { projectRoot, type StackProfile } from './profile.ts'
import { StackError } from './cluster.ts'

const CLAMD_BIN = process.env.LEAPS_CLAMD_BIN ?? '/usr/sbin/clamd'
const isRoot = process.getuid?.() === 0

/** The only signature database clamd loads: the EICAR test file, named Leaps.Test.EICAR. */
export const SIGNATURE_FILE = path.join(projectRoot, 'stack', 'clamav', 'leaps-test.ndb')

/**
 * The largest stream clamd accepts (StreamMaxLength): the evidence bucket's file_size_limit
 * (sql/data/30_storage_buckets.sql; a test keeps the two equal). A larger stream is refused
 * with an ERROR, which the scanner turns into a failure.
 */
export const STREAM_MAX_BYTES = 10 * 1024 * 1024

/** Where a Unix socket path stops fitting in sockaddr_un (108 bytes with the final NUL). */
const MAX_SOCKET_PATH = 107

export interface ClamdOptions {
  /** Folder of this clamd: configuration, database, socket, pid file, logs, scratch files. */
  dir: string
  /** TCP port on 127.0.0.1. */
  port: number
  streamMaxBytes?: number
}

export interface ClamdLayout {
  dir: string
  conf: string
  database: string
  /** Absent when the folder's path is too long for a Unix socket; TCP still works. */
  socket?: string
  pidFile: string
  log: string
  /** clamd's stderr: its errors, including those before the log file is open. */
  errors: string
  tmp: string
}

/** The clamd folder of a stack profile. */
export function clamdDir(p: StackProfile): string {
  return path.join(p.dir, 'clamd')
}

export function clamdLayout(dir: string): ClamdLayout {
  const socket = path.join(dir, 'clamd.sock')
  return {
    dir,
    conf: path.join(dir, 'clamd.conf'),
    database: path.join(dir, 'db'),
    socket: Buffer.byteLength(socket) <= MAX_SOCKET_PATH ? socket : undefined,
    pidFile: path.join(dir, 'clamd.pid'),
    log: path.join(dir, 'clamd.log'),
    errors: path.join(dir, 'clamd.err'),
    tmp: path.join(dir, 'tmp'),
  }
}

function clamavIds(): { uid: number; gid: number } {
  const id = (flag: string) => spawnSync('id', [flag, 'clamav'], { encoding: 'utf8' })
  const uid = id('-u')
  const gid = id('-g')
  if (uid.status !== 0 || gid.status !== 0) {
    throw new StackError('the clamav account does not exist',
      'install the Debian package clamav-daemon: apt-get install -y clamav clamav-daemon')
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
}

/** As root clamd runs as `clamav`, which must be able to walk down to its folder. */
function checkReachable(dir: string): void {
  let current = path.dirname(dir)
  while (current !== path.dirname(current)) {
    if ((statSync(current).mode & 0o001) === 0) {
      throw new StackError(`clamd runs as the clamav account, which cannot reach ${dir}`,
        `grant search permission on the folder above it: chmod o+x ${current}`)
    }
    current = path.dirname(current)
  }
}

function setting(name: string, value: string | number): string {
  const text = String(value)
  if (/[\r\n]/.test(text) || text.trim() !== text || text === '') {
    throw new StackError(`clamd setting ${name} cannot be written: ${JSON.stringify(text)}`)
  }
  return `${name} ${text}`
}

/** Writes clamd.conf and a database folder holding our signature file and nothing else. */
export function writeClamdConfig(options: ClamdOptions): ClamdLayout {
  const layout = clamdLayout(options.dir)
  if (!existsSync(SIGNATURE_FILE)) {
    throw new StackError(`the signature database ${SIGNATURE_FILE} is missing`)
  }
  mkdirSync(layout.dir, { recursive: true, mode: 0o750 })
  // Anything else in the folder (an official database copied in by hand) would be loaded too.
  rmSync(layout.database, { recursive: true, force: true })
  mkdirSync(layout.database, { mode: 0o755 })
  const signatures = path.join(layout.database, path.basename(SIGNATURE_FILE))
  copyFileSync(SIGNATURE_FILE, signatures)
  // clamd writes each stream to a scratch file before scanning it: evidence files hold
  // personal data, so they stay in this private folder, not in the system's /tmp.
  mkdirSync(layout.tmp, { recursive: true, mode: 0o700 })

  const streamMax = options.streamMaxBytes ?? STREAM_MAX_BYTES
  const lines = [
    '# Written by leaps-guard (stack/lib/clamd.ts) at every start; edits are overwritten.',
    setting('DatabaseDirectory', layout.database),
    setting('TCPAddr', '127.0.0.1'),
    setting('TCPSocket', options.port),
    ...(layout.socket
      ? [setting('LocalSocket', layout.socket), 'LocalSocketMode 660', 'FixStaleSocket yes']
      : []),
    'Foreground yes',
    setting('PidFile', layout.pidFile),
    setting('LogFile', layout.log),
    'LogTime yes',
    'LogRotate yes',
    setting('TemporaryDirectory', layout.tmp),
    setting('StreamMaxLength', streamMax),
    // Content clamd gives up on (too big, too deep, too many files once unpacked) is reported
    // as Heuristics.Limits.Exceeded.* instead of passing unscanned.
    'AlertExceedsMax yes',
    // Only the signature name in replies, so they parse the same everywhere.
    'ExtendedDetectionInfo no',
    ...(isRoot ? ['User clamav'] : []),
    '',
  ]
  writeFileSync(layout.conf, lines.join('\n'), { mode: 0o644 })

  if (isRoot) {
    checkReachable(layout.dir)
    const { uid, gid } = clamavIds()
    for (const file of [layout.dir, layout.database, signatures, layout.tmp]) {
      chownSync(file, uid, gid)
    }
  }
  return layout
}

/** Whether nothing listens on 127.0.0.1:port yet. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer()
    probe.once('error', () => resolve(false))
    probe.listen({ host: '127.0.0.1', port, exclusive: true },
      () => probe.close(() => resolve(true)))
  })
}

/**
 * Starts clamd as a child in the foreground; wait for it with waitForClamd. The port must be
 * free: clamd 1.4 keeps running without TCP when it cannot bind, and whatever holds the port
 * would then answer in its place.
 */
export async function startClamd(
  options: ClamdOptions,
): Promise<{ child: ChildProcess; layout: ClamdLayout }> {
  if (!existsSync(CLAMD_BIN)) {
    throw new StackError(`clamd not found at ${CLAMD_BIN}`,
      'install the Debian package clamav-daemon, or point LEAPS_CLAMD_BIN at clamd')
  }
  if (!(await portFree(options.port))) {
    throw new StackError(`cannot start clamd: 127.0.0.1:${options.port} is already in use`,
      'a stack left running? try "npm run stop" (with --profile test for the test stack), or ' +
      'choose another port with LEAPS_CLAMD_PORT / LEAPS_TEST_CLAMD_PORT')
  }
  const layout = writeClamdConfig(options)
  rmSync(layout.pidFile, { force: true })
  const errors = openSync(layout.errors, 'w', 0o640)
  // stdout only repeats the log file; stderr has the errors, also those before the log opens.
  const child = spawn(CLAMD_BIN, ['--foreground', `--config-file=${layout.conf}`], {
    stdio: ['ignore', 'ignore', errors],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' },
  })
  closeSync(errors)
  // A spawn failure is reported through waitForClamd, not as an unhandled 'error' event.
  child.on('error', (error) => {
    writeFileSync(layout.errors, `ERROR: could not start clamd: ${error.message}\n`, { flag: 'a' })
  })
  return { child, layout }
}

export type ClamdTarget = { host: string; port: number } | { socket: string }

/** Whether clamd answers PING with PONG within timeoutMs. */
export function pingClamd(target: ClamdTarget, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = 'socket' in target
      ? net.connect({ path: target.socket })
      : net.connect({ host: target.host, port: target.port })
    let reply = ''
    const done = (ok: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), timeoutMs)
    socket.on('error', () => done(false))
    socket.on('data', (data) => {
      reply += data.toString('latin1')
      if (reply.includes('\0')) done(reply === 'PONG\0')
    })
    socket.on('close', () => done(reply === 'PONG\0'))
    socket.end('zPING\0')
  })
}

function tail(file: string, lines = 15): string {
  if (!existsSync(file)) return ''
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
}

/** The ERROR lines clamd has written to stderr so far. */
function reportedErrors(layout: ClamdLayout): string[] {
  if (!existsSync(layout.errors)) return []
  return readFileSync(layout.errors, 'utf8').split('\n').filter((l) => l.startsWith('ERROR:'))
}

/**
 * Waits until clamd answers PING on its TCP port. Fails, with what clamd said, when it exits,
 * reports an error (such as a socket it could not bind) or does not answer in time.
 */
export async function waitForClamd(
  options: ClamdOptions,
  child: ChildProcess,
  timeoutMs = 30_000,
): Promise<void> {
  const layout = clamdLayout(options.dir)
  const where = `127.0.0.1:${options.port}`
  const deadline = Date.now() + timeoutMs
  let problem = `clamd did not answer PING on ${where} within ${timeoutMs} ms`
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      problem = `clamd exited (${child.signalCode ?? `code ${child.exitCode}`}) before ` +
        `answering on ${where}`
      break
    }
    if (reportedErrors(layout).length > 0) {
      problem = `clamd reported an error while starting on ${where}`
      break
    }
    if (await pingClamd({ host: '127.0.0.1', port: options.port }, 500)) return
    await new Promise((r) => setTimeout(r, 50))
  }
  const said = [tail(layout.errors), tail(layout.log, 5)].filter(Boolean).join('\n')
  throw new StackError(problem,
    said ? `last lines of ${layout.errors} and ${layout.log}:\n${said}` : undefined)
}

/**
 * Whether pid is the clamd of this folder, read from its command line, so a pid recorded by
 * an earlier run and since reused by another process is never signalled.
 */
export function isOwnClamd(dir: string, pid: number | undefined): boolean {
  if (!pid) return false
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    return argv.includes(`--config-file=${clamdLayout(dir).conf}`)
  } catch {
    return false
  }
}
