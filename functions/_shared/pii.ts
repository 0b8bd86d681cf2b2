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
 * - Every string and key is normalised first: full-width (０-９) and Arabic-Indic (٠-٩, ۰-۹)
 *   digits become ASCII digits; zero-width space, non-joiner and joiner, soft hyphen, word
 *   joiner and BOM are removed; tab, line breaks and the Unicode spaces become a space; the
 *   Kelvin sign and long s become K and s (case-insensitive matching would read them so in
 *   one engine and not the other). A letter O that does not follow a letter or digit and is
 *   followed by 8 and 1-3 or 5-9 is read as 0 ("O812 ..." is a mobile number).
 * - A chain is digit groups joined by separators of one to three characters from
 *   ` . , / _ ( ) -` ("3201/0112", "0812 - 3456", "(021) 555"). A chain of 10 to 16 digits is
 *   first tried as a whole, so 16 digits inside a longer chain are not a NIK. A separator
 *   holding a space, comma or slash may also end a number: when the whole chain is no
 *   identifier, runs of the pieces between such separators are tried, never the whole chain
 *   again. A first pass takes the leftmost, then longest run that is an identifier of high
 *   confidence, and carries on after it; a second pass does the same for any confidence in
 *   the pieces left over. So a medium finding never hides a high one ("12/03/2024 0812 ...").
 *   Each start tries at most 7 runs of at most 16 pieces: the work is linear in the text.
 * - A context word counts when it ends at most 40 characters before the number (within the
 *   100 characters before it), or when it is the key of the string or of any object or array
 *   the string sits in (camelCase keys are split into words). Context words: NIK, KTP, NPWP,
 *   NISN, NUPTK, also written with dots or spaces between the letters (N.I.K., N I K), their
 *   long forms, "national id" (NIK and NISN), "student id" and "student number" (NISN). A
 *   word must not follow or be followed by a letter ("teknik" and "nikah" hold no NIK), where
 *   words are first split between a lower-case letter and a capital (camelCase keys:
 *   "studentNisn") and after capitals glued to a lower-case word ("NIKsiswa", "KTPnya").
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
 * - JSON strings are scanned, and numbers with no fraction (3201011203850001.0 included) as
 *   their integer digits. Under a phone key (tel, telp, telepon, telpon, phone, hp, wa,
 *   whatsapp, handphone, ponsel, mobile, at any depth above), a number of 9 to 12 digits
 *   starting with 8 and 1-3 or 5-9 is read with its leading 0 (JSON numbers drop it).
 *   Numbers beyond 2^53 cannot be read exactly in JavaScript, so only safe integers are
 *   scanned here; the database scans every integer.
 * - Object keys are scanned like strings; a finding in a key has the path of its object
 *   followed by `[*]`.
 *
 * Not covered: an identifier split across array items (["3201", "0112", ...]) or across
 * strings; look-alike letters other than O; JSON text with duplicate keys, which JSON.parse
 * and jsonb both resolve to the last value before anything is scanned.
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
   * array element, `[*]` a member whose name holds 4 or more digits, an @ or a space (it
   * could be personal data itself), or the key of a member when the finding is in the key.
   * For example `$.studentsData[2].notes`.
   */
  path: string
  /** Digits: the first two and last two kept. E-mail: `s***@e***.id`. */
  masked: string
}

/** A finding in one string, before it is placed in a document. */
export type TextFinding = Omit<Finding, 'path'>

// The patterns use only syntax that JavaScript and PostgreSQL read the same way, and are
// those of sql/35_pii_detection.sql.

/** What normalisation rewrites; see normaliseText. */
const NORMALISED = new RegExp(
  '[\\t\\n\\v\\f\\r\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000' + // spaces
    '\\u00ad\\u200b-\\u200d\\u2060\\ufeff' + // removed
    '\\u017f\\u212a' + // long s, Kelvin sign
    '\\u0660-\\u0669\\u06f0-\\u06f9\\uff10-\\uff19]', // digits
  'g',
)
const LETTER_O_AS_ZERO = /(?<![A-Za-z0-9])[Oo](?=8[1-35-9])/g

function normalisedChar(ch: string): string {
  const c = ch.charCodeAt(0)
  if (c >= 0x0660 && c <= 0x0669) return String.fromCharCode(c - 0x0660 + 48)
  if (c >= 0x06f0 && c <= 0x06f9) return String.fromCharCode(c - 0x06f0 + 48)
  if (c >= 0xff10 && c <= 0xff19) return String.fromCharCode(c - 0xff10 + 48)
  if (c === 0x00ad || (c >= 0x200b && c <= 0x200d) || c === 0x2060 || c === 0xfeff) return ''
  if (c === 0x017f) return 's'
  if (c === 0x212a) return 'K'
  return ' '
}

/**
 * The text the detector reads: Unicode digits as ASCII, invisible characters removed, every
 * space as a plain space, a word-initial O before a mobile prefix as 0.
 */
export function normaliseText(text: string): string {
  NORMALISED.lastIndex = 0
  let out = NORMALISED.test(text) ? text.replace(NORMALISED, normalisedChar) : text
  if (out.includes('O8') || out.includes('o8')) out = out.replace(LETTER_O_AS_ZERO, '0')
  return out
}

/** A chain: digit groups joined by one to three separator characters. */
const NUMBER_CHAIN = /[0-9]+(?:[ .,/_()-]{1,3}[0-9]+)*/g
/** A separator that may end a number inside a chain. */
const SOFT_SEPARATOR = /[ ,/]/
/** Digit groups and what lies between them, in a chain. */
const TOKEN = /[0-9]+|[^0-9]+/g
const NOT_DIGIT = /[^0-9]/g
const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}/g
const NPWP_FORMATTED = /^[0-9]{2}\.[0-9]{3}\.[0-9]{3}\.[0-9]-[0-9]{3}\.[0-9]{3}$/

type ContextKind = 'NIK' | 'NPWP' | 'NISN' | 'NUPTK'
const CONTEXT_KINDS: ContextKind[] = ['NIK', 'NPWP', 'NISN', 'NUPTK']

// Case-insensitive. A short word may have a dot or space (two at most) between its letters.
const GAP = '[^a-z0-9]+'
const spaced = (word: string) => word.split('').join('[. ]{0,2}')
const CONTEXT_WORDS: Record<ContextKind, string> = {
  NIK: [spaced('nik'), spaced('ktp'), `nomor${GAP}induk${GAP}kependudukan`, `national${GAP}id`]
    .join('|'),
  NPWP: [spaced('npwp'), `nomor${GAP}pokok${GAP}wajib${GAP}pajak`].join('|'),
  NISN: [
    spaced('nisn'),
    `nomor${GAP}induk${GAP}siswa${GAP}nasional`,
    `national${GAP}id`,
    `student${GAP}(?:id|number)`,
  ].join('|'),
  NUPTK: [
    spaced('nuptk'),
    `nomor${GAP}unik${GAP}pendidik${GAP}dan${GAP}tenaga${GAP}kependidikan`,
  ].join('|'),
}
const PHONE_KEY = new RegExp(
  '(?<![a-z])(?:tel|telp|telpon|telepon|phone|hp|wa|whatsapp|handphone|ponsel|mobile)(?![a-z])',
  'iu',
)
/**
 * Every context word, with gaps that may be empty: it matches wherever a context word can
 * be found once words are split (see WORD_BREAK). A string without it needs no context test.
 */
const ANY_CONTEXT = new RegExp(
  CONTEXT_KINDS.map((k) => CONTEXT_WORDS[k]).join('|').replaceAll(GAP, '[^a-z0-9]*'),
  'iu',
)
/**
 * Where a space goes before context words are sought: between a lower-case letter and a
 * capital (camelCase: `studentNisn`), and after two capitals followed by a lower-case letter
 * (a word in capitals glued to the next: `NIKsiswa`, `KTPnya`).
 */
const WORD_BREAK = /([a-z])([A-Z])|([A-Z]{2})([a-z])/g
const splitWords = (text: string) => text.replace(WORD_BREAK, '$1$3 $2$4')

/** How far before a number its context word may end, and how much text that takes. */
const CONTEXT_GAP = 40
const CONTEXT_REACH = 100

// 'u': `.` then counts code points, as PostgreSQL counts characters.
const mapContext = (make: (kind: ContextKind) => RegExp) =>
  Object.fromEntries(CONTEXT_KINDS.map((k) => [k, make(k)])) as Record<ContextKind, RegExp>
const WORD_BEFORE = mapContext((k) =>
  new RegExp(`(?<![a-z])(?:${CONTEXT_WORDS[k]})(?![a-z]).{0,${CONTEXT_GAP}}$`, 'isu')
)
const WORD_IN_KEY = mapContext((k) =>
  new RegExp(`(?<![a-z])(?:${CONTEXT_WORDS[k]})(?![a-z])`, 'iu')
)

// Kinds as bits: the context a string has from its keys, and whether a phone key is above it.
const BIT: Record<ContextKind | 'PHONE', number> = {
  NIK: 1,
  NPWP: 2,
  NISN: 4,
  NUPTK: 8,
  PHONE: 16,
}
const CONTEXT_BITS = BIT.NIK | BIT.NPWP | BIT.NISN | BIT.NUPTK

/** Province codes of Kemendagri, the first two digits of every NIK. */
const PROVINCES = new Set(
  ('11 12 13 14 15 16 17 18 19 21 31 32 33 34 35 36 51 52 53 61 62 63 64 65 71 72 73 74 75 76 ' +
    '81 82 91 92 93 94 95 96').split(' '),
)
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
const MOBILE = /^08[1-35-9][0-9]{7,10}$/
/** A phone number written as a JSON number: the leading 0 is lost. */
const MOBILE_WITHOUT_ZERO = /^8[1-35-9][0-9]{7,10}$/
const IDENTIFIER_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/
/** In a normalised key: 4 digits, an @ or a space. */
const KEY_WITHHELD = /(?:[0-9][^0-9]*){4}|@| /
/** Every normalised key that holds a context or phone word matches this. */
const KEY_HINT =
  /n[. ]{0,2}[ipu]|k[. ]{0,2}t|nomor|national|student|tel|phone|hp|wa|whatsapp|ponsel|mobile/i

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

/** The context and phone kinds a normalised key names, as bits. */
function keyKinds(key: string): number {
  if (!KEY_HINT.test(key)) return 0
  const words = splitWords(key)
  let bits = PHONE_KEY.test(words) ? BIT.PHONE : 0
  for (const kind of CONTEXT_KINDS) if (WORD_IN_KEY[kind].test(words)) bits |= BIT[kind]
  return bits
}

const finding = (type: PiiType, confidence: PiiConfidence, digits: string): TextFinding => ({
  type,
  confidence,
  masked: maskDigits(digits),
})

/**
 * One normalised string being scanned, with the context its keys give (`keyBits`). What is
 * worked out about it (whether a context word is anywhere in it, the context of a position)
 * is kept, so that no position is looked at twice. No closures: this runs for every string.
 */
class TextScan {
  private nearWord: boolean | undefined
  private contextAt: Map<number, number> | undefined

  constructor(
    readonly text: string,
    readonly keyBits: number,
    readonly out: TextFinding[],
  ) {}

  /** Whether a context word may be in reach of some number: spares the context patterns. */
  near(): boolean {
    this.nearWord ??= (this.keyBits & CONTEXT_BITS) !== 0 || ANY_CONTEXT.test(this.text)
    return this.nearWord
  }

  /** The context kinds of a number starting at `at`: its keys', and those named before it. */
  context(at: number): number {
    this.contextAt ??= new Map()
    let bits = this.contextAt.get(at)
    if (bits !== undefined) return bits
    bits = this.keyBits
    if (this.near()) {
      const before = splitWords(this.text.slice(codePointsBack(this.text, at, CONTEXT_REACH), at))
      for (const kind of CONTEXT_KINDS) {
        if (!(bits & BIT[kind]) && WORD_BEFORE[kind].test(before)) bits |= BIT[kind]
      }
    }
    this.contextAt.set(at, bits)
    return bits
  }
}

const hasContext = (scan: TextScan, at: number, kind: ContextKind) =>
  (scan.context(at) & BIT[kind]) !== 0

/**
 * Whether digits may be an identifier at all, before any context is sought: spares the
 * classification of most numbers. A number of one repeated digit never is one; without a 0
 * or 62 in front (no phone) only 16 digits next to a context word or with a NIK's province,
 * 15 passing the NPWP check, or 10 next to a context word can be.
 */
function worthClassifying(digits: string, scan: TextScan): boolean {
  const n = digits.length
  if (n < 10 || n > 16) return false
  let possible: boolean
  if (digits[0] === '0' || digits.startsWith('62')) possible = true
  else if (n === 16) possible = scan.near() || PROVINCES.has(digits.slice(0, 2))
  else if (n === 15) possible = npwpCheckDigitOk(digits)
  else possible = n === 10 && scan.near()
  return possible && digits !== digits[0]!.repeat(n)
}

/**
 * What the number written `number` (digits `digits`) at `at` is, if anything. The order of
 * the rules decides between kinds that share a length: context first, then "+62", then
 * structure. Only the number at the start of a chain can follow a +.
 */
function classify(
  scan: TextScan,
  at: number,
  digits: string,
  number: string,
  plus: boolean,
): TextFinding | undefined {
  const n = digits.length
  const validNik = n === 16 && isValidNik(digits)
  const zeroAndNpwp = n === 16 && digits[0] === '0' && npwpCheckDigitOk(digits.slice(1))

  if (n === 16 && hasContext(scan, at, 'NUPTK')) return finding('NUPTK', 'high', digits)
  if (n === 10 && hasContext(scan, at, 'NISN')) return finding('NISN', 'high', digits)
  if ((validNik || zeroAndNpwp) && hasContext(scan, at, 'NPWP')) {
    return finding('NPWP', 'high', digits)
  }
  // "+62 ..." is a phone even where the digits would also pass the NPWP check.
  if (plus && n < 16 && isMobileNumber(digits)) return finding('PHONE', 'high', digits)
  if (validNik) {
    return finding('NIK', hasContext(scan, at, 'NIK') ? 'high' : 'medium', digits)
  }
  if (n === 15 && npwpCheckDigitOk(digits)) {
    const sure = NPWP_FORMATTED.test(number) || hasContext(scan, at, 'NPWP')
    return finding('NPWP', sure ? 'high' : 'low', digits)
  }
  if (zeroAndNpwp) return finding('NPWP', 'low', digits)
  if (n < 16 && isMobileNumber(digits)) return finding('PHONE', 'high', digits)
  return undefined
}

/** Identifiers in a normalised string whose keys give `keyBits` of context. */
function scanText(text: string, keyBits: number, out: TextFinding[]): void {
  const scan = new TextScan(text, keyBits, out)
  NUMBER_CHAIN.lastIndex = 0
  for (let m = NUMBER_CHAIN.exec(text); m !== null; m = NUMBER_CHAIN.exec(text)) {
    const chain = m[0]
    if (chain.length < 10) continue
    const digits = chain.replace(NOT_DIGIT, '')
    // A chain of one digit repeated holds no identifier, in whole or in part.
    if (digits.length < 10 || digits === digits[0]!.repeat(digits.length)) continue
    const at = m.index
    const whole = worthClassifying(digits, scan)
      ? classify(scan, at, digits, chain, text.charCodeAt(at - 1) === 43)
      : undefined
    if (whole) out.push(whole)
    else if (SOFT_SEPARATOR.test(chain)) scanPieces(scan, at, chain)
  }
  if (text.includes('@')) {
    EMAIL.lastIndex = 0
    for (let m = EMAIL.exec(text); m !== null; m = EMAIL.exec(text)) {
      out.push({ type: 'EMAIL', confidence: 'high', masked: maskEmail(m[0]) })
    }
  }
}

/** The pieces of a chain: digit groups joined by separators without a space, comma or slash. */
interface Pieces {
  /** Where each piece starts and ends in the text. */
  starts: number[]
  ends: number[]
  /** The digits of each piece. */
  digits: string[]
}

function splitChain(at: number, chain: string): Pieces {
  const pieces: Pieces = { starts: [], ends: [], digits: [] }
  let current = ''
  TOKEN.lastIndex = 0
  for (let m = TOKEN.exec(chain); m !== null; m = TOKEN.exec(chain)) {
    const token = m[0]
    const code = token.charCodeAt(0)
    if (code >= 48 && code <= 57) {
      if (current === '') pieces.starts.push(at + m.index)
      current += token
      pieces.ends[pieces.starts.length - 1] = at + m.index + token.length
    } else if (SOFT_SEPARATOR.test(token)) {
      pieces.digits.push(current)
      current = ''
    }
  }
  pieces.digits.push(current)
  return pieces
}

/**
 * A chain that is no identifier as a whole may hold some between its soft separators
 * ("kelas 7 3201..."): runs of its pieces are tried, high confidence first (see the rules).
 */
function scanPieces(scan: TextScan, at: number, chain: string): void {
  const pieces = splitChain(at, chain)
  const count = pieces.digits.length
  if (count < 2) return
  const plus = scan.text.charCodeAt(at - 1) === 43
  const high: number[] = []
  // The second pass can only find what the first saw and passed over.
  if (!selectRuns(scan, pieces, 0, count, plus, true, high)) return
  let from = 0
  for (let h = 0; h <= high.length; h += 2) {
    const first = h < high.length ? high[h]! : count
    if (first > from) selectRuns(scan, pieces, from, first, plus, false, [])
    from = h < high.length ? high[h + 1]! + 1 : count
  }
}

/**
 * Leftmost, then longest runs of pieces in [from, to) that are identifiers (of high
 * confidence only, with `highOnly`), never the whole chain. Each run found is reported and
 * its first and last piece added to `hits`; the search carries on after it. Returns whether
 * a finding of lower confidence was passed over.
 */
function selectRuns(
  scan: TextScan,
  pieces: Pieces,
  from: number,
  to: number,
  plus: boolean,
  highOnly: boolean,
  hits: number[],
): boolean {
  const { starts, ends, digits } = pieces
  let lowerSeen = false
  let i = from
  while (i < to) {
    let last = i
    let total = digits[i]!.length
    while (last + 1 < to && total + digits[last + 1]!.length <= 16) {
      last += 1
      total += digits[last]!.length
    }
    let next = i + 1
    for (let j = last; j >= i && total >= 10; total -= digits[j]!.length, j--) {
      if (i === 0 && j === digits.length - 1) continue
      const run = digits.slice(i, j + 1).join('')
      if (!worthClassifying(run, scan)) continue
      const found = classify(
        scan,
        starts[i]!,
        run,
        scan.text.slice(starts[i]!, ends[j]!),
        plus && i === 0,
      )
      if (found && (!highOnly || found.confidence === 'high')) {
        scan.out.push(found)
        hits.push(i, j)
        next = j + 1
        break
      }
      if (found) lowerSeen = true
    }
    i = next
  }
  return lowerSeen
}

/**
 * Identifiers in one string. `key` is the object key the string sits under, if any: it
 * counts as context for every number in the string.
 */
export function detectPiiInText(text: string, key?: string): TextFinding[] {
  const out: TextFinding[] = []
  scanText(normaliseText(text), key === undefined ? 0 : keyKinds(normaliseText(key)), out)
  return out
}

/** A key that may be personal data itself is written `[*]`, so that no path repeats it. */
function pathStep(key: string, normalised: string): string {
  if (KEY_WITHHELD.test(normalised)) return '[*]'
  return IDENTIFIER_KEY.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
}

/**
 * Identifiers in every string, key and integer of a JSON-like value, each with its path. The
 * order of findings is not part of the contract.
 */
export function detectPii(value: unknown): Finding[] {
  const walk: Walk = { out: [], found: [], seen: new Set() }
  visit(walk, value, '$', 0)
  return walk.out
}

interface Walk {
  out: Finding[]
  /** Findings of the string being scanned, before they get its path. */
  found: TextFinding[]
  /** Objects on the current path: a cycle is walked once. */
  seen: Set<object>
}

function scanLeaf(walk: Walk, text: string, path: string, bits: number): void {
  if (text.length < 6) return
  scanText(text, bits, walk.found)
  if (walk.found.length === 0) return
  for (const f of walk.found) walk.out.push({ ...f, path })
  walk.found = []
}

/** What a key means to the walk. Keys repeat, so short ones are kept (a bounded number). */
interface KeyFacts {
  normalised: string
  step: string
  bits: number
}

const KEY_FACTS = new Map<string, KeyFacts>()
const KEY_FACTS_KEPT = 2_000

function keyFacts(key: string): KeyFacts {
  let facts = KEY_FACTS.get(key)
  if (facts === undefined) {
    const normalised = normaliseText(key)
    facts = { normalised, step: pathStep(key, normalised), bits: keyKinds(normalised) }
    if (key.length <= 64) {
      if (KEY_FACTS.size >= KEY_FACTS_KEPT) KEY_FACTS.clear()
      KEY_FACTS.set(key, facts)
    }
  }
  return facts
}

/** `bits`: the context kinds, and the phone bit, of the keys above `node`. */
function visit(walk: Walk, node: unknown, path: string, bits: number): void {
  if (typeof node === 'string') scanLeaf(walk, normaliseText(node), path, bits)
  else if (typeof node === 'number') {
    if (!Number.isSafeInteger(node)) return
    const digits = String(node)
    const phone = (bits & BIT.PHONE) !== 0 && MOBILE_WITHOUT_ZERO.test(digits)
    scanLeaf(walk, phone ? '0' + digits : digits, path, bits)
  } else if (node !== null && typeof node === 'object') {
    if (walk.seen.has(node)) return
    walk.seen.add(node)
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) visit(walk, node[i], `${path}[${i}]`, bits)
    } else {
      for (const [k, v] of Object.entries(node)) {
        const key = keyFacts(k)
        scanLeaf(walk, key.normalised, `${path}[*]`, bits)
        visit(walk, v, path + key.step, bits | key.bits)
      }
    }
    walk.seen.delete(node)
  }
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
