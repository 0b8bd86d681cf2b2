/**
 * Indonesian personal identifiers in text and JSON documents: NIK (population number), NPWP
 * (tax number), NISN (student number), NUPTK (teacher number), mobile phone numbers and
 * e-mail addresses.
 *
 * private.pii_findings() in sql/35_pii_detection.sql applies the same rules in the database,
 * where they guard submissions. Both are run against tests/vectors/indonesian-pii.json and
 * must give the same verdicts: change a rule in both places and add a vector for it.
 *
 * A finding says what kind of identifier was seen, how sure the detector is, where the string
 * sits in the document and a masked form. It never carries the value itself.
 *
 * The rules:
 * - A number is a chain of digits joined by at most one separator each: a space, dot or dash,
 *   or a bracket with an optional space on either side. Only chains of 10 or more digits are
 *   considered, and only as a whole, so 16 digits inside a longer chain are not a NIK. A
 *   space may also end a number: when the whole chain is not an identifier, its
 *   space-separated groups are tried as shorter numbers, leftmost and longest first.
 * - A context word (NIK, KTP, NPWP, NISN, NUPTK or their long forms) counts when it ends at
 *   most 40 characters before the number, or when it is the object key the string sits
 *   under (camelCase keys are split into words).
 * - NIK: 16 digits, a known province code, regency and district not 00, a real birth date
 *   DDMMYY (women add 40 to the day; 29 February only in years divisible by 4), serial not
 *   0000. Medium confidence, high next to a NIK context word.
 * - NPWP: 15 digits whose first nine pass the Luhn check, or 16 digits that are a NIK or 0
 *   and such a 15-digit number. High when written 99.999.999.9-999.999 or next to an NPWP
 *   context word, else low; a 16-digit NIK counts as NPWP only next to an NPWP context word.
 * - NISN (10 digits) and NUPTK (16 digits) are reported only next to their context words.
 * - Phone: 0, 62 or +62 (also the mistaken "+62 0"), then 8 and 1-3 or 5-9, 10 to 13 digits
 *   in the 08 form. High confidence.
 * - E-mail: local part @ dotted domain with a top-level domain of two letters or more. High.
 * - A number made of one repeated digit is never an identifier.
 * - JSON strings are scanned, and integer numbers as their decimal digits. Keys are not
 *   scanned. Numbers beyond 2^53 cannot be read exactly in JavaScript, so only safe integers
 *   are scanned here; the database scans every integer.
 */

export const PII_TYPES = ['NIK', 'NPWP', 'NISN', 'NUPTK', 'PHONE', 'EMAIL'] as const
export type PiiType = (typeof PII_TYPES)[number]
export type PiiConfidence = 'high' | 'medium' | 'low'

/** One identifier seen in a document. */
export interface Finding {
  type: PiiType
  confidence: PiiConfidence
  /**
   * Where the string sits: `$` is the document itself, `.name` an object member whose name
   * is an identifier, `["other name"]` any other member (the name JSON-quoted), `[2]` an
   * array element, `[*]` a member whose name has 6 digits in a row or an @ (it could be an
   * identifier itself). For example `$.studentsData[2].notes`.
   */
  path: string
  /** Digits: the first two and last two kept. E-mail: `s***@e***.id`. */
  masked: string
}

/** A finding in one string, before it is placed in a document. */
export type TextFinding = Omit<Finding, 'path'>

// The patterns use only syntax that JavaScript and PostgreSQL read the same way, and match
// those of sql/35_pii_detection.sql. NUMBER_CHAIN differs there in form only (PostgreSQL
// pays for lookarounds and counted repeats on every call; V8 does not): both find the
// maximal chains of 10 digits or more.
const SEP = '(?:[ .-]|[ ]?[()][ ]?)'
const NUMBER_CHAIN = new RegExp(
  `(?<![0-9])(?<![0-9]${SEP})[0-9](?:${SEP}?[0-9]){9,}(?!${SEP}?[0-9])`,
  'g',
)
const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}/g
const NPWP_FORMATTED = /^[0-9]{2}\.[0-9]{3}\.[0-9]{3}\.[0-9]-[0-9]{3}\.[0-9]{3}$/

const GAP = '[^a-z0-9]+'
const CONTEXT_WORDS: Record<'NIK' | 'NPWP' | 'NISN' | 'NUPTK', string> = {
  NIK: `nik|ktp|nomor${GAP}induk${GAP}kependudukan`,
  NPWP: `npwp|nomor${GAP}pokok${GAP}wajib${GAP}pajak`,
  NISN: `nisn|nomor${GAP}induk${GAP}siswa${GAP}nasional`,
  NUPTK: `nuptk|nomor${GAP}unik${GAP}pendidik${GAP}dan${GAP}tenaga${GAP}kependidikan`,
}
type ContextKind = keyof typeof CONTEXT_WORDS

/** How far before a number its context word may end, and how much text that takes. */
const CONTEXT_GAP = 40
const CONTEXT_REACH = 100

// 'u': `.` then counts code points, as PostgreSQL counts characters.
const contextBefore = (words: string) =>
  new RegExp(`(?<![a-z])(?:${words})(?![a-z]).{0,${CONTEXT_GAP}}$`, 'isu')
const contextKey = (words: string) => new RegExp(`(?<![a-z])(?:${words})(?![a-z])`, 'iu')
const CONTEXT_BEFORE = mapContext(contextBefore)
const CONTEXT_KEY = mapContext(contextKey)

function mapContext(make: (words: string) => RegExp): Record<ContextKind, RegExp> {
  return {
    NIK: make(CONTEXT_WORDS.NIK),
    NPWP: make(CONTEXT_WORDS.NPWP),
    NISN: make(CONTEXT_WORDS.NISN),
    NUPTK: make(CONTEXT_WORDS.NUPTK),
  }
}

/** Province codes of Kemendagri, the first two digits of every NIK. */
const PROVINCES = new Set(
  ('11 12 13 14 15 16 17 18 19 21 31 32 33 34 35 36 51 52 53 61 62 63 64 65 71 72 73 74 75 76 ' +
    '81 82 91 92 93 94 95 96').split(' '),
)
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
const MOBILE = /^08[1-35-9][0-9]{7,10}$/
const IDENTIFIER_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/
const KEY_WITHHELD = /[0-9]{6}|@/

/** Whether 16 digits have the structure of a NIK. */
export function isValidNik(digits: string): boolean {
  if (!/^[0-9]{16}$/.test(digits)) return false
  if (!PROVINCES.has(digits.slice(0, 2))) return false
  if (digits.slice(2, 4) === '00' || digits.slice(4, 6) === '00') return false
  let day = Number(digits.slice(6, 8))
  const month = Number(digits.slice(8, 10))
  const year = Number(digits.slice(10, 12))
  if (day > 40) day -= 40
  if (month < 1 || month > 12 || day < 1) return false
  const last = month === 2 && year % 4 === 0 ? 29 : DAYS_IN_MONTH[month - 1]!
  return day <= last && digits.slice(12) !== '0000'
}

/** Luhn check of the first nine digits of an NPWP (the ninth is the check digit). */
export function npwpCheckDigitOk(digits: string): boolean {
  if (!/^[0-9]{9}/.test(digits)) return false
  let sum = 0
  for (let i = 0; i < 9; i++) {
    let d = digits.charCodeAt(i) - 48
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

/** Whether digits (separators removed) are an Indonesian mobile number. */
export function isMobileNumber(digits: string): boolean {
  let national: string
  if (digits.startsWith('620')) national = digits.slice(2)
  else if (digits.startsWith('62')) national = '0' + digits.slice(2)
  else national = digits
  return MOBILE.test(national)
}

const maskDigits = (d: string) => d.slice(0, 2) + '*'.repeat(d.length - 4) + d.slice(-2)

function maskEmail(address: string): string {
  const domain = address.slice(address.indexOf('@') + 1)
  return `${address[0]}***@${domain[0]}***.${domain.slice(domain.lastIndexOf('.') + 1)}`
}

/** Index `count` code points before `index` (or 0). */
function codePointsBack(text: string, index: number, count: number): number {
  let i = index
  for (let n = 0; n < count && i > 0; n++) {
    i -= 1
    const unit = text.charCodeAt(i)
    if (unit >= 0xdc00 && unit <= 0xdfff && i > 0) {
      const lead = text.charCodeAt(i - 1)
      if (lead >= 0xd800 && lead <= 0xdbff) i -= 1
    }
  }
  return i
}

/** camelCase keys read as words: `studentNisn` is tried as `student Nisn`. */
const keyWords = (key: string) => key.replace(/([a-z])([A-Z])/g, '$1 $2')

/** Which context words the key of a string holds; worked out once per string, when needed. */
class KeyContext {
  private words: string | undefined
  private readonly known = new Map<ContextKind, boolean>()

  constructor(private readonly key: string | undefined) {}

  has(kind: ContextKind): boolean {
    if (this.key === undefined) return false
    let answer = this.known.get(kind)
    if (answer === undefined) {
      this.words ??= keyWords(this.key)
      answer = CONTEXT_KEY[kind].test(this.words)
      this.known.set(kind, answer)
    }
    return answer
  }
}

const finding = (type: PiiType, confidence: PiiConfidence, digits: string): TextFinding => ({
  type,
  confidence,
  masked: maskDigits(digits),
})

/** Whether a context word of `kind` is the key, or ends shortly before the number. */
const hasContext = (kind: ContextKind, before: string, key: KeyContext) =>
  key.has(kind) || CONTEXT_BEFORE[kind].test(before)

/** Decides what one number (a chain or part of one) at `at` in `text` is, if anything. */
function classify(
  text: string,
  at: number,
  number: string,
  key: KeyContext,
): TextFinding | undefined {
  const digits = number.replace(/[^0-9]/g, '')
  const n = digits.length
  if (n < 10 || n > 16) return undefined
  if (digits === digits[0]!.repeat(n)) return undefined

  const before = text.slice(codePointsBack(text, at, CONTEXT_REACH), at)
  const validNik = n === 16 && isValidNik(digits)
  const zeroAndNpwp = n === 16 && digits[0] === '0' && npwpCheckDigitOk(digits.slice(1))

  if (n === 16 && hasContext('NUPTK', before, key)) return finding('NUPTK', 'high', digits)
  if (n === 10 && hasContext('NISN', before, key)) return finding('NISN', 'high', digits)
  if ((validNik || zeroAndNpwp) && hasContext('NPWP', before, key)) {
    return finding('NPWP', 'high', digits)
  }
  // "+62 ..." is a phone even where the digits would also pass the NPWP check.
  if (at > 0 && text.charCodeAt(at - 1) === 43 && isMobileNumber(digits)) {
    return finding('PHONE', 'high', digits)
  }
  if (validNik) {
    return finding('NIK', hasContext('NIK', before, key) ? 'high' : 'medium', digits)
  }
  if (n === 15 && npwpCheckDigitOk(digits)) {
    const sure = NPWP_FORMATTED.test(number) || hasContext('NPWP', before, key)
    return finding('NPWP', sure ? 'high' : 'low', digits)
  }
  if (zeroAndNpwp) return finding('NPWP', 'low', digits)
  if (isMobileNumber(digits)) return finding('PHONE', 'high', digits)
  return undefined
}

/**
 * Identifiers in one string. `key` is the object key the string sits under, if any: it
 * counts as context for every number in the string.
 */
export function detectPiiInText(text: string, key?: string): TextFinding[] {
  const out: TextFinding[] = []
  const keyContext = new KeyContext(key)
  NUMBER_CHAIN.lastIndex = 0
  for (let m = NUMBER_CHAIN.exec(text); m !== null; m = NUMBER_CHAIN.exec(text)) {
    const chain = m[0]
    const whole = classify(text, m.index, chain, keyContext)
    if (whole) out.push(whole)
    else if (chain.includes(' ')) scanGroups(text, m.index, chain, keyContext, out)
  }
  if (text.includes('@')) {
    EMAIL.lastIndex = 0
    for (let m = EMAIL.exec(text); m !== null; m = EMAIL.exec(text)) {
      out.push({ type: 'EMAIL', confidence: 'high', masked: maskEmail(m[0]) })
    }
  }
  return out
}

/**
 * A chain that is no identifier as a whole may hold one between its spaces ("kelas 7
 * 3201..."). Runs of its groups are tried leftmost first, longest first; the whole chain has
 * been tried already.
 */
function scanGroups(
  text: string,
  at: number,
  chain: string,
  key: KeyContext,
  out: TextFinding[],
): void {
  const groups = chain.split(' ')
  const starts: number[] = []
  const digitCounts: number[] = []
  let offset = at
  let digits = 0
  for (const g of groups) {
    starts.push(offset)
    offset += g.length + 1
    digitCounts.push(g.replace(/[^0-9]/g, '').length)
    digits += digitCounts[digitCounts.length - 1]!
  }
  // Every run but the whole chain leaves out its first or its last group.
  if (digits - Math.min(digitCounts[0]!, digitCounts[groups.length - 1]!) < 10) return
  let i = 0
  while (i < groups.length) {
    let last = i
    let total = digitCounts[i]!
    while (last + 1 < groups.length && total + digitCounts[last + 1]! <= 16) {
      last += 1
      total += digitCounts[last]!
    }
    let next = i + 1
    for (let j = last; j >= i && total >= 10; total -= digitCounts[j]!, j--) {
      if (i === 0 && j === groups.length - 1) continue
      const finding = classify(text, starts[i]!, groups.slice(i, j + 1).join(' '), key)
      if (finding) {
        out.push(finding)
        next = j + 1
        break
      }
    }
    i = next
  }
}

/** A key that may itself be an identifier is written `[*]`, so that no path repeats it. */
const pathStep = (key: string) =>
  KEY_WITHHELD.test(key) ? '[*]' : IDENTIFIER_KEY.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`

/**
 * Identifiers in every string (and integer) of a JSON-like value, each with its path. The
 * order of findings is not part of the contract.
 */
export function detectPii(value: unknown): Finding[] {
  const out: Finding[] = []
  const seen = new Set<object>()
  const visit = (node: unknown, path: string, key: string | undefined): void => {
    let text: string | undefined
    if (typeof node === 'string') text = node
    else if (typeof node === 'number' && Number.isSafeInteger(node)) text = String(node)
    else if (node !== null && typeof node === 'object') {
      if (seen.has(node)) return
      seen.add(node)
      if (Array.isArray(node)) {
        for (let i = 0; i < node.length; i++) visit(node[i], `${path}[${i}]`, key)
      } else {
        for (const [k, v] of Object.entries(node)) visit(v, path + pathStep(k), k)
      }
      seen.delete(node)
      return
    }
    if (text === undefined || text.length < 6) return
    for (const f of detectPiiInText(text, key)) out.push({ ...f, path })
  }
  visit(value, '$', undefined)
  return out
}

/**
 * Runs detectPii over `sample` repeatedly for at least `minMs` milliseconds and reports the
 * rate in megabytes (10^6 bytes of the sample's UTF-8 JSON text) per second. For benches.
 */
export function measurePiiThroughput(
  sample: unknown,
  minMs = 250,
): { bytes: number; runs: number; ms: number; mbPerSecond: number } {
  const bytes = new TextEncoder().encode(JSON.stringify(sample)).length
  detectPii(sample)
  let runs = 0
  const start = performance.now()
  let elapsed = 0
  while (elapsed < minMs) {
    detectPii(sample)
    runs += 1
    elapsed = performance.now() - start
  }
  return { bytes, runs, ms: elapsed, mbPerSecond: (bytes * runs) / 1e6 / (elapsed / 1000) }
}
