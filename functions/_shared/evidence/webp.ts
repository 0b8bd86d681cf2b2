/**
 * WebP: structure check, declared size and metadata removal, without decoding.
 *
 * A WebP file is a RIFF container: `RIFF`, the size of what follows, `WEBP`, then chunks. The
 * file is refused as `corrupt_file` when it is shorter than the RIFF size says (a truncated
 * upload), a chunk overruns the container, the first chunk is not VP8, VP8L or VP8X, or the
 * bitstream header is invalid. It is refused as `polyglot` when a chunk other than image data
 * holds HTML/SVG/script markup, or when anything other than zero padding follows the
 * container.
 *
 * Stripping drops the EXIF and XMP chunks and any chunk the format does not define, clears the
 * EXIF and XMP flags in VP8X and writes the new RIFF size. Image, alpha, animation and ICC
 * chunks are copied byte for byte.
 */
import {
  allZero,
  ascii,
  join,
  latin1,
  refuseMarkup,
  startsWith,
  u16le,
  u24le,
  u32le,
} from './bytes.ts'
import { corrupt, countPiece, polyglot } from './refusal.ts'
import { type Dimensions, type Removed, type StripResult, tally } from './report.ts'

const WEBP = ascii('WEBP')
const KEPT = new Set(['VP8 ', 'VP8L', 'VP8X', 'ALPH', 'ANIM', 'ANMF', 'ICCP'])
/** Chunks of image data: not scanned for markup. */
const PIXELS = new Set(['VP8 ', 'VP8L', 'ALPH', 'ANMF'])
const FLAG_EXIF = 0x08
const FLAG_XMP = 0x04

interface Chunk {
  id: string
  start: number
  data: number
  /** Offset after the data, before any pad byte. */
  dataEnd: number
  /** Offset after the pad byte. */
  end: number
}

function container(b: Uint8Array): number {
  if (b.length < 20 || !startsWith(b, WEBP, 8)) throw corrupt('the WebP header is incomplete')
  const end = 8 + u32le(b, 4)
  if (end > b.length) throw corrupt('the WebP file is shorter than its header says')
  return end
}

function chunkAt(b: Uint8Array, pos: number, limit: number): Chunk {
  if (pos + 8 > limit) throw corrupt('a WebP chunk header overruns the file')
  const size = u32le(b, pos + 4)
  const dataEnd = pos + 8 + size
  if (dataEnd > limit) throw corrupt('a WebP chunk overruns the file')
  // The pad byte after an odd-sized last chunk is sometimes missing; tolerate that only.
  const end = Math.min(dataEnd + (size & 1), limit)
  return { id: latin1(b, pos, pos + 4), start: pos, data: pos + 8, dataEnd, end }
}

function bitstreamSize(b: Uint8Array, c: Chunk): Dimensions {
  if (c.id === 'VP8 ') {
    if (c.dataEnd - c.data < 10) throw corrupt('the WebP image header is too short')
    if (
      (b[c.data]! & 1) !== 0 || b[c.data + 3] !== 0x9d || b[c.data + 4] !== 0x01 ||
      b[c.data + 5] !== 0x2a
    ) {
      throw corrupt('the WebP image header is invalid')
    }
    return { width: u16le(b, c.data + 6) & 0x3fff, height: u16le(b, c.data + 8) & 0x3fff }
  }
  if (c.dataEnd - c.data < 5 || b[c.data] !== 0x2f) {
    throw corrupt('the WebP lossless header is invalid')
  }
  const bits = u32le(b, c.data + 1)
  return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 }
}

/** Width and height: the VP8X canvas, or the size in the VP8/VP8L bitstream header. */
export function webpDimensions(b: Uint8Array): Dimensions {
  const end = container(b)
  const first = chunkAt(b, 12, end)
  if (first.id === 'VP8X') {
    if (first.dataEnd - first.data < 10) throw corrupt('the WebP extended header is too short')
    return { width: u24le(b, first.data + 4) + 1, height: u24le(b, first.data + 7) + 1 }
  }
  if (first.id !== 'VP8 ' && first.id !== 'VP8L') throw corrupt('the WebP image chunk is missing')
  const size = bitstreamSize(b, first)
  if (size.width === 0 || size.height === 0) throw corrupt('the WebP header declares no size')
  return size
}

function walk(b: Uint8Array): { chunks: Chunk[]; end: number } {
  const end = container(b)
  webpDimensions(b)
  const chunks: Chunk[] = []
  let images = 0
  for (let pos = 12; pos < end;) {
    countPiece(chunks.length, 'WebP chunks')
    const chunk = chunkAt(b, pos, end)
    if (chunk.id === 'VP8 ' || chunk.id === 'VP8L') {
      bitstreamSize(b, chunk)
      images++
    }
    if (chunk.id === 'ANMF') images++
    chunks.push(chunk)
    pos = chunk.end
  }
  if (images === 0) throw corrupt('the WebP file has no image data')
  return { chunks, end }
}

/** Checks the file and removes its metadata; pixels decode exactly as before. */
export function stripWebp(b: Uint8Array): StripResult {
  const { chunks, end } = walk(b)
  for (const c of chunks) {
    if (!PIXELS.has(c.id)) refuseMarkup(b, c.data, c.dataEnd, 'the WebP metadata')
  }
  if (!allZero(b, end)) throw polyglot('data after the end of the image')
  const removed: Removed[] = []
  const kept: Uint8Array[] = []
  for (const c of chunks) {
    if (c.id === 'VP8X') {
      const header = new Uint8Array(b.subarray(c.start, c.end))
      header[8] = header[8]! & ~(FLAG_EXIF | FLAG_XMP)
      kept.push(header)
    } else if (KEPT.has(c.id)) {
      kept.push(b.subarray(c.start, c.end))
    } else {
      const kind = c.id === 'EXIF' ? 'exif' : c.id === 'XMP ' ? 'xmp' : 'other'
      tally(removed, kind, c.end - c.start)
    }
  }
  if (end < b.length) tally(removed, 'trailing_data', b.length - end)
  if (removed.length === 0) return { bytes: b, removed, metadataRemoved: true }
  let size = 4
  for (const k of kept) size += k.length
  const header = new Uint8Array(12)
  header.set(b.subarray(0, 4))
  header.set([size & 0xff, (size >>> 8) & 0xff, (size >>> 16) & 0xff, size >>> 24], 4)
  header.set(WEBP, 8)
  return { bytes: join([header, ...kept]), removed, metadataRemoved: true }
}
