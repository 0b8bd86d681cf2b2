/**
 * npm run bench -- <name> [options]
 *
 * Runs one benchmark by name. Each benchmark brings up the `bench` stack profile (a cluster of
 * its own, never the dev or test one), prints a readable report on stdout and ends stdout
 * with exactly one JSON line, so that a script can keep the figures. Progress goes to stderr.
 *
 *   npm run bench -- rls            cost of the row-level security policies (see bench/rls.ts)
 *   npm run bench -- rls --keep     leave the bench cluster running afterwards
 *   npm run bench -- audit          cost of the audit trail on writes (see bench/audit.ts)
 *   npm run bench -- pii            PII detector throughput, payload screening and encryption
 *   npm run bench -- lifecycle      a heavy member's export, and retention beside inserts
 *   npm run bench -- upload         the evidence-upload pipeline against storing unchecked
 *   npm run bench -- monitor        the security detectors and their cron job on 10,000,000
 *                                   audit events (see bench/monitor.ts)
 */
import { StackError } from '../stack/lib/cluster.ts'
import { fail } from '../stack/lib/say.ts'

type Bench = (argv: string[]) => Promise<void>

const benches: Record<string, { about: string; load: () => Promise<Bench> }> = {
  rls: {
    about: 'RLS policies vs hand-written filters and vs the guide-style policies',
    load: async () => (await import('./rls.ts')).run,
  },
  audit: {
    about: 'audit trail on bulk and concurrent writes, with vs without; seal and verify',
    load: async () => (await import('./audit.ts')).run,
  },
  pii: {
    about: 'PII detector MB/s, payload screening on inserts, encryption with a blind index',
    load: async () => (await import('./pii.ts')).run,
  },
  lifecycle: {
    about: 'a heavy member\'s ZIP export; 1,000,000 rows of retention beside 8 inserting clients',
    load: async () => (await import('./lifecycle.ts')).run,
  },
  upload: {
    about: 'evidence-upload (scan, type, strip, hash, store) vs storing the bytes unchecked',
    load: async () => (await import('./upload.ts')).run,
  },
  monitor: {
    about: 'security detectors and their per-minute job on 10,000,000 audit events',
    load: async () => (await import('./monitor.ts')).run,
  },
}

function usage(): string {
  const names = Object.entries(benches).map(([name, b]) => `  ${name.padEnd(10)} ${b.about}`)
  return ['usage: npm run bench -- <name> [options]', 'benches:', ...names].join('\n')
}

const [name, ...rest] = process.argv.slice(2)
if (name === undefined || name === '--help' || name === '-h') {
  process.stderr.write(usage() + '\n')
  process.exit(name === undefined ? 2 : 0)
}
const bench = Object.hasOwn(benches, name) ? benches[name] : undefined
if (!bench) {
  fail(`unknown bench "${name}"; known benches: ${Object.keys(benches).join(', ')}`, usage())
}

try {
  await (await bench.load())(rest)
} catch (error) {
  if (error instanceof StackError) fail(error.message, error.hint)
  fail(error instanceof Error ? (error.stack ?? error.message) : String(error))
}
