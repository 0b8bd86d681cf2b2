/**
 * npm run bench -- lifecycle [--keep]
 *
 * What the data-lifecycle paths cost, on a scratch database of the bench cluster:
 *
 *   export     a heavy member (5,000 submissions, 20,000 points entries, 50,000 audit events
 *              they caused, 50 evidence files of 20 kB in the local Storage stand-in) exported
 *              as a ZIP archive through the dsar-export function, served by Deno as the stack
 *              serves it. Three runs; the time is the median wall clock from the request to
 *              the archive's last byte, and the peak is the functions process's highest
 *              resident memory during the exports (VmHWM, reset before the first export).
 *              The archive is opened and checked (every file and every history event present).
 *   retention  1,000,000 finished entries of the file-removal queue (private.storage_deletions,
 *              finished 60 days ago, policy `finished-file-removals`: 30 days) removed by
 *              `call private.run_retention(...)` in committed batches, while 8 clients keep
 *              queueing new entries (one INSERT every 2 ms each). The same load runs first for
 *              8 seconds without retention: the baseline. rows/s is 1,000,000 over the run's
 *              wall clock; the ratio is the inserts' p99 latency during the run over the
 *              baseline's p99. Afterwards no expired entry may remain and every new one must.
 *
 * The retention part runs three rounds (queue refilled, checkpoint before each phase); the
 * JSON line holds the medians over the rounds.
 *
 * stdout: tables, then one JSON line
 *   {"bench":"lifecycle","export_s","export_peak_mb","retention_rows_s","insert_p99_ratio"}
 * Targets: export under 2 s and 150 MB; retention at least 20,000 rows/s; p99 ratio at most 2.
 */
import { writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { unzipSync } from 'fflate'
import { startFunctions, waitForFunctions } from '../stack/lib/functions.ts'
import type { StackProfile } from '../stack/lib/profile.ts'
import { apiUrl, dbUrl, superuserUrl } from '../stack/lib/secrets.ts'
import { step } from '../stack/lib/say.ts'
import { stopChild } from '../stack/lib/stack.ts'
import { createScratchDatabase, withBenchCluster, type BenchCluster } from './scratch.ts'
import { median, percentile, processMemoryMb as memoryMb, table } from './stats.ts'

const DATABASE = 'bench_lifecycle'
const API_PORT = Number(process.env.LEAPS_BENCH_API_PORT ?? 54341)
const SUBMISSIONS = 5_000
const LEDGER = 20_000
const AUDIT_EVENTS = 50_000
const FILES = 50
const FILE_BYTES = 20_000
const EXPORT_RUNS = 3
const EXPIRED = 1_000_000
const CLIENTS = 8
const PACE_MS = 2
const BASELINE_MS = 8_000
const RETENTION_ROUNDS = 3
const DEADLINE_MS = 20 * 60_000

interface ExportFigures {
  seconds: number[]
  peakMb: number
  /** Resident memory of the functions process just before the first export. */
  idleMb: number
  bytes: number
}

/** Highest resident memory of a process since the last reset, in MB. */
async function seedHeavyMember(sql: postgres.Sql, api: string, serviceKey: string) {
  step('seeding the heavy member: submissions, points, audit events')
  const id = '7e000000-0000-4000-8000-000000000001'
  await sql`insert into auth.users (id, email, raw_user_meta_data)
            values (${id}, 'heavy@example.com', ${sql.json({ handle: 'heavy_teacher',
              name: 'Heavy Teacher' })})`
  // The screening triggers (npm run bench -- pii measures them) are not what this times.
  await sql`alter table public.submissions disable trigger user`
  await sql`
    insert into public.submissions (owner_id, activity_code, title, payload, created_at)
    select ${id}::uuid,
        (array['LEARN','EXPLORE','AMPLIFY','PRESENT','SHINE'])[1 + g % 5]::public.activity_code,
        'Kegiatan pengembangan ' || g, pg_catalog.jsonb_build_object('hours', 1 + g % 9,
            'reflection', pg_catalog.repeat('catatan ', 20)),
        pg_catalog.now() - pg_catalog.make_interval(mins => g)
    from pg_catalog.generate_series(1, ${SUBMISSIONS}) as g`
  await sql`alter table public.submissions enable trigger user`
  await sql`
    insert into public.points_ledger (user_id, delta, reason, created_at)
    select ${id}::uuid, 1 + g % 50, 'activity points ' || g,
        pg_catalog.now() - pg_catalog.make_interval(mins => g)
    from pg_catalog.generate_series(1, ${LEDGER}) as g`
  await sql`
    insert into audit.audit_log (actor_id, actor_type, action, target_type, target_id,
        metadata, occurred_at)
    select ${id}::uuid, 'USER', 'submission.read', 'public.submissions', g::text,
        pg_catalog.jsonb_build_object('page', g % 40), pg_catalog.now()
            - pg_catalog.make_interval(secs => g)
    from pg_catalog.generate_series(1, ${AUDIT_EVENTS}) as g`
  step(`uploading ${FILES} evidence files through the Storage stand-in`)
  const submissions = await sql`select id from public.submissions where owner_id = ${id}
                                order by created_at limit ${FILES}`
  for (const [i, s] of submissions.entries()) {
    const path = `${id}/${s.id}/${i}.pdf`
    const res = await fetch(`${api}/storage/v1/object/evidence/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${serviceKey}`, 'content-type': 'application/pdf' },
      body: randomBytes(FILE_BYTES),
    })
    if (!res.ok) throw new Error(`upload ${i} failed: ${res.status}`)
    await res.body?.cancel()
    await sql`insert into public.submission_attachments (submission_id, owner_id, storage_path,
                file_name, mime_type, byte_size, sha256)
              values (${s.id}, ${id}, ${path}, ${`bukti-${i}.pdf`}, 'application/pdf',
                ${FILE_BYTES}, ${'c'.repeat(64)})`
  }
  await sql`vacuum analyze`
  return id
}

async function benchExport(cluster: BenchCluster, scratch: StackProfile): Promise<ExportFigures> {
  const p: StackProfile = { ...scratch, apiPort: API_PORT }
  step(`starting the functions server on 127.0.0.1:${API_PORT}`)
  const functions = startFunctions(p, cluster.secrets)
  try {
    await waitForFunctions(p, functions)
    const sql = postgres(dbUrl(scratch, 'postgres', cluster.secrets.postgresPassword),
      { max: 1, onnotice: () => {} })
    try {
      const subject = await seedHeavyMember(sql, apiUrl(p), cluster.secrets.serviceRoleKey)
      const idleMb = memoryMb(functions.pid!, 'VmRSS')
      writeFileSync(`/proc/${functions.pid}/clear_refs`, '5')
      const seconds: number[] = []
      let bytes = 0
      for (let run = 1; run <= EXPORT_RUNS; run += 1) {
        const started = performance.now()
        const res = await fetch(`${apiUrl(p)}/functions/v1/dsar-export`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${cluster.secrets.serviceRoleKey}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ subject, format: 'zip' }),
        })
        const archive = new Uint8Array(await res.arrayBuffer())
        seconds.push((performance.now() - started) / 1000)
        if (res.status !== 200) throw new Error(`export answered ${res.status}`)
        bytes = archive.byteLength
        const entries = unzipSync(archive)
        const data = JSON.parse(new TextDecoder().decode(entries['data.json']))
        const files = Object.keys(entries).filter((n) => n.startsWith('attachments/'))
        if (data.submissions.length !== SUBMISSIONS || data.points.entries.length !== LEDGER
          || data.processing_history.length < AUDIT_EVENTS || files.length !== FILES
          || !entries['index.html']) {
          throw new Error('the archive is incomplete')
        }
        step(`export ${run}: ${seconds.at(-1)!.toFixed(2)} s, ${(bytes / 1e6).toFixed(1)} MB, `
          + `peak so far ${memoryMb(functions.pid!, 'VmHWM').toFixed(0)} MB`)
      }
      return { seconds, peakMb: memoryMb(functions.pid!, 'VmHWM'), idleMb, bytes }
    } finally {
      await sql.end()
    }
  } finally {
    await stopChild(functions)
  }
}

/** 8 clients queueing file removals, one INSERT every PACE_MS each, until `until` resolves. */
async function insertLoad(url: string, until: Promise<unknown>, tag: string): Promise<number[]> {
  let stop = false
  void until.then(() => { stop = true }, () => { stop = true })
  const latencies: number[] = []
  await Promise.all(Array.from({ length: CLIENTS }, async (_, client) => {
    const sql = postgres(url, { max: 1, onnotice: () => {} })
    try {
      let i = 0
      while (!stop) {
        const started = performance.now()
        await sql`insert into private.storage_deletions (bucket, path, subject_key)
                  values ('evidence', ${`${tag}/${client}/${i}`}, 'bench')`
        latencies.push(performance.now() - started)
        i += 1
        await new Promise((r) => setTimeout(r, PACE_MS))
      }
    } finally {
      await sql.end()
    }
  }))
  return latencies
}

interface RetentionRound {
  seconds: number
  batches: number
  baseline: number[]
  during: number[]
}

async function retentionRound(cluster: BenchCluster, scratch: StackProfile, round: number,
): Promise<RetentionRound> {
  const url = dbUrl(scratch, 'postgres', cluster.secrets.postgresPassword)
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  const superuser = postgres(superuserUrl(scratch, cluster.secrets), { max: 1,
    onnotice: () => {} })
  try {
    // Each round starts from an empty queue and a clean checkpoint.
    await sql`truncate private.storage_deletions`
    await superuser`checkpoint`
    step(`round ${round}: queueing ${EXPIRED.toLocaleString('en')} finished file removals, `
      + '60 days old')
    await sql`
      insert into private.storage_deletions (bucket, path, subject_key, queued_at, done_at)
      select 'evidence', 'expired/' || g, 'k' || (g % 1000), pg_catalog.now() - interval '61 days',
          pg_catalog.now() - interval '60 days'
      from pg_catalog.generate_series(1, ${EXPIRED}) as g`
    await sql`vacuum analyze private.storage_deletions`

    step(`round ${round}: baseline, ${CLIENTS} clients inserting for ${BASELINE_MS / 1000} s`)
    const baseline = await insertLoad(url, new Promise((r) => setTimeout(r, BASELINE_MS)), 'base')
    await superuser`checkpoint`

    step(`round ${round}: retention run with the same load beside it`)
    const runner = postgres(url, { max: 1, onnotice: () => {} })
    let seconds = 0
    const run = (async () => {
      // Let the load settle before the run starts.
      await new Promise((r) => setTimeout(r, 500))
      const started = performance.now()
      await runner`call private.run_retention('finished-file-removals')`
      seconds = (performance.now() - started) / 1000
    })()
    const during = await insertLoad(url, run, 'load')
    await runner.end()

    const [left] = await sql`select
        count(*) filter (where path like 'expired/%')::int as expired,
        count(*) filter (where path not like 'expired/%')::int as fresh
      from private.storage_deletions`
    const [log] = await sql`select status, affected::int, batches::int
                            from private.retention_runs order by id desc limit 1`
    if (left!.expired !== 0 || left!.fresh !== baseline.length + during.length
      || log!.status !== 'SUCCESS' || log!.affected !== EXPIRED) {
      throw new Error(`retention did not do what it should: ${JSON.stringify({ left, log })}`)
    }
    return { seconds, batches: log!.batches, baseline, during }
  } finally {
    await sql.end()
    await superuser.end()
  }
}

export async function run(argv: string[]): Promise<void> {
  const keep = argv.includes('--keep')
  await withBenchCluster('lifecycle', { keep, deadlineMs: DEADLINE_MS }, async (cluster) => {
    const scratch = await createScratchDatabase(cluster, DATABASE)
    const exported = await benchExport(cluster, scratch)
    const rounds: RetentionRound[] = []
    for (let round = 1; round <= RETENTION_ROUNDS; round += 1) {
      rounds.push(await retentionRound(cluster, scratch, round))
    }

    const exportS = median(exported.seconds)
    const p99 = (l: number[]) => percentile(l, 99)
    const ms = (v: number) => v.toFixed(2)
    const rates = rounds.map((r) => EXPIRED / r.seconds)
    const ratios = rounds.map((r) => p99(r.during) / p99(r.baseline))
    const rowsPerSecond = median(rates)
    const ratio = median(ratios)
    process.stdout.write([
      '',
      `Export of a heavy member as a ZIP (${SUBMISSIONS} submissions, ${LEDGER} points, `
        + `${AUDIT_EVENTS} audit events, ${FILES} files; ${(exported.bytes / 1e6).toFixed(1)} MB)`,
      table(['runs (s)', 'median (s)', 'RSS before (MB)', 'peak RSS (MB)'],
        [[exported.seconds.map((s) => s.toFixed(2)).join(' '), exportS.toFixed(2),
          exported.idleMb.toFixed(0), exported.peakMb.toFixed(0)]], [false, true, true, true]),
      '',
      `Retention of ${EXPIRED.toLocaleString('en')} expired rows beside ${CLIENTS} inserting `
        + `clients (${RETENTION_ROUNDS} rounds; medians in the JSON line)`,
      table(['round', 'run (s)', 'batches', 'rows/s', 'base p50', 'base p99', 'run p50',
        'run p99', 'run max', 'p99 ratio'],
      rounds.map((r, i) => [String(i + 1), r.seconds.toFixed(1), String(r.batches),
        Math.round(rates[i]!).toLocaleString('en'), ms(percentile(r.baseline, 50)),
        ms(p99(r.baseline)), ms(percentile(r.during, 50)), ms(p99(r.during)),
        ms(Math.max(...r.during)), ratios[i]!.toFixed(2)]),
      [true, true, true, true, true, true, true, true, true, true]),
      'latencies in ms, per INSERT',
      '',
      JSON.stringify({
        bench: 'lifecycle',
        export_s: Number(exportS.toFixed(3)),
        export_peak_mb: Number(exported.peakMb.toFixed(1)),
        retention_rows_s: Math.round(rowsPerSecond),
        insert_p99_ratio: Number(ratio.toFixed(3)),
      }),
      '',
    ].join('\n'))
  })
}
