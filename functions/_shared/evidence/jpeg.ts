/**
 * JPEG: structure check, declared size and metadata removal, without decoding.
 *
 * The file is walked marker by marker from SOI to EOI, through the entropy-coded data of every
 * scan. It is refused as `corrupt_file` when a segment overruns the file, a marker is unknown
 * to decoders, bytes sit between segments, there is no frame header or scan, the frame
 * header gives no height (deferred to a DNL marker, which almost nothing writes), or EOI is
 * missing (a truncated upload). It is refused as `polyglot` when an application segment or
 * comment holds HTML/SVG/script markup, or when anything other than zero padding or further
 * complete JPEG images follows EOI (a ZIP appended to a photo is the classic case). Extra
 * images after EOI are what multi-picture and gain-map ("Ultra HDR") photos carry; they are
 * dropped, not refused. Motion photos that append a video after EOI are refused.
 *
 * Stripping keeps every byte that decoding needs and nothing that only describes the photo:
 * - kept: frame and scan headers with their data, tables (DQT, DHT, DAC, DRI), APP0 JFIF
 *   (resolution only; an embedded thumbnail is cut, since it can show what a crop removed),
 *   APP2 ICC_PROFILE (colours would shift without it) and APP14 Adobe (its transform flag
 *   decides how CMYK and some RGB files decode);
 * - dropped: APP1 (EXIF with GPS and maker notes, XMP), APP13 (IPTC, Photoshop), COM, APP2
 *   other than ICC (MPF), and every other application segment.
 * An EXIF orientation other than "normal" is written back as a 34-byte EXIF block holding
 * only that tag, because browsers and viewers rotate photos by it: without it a portrait
 * photo from a phone shows on its side. It says nothing about the teacher or the place.
 */
import { allZero, ascii, join, refuseMarkup, startsWith, u16be, u32be } from './bytes.ts'
import { corrupt, countPiece, polyglot } from './refusal.ts'
import {
  type Dimensions,
  type Removed,
  type RemovedKind,
  type StripResult,
  tally,
} from './report.ts'

interface Segment {
  marker: number
  /** Offset of the first 0xFF of the marker, fill bytes included. */
  start: number
  /** Offset of the segment's payload (after the length field); `end` for standalone markers. */
  payload: number
  /** Offset after the segment, entropy-coded data included for a scan. */
  end: number
}

interface Layout {
  segments: Segment[]
  /** Offset after EOI. */
  end: number
  frame: Dimensions
}

const SOI = Uint8Array.of(0xff, 0xd8, 0xff)
const SOS = 0xda
const EOI = 0xd9

function isFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 &&
    marker !== 0xcc
}

function isRestart(marker: number): boolean {
  return marker >= 0xd0 && marker <= 0xd7
}

/** Markers that carry a length: frames and tables, SOS, DNL, DRI, DHP, EXP, APPn, COM. */
function hasLength(marker: number): boolean {
  return (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc8) ||
    (marker >= 0xda && marker <= 0xef) || marker === 0xfe
}

/** Offset of the marker that ends the entropy-coded data starting at `from`. */
function scanEnd(b: Uint8Array, from: number): number {
  let i = from
  for (;;) {
    i = b.indexOf(0xff, i)
    if (i === -1 || i + 1 >= b.length) throw corrupt('the image data ends before its end marker')
    const next = b[i + 1]!
    if (next === 0x00 || isRestart(next)) i += 2
    else return i
  }
}

/**
 * Walks one JPEG starting at `from` (its SOI). With `untilFrame`, stops at the first frame
 * header, so the size can be judged before the rest of the file is read.
 */
function walk(b: Uint8Array, from: number, untilFrame: boolean): Layout {
  if (!startsWith(b, SOI, from)) throw corrupt('the JPEG start marker is missing')
  const segments: Segment[] = []
  let frame: Dimensions | undefined
  let scans = 0
  let pos = from + 2
  for (;;) {
    if (pos >= b.length) throw corrupt('the JPEG ends before its end marker')
    if (b[pos] !== 0xff) throw corrupt('unexpected bytes between JPEG segments')
    countPiece(segments.length, 'JPEG segments')
    const start = pos
    while (pos < b.length && b[pos] === 0xff) pos++
    if (pos >= b.length) throw corrupt('the JPEG ends before its end marker')
    const marker = b[pos++]!
    if (marker === EOI) {
      if (!frame || scans === 0) throw corrupt('the JPEG has no image data')
      segments.push({ marker, start, payload: pos, end: pos })
      return { segments, end: pos, frame }
    }
    if (isRestart(marker) || marker === 0x01) {
      segments.push({ marker, start, payload: pos, end: pos })
      continue
    }
    if (!hasLength(marker)) throw corrupt('the JPEG holds a marker decoders do not know')
    const length = u16be(b, pos)
    if (length < 2 || pos + length > b.length) throw corrupt('a JPEG segment overruns the file')
    const payload = pos + 2
    let end = pos + length
    if (isFrame(marker) && !frame) {
      if (length < 8) throw corrupt('the JPEG frame header is too short')
      const height = u16be(b, payload + 1)
      const width = u16be(b, payload + 3)
      if (width === 0 || height === 0) throw corrupt('the JPEG frame header declares no size')
      frame = { width, height }
      if (untilFrame) return { segments, end: pos, frame }
    }
    if (marker === SOS) {
      if (!frame) throw corrupt('a JPEG scan comes before its frame header')
      scans++
      end = scanEnd(b, end)
    }
    segments.push({ marker, start, payload, end })
    pos = end
  }
}

/** Width and height from the first frame header, without reading further. */
export function jpegDimensions(b: Uint8Array): Dimensions {
  const { frame } = walk(b, 0, true)
  return frame
}

const JFIF = ascii('JFIF\0')
const EXIF = ascii('Exif\0')
const XMP = ascii('http://ns.adobe.com/xap/1.0/\0')
const XMP_EXTENSION = ascii('http://ns.adobe.com/xmp/extension/\0')
const ICC = ascii('ICC_PROFILE\0')
const PHOTOSHOP = ascii('Photoshop 3.0\0')
const ADOBE = ascii('Adobe')
const JFXX = ascii('JFXX\0')

type Verdict = 'keep' | 'jfif' | RemovedKind

function classify(b: Uint8Array, s: Segment): Verdict {
  const is = (id: Uint8Array) => s.end - s.payload >= id.length && startsWith(b, id, s.payload)
  switch (s.marker) {
    case 0xe0:
      return is(JFIF) ? 'jfif' : is(JFXX) ? 'thumbnail' : 'other'
    case 0xe1:
      return is(EXIF) ? 'exif' : is(XMP) || is(XMP_EXTENSION) ? 'xmp' : 'other'
    case 0xe2:
      return is(ICC) ? 'keep' : 'other'
    case 0xed:
      return is(PHOTOSHOP) ? 'iptc' : 'other'
    case 0xee:
      return is(ADOBE) ? 'keep' : 'other'
    case 0xfe:
      return 'comment'
    default:
      return s.marker >= 0xe0 && s.marker <= 0xef ? 'other' : 'keep'
  }
}

/** The orientation tag (0x0112) of IFD0 in an EXIF segment, when it is 2 to 8. */
function exifOrientation(b: Uint8Array, s: Segment): number | undefined {
  const tiff = s.payload + 6
  if (tiff + 8 > s.end) return undefined
  const little = b[tiff] === 0x49 && b[tiff + 1] === 0x49
  if (!little && !(b[tiff] === 0x4d && b[tiff + 1] === 0x4d)) return undefined
  const u16 = (at: number) => little ? b[at]! | (b[at + 1]! << 8) : u16be(b, at)
  const u32 = (at: number) =>
    little
      ? (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000
      : u32be(b, at)
  const ifd = tiff + u32(tiff + 4)
  if (ifd + 2 > s.end) return undefined
  const count = u16(ifd)
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12
    if (entry + 12 > s.end) return undefined
    if (u16(entry) === 0x0112 && u16(entry + 2) === 3) {
      const value = u16(entry + 8)
      return value >= 2 && value <= 8 ? value : undefined
    }
  }
  return undefined
}

/**
 * APP1 (length 34), "Exif\0\0", big-endian TIFF header with IFD0 at 8, one entry: orientation
 * (0x0112), SHORT, count 1, value at byte 29; no next IFD.
 */
const ORIENTATION_SEGMENT = Uint8Array.from(
  ('ffe10022' + '457869660000' + '4d4d002a00000008' + '0001' + '011200030000000100000000' +
    '00000000').match(/../g)!,
  (h) => parseInt(h, 16),
)

/** An APP1 segment holding the orientation and nothing else. */
function orientationSegment(value: number): Uint8Array {
  const out = ORIENTATION_SEGMENT.slice()
  out[29] = value
  return out
}

/** A JFIF APP0 segment with the same version, units and density and no thumbnail. */
function jfifWithoutThumbnail(b: Uint8Array, s: Segment): Uint8Array | undefined {
  if (s.end - s.payload <= 14) return undefined
  const out = new Uint8Array(18)
  out.set([0xff, 0xe0, 0x00, 0x10])
  out.set(b.subarray(s.payload, s.payload + 12), 4)
  return out
}

/** Checks the whole file: structure, markup in text segments, what follows EOI. */
function check(b: Uint8Array): { layout: Layout; trailing: number } {
  const layout = walk(b, 0, false)
  for (const s of layout.segments) {
    if ((s.marker >= 0xe0 && s.marker <= 0xef) || s.marker === 0xfe) {
      refuseMarkup(b, s.payload, s.end, 'the JPEG metadata')
    }
  }
  let pos = layout.end
  for (let images = 0; pos < b.length && startsWith(b, SOI, pos); images++) {
    countPiece(images, 'images after the first')
    try {
      pos = walk(b, pos, false).end
    } catch {
      throw polyglot('unreadable data after the end of the image')
    }
  }
  if (!allZero(b, pos)) throw polyglot('data after the end of the image')
  return { layout, trailing: b.length - layout.end }
}

/** Checks the file and removes its metadata; pixels decode exactly as before. */
export function stripJpeg(b: Uint8Array): StripResult {
  const { layout, trailing } = check(b)
  const removed: Removed[] = []
  const pieces: Uint8Array[] = [b.subarray(0, 2)]
  let orientation: number | undefined
  let changed = false
  for (const s of layout.segments) {
    const verdict = classify(b, s)
    if (verdict === 'keep') {
      pieces.push(b.subarray(s.start, s.end))
      continue
    }
    if (verdict === 'jfif') {
      const rewritten = jfifWithoutThumbnail(b, s)
      if (rewritten) {
        tally(removed, 'thumbnail', s.end - s.start - rewritten.length)
        pieces.push(rewritten)
        changed = true
      } else {
        pieces.push(b.subarray(s.start, s.end))
      }
      continue
    }
    if (verdict === 'exif' && orientation === undefined) {
      orientation = exifOrientation(b, s)
      if (orientation !== undefined) {
        const minimal = orientationSegment(orientation)
        // Already cleaned: the block is ours, byte for byte. Cleaning twice changes nothing.
        if (s.end - s.start === minimal.length && startsWith(b, minimal, s.start)) {
          pieces.push(b.subarray(s.start, s.end))
          continue
        }
        pieces.push(minimal)
      }
    }
    tally(removed, verdict, s.end - s.start)
    changed = true
  }
  if (trailing > 0) tally(removed, 'trailing_data', trailing)
  const result: StripResult = {
    bytes: changed ? join(pieces) : b.subarray(0, layout.end),
    removed,
    metadataRemoved: true,
  }
  if (orientation !== undefined) result.orientation = orientation
  return result
}
