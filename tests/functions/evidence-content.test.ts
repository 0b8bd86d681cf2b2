/**
 * functions/_shared/evidence against the crafted corpus in tests/fixtures/evidence-corpus.ts:
 * every file gets its expected verdict; cleaned images decode to the same pixels and carry no
 * metadata that exifr or sharp can find; cleaned PDFs keep every cross-reference offset and
 * lose the author, creator and producer strings.
 */
import { inflateSync } from 'node:zlib'
import exifr from 'exifr'
import { fileTypeFromBuffer } from 'file-type'
import sharp, { type OutputInfo } from 'sharp'
import { describe, expect, it } from 'vitest'
import {
  checkDeclared,
  DEFAULT_MAX_PIXELS,
  dimensions,
  type InspectAccepted,
  inspectEvidence,
  type InspectResult,
  REFUSAL_CODES,
  sniff,
} from '../../functions/_shared/evidence/index.ts'
import {
  buildEvidenceCorpus,
  buildPdf,
  type CorpusEntry,
  MAX_UPLOAD_BYTES,
} from '../fixtures/evidence-corpus.ts'

const corpus = await buildEvidenceCorpus()
const results = new Map<string, InspectResult>()
for (const e of corpus) results.set(e.id, inspect(e))

function inspect(entry: CorpusEntry, maxPixels?: number): InspectResult {
  return inspectEvidence(entry.bytes, {
    fileName: entry.fileName,
    declaredType: entry.declaredType,
    ...(maxPixels ? { maxPixels } : {}),
  })
}

function entry(id: string): CorpusEntry {
  const found = corpus.find((e) => e.id === id)
  if (!found) throw new Error(`no corpus entry ${id}`)
  return found
}

function accepted(id: string): InspectAccepted {
  const result = results.get(id)
  if (!result?.ok) throw new Error(`${id} was refused: ${JSON.stringify(result)}`)
  return result
}

const text = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1')

/** Every metadata block exifr knows, kept apart so nothing is merged away. */
const EVERYTHING = {
  tiff: true,
  ifd1: true,
  exif: true,
  gps: true,
  interop: true,
  xmp: true,
  iptc: true,
  makerNote: true,
  userComment: true,
  icc: false,
  jfif: false,
  ihdr: false,
  mergeOutput: false,
}

/** Chunk ids of a WebP file. */
function webpChunks(b: Uint8Array): string[] {
  const view = Buffer.from(b.buffer, b.byteOffset, b.length)
  const ids: string[] = []
  for (let pos = 12; pos + 8 <= view.length;) {
    const size = view.readUInt32LE(pos + 4)
    ids.push(view.toString('latin1', pos, pos + 4))
    pos += 8 + size + (size & 1)
  }
  return ids
}

/** Chunk types of a PNG file. */
function pngChunks(b: Uint8Array): string[] {
  const view = Buffer.from(b.buffer, b.byteOffset, b.length)
  const types: string[] = []
  for (let pos = 8; pos + 12 <= view.length;) {
    types.push(view.toString('latin1', pos + 4, pos + 8))
    pos += 12 + view.readUInt32BE(pos)
  }
  return types
}

/**
 * The in-use entries of every cross-reference section, following /Prev from startxref: classic
 * tables, and unfiltered cross-reference streams (type 1 entries).
 */
function xrefEntries(b: Uint8Array): Array<{ num: number; offset: number }> {
  const s = text(b)
  const found: Array<{ num: number; offset: number }> = []
  let at: number | undefined = Number(/startxref\s+(\d+)\s+%%EOF\s*$/.exec(s)![1])
  const seen = new Set<number>()
  while (at !== undefined && !seen.has(at)) {
    seen.add(at)
    if (s.startsWith('xref', at)) {
      const end = s.indexOf('trailer', at)
      const lines = s.slice(at + 4, end).trim().split(/\r?\n/)
      let num = 0
      for (const line of lines) {
        const head = /^(\d+) (\d+)$/.exec(line.trim())
        if (head) {
          num = Number(head[1])
          continue
        }
        const row = /^(\d{10}) (\d{5}) ([nf])/.exec(line)!
        if (row[3] === 'n') found.push({ num, offset: Number(row[1]) })
        num++
      }
      const prev = /\/Prev (\d+)/.exec(s.slice(end, s.indexOf('>>', end)))
      at = prev ? Number(prev[1]) : undefined
    } else {
      const dictEnd = s.indexOf('stream', at)
      const dict = s.slice(at, dictEnd)
      const widths = /\/W \[(\d+) (\d+) (\d+)\]/.exec(dict)!.slice(1).map(Number)
      const length = Number(/\/Length (\d+)/.exec(dict)![1])
      const data = b.subarray(dictEnd + 7, dictEnd + 7 + length)
      const rowSize = widths.reduce((a, c) => a + c, 0)
      for (let num = 0; num * rowSize < data.length; num++) {
        const row = data.subarray(num * rowSize, (num + 1) * rowSize)
        const field = (from: number, size: number) =>
          row.subarray(from, from + size).reduce((v, byte) => v * 256 + byte, 0)
        if (field(0, widths[0]!) === 1) found.push({ num, offset: field(widths[0]!, widths[1]!) })
      }
      const prev = /\/Prev (\d+)/.exec(dict)
      at = prev ? Number(prev[1]) : undefined
    }
  }
  return found
}

/** The bytes from `N 0 obj` to its `endobj`, found through the cross-reference offset. */
function objectAt(b: Uint8Array, offset: number): string {
  const s = text(b)
  return s.slice(offset, s.indexOf('endobj', offset) + 6)
}

async function rawPixels(b: Uint8Array): Promise<{ data: Buffer; info: OutputInfo }> {
  return sharp(b).raw().toBuffer({ resolveWithObject: true })
}

describe('the corpus', () => {
  it('holds at least 30 files with distinct ids', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(30)
    expect(new Set(corpus.map((e) => e.id)).size).toBe(corpus.length)
  })

  it('exercises every refusal code and accepts every type', () => {
    const codes = new Set(corpus.flatMap((e) => (e.expect.ok ? [] : [e.expect.code])))
    expect([...codes].sort()).toEqual([...REFUSAL_CODES].sort())
    const types = new Set(corpus.flatMap((e) => (e.expect.ok ? [e.expect.type] : [])))
    expect([...types].sort()).toEqual(['jpeg', 'pdf', 'png', 'webp'])
  })

  it('holds one file a byte over the upload limit, which the function must refuse first', () => {
    const over = corpus.filter((e) => e.exceedsUploadLimit)
    expect(over.map((e) => e.bytes.length)).toEqual([MAX_UPLOAD_BYTES + 1])
    expect(corpus.filter((e) => e.bytes.length > MAX_UPLOAD_BYTES)).toEqual(over)
  })
})

describe('every corpus file gets its verdict', () => {
  it.each(corpus.map((e) => [e.id, e] as const))('%s', (_id, e) => {
    const result = results.get(e.id)!
    if (!e.expect.ok) {
      expect(result, e.id).toMatchObject({ ok: false, code: e.expect.code })
      return
    }
    expect(result.ok, `${e.id}: ${JSON.stringify(result)}`).toBe(true)
    if (!result.ok) return
    expect(result.type, e.id).toBe(e.expect.type)
    expect(result.removed.map((r) => r.kind).sort(), e.id).toEqual([...e.expect.removes].sort())
    expect(result.metadataRemoved, e.id).toBe(e.expect.metadataRemoved ?? true)
    expect(result.reason, e.id).toBe(e.expect.reason)
    expect(result.orientation, e.id).toBe(e.expect.orientation)
    for (const r of result.removed) {
      expect(r.count, `${e.id} ${r.kind}`).toBeGreaterThan(0)
      expect(r.bytes, `${e.id} ${r.kind}`).toBeGreaterThan(0)
    }
  })

  it('never quotes the file name or contents in a refusal message', () => {
    for (const e of corpus) {
      const result = results.get(e.id)!
      if (result.ok) continue
      expect(result.message, e.id).toMatch(/^[A-Z][^<>\n]*\.$/)
      expect(result.message, e.id).not.toContain(e.fileName.trim() || '\u0000')
      expect(result.message, e.id).not.toMatch(/<script|alert\(|Siti|passwd|EICAR/i)
    }
  })

  it('gives the stored type, extension and a display name', () => {
    expect(accepted('jpeg-plain')).toMatchObject({
      type: 'jpeg',
      mime: 'image/jpeg',
      ext: 'jpg',
      displayName: 'kelas.jpg',
      width: 48,
      height: 32,
    })
    expect(accepted('png-plain')).toMatchObject({ mime: 'image/png', ext: 'png' })
    expect(accepted('webp-lossy')).toMatchObject({ mime: 'image/webp', ext: 'webp' })
    expect(accepted('pdf-plain')).toMatchObject({ mime: 'application/pdf', ext: 'pdf' })
    expect(accepted('pdf-plain').width).toBeUndefined()
    expect(accepted('jpeg-no-declared-type-no-extension').displayName).toBe('foto kelas.jpg')
  })

  it('agrees with file-type on every accepted file', async () => {
    for (const e of corpus) {
      const result = results.get(e.id)!
      if (!result.ok) continue
      expect((await fileTypeFromBuffer(result.bytes))?.mime, e.id).toBe(result.mime)
    }
  })

  it('accepts every cleaned file again, unchanged: cleaning breaks no structure', () => {
    for (const e of corpus) {
      const first = results.get(e.id)!
      if (!first.ok) continue
      const again = inspectEvidence(first.bytes, { fileName: first.displayName })
      expect(again, e.id).toMatchObject({ ok: true, type: first.type })
      if (!again.ok) continue
      expect(Buffer.compare(again.bytes, first.bytes), e.id).toBe(0)
      if (first.type !== 'pdf') expect(again.removed, e.id).toEqual([])
    }
  })

  it('passes a valid PDF holding the EICAR string on to the virus scanner intact', () => {
    const e = corpus.filter((c) => c.infected)
    expect(e.map((c) => c.id)).toEqual(['pdf-eicar-in-content-stream'])
    expect(text(accepted(e[0]!.id).bytes)).toContain('EICAR-STANDARD-ANTIVIRUS-TEST-FILE')
  })

  it("never changes the caller's bytes", async () => {
    const fresh = await buildEvidenceCorpus()
    for (const e of fresh) inspect(e)
    for (const e of fresh) {
      expect(Buffer.compare(e.bytes, entry(e.id).bytes), e.id).toBe(0)
    }
  })
})

describe('cleaned images', () => {
  const images = () =>
    corpus.filter((e) => e.expect.ok && e.expect.type !== 'pdf' && !e.exceedsUploadLimit)

  it('decode to exactly the same pixels', async () => {
    const list = images()
    expect(list.length).toBeGreaterThanOrEqual(15)
    for (const e of list) {
      const before = await rawPixels(e.bytes)
      const after = await rawPixels(accepted(e.id).bytes)
      expect(after.info, e.id).toEqual(before.info)
      expect(Buffer.compare(after.data, before.data), e.id).toBe(0)
    }
  })

  it('decode to the same pixels for the 10 MiB file too', async () => {
    const e = entry('jpeg-oversized-upload')
    const out = accepted(e.id).bytes
    expect(out.length).toBeLessThan(e.bytes.length)
    expect(Buffer.compare((await rawPixels(out)).data, (await rawPixels(e.bytes)).data)).toBe(0)
  })

  it('hold no EXIF, GPS, XMP or IPTC that exifr can find (only a kept orientation)', async () => {
    let sensitive = 0
    for (const e of images()) {
      if (e.expect.ok && e.expect.type === 'webp') continue // exifr does not read WebP
      const before = await exifr.parse(e.bytes, EVERYTHING)
      const after = await exifr.parse(accepted(e.id).bytes, EVERYTHING)
      if (e.secrets) {
        expect(before, e.id).toBeDefined()
        sensitive++
      }
      if (e.id === 'jpeg-rotated-phone-photo') {
        expect(after, e.id).toEqual({ ifd0: { Orientation: 'Rotate 90 CW' } })
      } else {
        expect(after, e.id).toBeUndefined()
      }
      expect(await exifr.gps(accepted(e.id).bytes).catch(() => undefined), e.id).toBeUndefined()
    }
    expect(sensitive).toBeGreaterThanOrEqual(6)
  })

  it('the GPS position, IPTC and XMP were really there before', async () => {
    const e = entry('jpeg-exif-gps-xmp-iptc-comment')
    const gps = await exifr.gps(e.bytes)
    expect(gps.latitude).toBeCloseTo(-6.9144, 3)
    const meta = await exifr.parse(e.bytes, EVERYTHING)
    expect(meta.iptc.Byline).toBe('Siti Rahayu')
    expect(meta.xmp.CreatorTool).toBe('KameraSekolah 2.1')
  })

  it('hold no EXIF, XMP, IPTC or text comments that sharp reads, in any format', async () => {
    for (const e of images()) {
      const before = await sharp(e.bytes).metadata()
      const after = await sharp(accepted(e.id).bytes).metadata()
      if (e.secrets && e.id !== 'jpeg-rotated-phone-photo') {
        expect(before.exif ?? before.xmp, e.id).toBeDefined()
        expect(after.exif, e.id).toBeUndefined()
      }
      expect(after.xmp, e.id).toBeUndefined()
      expect(after.iptc, e.id).toBeUndefined()
      expect(after.comments, e.id).toBeUndefined()
    }
    expect((await sharp(entry('png-text-xmp-exif-time-private').bytes).metadata()).comments)
      .toHaveLength(3)
  })

  it('no longer hold the names, places and tools written into them', () => {
    for (const e of corpus) {
      const result = results.get(e.id)!
      if (!result.ok || !e.secrets || !result.metadataRemoved) continue
      for (const secret of e.secrets) {
        expect(text(e.bytes), `${e.id} before`).toContain(secret)
        expect(text(result.bytes), `${e.id} after`).not.toContain(secret)
      }
    }
  })

  it('keep the orientation in a minimal EXIF block so phone photos stay upright', async () => {
    const out = accepted('jpeg-rotated-phone-photo').bytes
    expect((await sharp(out).metadata()).orientation).toBe(6)
    expect(await exifr.orientation(out)).toBe(6)
    expect(await exifr.gps(out).catch(() => undefined)).toBeUndefined()
  })

  it('keep the ICC profile and the Adobe colour transform byte for byte', async () => {
    const icc = entry('jpeg-icc-profile-kept')
    expect((await sharp(accepted(icc.id).bytes).metadata()).icc)
      .toEqual((await sharp(icc.bytes).metadata()).icc)
    const cmyk = accepted('jpeg-cmyk-adobe-kept').bytes
    expect(text(cmyk)).toContain('Adobe')
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk')
  })

  it('lose the JFIF thumbnail but keep the JFIF header', () => {
    const out = accepted('jpeg-jfif-thumbnail').bytes
    expect(Array.from(out.subarray(0, 6))).toEqual([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10])
    expect(text(out.subarray(6, 11))).toBe('JFIF\0')
    expect(Array.from(out.subarray(18, 20))).toEqual([0, 0]) // no thumbnail
  })

  it("end at the first image's end marker when more images or padding follow it", () => {
    for (const id of ['jpeg-gain-map-after-eoi', 'jpeg-zero-padding-after-eoi']) {
      const out = accepted(id).bytes
      expect(out.length, id).toBe(entry('jpeg-plain').bytes.length)
      expect(Array.from(out.subarray(-2)), id).toEqual([0xff, 0xd9])
    }
  })

  it('PNG: text, XMP, EXIF, time and private chunks go; colour chunks stay', () => {
    const before = pngChunks(entry('png-text-xmp-exif-time-private').bytes)
    const after = pngChunks(accepted('png-text-xmp-exif-time-private').bytes)
    expect(before).toEqual(expect.arrayContaining(['tEXt', 'zTXt', 'iTXt', 'eXIf', 'tIME', 'prVt']))
    expect(after).toEqual(['IHDR', 'pHYs', 'IDAT', 'IEND'])
  })

  it('WebP: EXIF and XMP chunks go, their VP8X flags are cleared, the RIFF size is right', () => {
    const input = entry('webp-exif-xmp').bytes
    const out = accepted('webp-exif-xmp').bytes
    expect(webpChunks(input)).toEqual(expect.arrayContaining(['VP8X', 'EXIF', 'XMP ']))
    expect(webpChunks(out)).toEqual(['VP8X', 'VP8 '])
    expect(input[20]! & 0x0c).toBe(0x0c)
    expect(out[20]! & 0x0c).toBe(0)
    expect(Buffer.from(out).readUInt32LE(4)).toBe(out.length - 8)
  })

  it('are the input itself when there is nothing to remove (no copy)', () => {
    for (const id of ['jpeg-plain', 'png-plain', 'webp-lossy', 'pdf-plain']) {
      const out = accepted(id).bytes
      expect(out.buffer, id).toBe(entry(id).bytes.buffer)
      expect(out.length, id).toBe(entry(id).bytes.length)
    }
  })
})

describe('cleaned PDFs', () => {
  const pdfs = () => corpus.filter((e) => e.expect.ok && e.expect.type === 'pdf')

  it('keep their length and every cross-reference offset pointing at its object', () => {
    for (const e of pdfs()) {
      const out = accepted(e.id).bytes
      expect(out.length, e.id).toBe(e.bytes.length)
      const entries = xrefEntries(out)
      expect(entries.length, e.id).toBeGreaterThanOrEqual(5)
      for (const { num, offset } of entries) {
        expect(text(out.subarray(offset, offset + 20)), `${e.id} object ${num}`)
          .toMatch(new RegExp(`^${num} 0 obj\\s`))
      }
    }
  })

  it('leave pages, content and fonts byte for byte', () => {
    for (const e of pdfs()) {
      const out = accepted(e.id).bytes
      for (const { num, offset } of xrefEntries(e.bytes)) {
        if (![1, 2, 3, 4, 6].includes(num)) continue
        expect(objectAt(out, offset), `${e.id} object ${num}`).toBe(objectAt(e.bytes, offset))
      }
    }
  })

  it('blank every information string in place, keys kept', () => {
    const out = text(accepted('pdf-info-and-xmp').bytes)
    expect(out).toMatch(/\/Author \( {11}\)/)
    expect(out).toMatch(/\/Producer \( {15}\)/)
    expect(out).toMatch(/\/Creator \( {17}\)/)
    expect(out).toMatch(/\/Title \( +\) \/Author/)
    expect(out).not.toContain('PencetakPDF')
    const hex = text(accepted('pdf-hex-and-referenced-info').bytes)
    expect(hex).toMatch(/\/Author <(20)+>/)
    expect(hex).toMatch(/9 0 obj\n\( {14}\)/)
  })

  it('blank the information of every revision of an updated file', () => {
    const e = entry('pdf-incremental-update')
    expect(text(e.bytes).match(/Siti Rahayu/g)).toHaveLength(2)
    expect(text(accepted(e.id).bytes)).not.toContain('Siti')
    expect(accepted(e.id).removed).toEqual([
      expect.objectContaining({ kind: 'document_info', count: 9 }),
    ])
  })

  it('replace an XMP stream with an empty packet, plain or Flate, at the same length', () => {
    const plain = text(accepted('pdf-info-and-xmp').bytes)
    expect(plain).toMatch(
      /stream\n<\?xpacket begin=""[^\n]*<x:xmpmeta xmlns:x="adobe:ns:meta\/"\/>/,
    )
    const flate = accepted('pdf-flate-xmp').bytes
    const s = text(flate)
    const start = s.indexOf('stream\n', s.indexOf('/Type /Metadata')) + 7
    const length = Number(/\/Length (\d+)/.exec(s.slice(s.indexOf('/Type /Metadata')))![1])
    const xmp = inflateSync(flate.subarray(start, start + length)).toString('latin1')
    expect(xmp).toMatch(/^<\?xpacket begin=""/)
    expect(xmp).not.toMatch(/Siti|Bandung|Kamera/)
    const original = text(entry('pdf-flate-xmp').bytes)
    const before = inflateSync(entry('pdf-flate-xmp').bytes.subarray(start, start + length))
    expect(before.toString('latin1')).toContain('Siti Rahayu')
    expect(original.length).toBe(s.length)
  })

  it('report what they cannot clean and change nothing then', () => {
    for (const id of ['pdf-encrypted', 'pdf-info-in-object-stream']) {
      const result = accepted(id)
      expect(result.metadataRemoved, id).toBe(false)
      const expected = entry(id).expect
      expect(result.reason, id).toBe(expected.ok ? expected.reason : 'refused')
      expect(Buffer.compare(result.bytes, entry(id).bytes), id).toBe(0)
    }
  })
})

describe('checkDeclared', () => {
  const jpeg = sniff(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0))
  const refusal = (name: string, type: string | null) => {
    try {
      checkDeclared(name, type, jpeg)
    } catch (e) {
      return (e as { code: string }).code
    }
    return 'accepted'
  }

  it('accepts every JPEG extension and alias, in any case', () => {
    for (const name of ['a.jpg', 'a.JPEG', 'a.Jfif', 'IMG 2024.03.05']) {
      expect(refusal(name, 'image/jpeg'), name).toBe('accepted')
    }
    for (const type of ['image/jpg', 'IMAGE/JPEG; charset=binary', 'image/pjpeg', '', null]) {
      expect(refusal('a.jpg', type), String(type)).toBe('accepted')
    }
  })

  it('lets application/octet-stream through but still checks the extension', () => {
    expect(refusal('a.jpg', 'application/octet-stream')).toBe('accepted')
    expect(refusal('a.png', 'application/octet-stream')).toBe('type_mismatch')
    expect(refusal('a.jpg', 'image/svg+xml')).toBe('type_mismatch')
  })

  it('counts the 255-byte limit in UTF-8 bytes', () => {
    expect(refusal(`${'a'.repeat(251)}.jpg`, null)).toBe('accepted')
    expect(refusal(`${'a'.repeat(252)}.jpg`, null)).toBe('bad_file_name')
    expect(refusal(`${'é'.repeat(126)}.jpg`, null)).toBe('bad_file_name')
  })

  it('refuses "..", separators, controls, direction marks and broken UTF-16', () => {
    for (
      const name of [
        '..',
        'a..jpg',
        'a/b.jpg',
        'a\\b.jpg',
        'a\tb.jpg',
        'a\u0085.jpg',
        'a\u2028.jpg',
        'a\u200f.jpg',
        'a\u2066.jpg',
        'a\ud800.jpg',
      ]
    ) {
      expect(refusal(name, null), JSON.stringify(name)).toBe('bad_file_name')
    }
  })

  it('shows a cleaned name: NFC, awkward characters as _, no leading dots or extra spaces', () => {
    expect(checkDeclared('.foto  "kelas"<7>.jpg', null, jpeg).displayName)
      .toBe('foto _kelas__7_.jpg')
    expect(checkDeclared('Cafe\u0301.jpg', null, jpeg).displayName).toBe('Caf\u00e9.jpg')
  })
})

describe('sizes', () => {
  it('reads width and height from JPEG, PNG, VP8, VP8L and VP8X headers', () => {
    for (const id of ['jpeg-plain', 'png-plain', 'webp-lossy', 'webp-lossless', 'webp-exif-xmp']) {
      const e = entry(id)
      expect(dimensions(e.bytes, sniff(e.bytes)), id).toEqual({ width: 48, height: 32 })
    }
    const rotated = entry('jpeg-rotated-phone-photo').bytes
    expect(dimensions(rotated, sniff(rotated))).toEqual({ width: 32, height: 48 })
  })

  it('applies a configurable pixel limit, 40 megapixels by default', () => {
    expect(DEFAULT_MAX_PIXELS).toBe(40_000_000)
    for (const id of ['jpeg-plain', 'png-plain', 'webp-lossy']) {
      expect(inspect(entry(id), 48 * 32 - 1), id).toMatchObject({ code: 'image_too_large' })
      expect(inspect(entry(id), 48 * 32).ok, id).toBe(true)
    }
  })

  it('refuses a 64250x64250 JPEG from its header alone, before the missing scan', () => {
    const bomb = entry('jpeg-header-64250x64250')
    expect(dimensions(bomb.bytes, sniff(bomb.bytes))).toEqual({ width: 64250, height: 64250 })
    // With the limit out of the way the same bytes fail the structure check: the size was
    // decided without reading further.
    expect(inspect(bomb, 64250 * 64250)).toMatchObject({ code: 'corrupt_file' })
  })

  it("refuses a bad limit as the caller's mistake", () => {
    expect(() => inspect(entry('jpeg-plain'), -1)).toThrow(TypeError)
    expect(() => inspect(entry('jpeg-plain'), 1.5)).toThrow(TypeError)
  })
})

describe('damaged input', () => {
  const valid = () =>
    corpus.filter((e) => e.expect.ok && !e.exceedsUploadLimit && e.bytes.length < 200_000)

  it('refuses every cut-short copy of a valid file and never throws', () => {
    let tried = 0
    for (const e of valid()) {
      const n = e.bytes.length
      // The last 8 bytes of a PDF are `%%EOF` and a line break, and of a JPEG maybe padding.
      const cuts = Array.from({ length: 40 }, (_, k) => Math.floor(((n - 80) * k) / 40) + 1)
      for (const cut of cuts) {
        const prefix = e.bytes.subarray(0, cut)
        const result = inspectEvidence(prefix, { fileName: e.fileName })
        // An updated PDF cut right after its first revision is that revision, complete.
        if (text(prefix).trimEnd().endsWith('%%EOF')) continue
        expect(result.ok, `${e.id} cut at ${cut}`).toBe(false)
        tried++
      }
    }
    expect(tried).toBeGreaterThan(600)
  })

  // Regression: bounded searches once ran on to the end of the file, so many small segments,
  // chunks or objects made the work quadratic (minutes for a few megabytes).
  it('stays linear on files made of a great many small pieces', () => {
    const time = (bytes: Uint8Array, fileName: string) => {
      const started = performance.now()
      const result = inspectEvidence(bytes, { fileName })
      return { result, ms: performance.now() - started }
    }
    const jpeg = entry('jpeg-plain').bytes
    const comments = Buffer.alloc(90_000 * 5)
    for (let k = 0; k < 90_000; k++) comments.set([0xff, 0xfe, 0x00, 0x03, 0x20], k * 5)
    const manyComments = time(
      Buffer.concat([jpeg.subarray(0, 2), comments, jpeg.subarray(2)]),
      'a.jpg',
    )
    expect(manyComments.result).toMatchObject({
      ok: true,
      removed: [{ kind: 'comment', count: 90_000 }],
    })

    const png = entry('png-plain').bytes
    const chunk = Buffer.from([0, 0, 0, 1, 0x74, 0x45, 0x58, 0x74, 0x41, 0, 0, 0, 0])
    const manyChunks = time(
      Buffer.concat([
        png.subarray(0, 33),
        Buffer.concat(Array(90_000).fill(chunk)),
        png.subarray(33),
      ]),
      'a.png',
    )
    expect(manyChunks.result).toMatchObject({
      ok: true,
      removed: [{ kind: 'text', count: 90_000 }],
    })

    const names = '/Metadata ('.repeat(90_000) + ')'.repeat(90_000)
    const pdf = buildPdf([
      { num: 1, body: `<< /Type /Catalog /Pages 2 0 R /X ${names} >>` },
      { num: 2, body: '<< /Type /Pages /Kids [] /Count 0 >>' },
    ], '/Root 1 0 R')
    const manyNames = time(pdf, 'a.pdf')
    expect(manyNames.result).toMatchObject({ ok: true, removed: [] })

    for (const run of [manyComments, manyChunks, manyNames]) expect(run.ms).toBeLessThan(3_000)
  })

  it('answers every flipped byte with a verdict, never an exception', () => {
    let x = 12345
    const random = () => {
      x = (x * 1103515245 + 12345) & 0x7fffffff
      return x
    }
    for (const e of valid()) {
      for (let k = 0; k < 150; k++) {
        const copy = new Uint8Array(e.bytes)
        for (let f = 0; f < 3; f++) copy[random() % copy.length] = random() & 0xff
        const result = inspectEvidence(copy, { fileName: e.fileName })
        expect(typeof result.ok, e.id).toBe('boolean')
      }
    }
  })
})
