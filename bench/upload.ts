/**
 * npm run bench -- upload [--runs N (15)] [--keep]
 *
 * What the evidence-upload pipeline costs against storing the same bytes unchecked, on the
 * bench cluster with its own clamd and functions server (as the stack runs them):
 *
 *   pipeline   POST multipart/form-data to evidence-upload: bounded read, clamd scan
 *              (INSTREAM), type by content, metadata removal, SHA-256, store through the
 *              Storage API, row and audit event
 *   raw store  POST of the same bytes straight to the Storage API (service key): no checks
 *
 * Files: a JPEG of about 10 MB (random pixels at quality 100, with EXIF and GPS, so there is
 * metadata to remove) and a PDF of about 10 MB (one page, a large content stream, document
 * information to blank). Each is sent --runs times through each path, alternating which path
 * goes first; the ratio is the median pipeline time over the median raw time. The peak is the
 * functions process's resident memory during the pipeline runs above its resident memory
 * before them (VmHWM, reset first), against the target of 3x the file size.
 *
 * stdout: a table, then one JSON line {"bench":"upload","jpeg_ratio","pdf_ratio","peak_mb"}.
 * Target: each ratio at most 2; peak below 3x file size.
 */
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import postgres from 'postgres'
import sharp from 'sharp'
import { startClamd, waitForClamd } from '../stack/lib/clamd.ts'
import { startFunctions, waitForFunctions } from '../stack/lib/functions.ts'
import { simplePdf } from '../stack/lib/pdf.ts'
import type { StackProfile } from '../stack/lib/profile.ts'
import { step } from '../stack/lib/say.ts'
import { apiUrl, dbUrl } from '../stack/lib/secrets.ts'
import { stopChild } from '../stack/lib/stack.ts'
import { issueUserToken } from '../stack/lib/tokens.ts'
import { createScratchDatabase, withBenchCluster } from './scratch.ts'
import { median, processMemoryMb as memoryMb, table } from './stats.ts'

const DATABASE = 'bench_upload'
const API_PORT = Number(process.env.LEAPS_BENCH_API_PORT ?? 54341)
const TARGET_BYTES = 9_800_000
const DEADLINE_MS = 15 * 60_000

/** Random pixels compress badly: the side is chosen so the JPEG lands just under 10 MB. */
async function bigJpeg(): Promise<Uint8Array> {
  let side = 2400
  for (let attempt = 0; attempt < 6; attempt += 1) {
    const pixels = randomBytes(side * side * 3)
    const jpeg = await sharp(pixels, { raw: { width: side, height: side, channels: 3 } })
      .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
      .withExif({ IFD0: { Make: 'BenchPhone', Model: 'B-1', Artist: 'Bench Teacher' },
        IFD3: { GPSLatitudeRef: 'S', GPSLatitude: '6/1 12/1 0/1', GPSLongitudeRef: 'E',
          GPSLongitude: '106/1 49/1 0/1' } })
      .toBuffer()
    if (jpeg.length <= TARGET_BYTES && jpeg.length > TARGET_BYTES * 0.9) return jpeg
    side = Math.floor(side * Math.sqrt(TARGET_BYTES * 0.95 / jpeg.length))
  }
  throw new Error('could not make a JPEG of the wanted size')
}

/** One page whose content stream is mostly hex digits (no PDF syntax), with metadata. */
function bigPdf(): Uint8Array {
  return simplePdf({
    text: 'Bench',
    filler: randomBytes(Math.floor((TARGET_BYTES - 2000) / 2)).toString('hex'),
    info: { Author: 'Bench Teacher', Creator: 'Bench Writer 1.0', Producer: 'Bench PDF' },
  })
}

export async function run(argv: string[]): Promise<void> {
  const keep = argv.includes('--keep')
  const runsAt = argv.indexOf('--runs')
  const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 15
  if (!Number.isInteger(runs) || runs < 1 || runs > 50) {
    throw new Error('--runs must be a whole number from 1 to 50')
  }
  await withBenchCluster('upload', { keep, deadlineMs: DEADLINE_MS }, async (cluster) => {
    const scratch = await createScratchDatabase(cluster, DATABASE)
    const p: StackProfile = { ...scratch, apiPort: API_PORT }
    step(`starting clamd on 127.0.0.1:${p.clamdPort}`)
    const scanner = { dir: path.join(p.dir, 'clamd'), port: p.clamdPort }
    const { child: clamd } = await startClamd(scanner)
    try {
      await waitForClamd(scanner, clamd)
      step(`starting the functions server on 127.0.0.1:${API_PORT}`)
      const functions = startFunctions(p, cluster.secrets)
      try {
        await waitForFunctions(p, functions)
        const figures = await measure(p, cluster.secrets, functions.pid!, runs)
        report(figures, runs)
      } finally {
        await stopChild(functions)
      }
    } finally {
      await stopChild(clamd)
    }
  })
}

interface Figures {
  files: Array<{ kind: 'jpeg' | 'pdf'; bytes: number; pipeline: number[]; raw: number[] }>
  idleMb: number
  peakMb: number
}

async function measure(p: StackProfile, secrets: { postgresPassword: string;
  jwtSecret: string; serviceRoleKey: string }, pid: number, runs: number): Promise<Figures> {
  const sql = postgres(dbUrl(p, 'postgres', secrets.postgresPassword),
    { max: 1, onnotice: () => {} })
  try {
    const id = '7e000000-0000-4000-8000-0000000000aa'
    await sql`insert into auth.users (id, email, raw_user_meta_data)
      values (${id}, 'uploader@example.com', ${sql.json({ handle: 'bench_uploader' })})`
    await sql`update private.rate_limit_rules set max_requests = 100000`
    const [submission] = await sql`insert into public.submissions (owner_id, activity_code, title)
      values (${id}, 'LEARN', 'Bench evidence') returning id`
    const { token } = await issueUserToken(sql, secrets.jwtSecret, id, {})

    step('making a 10 MB JPEG and a 10 MB PDF')
    const files = [
      { kind: 'jpeg' as const, bytes: await bigJpeg(), type: 'image/jpeg', name: 'foto.jpg' },
      { kind: 'pdf' as const, bytes: bigPdf(), type: 'application/pdf', name: 'laporan.pdf' },
    ]
    const api = apiUrl(p)
    const pipeline = async (file: typeof files[number]) => {
      const form = new FormData()
      form.set('submission_id', submission!.id as string)
      form.set('file', new Blob([file.bytes as Uint8Array<ArrayBuffer>], { type: file.type }),
        file.name)
      const started = performance.now()
      const res = await fetch(`${api}/functions/v1/evidence-upload`, {
        method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form })
      const text = await res.text()
      const ms = performance.now() - started
      if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${text}`)
      return ms
    }
    let n = 0
    const raw = async (file: typeof files[number]) => {
      n += 1
      const started = performance.now()
      const res = await fetch(`${api}/storage/v1/object/evidence/raw/${n}.${file.kind}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secrets.serviceRoleKey}`, 'content-type': file.type },
        body: file.bytes as Uint8Array<ArrayBuffer>,
      })
      await res.body?.cancel()
      const ms = performance.now() - started
      if (!res.ok) throw new Error(`raw store answered ${res.status}`)
      return ms
    }

    // A warm-up of each path, untimed, then the peak is measured from here.
    for (const file of files) {
      await pipeline(file)
      await raw(file)
    }
    const idleMb = memoryMb(pid, 'VmRSS')
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    const result: Figures['files'] = []
    for (const file of files) {
      const times = { pipeline: [] as number[], raw: [] as number[] }
      for (let i = 0; i < runs; i += 1) {
        if (i % 2 === 0) {
          times.pipeline.push(await pipeline(file))
          times.raw.push(await raw(file))
        } else {
          times.raw.push(await raw(file))
          times.pipeline.push(await pipeline(file))
        }
        step(`${file.kind} ${i + 1}/${runs}: pipeline ${times.pipeline.at(-1)!.toFixed(0)} ms, `
          + `raw ${times.raw.at(-1)!.toFixed(0)} ms`)
      }
      result.push({ kind: file.kind, bytes: file.bytes.byteLength, ...times })
    }
    const [stored] = await sql`select count(*)::int as n from public.submission_attachments`
    if (stored!.n !== files.length * (runs + 1)) throw new Error('not every upload was stored')
    return { files: result, idleMb, peakMb: memoryMb(pid, 'VmHWM') }
  } finally {
    await sql.end()
  }
}

function report(figures: Figures, runs: number): void {
  const mb = (bytes: number) => bytes / 1e6
  const rows = figures.files.map((f) => {
    const pipe = median(f.pipeline)
    const raw = median(f.raw)
    return [f.kind, mb(f.bytes).toFixed(1), pipe.toFixed(0), raw.toFixed(0),
      (mb(f.bytes) / (pipe / 1000)).toFixed(1), (mb(f.bytes) / (raw / 1000)).toFixed(1),
      (pipe / raw).toFixed(2)]
  })
  const ratio = (kind: string) => {
    const f = figures.files.find((x) => x.kind === kind)!
    return median(f.pipeline) / median(f.raw)
  }
  const growth = figures.peakMb - figures.idleMb
  const largest = Math.max(...figures.files.map((f) => mb(f.bytes)))
  process.stdout.write([
    '',
    `Evidence upload, ${runs} runs per path (medians)`,
    table(['file', 'MB', 'pipeline ms', 'raw ms', 'pipeline MB/s', 'raw MB/s', 'ratio'], rows,
      [false, true, true, true, true, true, true]),
    `functions process: ${figures.idleMb.toFixed(0)} MB before, peak ${
      figures.peakMb.toFixed(0)} MB: ${growth.toFixed(0)} MB above, `
      + `${(growth / largest).toFixed(1)}x the file size`,
    '',
    JSON.stringify({
      bench: 'upload',
      jpeg_ratio: Number(ratio('jpeg').toFixed(3)),
      pdf_ratio: Number(ratio('pdf').toFixed(3)),
      peak_mb: Number(growth.toFixed(1)),
    }),
    '',
  ].join('\n'))
}
