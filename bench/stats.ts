/** Summary statistics, process memory and plain-text tables for benchmark reports. */
import { readFileSync } from 'node:fs'

/** Median of the samples: the mean of the two middle values when their number is even. */
export function median(samples: number[]): number {
  if (samples.length === 0) throw new TypeError('median of no samples')
  const sorted = [...samples].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Percentile by the nearest-rank method: a value that was actually observed. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) throw new TypeError('percentile of no samples')
  if (!(p > 0 && p <= 100)) throw new TypeError(`percentile must be in (0, 100], got ${p}`)
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.ceil((p / 100) * sorted.length) - 1]!
}

/** Geometric mean, the average that suits ratios (a ratio and its inverse average to 1). */
export function geometricMean(values: number[]): number {
  if (values.length === 0) throw new TypeError('geometric mean of no values')
  return Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length)
}

/** Left-aligns text columns and right-aligns the others, with a rule under the header. */
export function table(header: string[], rows: string[][], numeric: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) => cells
    .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
    .join('  ')
    .trimEnd()
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

/**
 * A process's resident memory in MB from /proc: VmRSS now, or VmHWM, the highest since it
 * started or since "5" was written to /proc/<pid>/clear_refs.
 */
export function processMemoryMb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN)
  return kb / 1024
}
