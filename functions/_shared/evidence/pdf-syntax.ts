/**
 * Just enough PDF syntax to find and read dictionaries in place: a tokenizer over bytes, the
 * spans of stream data (which are skipped, never tokenized), object headers and names.
 * Nothing is decompressed and no object is built; every answer is an offset into the file.
 */
import { ascii, byteIndex, indexOf, latin1, startsWith } from './bytes.ts'
import { corrupt, countPiece } from './refusal.ts'

export function isSpace(c: number | undefined): boolean {
  return c === 0x00 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d || c === 0x20
}

/** ( ) < > [ ] { } / % */
function isDelimiter(c: number | undefined): boolean {
  return c === 0x28 || c === 0x29 || c === 0x3c || c === 0x3e || c === 0x5b || c === 0x5d ||
    c === 0x7b || c === 0x7d || c === 0x2f || c === 0x25
}

function isRegular(c: number | undefined): boolean {
  return c !== undefined && !isSpace(c) && !isDelimiter(c)
}

export type TokenType =
  | 'name'
  | 'string'
  | 'hex'
  | 'dict_open'
  | 'dict_close'
  | 'array_open'
  | 'array_close'
  | 'word'

export interface Token {
  type: TokenType
  /** Offset of the first byte (`/`, `(`, `<`…). */
  start: number
  /** Offset after the last byte. */
  end: number
  /** Names without the slash and with `#xx` decoded; words (numbers, keywords) as written. */
  value: string
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  return -1
}

/** Reads the name whose slash is at `at`; `#xx` escapes decoded, as readers decode them. */
export function readName(b: Uint8Array, at: number, limit = b.length): Token {
  let i = at + 1
  let value = ''
  while (i < limit && isRegular(b[i])) {
    const c = b[i]!
    if (c === 0x23 && i + 2 < limit) {
      const high = hexValue(b[i + 1]!)
      const low = hexValue(b[i + 2]!)
      if (high >= 0 && low >= 0) {
        value += String.fromCharCode(high * 16 + low)
        i += 3
        continue
      }
    }
    value += String.fromCharCode(c)
    i++
  }
  return { type: 'name', start: at, end: i, value }
}

/** Tokens from `pos` to `limit`, comments skipped. */
export class Lexer {
  pos: number

  constructor(private readonly b: Uint8Array, pos: number, private readonly limit: number) {
    this.pos = pos
  }

  next(): Token | undefined {
    const b = this.b
    for (;;) {
      while (this.pos < this.limit && isSpace(b[this.pos])) this.pos++
      if (this.pos >= this.limit) return undefined
      if (b[this.pos] !== 0x25) break
      while (this.pos < this.limit && b[this.pos] !== 0x0a && b[this.pos] !== 0x0d) this.pos++
    }
    const start = this.pos
    const c = b[start]!
    const token = (type: TokenType, end: number, value = ''): Token => {
      this.pos = end
      return { type, start, end, value }
    }
    if (c === 0x2f) {
      const name = readName(b, start, this.limit)
      this.pos = name.end
      return name
    }
    if (c === 0x28) return token('string', this.stringEnd(start))
    if (c === 0x3c) {
      if (b[start + 1] === 0x3c) return token('dict_open', start + 2)
      const close = byteIndex(b, 0x3e, start, this.limit)
      if (close === -1) throw corrupt('a PDF hex string is not closed')
      return token('hex', close + 1)
    }
    if (c === 0x3e) {
      if (b[start + 1] !== 0x3e) throw corrupt('a PDF dictionary is malformed')
      return token('dict_close', start + 2)
    }
    if (c === 0x5b) return token('array_open', start + 1)
    if (c === 0x5d) return token('array_close', start + 1)
    if (c === 0x29) throw corrupt('a PDF string is malformed')
    let end = start + 1
    if (c !== 0x7b && c !== 0x7d) { while (end < this.limit && isRegular(b[end])) end++ }
    return token('word', end, latin1(b, start, end))
  }

  /** Offset after the `)` that closes the literal string opened at `open`. */
  private stringEnd(open: number): number {
    let depth = 0
    for (let i = open; i < this.limit; i++) {
      const c = this.b[i]
      if (c === 0x5c) i++
      else if (c === 0x28) depth++
      else if (c === 0x29 && --depth === 0) return i + 1
    }
    throw corrupt('a PDF string is not closed')
  }

  /**
   * Reads `N G R` if it comes next; otherwise leaves the position where it was. Reads digits
   * and white space only, never a whole string: a name is looked at this way wherever it
   * occurs, and lexing the string after each of many names would make the work quadratic.
   */
  reference(): number | undefined {
    const b = this.b
    let i = this.pos
    const space = () => {
      const from = i
      while (i < this.limit && isSpace(b[i])) i++
      return i > from
    }
    const digits = () => {
      const from = i
      while (i < this.limit && b[i]! >= 0x30 && b[i]! <= 0x39) i++
      return i > from ? latin1(b, from, i) : undefined
    }
    space()
    const num = digits()
    if (num === undefined || !space() || digits() === undefined || !space()) return undefined
    if (b[i] !== 0x52 || (i + 1 < this.limit && isRegular(b[i + 1]))) return undefined
    this.pos = i + 1
    return Number(num)
  }

  /** Skips one complete value (nested arrays and dictionaries included), calling `each`. */
  skipValue(first: Token, each: (t: Token) => void): void {
    each(first)
    if (first.type !== 'dict_open' && first.type !== 'array_open') return
    let depth = 1
    while (depth > 0) {
      const t = this.next()
      if (!t) throw corrupt('a PDF dictionary or array is not closed')
      each(t)
      if (t.type === 'dict_open' || t.type === 'array_open') depth++
      if (t.type === 'dict_close' || t.type === 'array_close') depth--
    }
  }
}

export interface StreamSpan {
  /** Offset of the `stream` keyword. */
  keyword: number
  /** Offset of the first data byte, after the end of line that follows `stream`. */
  data: number
  /** Offset of the `endstream` keyword. */
  endKeyword: number
}

export interface ObjectHeader {
  /** Position in the list of headers (file order). */
  index: number
  num: number
  /** Offset of the first digit of `N G obj`. */
  start: number
  /** Offset after `obj`. */
  body: number
}

const STREAM = ascii('stream')
const ENDSTREAM = ascii('endstream')
const OBJ = ascii('obj')

/**
 * Where stream data lies: after each `stream` keyword that closes a dictionary, up to the next
 * `endstream`. Data is binary and may hold any byte, so everything else looks only outside it.
 *
 * The file is read as PDF syntax between streams: a `stream` keyword counts only outside
 * literal strings (nested parentheses, backslash escapes) and comments, so a string holding
 * ">>stream" cannot make the checks skip the text that follows it.
 */
export function streamSpans(b: Uint8Array): StreamSpan[] {
  const spans: StreamSpan[] = []
  let depth = 0
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!
    if (depth > 0) {
      if (c === 0x5c) i++ // backslash: the next byte is escaped
      else if (c === 0x28) depth++
      else if (c === 0x29) depth--
      continue
    }
    if (c === 0x28) {
      depth = 1
    } else if (c === 0x25) {
      // A comment runs to the end of the line.
      while (i + 1 < b.length && b[i + 1] !== 0x0a && b[i + 1] !== 0x0d) i++
    } else if (c === 0x73 && b[i + 1] === 0x74 && startsWith(b, STREAM, i)
      && !isRegular(b[i - 1]) && !isRegular(b[i + STREAM.length])) {
      let before = i - 1
      while (before >= 0 && isSpace(b[before])) before--
      if (before < 1 || b[before] !== 0x3e || b[before - 1] !== 0x3e) continue
      let data = i + STREAM.length
      if (b[data] === 0x0d) data++
      if (b[data] === 0x0a) data++
      if (data === i + STREAM.length) continue
      const endKeyword = indexOf(b, ENDSTREAM, data)
      if (endKeyword === -1) throw corrupt('a PDF stream has no end')
      countPiece(spans.length, 'PDF streams')
      spans.push({ keyword: i, data, endKeyword })
      i = endKeyword + ENDSTREAM.length - 1
    }
  }
  return spans
}

/** The regions outside stream data, as [from, to) pairs. */
export function textRegions(b: Uint8Array, spans: StreamSpan[]): Array<[number, number]> {
  const regions: Array<[number, number]> = []
  let from = 0
  for (const s of spans) {
    regions.push([from, s.data])
    from = s.endKeyword
  }
  regions.push([from, b.length])
  return regions
}

function digitsBefore(b: Uint8Array, end: number): number {
  let i = end
  while (i > 0 && b[i - 1]! >= 0x30 && b[i - 1]! <= 0x39) i--
  return i
}

/** Every `N G obj` header outside stream data, in file order. */
export function objectHeaders(b: Uint8Array, regions: Array<[number, number]>): ObjectHeader[] {
  const headers: ObjectHeader[] = []
  for (const [from, to] of regions) {
    let pos = from
    for (;;) {
      const at = indexOf(b, OBJ, pos, to)
      if (at === -1) break
      pos = at + OBJ.length
      if (isRegular(b[pos]) || !isSpace(b[at - 1])) continue
      let i = at - 1
      while (i > 0 && isSpace(b[i - 1])) i--
      const genStart = digitsBefore(b, i)
      if (genStart === i || !isSpace(b[genStart - 1])) continue
      let j = genStart - 1
      while (j > 0 && isSpace(b[j - 1])) j--
      const numStart = digitsBefore(b, j)
      if (numStart === j || (numStart > 0 && isRegular(b[numStart - 1]))) continue
      countPiece(headers.length, 'PDF objects')
      headers.push({
        index: headers.length,
        num: Number(latin1(b, numStart, j)),
        start: numStart,
        body: pos,
      })
    }
  }
  return headers
}

export interface NameAt {
  name: string
  start: number
  end: number
}

/** Names outside stream data whose decoded value is in `wanted`. */
export function findNames(
  b: Uint8Array,
  regions: Array<[number, number]>,
  wanted: ReadonlySet<string>,
): NameAt[] {
  const found: NameAt[] = []
  for (const [from, to] of regions) {
    let pos = from
    for (;;) {
      const at = byteIndex(b, 0x2f, pos, to)
      if (at === -1) break
      const name = readName(b, at, to)
      if (wanted.has(name.value)) {
        countPiece(found.length, 'PDF metadata and action names')
        found.push({ name: name.value, start: at, end: name.end })
      }
      pos = name.end > at + 1 ? name.end : at + 1
    }
  }
  return found
}

/** Whether `b` holds `word` at `at` as a whole token. */
export function wordAt(b: Uint8Array, at: number, word: string): boolean {
  return startsWith(b, ascii(word), at) && !isRegular(b[at + word.length])
}
