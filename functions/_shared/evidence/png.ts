/**
 * PNG: structure check, declared size and metadata removal, without decoding.
 *
 * The chunks are walked from the signature to IEND. The file is refused as `corrupt_file`
 * when IHDR is not first or malformed, a chunk overruns the file or has an invalid type, a
 * critical chunk fails its CRC, there is no IDAT, a critical chunk is one decoders do not know
 * (they must refuse it too), or IEND is missing (a truncated upload). It is refused as
 * `polyglot` when a chunk other than pixel data holds HTML/SVG/script markup, or when anything
 * other than zero padding follows IEND.
 *
 * Stripping keeps the critical chunks and the ancillary chunks that change how pixels look or
 * are laid out (transparency, colour space and profile, gamma, significant bits, background,
 * histogram, suggested palette, physical size, HDR metadata, animation frames). It drops text
 * (tEXt, zTXt, iTXt, XMP included), EXIF (eXIf), the modification time (tIME) and every other
 * ancillary chunk, known or private: an ancillary chunk is by definition safe for a decoder to
 * ignore, and private ones are where software hides what it likes.
 */
import { allZero, ascii, crc32, join, refuseMarkup, startsWith, u32be } from './bytes.ts'
import { corrupt, countPiece, polyglot } from './refusal.ts'
import { type Dimensions, type Removed, type StripResult, tally } from './report.ts'

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)
const CRITICAL = new Set(['IHDR', 'PLTE', 'IDAT', 'IEND'])
const KEPT = new Set([
  'tRNS',
  'cHRM',
  'gAMA',
  'iCCP',
  'sBIT',
  'sRGB',
  'cICP',
  'mDCV',
  'cLLI',
  'mDCv',
  'cLLi',
  'bKGD',
  'hIST',
  'sPLT',
  'pHYs',
  'acTL',
  'fcTL',
  'fdAT',
])
/** Chunks of pixel data: not scanned for markup, compressed bytes say nothing. */
const PIXELS = new Set(['IDAT', 'fdAT'])
const XMP_KEYWORD = ascii('XML:com.adobe.xmp\0')
const MAX_CHUNK = 0x7fffffff

interface Chunk {
  type: string
  start: number
  /** Offset of the data. */
  data: number
  /** Offset after the CRC. */
  end: number
}

function chunkType(b: Uint8Array, at: number): string {
  let type = ''
  for (let i = at; i < at + 4; i++) {
    const c = b[i]!
    if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))) {
      throw corrupt('a PNG chunk has an invalid type')
    }
    type += String.fromCharCode(c)
  }
  return type
}

function chunkAt(b: Uint8Array, pos: number): Chunk {
  if (pos + 12 > b.length) throw corrupt('the PNG ends before its end chunk')
  const length = u32be(b, pos)
  if (length > MAX_CHUNK || pos + 12 + length > b.length) {
    throw corrupt('a PNG chunk overruns the file')
  }
  return { type: chunkType(b, pos + 4), start: pos, data: pos + 8, end: pos + 12 + length }
}

function ihdr(b: Uint8Array): Dimensions {
  if (!startsWith(b, SIGNATURE)) throw corrupt('the PNG signature is missing')
  const first = chunkAt(b, 8)
  if (first.type !== 'IHDR' || first.end - first.data !== 17) {
    throw corrupt('the PNG header chunk is missing or malformed')
  }
  const width = u32be(b, first.data)
  const height = u32be(b, first.data + 4)
  if (width === 0 || height === 0 || width > MAX_CHUNK || height > MAX_CHUNK) {
    throw corrupt('the PNG header declares an invalid size')
  }
  return { width, height }
}

/** Width and height from IHDR. */
export function pngDimensions(b: Uint8Array): Dimensions {
  return ihdr(b)
}

function walk(b: Uint8Array): { chunks: Chunk[]; end: number } {
  ihdr(b)
  const chunks: Chunk[] = []
  let sawData = false
  let pos = 8
  for (;;) {
    countPiece(chunks.length, 'PNG chunks')
    const chunk = chunkAt(b, pos)
    const critical = chunk.type.charCodeAt(0) < 0x61
    if (critical) {
      if (!CRITICAL.has(chunk.type)) {
        throw corrupt('the PNG holds a critical chunk decoders do not know')
      }
      const stored = u32be(b, chunk.end - 4)
      if (crc32(b, chunk.start + 4, chunk.end - 4) !== stored) {
        throw corrupt('a PNG chunk fails its checksum')
      }
    }
    if (chunk.type === 'IHDR' && pos !== 8) throw corrupt('the PNG has a second header chunk')
    if (chunk.type === 'IDAT') sawData = true
    chunks.push(chunk)
    pos = chunk.end
    if (chunk.type === 'IEND') {
      if (!sawData) throw corrupt('the PNG has no image data')
      return { chunks, end: pos }
    }
  }
}

/** Checks the file and removes its metadata; pixels decode exactly as before. */
export function stripPng(b: Uint8Array): StripResult {
  const { chunks, end } = walk(b)
  for (const c of chunks) {
    if (!PIXELS.has(c.type)) refuseMarkup(b, c.data, c.end - 4, 'the PNG metadata')
  }
  if (!allZero(b, end)) throw polyglot('data after the end of the image')
  const removed: Removed[] = []
  const pieces: Uint8Array[] = [b.subarray(0, 8)]
  for (const c of chunks) {
    if (CRITICAL.has(c.type) || KEPT.has(c.type)) {
      pieces.push(b.subarray(c.start, c.end))
      continue
    }
    const size = c.end - c.start
    if (c.type === 'iTXt' && startsWith(b, XMP_KEYWORD, c.data)) tally(removed, 'xmp', size)
    else if (c.type === 'tEXt' || c.type === 'zTXt' || c.type === 'iTXt') {
      tally(removed, 'text', size)
    } else if (c.type === 'eXIf') tally(removed, 'exif', size)
    else if (c.type === 'tIME') tally(removed, 'time', size)
    else tally(removed, 'other', size)
  }
  if (end < b.length) tally(removed, 'trailing_data', b.length - end)
  const changed = pieces.length < chunks.length + 1
  return { bytes: changed ? join(pieces) : b.subarray(0, end), removed, metadataRemoved: true }
}
