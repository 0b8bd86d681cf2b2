/**
 * npm test: runs every suite against a fresh `test` stack of its own (separate cluster and
 * ports, so the dev stack and its data are never touched) and ends with one summary line:
 * `N passed, N failed` (`, N skipped` when some were skipped).
 *
 *   npm test                      all suites
 *   npm test -- --only pgtap      just one suite (pgtap | vitest)
 *   npm test -- --keep            leave the test stack running afterwards
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { connect } from '../stack/lib/database.ts'
import { storageDir } from '../stack/lib/functions.ts'
import { profile, projectRoot } from '../stack/lib/profile.ts'
import { apiUrl, dbUrl, superuserUrl } from '../stack/lib/secrets.ts'
import { clearState, down, up, writeState, type RunningStack } from '../stack/lib/stack.ts'
import { stopStack } from '../stack/cli/stop.ts'
import { step } from '../stack/lib/say.ts'

interface Tally {
  passed: number
  failed: number
  skipped: number
}

const argv = process.argv.slice(2)
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined
const keep = argv.includes('--keep')
const p = profile('test')

function runPgTap(env: NodeJS.ProcessEnv): Tally {
  const dir = path.join(projectRoot, 'tests', 'database')
  const files = readdirSync(dir).filter((f) => f.endsWith('.test.sql')).sort()
    .map((f) => path.join('tests', 'database', f))
  if (files.length === 0) {
    step('pgTAP: no test files in tests/database')
    return { passed: 0, failed: 0, skipped: 0 }
  }
  step(`pgTAP: ${files.length} files with pg_prove`)
  const result = spawnSync('pg_prove', ['--verbose', '--failures', ...files], {
    cwd: projectRoot,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  const out = `${result.stdout}${result.stderr}`
  const lines = out.split('\n')
  // Print failures and the per-file summary; passing assertions would drown them.
  for (const line of lines) {
    if (/^\s*not ok/.test(line) || /^#/.test(line.trim()) || /\.\. (ok|Failed|Dubious)/.test(line)
      || /^(Files|Result|All tests)/.test(line) || /Parse errors|Wstat|No plan/.test(line)
      // The error that stopped a file (psql prints it on stderr, with the file and line).
      || /^psql:.*(ERROR|FATAL)|^(DETAIL|HINT):/.test(line)) {
      process.stdout.write(line + '\n')
    }
  }
  const tally: Tally = { passed: 0, failed: 0, skipped: 0 }
  for (const line of lines) {
    if (/^\s*ok \d+.*# skip/i.test(line)) tally.skipped += 1
    else if (/^\s*ok \d+/.test(line)) tally.passed += 1
    else if (/^\s*not ok \d+/.test(line)) tally.failed += 1
  }
  // A file that dies before its plan completes counts as one failure even without a "not ok".
  const broken = lines.filter((l) => /Parse errors|Non-zero exit status/.test(l)).length
  tally.failed += broken
  if (result.status !== 0 && tally.failed === 0) tally.failed += 1
  return tally
}

function runVitest(env: NodeJS.ProcessEnv): Tally {
  const report = path.join(p.dir, 'vitest-report.json')
  rmSync(report, { force: true })
  step('vitest: functions, stack and end-to-end suites')
  const vitest = path.join(projectRoot, 'node_modules', 'vitest', 'vitest.mjs')
  const result = spawnSync(process.execPath, [vitest, 'run', '--reporter=default',
    '--reporter=json', `--outputFile=${report}`], { cwd: projectRoot, env, stdio: 'inherit' })
  if (!existsSync(report)) return { passed: 0, failed: 1, skipped: 0 }
  const json = JSON.parse(readFileSync(report, 'utf8')) as {
    numPassedTests: number
    numFailedTests: number
    numPendingTests: number
    numTodoTests: number
    numFailedTestSuites: number
  }
  const tally = {
    passed: json.numPassedTests,
    failed: json.numFailedTests + (json.numFailedTests === 0 ? json.numFailedTestSuites : 0),
    skipped: json.numPendingTests + json.numTodoTests,
  }
  if (result.status !== 0 && tally.failed === 0) tally.failed = 1
  return tally
}

async function main(): Promise<number> {
  await stopStack(p)
  // Every run starts from an empty cluster, so results never depend on an earlier run.
  rmSync(p.pgdata, { recursive: true, force: true })
  rmSync(storageDir(p), { recursive: true, force: true })
  for (const log of ['postgres.log', 'functions.log', 'clamd/clamd.log', 'clamd/clamd.err']) {
    rmSync(path.join(p.dir, log), { force: true })
  }
  let running: RunningStack | undefined
  const total: Tally = { passed: 0, failed: 0, skipped: 0 }
  try {
    running = await up(p, { functions: only !== 'pgtap' })
    // Recorded like `npm start` does, so `npm run stop -- --profile test` (or the next run)
    // can stop a functions server and clamd left running by --keep. No owner pid: this
    // process exits.
    writeState(p, { ownerPid: 0, denoPid: running.functions?.pid, clamdPid: running.clamd?.pid })
    const s = running.secrets
    // The detectors' per-minute job would act on what the suites leave (alerts, automatic
    // responses such as pausing exports) at moments no test chooses: on the test stack it is
    // paused, and tests call private.run_detectors() themselves.
    const owner = connect(superuserUrl(p, s))
    try {
      await owner`select cron.alter_job(j.jobid, active => false)
                  from cron.job as j where j.jobname = 'security-detectors'`
    } finally {
      await owner.end()
    }
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PGHOST: '127.0.0.1',
      PGPORT: String(p.dbPort),
      PGUSER: 'postgres',
      PGPASSWORD: s.postgresPassword,
      PGDATABASE: p.database,
      LEAPS_TEST_DB_URL: dbUrl(p, 'postgres', s.postgresPassword),
      LEAPS_TEST_API_URL: apiUrl(p),
      LEAPS_TEST_JWT_SECRET: s.jwtSecret,
      LEAPS_TEST_ANON_KEY: s.anonKey,
      LEAPS_TEST_SERVICE_ROLE_KEY: s.serviceRoleKey,
      LEAPS_TEST_FUNCTIONS_LOG: path.join(p.dir, 'functions.log'),
    }
    const suites: Array<[string, () => Tally]> = [
      ['pgtap', () => runPgTap(env)],
      ['vitest', () => runVitest(env)],
    ]
    for (const [name, run] of suites) {
      if (only && only !== name) continue
      const t = run()
      step(`${name}: ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`)
      total.passed += t.passed
      total.failed += t.failed
      total.skipped += t.skipped
    }
  } catch (error) {
    process.stderr.write(`the test stack failed: ${(error as Error).message}\n`)
    total.failed += 1
  } finally {
    if (!keep) {
      await down(p, running)
      clearState(p)
    }
  }
  const summary = `${total.passed} passed, ${total.failed} failed` +
    (total.skipped > 0 ? `, ${total.skipped} skipped` : '')
  process.stdout.write(summary + '\n')
  return total.failed > 0 || total.passed === 0 ? 1 : 0
}

main().then((code) => process.exit(code))
