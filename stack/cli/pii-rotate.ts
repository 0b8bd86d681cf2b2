/**
 * npm run pii:rotate-key -- [--db-url <url>] [--batch <n>] [--max-batches <n>]
 *                           [--profile dev|test]
 *
 * Rotates the key that encrypts members' phone, NIK, NPWP and bank account
 * (sql/37_pii_encryption.sql). A new key is made in Vault from server-side randomness and
 * becomes active (private.pii_start_rotation()); then the values still under older keys are
 * re-encrypted in batches of --batch members (default 500), each batch its own committed
 * transaction (private.pii_reencrypt_batch(), which skips rows other sessions hold). Progress
 * goes to stderr after every batch. When nothing is left, keys no value uses any more are
 * marked RETIRED (private.pii_finish_rotation()); they stay in Vault for backups.
 *
 * Interrupted (Ctrl-C, a lost connection, --max-batches reached), it stops after the batch in
 * flight, which commits or rolls back whole; running it again resumes the same rotation
 * instead of starting another. No key ever leaves the database.
 *
 * Exit status: 0 rotation complete; 3 stopped early with values left (run again to resume);
 * 2 it could not run (bad arguments, unreachable database, schema missing), one line on stderr.
 */
import postgres from 'postgres'
import { connectionProblem } from '../lib/connection-error.ts'
import { defaultUrl, parseUrl } from '../lib/db-url.ts'
import type { ProfileName } from '../lib/profile.ts'

const USAGE = 'usage: npm run pii:rotate-key -- [--db-url <url>] [--batch <n>] '
  + '[--max-batches <n>] [--profile dev|test]'

class CannotRun extends Error {}

interface Options {
  url: URL
  batch: number
  maxBatches: number
}

function parseOptions(argv: string[]): Options {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE + '\n')
    process.exit(0)
  }
  let url: string | undefined
  let batch = 500
  let maxBatches = Number.POSITIVE_INFINITY
  let profileName: ProfileName = 'dev'
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]
    const value = () => {
      const next = argv[i + 1]
      if (next === undefined || next.startsWith('--')) throw new CannotRun(`${arg} needs a value`)
      i += 1
      return next
    }
    const whole = (name: string, raw: string, max: number) => {
      const n = Number(raw)
      if (!Number.isInteger(n) || n < 1 || n > max) {
        throw new CannotRun(`${name} takes a whole number from 1 to ${max}, got "${raw}"`)
      }
      return n
    }
    if (arg === '--db-url') url = value()
    else if (arg === '--batch') batch = whole('--batch', value(), 10_000)
    else if (arg === '--max-batches') maxBatches = whole('--max-batches', value(), 1_000_000)
    else if (arg === '--profile') {
      const wanted = value()
      if (wanted !== 'dev' && wanted !== 'test') {
        throw new CannotRun(`--profile must be "dev" or "test", got "${wanted}"`)
      }
      profileName = wanted
    } else throw new CannotRun(`unknown argument "${arg ?? ''}"; ${USAGE}`)
  }
  let parsed: URL
  try {
    parsed = parseUrl(url ?? defaultUrl(profileName))
  } catch (error) {
    throw new CannotRun((error as Error).message)
  }
  return { url: parsed, batch, maxBatches }
}

function describe(error: unknown, url: URL): string {
  const e = error as { code?: string; message?: string }
  const shared = connectionProblem(error, url)
  if (shared) return shared
  if (e.code === '3F000' || e.code === '42883' || e.code === '42P01') {
    return 'database has no personal-data encryption (sql/37_pii_encryption.sql); apply the '
      + 'migrations first'
  }
  if (e.code === '42501') {
    return `${decodeURIComponent(url.username || 'postgres')} may not rotate keys; connect as `
      + 'postgres'
  }
  return (e.message ?? String(error)).split('\n')[0]!
}

const say = (line: string) => process.stderr.write(line + '\n')

async function rotate(options: Options): Promise<number> {
  const sql = postgres(options.url.toString(), {
    max: 1,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: 'leaps-guard pii:rotate-key' },
  })
  let stopping = false
  const onSignal = () => {
    if (stopping) process.exit(130)
    stopping = true
    say('stopping after the batch in flight (Ctrl-C again to quit at once)')
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const [start] = await sql<Array<{ active_key: number; values_left: string;
      resumed: boolean }>>`
      select active_key, values_left::text, resumed from private.pii_start_rotation()`
    const total = Number(start!.values_left)
    say(start!.resumed
      ? `resuming the rotation to key ${start!.active_key}: ${total.toLocaleString('en')} `
        + 'values still under older keys'
      : `key ${start!.active_key} is now active; ${total.toLocaleString('en')} values to `
        + 're-encrypt')
    let members = 0
    let batches = 0
    const began = performance.now()
    for (;;) {
      if (stopping || batches >= options.maxBatches) break
      const [row] = await sql<Array<{ done: number }>>`
        select private.pii_reencrypt_batch(${options.batch}) as done`
      const done = row?.done ?? 0
      if (done === 0) break
      batches += 1
      members += done
      const [left] = await sql<Array<{ n: string }>>`
        select private.pii_values_to_rotate()::text as n`
      const remaining = Number(left!.n)
      const seconds = (performance.now() - began) / 1000
      const percent = total === 0 ? 100 : Math.floor(100 * (total - remaining) / total)
      say(`batch ${batches}: ${members.toLocaleString('en')} members re-encrypted, `
        + `${remaining.toLocaleString('en')} values left (${percent}%, `
        + `${(members / Math.max(seconds, 0.001)).toFixed(0)} members/s)`)
    }
    const [left] = await sql<Array<{ n: string }>>`
      select private.pii_values_to_rotate()::text as n`
    const remaining = Number(left!.n)
    if (remaining > 0) {
      say(`stopped with ${remaining.toLocaleString('en')} values under older keys; run `
        + 'npm run pii:rotate-key again to resume')
      return 3
    }
    const [retired] = await sql<Array<{ n: number }>>`
      select private.pii_finish_rotation() as n`
    process.stdout.write(`rotation complete: key ${start!.active_key} encrypts every value; `
      + `${retired!.n} old key(s) retired\n`)
    return 0
  } catch (error) {
    throw new CannotRun(describe(error, options.url))
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await sql.end({ timeout: 1 })
  }
}

Promise.resolve()
  .then(() => rotate(parseOptions(process.argv.slice(2))))
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    const message = error instanceof CannotRun ? error.message : String(error)
    process.stderr.write(`error: ${message}\n`)
    process.exit(2)
  })
