/**
 * functions/_shared/pii.ts against the shared vectors in tests/vectors/indonesian-pii.json,
 * which tests/database/320_pii_detection.test.sql runs through private.pii_findings() too:
 * both must give every vector the same verdict.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  detectPii,
  detectPiiInText,
  type Finding,
  isValidNik,
  measurePiiThroughput,
  normaliseText,
  npwpCheckDigitOk,
} from '../../functions/_shared/pii.ts'

interface Vector {
  id: string
  note?: string
  input: unknown
  expect: Array<Omit<Finding, 'masked'> & { masked?: string }>
}

const { vectors } = JSON.parse(
  readFileSync(new URL('../vectors/indonesian-pii.json', import.meta.url), 'utf8'),
) as { vectors: Vector[] }

/** Findings as comparable, sorted strings; the mask only when the vector gives it. */
function comparable(findings: Vector['expect'], withMask: boolean): string[] {
  return findings
    .map((f) => [f.path, f.type, f.confidence, withMask ? f.masked : ''].join(' | '))
    .sort()
}

describe('Indonesian PII vectors (shared with the database suite)', () => {
  it('holds at least 170 vectors, each with its own id', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(170)
    expect(new Set(vectors.map((v) => v.id)).size).toBe(vectors.length)
  })

  it.each(vectors.map((v) => [v.id, v] as const))('%s', (_id, vector) => {
    const withMask = vector.expect.length > 0 && vector.expect.every((f) => f.masked)
    expect(comparable(detectPii(vector.input), withMask))
      .toEqual(comparable(vector.expect, withMask))
  })
})

describe('findings never carry the value', () => {
  it('holds no six digits in a row and no address, for any vector', () => {
    for (const vector of vectors) {
      const text = JSON.stringify(detectPii(vector.input))
      expect(text, vector.id).not.toMatch(/[0-9]{6}/)
      expect(text, vector.id).not.toMatch(/[^*]@/)
    }
  })

  it('names no key with 4 digits, an @ or a space in a path, for any vector', () => {
    for (const vector of vectors) {
      for (const f of detectPii(vector.input)) {
        // Array indexes are the only digits a path may hold in a row.
        const steps = f.path.replace(/\[[0-9]+\]/g, '')
        expect(steps, vector.id).not.toMatch(/(?:[0-9][^0-9]*){4}|@| /)
      }
    }
  })

  it('withholds a key that is personal data, and reports what it holds at [*]', () => {
    expect(detectPii({ siswa: { 'Budi Santoso 0812 3456 7890': 'ayah' } })).toEqual([
      { type: 'PHONE', confidence: 'high', masked: '08********90', path: '$.siswa[*]' },
    ])
  })

  it('masks digits to the first two and last two, whatever the separators', () => {
    expect(detectPiiInText('NIK 32.01.01.120385.0001')).toEqual([
      { type: 'NIK', confidence: 'high', masked: '32************01' },
    ])
  })
})

describe('building blocks', () => {
  // Textbook Luhn, written independently of the detector: double every second digit from
  // the right, add the digits, a multiple of 10 passes.
  const luhn = (digits: string) =>
    [...digits].reverse().reduce((sum, ch, i) => {
      const d = Number(ch) * (i % 2 === 1 ? 2 : 1)
      return sum + (d > 9 ? d - 9 : d)
    }, 0) % 10 === 0

  it('NPWP check digit agrees with a textbook Luhn on 2,000 numbers', () => {
    let state = 12345
    for (let i = 0; i < 2000; i++) {
      state = (state * 1103515245 + 12345) % 2147483648
      const nine = String(state % 1_000_000_000).padStart(9, '0')
      expect(npwpCheckDigitOk(nine), nine).toBe(luhn(nine))
    }
  })

  it('NIK dates: day + 40 for women, month lengths, leap years by YY % 4', () => {
    expect(isValidNik('3201015203850002')).toBe(true)
    expect(isValidNik('3201013104850001')).toBe(false)
    expect(isValidNik('3201012902840001')).toBe(true)
    expect(isValidNik('3201012902850001')).toBe(false)
  })

  it('the key a string sits under counts as context, also through arrays', () => {
    expect(detectPii({ dataNisn: ['0061234567'] })).toEqual([
      { type: 'NISN', confidence: 'high', masked: '00******67', path: '$.dataNisn[0]' },
    ])
  })

  it('normalises Unicode digits and spaces, drops invisible characters, reads O8 as 08', () => {
    expect(normaliseText('３２٠١۰۲\u00a0\u200b1\u00ad2\u2060\ufeff\t\n')).toBe('320102 12  ')
    expect(normaliseText('HP O812, NO812, ko81, O84')).toBe('HP 0812, NO812, ko81, O84')
  })

  it('a context key reaches every string, number and key beneath it', () => {
    expect(detectPii({ nik: { ayah: ['3201011203850001'], '3201015203850002': 1 } })).toEqual([
      { type: 'NIK', confidence: 'high', masked: '32************01', path: '$.nik.ayah[0]' },
      { type: 'NIK', confidence: 'high', masked: '32************02', path: '$.nik[*]' },
    ])
  })

  it('measurePiiThroughput reports a positive rate for a bench', () => {
    const r = measurePiiThroughput({ notes: 'Rapat guru 2024-03-12, nilai 85.' }, 5)
    expect(r.runs).toBeGreaterThan(0)
    expect(r.mbPerSecond).toBeGreaterThan(0)
  })
})

describe('work grows linearly with the text', () => {
  // Regression: the database detector took 15 s of CPU for {"nik": "1 1 1 ..."} of 60 KB, as
  // every group started a new search over the rest of the chain. Each shape below is 30,000
  // digit groups (60 KB); a linear scan takes a small fraction of the bound.
  const shapes: Array<[string, string]> = [
    ['one digit and a space', '1 '],
    ['nine different digits', '1 2 3 4 5 6 7 8 9 '],
    ['two digits', '12 '],
    ['mobile prefixes', '0812 '],
    ['province codes', '3201 '],
    ['slashes', '1/'],
    ['Arabic-Indic digits', '\u0661 '],
    ['zero-width spaces', '1\u200b '],
  ]

  it.each(shapes)('30,000 groups of %s are scanned in under a second', (_name, group) => {
    const text = group.repeat(Math.ceil(60_000 / group.length)).slice(0, 60_000)
    const start = performance.now()
    detectPii({ nik: text })
    expect(performance.now() - start).toBeLessThan(1_000)
  })
})
