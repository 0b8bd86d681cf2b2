/**
 * npm run bench -- pii [--rounds N (3)] [--keep]
 *
 * What personal-data protection costs, each figure against a baseline measured in the same run:
 *
 *   detector    functions/_shared/pii.ts detectPii() over a generated corpus of submission
 *               payloads (about 4.5 MB of JSON: Indonesian prose, numbers, dates, nested pupil
 *               records, a few identifiers), in MB/s of JSON text; the baseline walks the same
 *               documents and tests every string against one trivial pattern.
 *   insert      2,000 single-row inserts of a 10 KB AMPLIFY payload (allowed fields only, no
 *               identifier) as a member would send them, with the payload screening trigger
 *               (submissions_screen_payload) and with it disabled; ratio with / without.
 *   encryption  10,000 phone numbers through private.pii_encrypt() alone, and with their
 *               blind index (private.blind_index()) too; ms per 10,000 and the ratio.
 *
 * Rounds alternate which mode goes first; figures are medians over the rounds.
 * stdout: the tables, then one JSON line: ts_mb_s, insert_ratio, plus the other figures.
 * Targets: ts_mb_s >= 20, insert_ratio <= 1.5.
 */
import postgres from 'postgres'
import { detectPii } from '../functions/_shared/pii.ts'
import { dbUrl } from '../stack/lib/secrets.ts'
import { step } from '../stack/lib/say.ts'
import { createScratchDatabase, withBenchCluster } from './scratch.ts'
import { median, table } from './stats.ts'

const DATABASE = 'bench_pii'
const CORPUS_DOCUMENTS = 2_000
const INSERTS = 2_000
const ENCRYPTIONS = 10_000
const MIN_DETECTOR_MS = 1_500
const TARGET_MB_S = 20
const TARGET_RATIO = 1.5

interface Options {
  rounds: number
  keep: boolean
}

function parseOptions(argv: string[]): Options {
  const options: Options = { rounds: 3, keep: false }
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]
    if (arg === '--keep') options.keep = true
    else if (arg === '--rounds') {
      const value = argv[++i]
      const n = Number(value)
      if (!Number.isInteger(n) || n < 1 || n > 20) {
        throw new TypeError(`--rounds takes a whole number from 1 to 20, got "${value ?? ''}"`)
      }
      options.rounds = n
    } else throw new TypeError(`unknown option for the pii bench: "${arg}"`)
  }
  return options
}

// A small deterministic generator, so that every run measures the same corpus.
function generator(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

const WORDS = ('siswa kelas guru belajar membaca menulis berhitung proyek kelompok diskusi '
  + 'literasi numerasi asesmen formatif refleksi modul ajar sekolah dasar menengah '
  + 'praktik baik komunitas pelatihan kurikulum merdeka capaian pembelajaran').split(' ')

/** One submission payload: prose, numbers and pupil records, now and then an identifier. */
function payload(next: () => number, i: number): unknown {
  const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)]!
  const sentence = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(' ')
  const pupils = Array.from({ length: 5 + Math.floor(next() * 20) }, (_, k) => ({
    grade_level: 1 + Math.floor(next() * 12),
    subject: pick(['matematika', 'bahasa', 'ipa', 'ips']),
    performance_metric: Math.round(next() * 1000) / 10,
    anonymized_id: `P-${i}-${k}`,
  }))
  const extra = i % 10 === 0
    ? ` Hubungi wali kelas di 0812-${String(1000 + i % 9000)}-${String(2000 + i % 7000)}.`
    : i % 17 === 0 ? ` NIK 3201234105900${String(1 + i % 9).padStart(3, '0')}` : ''
  return {
    summary: sentence(40) + extra,
    reflection: sentence(60),
    hours: Math.floor(next() * 40),
    date: `2026-${String(1 + (i % 12)).padStart(2, '0')}-15`,
    order_number: 1_000_000 + i,
    studentsData: pupils,
    consentDocumented: true,
    institutionalApproval: true,
  }
}

/** The baseline: the same walk over every string, one trivial test each. */
function walk(value: unknown): number {
  let hits = 0
  const visit = (node: unknown): void => {
    if (typeof node === 'string') {
      if (/\d{6}/.test(node)) hits += 1
    } else if (typeof node === 'number') {
      if (String(node).length >= 6) hits += 1
    } else if (Array.isArray(node)) node.forEach(visit)
    else if (node !== null && typeof node === 'object') Object.values(node).forEach(visit)
  }
  visit(value)
  return hits
}

/** MB/s of JSON text that `scan` gets through, repeated for at least MIN_DETECTOR_MS. */
function throughput(documents: unknown[], bytes: number, scan: (d: unknown) => unknown): number {
  for (const d of documents.slice(0, 50)) scan(d)
  let runs = 0
  const start = performance.now()
  while (performance.now() - start < MIN_DETECTOR_MS) {
    for (const d of documents) scan(d)
    runs += 1
  }
  const seconds = (performance.now() - start) / 1000
  return (bytes * runs) / 1e6 / seconds
}

/** A 10 KB AMPLIFY payload with allowed fields only and no identifier. */
function amplifyPayload(): Record<string, unknown> {
  const next = generator(42)
  const doc = payload(next, 1) as Record<string, unknown>
  const pupils: unknown[] = []
  while (JSON.stringify({ ...doc, studentsData: pupils }).length < 10_000) {
    pupils.push({ grade_level: 4, subject: 'matematika', performance_metric: 78.5,
      anonymized_id: `P-${pupils.length}` })
  }
  return { ...doc, summary: 'Berbagi praktik baik di KKG', studentsData: pupils }
}

async function timeInserts(sql: postgres.Sql, member: string, body: string): Promise<number> {
  const start = performance.now()
  await sql.unsafe(`
    do $$
    begin
        for i in 1..${INSERTS} loop
            insert into public.submissions (owner_id, activity_code, title, payload)
            values ('${member}', 'AMPLIFY', 'Bench ' || i, $json$${body}$json$::jsonb);
        end loop;
    end
    $$`)
  return (performance.now() - start) / 1000
}

export async function run(argv: string[]): Promise<void> {
  const options = parseOptions(argv)
  const started = Date.now()

  step(`detector: generating ${CORPUS_DOCUMENTS.toLocaleString('en')} payloads`)
  const next = generator(7)
  const documents = Array.from({ length: CORPUS_DOCUMENTS }, (_, i) => payload(next, i))
  const bytes = documents.reduce<number>((n, d) => n + Buffer.byteLength(JSON.stringify(d)), 0)
  const found = documents.reduce<number>((n, d) => n + detectPii(d).length, 0)
  const detector: number[] = []
  const baseline: number[] = []
  for (let r = 0; r < options.rounds; r += 1) {
    step(`detector: round ${r + 1} of ${options.rounds}`)
    const pair = r % 2 === 0
      ? [throughput(documents, bytes, detectPii), throughput(documents, bytes, walk)]
      : [throughput(documents, bytes, walk), throughput(documents, bytes, detectPii)].reverse()
    detector.push(pair[0]!)
    baseline.push(pair[1]!)
  }

  await withBenchCluster('pii', { keep: options.keep, deadlineMs: 15 * 60_000 },
    async (cluster) => {
      const p = await createScratchDatabase(cluster, DATABASE)
      const sql = postgres(dbUrl(p, 'postgres', cluster.secrets.postgresPassword), {
        max: 1, onnotice: () => {}, connection: { application_name: 'leaps-bench-pii' },
      })
      try {
        const member = '6b1f2d64-0c3e-4a4f-9a57-2b0d3c1e5f01'
        await sql`insert into auth.users (id, email, raw_user_meta_data)
                  values (${member}, 'bench-pii@bench.invalid',
                          '{"handle": "bench_pii", "name": "Bench"}')`
        await sql`update public.users set region = 'Jawa Barat' where id = ${member}`
        const body = JSON.stringify(amplifyPayload())
        const times: Record<'with' | 'without', number[]> = { with: [], without: [] }
        for (let r = 0; r < options.rounds; r += 1) {
          const modes: Array<'with' | 'without'> =
            r % 2 === 0 ? ['without', 'with'] : ['with', 'without']
          for (const mode of modes) {
            step(`insert: round ${r + 1}, ${mode} the screening trigger, `
              + `${INSERTS.toLocaleString('en')} rows of ${body.length.toLocaleString('en')} B`)
            await sql.unsafe(`alter table public.submissions
              ${mode === 'with' ? 'enable' : 'disable'} trigger submissions_screen_payload`)
            await sql`delete from public.submissions where owner_id = ${member}`
            await sql`vacuum public.submissions`
            times[mode].push(await timeInserts(sql, member, body))
          }
        }
        await sql.unsafe('alter table public.submissions enable trigger submissions_screen_payload')

        const crypto: Record<'encrypt' | 'encrypt_index', number[]> = {
          encrypt: [], encrypt_index: [],
        }
        for (let r = 0; r < options.rounds; r += 1) {
          step(`encryption: round ${r + 1}, ${ENCRYPTIONS.toLocaleString('en')} phone numbers`)
          const values = `select '0812' || pg_catalog.lpad(g::text, 8, '0') as v
                          from pg_catalog.generate_series(1, ${ENCRYPTIONS}) as g`
          let t0 = performance.now()
          await sql.unsafe(`select pg_catalog.count((private.pii_encrypt(v)).cipher)
                            from (${values}) as s`)
          crypto.encrypt.push(performance.now() - t0)
          t0 = performance.now()
          await sql.unsafe(`select pg_catalog.count((private.pii_encrypt(v)).cipher),
                                   pg_catalog.count(private.blind_index('phone', v))
                            from (${values}) as s`)
          crypto.encrypt_index.push(performance.now() - t0)
        }

        const tsMbS = median(detector)
        const walkMbS = median(baseline)
        const insertWith = median(times.with)
        const insertWithout = median(times.without)
        const insertRatio = insertWith / insertWithout
        const encryptMs = median(crypto.encrypt)
        const indexMs = median(crypto.encrypt_index)
        const out = process.stdout
        out.write(`\nPII bench: ${options.rounds} round(s), medians; run time `
          + `${((Date.now() - started) / 1000).toFixed(0)} s\n\n`)
        out.write(table(['figure', 'value', 'baseline', 'ratio'], [
          ['detector MB/s (TS)', tsMbS.toFixed(1), walkMbS.toFixed(1),
            (walkMbS / tsMbS).toFixed(2)],
          [`insert of ${INSERTS} x 10 KB AMPLIFY, s`, insertWith.toFixed(2),
            insertWithout.toFixed(2), insertRatio.toFixed(2)],
          [`encrypt ${ENCRYPTIONS} phones (+ blind index), ms`, indexMs.toFixed(0),
            encryptMs.toFixed(0), (indexMs / encryptMs).toFixed(2)],
        ], [false, true, true, true]) + '\n\n')
        out.write(`corpus: ${documents.length.toLocaleString('en')} payloads, `
          + `${(bytes / 1e6).toFixed(1)} MB of JSON, ${found} identifiers found\n`)
        out.write(`detector: ${tsMbS >= TARGET_MB_S ? 'meets' : 'misses'} the target of `
          + `${TARGET_MB_S} MB/s; insert ratio ${insertRatio <= TARGET_RATIO ? 'meets' : 'misses'}`
          + ` the target of ${TARGET_RATIO}\n`)
        out.write(`encryption: ${(encryptMs / ENCRYPTIONS * 1000).toFixed(0)} us a value, `
          + `${((indexMs - encryptMs) / ENCRYPTIONS * 1000).toFixed(0)} us more with the blind `
          + 'index\n\n')
        out.write(JSON.stringify({
          bench: 'pii',
          ts_mb_s: Number(tsMbS.toFixed(1)),
          insert_ratio: Number(insertRatio.toFixed(3)),
          ts_vs_walk: Number((walkMbS / tsMbS).toFixed(2)),
          encrypt_10k_ms: Math.round(encryptMs),
          encrypt_index_10k_ms: Math.round(indexMs),
        }) + '\n')
      } finally {
        await sql.end({ timeout: 5 })
      }
    })
}
