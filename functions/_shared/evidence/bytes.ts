/**
 * Byte helpers shared by the format parsers. They read from the caller's buffer without
 * copying it: files may be 10 MB and the whole check must stay within about twice that.
 */
import { corrupt, polyglot } from './refusal.ts'

export function u16be(b: Uint8Array, at: number): number {
  if (at + 2 > b.length) throw corrupt('a field runs past the end of the file')
  return (b[at]! << 8) | b[at + 1]!
}

export function u32be(b: Uint8Array, at: number): number {
  if (at + 4 > b.length) throw corrupt('a field runs past the end of the file')
  return ((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!)
}

export function u16le(b: Uint8Array, at: number): number {
  if (at + 2 > b.length) throw corrupt('a field runs past the end of the file')
  return b[at]! | (b[at + 1]! << 8)
}

export function u24le(b: Uint8Array, at: number): number {
  if (at + 3 > b.length) throw corrupt('a field runs past the end of the file')
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)
}

export function u32le(b: Uint8Array, at: number): number {
  if (at + 4 > b.length) throw corrupt('a field runs past the end of the file')
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + ((b[at + 3]! << 24) >>> 0)
}

export function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff
  return out
}

/** Bytes as a string of one character per byte; only for short slices (names, keywords). */
export function latin1(b: Uint8Array, from = 0, to = b.length): string {
  let s = ''
  for (let i = from; i < to && i < b.length; i++) s += String.fromCharCode(b[i]!)
  return s
}

/** Whether `b` holds `needle` at `at`. */
export function startsWith(b: Uint8Array, needle: Uint8Array, at = 0): boolean {
  if (at < 0 || at + needle.length > b.length) return false
  for (let i = 0; i < needle.length; i++) if (b[at + i] !== needle[i]) return false
  return true
}

/**
 * First position of byte `c` in `b[from, to)`, or -1. Searches a view, so a bounded search
 * never runs on to the end of the file (which made repeated searches quadratic).
 */
export function byteIndex(b: Uint8Array, c: number, from: number, to: number): number {
  if (from >= to) return -1
  const i = b.subarray(from, to).indexOf(c)
  return i === -1 ? -1 : from + i
}

/** First position of `needle` in `b[from, to)`, or -1. */
export function indexOf(b: Uint8Array, needle: Uint8Array, from = 0, to = b.length): number {
  const first = needle[0]!
  const last = Math.min(to, b.length) - needle.length
  let i = Math.max(0, from)
  while (i <= last) {
    i = byteIndex(b, first, i, last + 1)
    if (i === -1) return -1
    if (startsWith(b, needle, i)) return i
    i++
  }
  return -1
}

/** Last position of `needle` at or before `before` and at or after `floor`, or -1. */
export function lastIndexOf(
  b: Uint8Array,
  needle: Uint8Array,
  before = b.length,
  floor = 0,
): number {
  const first = needle[0]!
  let i = Math.min(before, b.length - needle.length)
  while (i >= floor) {
    i = b.lastIndexOf(first, i)
    if (i < floor) return -1
    if (startsWith(b, needle, i)) return i
    i--
  }
  return -1
}

export function allZero(b: Uint8Array, from: number, to = b.length): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false
  return true
}

/**
 * Tags that make a browser (or a sniffing proxy) treat bytes as a page or a drawing that can
 * run script. Matched case-insensitively after `<`, and only when followed by a delimiter, so
 * `<header` or an XMP packet's `<x:xmpmeta` do not count.
 */
const MARKUP = [
  'script',
  'html',
  'svg',
  'body',
  'head',
  'iframe',
  'object',
  'embed',
  'img',
  'meta',
  '!doctype',
  '?php',
].map(ascii)

function isDelimiter(c: number | undefined): boolean {
  return c === undefined || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d ||
    c === 0x0c || c === 0x3e || c === 0x2f || c === 0x00
}

/** Whether `b[from, to)` holds the start of an HTML, SVG or script tag. */
export function hasMarkup(b: Uint8Array, from: number, to: number): boolean {
  let i = from
  while (i < to) {
    i = byteIndex(b, 0x3c, i, to)
    if (i === -1) return false
    for (const tag of MARKUP) {
      if (i + 1 + tag.length > b.length) continue
      let same = true
      for (let k = 0; k < tag.length && same; k++) {
        const c = b[i + 1 + k]!
        same = (c >= 0x41 && c <= 0x5a ? c + 0x20 : c) === tag[k]
      }
      if (same && isDelimiter(b[i + 1 + tag.length])) return true
    }
    i++
  }
  return false
}

/** Throws `polyglot` when a text region (metadata, comment) carries markup. */
export function refuseMarkup(b: Uint8Array, from: number, to: number, where: string): void {
  if (hasMarkup(b, from, to)) throw polyglot(`markup in ${where}`)
}

const EOCD = ascii('PK\x05\x06')
const EOCD_SIZE = 22
const MAX_ZIP_COMMENT = 0xffff

/**
 * Whether a ZIP reader would open this file: it looks for the end-of-central-directory record
 * within the last 64 KiB, where the record's comment must reach the end of the file. A chance
 * occurrence in image data almost never also has the right comment length.
 */
export function endsWithZipDirectory(b: Uint8Array): boolean {
  const floor = Math.max(0, b.length - EOCD_SIZE - MAX_ZIP_COMMENT)
  let i = lastIndexOf(b, EOCD, b.length - EOCD_SIZE, floor)
  while (i !== -1) {
    const commentLength = b[i + 20]! | (b[i + 21]! << 8)
    if (i + EOCD_SIZE + commentLength === b.length) return true
    i = lastIndexOf(b, EOCD, i - 1, floor)
  }
  return false
}

/** Pieces of the output: views into the input or small new arrays, joined once at the end. */
export function join(pieces: Uint8Array[]): Uint8Array {
  let total = 0
  for (const p of pieces) total += p.length
  const out = new Uint8Array(total)
  let at = 0
  for (const p of pieces) {
    out.set(p, at)
    at += p.length
  }
  return out
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/** CRC-32 as PNG uses it (ISO 3309), over `b[from, to)`. */
export function crc32(b: Uint8Array, from: number, to: number): number {
  let c = 0xffffffff
  for (let i = from; i < to; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
