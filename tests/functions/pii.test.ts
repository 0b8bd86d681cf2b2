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
  it('has the vectors the brief asks for', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(60)
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

  it('measurePiiThroughput reports a positive rate for a bench', () => {
    const r = measurePiiThroughput({ notes: 'Rapat guru 2024-03-12, nilai 85.' }, 5)
    expect(r.runs).toBeGreaterThan(0)
    expect(r.mbPerSecond).toBeGreaterThan(0)
  })
})
