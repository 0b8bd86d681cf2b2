/**
 * PDF: structure check, active content and metadata removal, without rewriting the file.
 *
 * Checks. The file must start with `%PDF-n.n` at offset 0 and end with `%%EOF` followed by
 * nothing but white space (else `corrupt_file` when the marker is missing, as in a truncated
 * upload, and `polyglot` when other data follows it: a ZIP or HTML appended to a PDF).
 * `startxref` must point inside the file at a cross-reference table or stream. HTML, SVG or
 * script markup in the first kilobyte is `polyglot`: that is where browsers and proxies sniff.
 * A PDF naming `/JavaScript`, `/JS`, `/Launch`, `/EmbeddedFile(s)`, `/RichMedia` or `/XFA`
 * outside stream data (`#xx` escapes decoded) is `active_content`: evidence needs none of them.
 *
 * Metadata removal works in place: every byte keeps its offset, so the cross-reference table
 * stays valid and the file opens exactly as before.
 * - Document information: the dictionary named by `/Info` in every trailer (and in every
 *   cross-reference stream dictionary), in every revision of the file. Each string value in
 *   it (Author, Creator, Producer, Title, Subject, Keywords, dates and custom keys) is
 *   overwritten with spaces inside its delimiters, `(Siti)` becoming `(    )` and `<53697469>`
 *   becoming `<20202020>`; values given as references to string objects are blanked there.
 * - XMP: every stream whose dictionary says `/Type /Metadata` or `/Subtype /XML`, or that a
 *   `/Metadata` key points to. An unfiltered stream is overwritten with an empty XMP packet
 *   padded with spaces; a Flate stream with a zlib stream of the same length holding the same
 *   (stored, uncompressed), so `/Length` stays right.
 *
 * Limitations (the caller decides what to do; the result says `metadataRemoved: false` and a
 * `reason`):
 * - `encrypted`: strings of an encrypted PDF are ciphertext and cannot be blanked in place
 *   without garbling or breaking the document; nothing is changed.
 * - `compressed_object_stream`: since PDF 1.5 objects may sit inside compressed object
 *   streams. When the information dictionary (or a string it refers to) is only there, it
 *   cannot be reached without decompressing and rewriting the file; it is left as it is.
 * - `unsupported_stream_filter`: an XMP stream with a filter other than Flate, or with decode
 *   parameters, is left as it is.
 * Not covered at all, whatever the result says: metadata inside embedded images (a photo's
 * EXIF in a JPEG stream), page-level piece info, annotations' authors, and the checks above
 * for anything inside compressed object streams. Incremental updates whose newest revision
 * moved the information dictionary into an object stream, while an older revision still has
 * a plain copy, are reported as cleaned although the newest copy remains.
 */
import { ascii, indexOf, lastIndexOf, refuseMarkup } from './bytes.ts'
import { corrupt, EvidenceRefusal, polyglot } from './refusal.ts'
import {
  findNames,
  isSpace,
  Lexer,
  type NameAt,
  type ObjectHeader,
  objectHeaders,
  type StreamSpan,
  streamSpans,
  textRegions,
  type Token,
  wordAt,
} from './pdf-syntax.ts'
import { type MetadataKeptReason, type Removed, type StripResult, tally } from './report.ts'

const HEADER = /^%PDF-\d\.\d/
const EOF = ascii('%%EOF')
const STARTXREF = ascii('startxref')
const ACTIVE = ['JavaScript', 'JS', 'Launch', 'EmbeddedFile', 'EmbeddedFiles', 'RichMedia', 'XFA']
const WANTED = new Set([...ACTIVE, 'Info', 'Encrypt', 'Metadata'])
const SNIFF_WINDOW = 1024
const SPACE = 0x20

/** An empty XMP packet: what an unfiltered metadata stream is overwritten with when it fits. */
const EMPTY_XMP = ascii(
  '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>' +
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"/><?xpacket end="w"?>',
)

interface Edit {
  from: number
  to: number
  /** Spaces, hex digits of spaces, or given bytes. */
  fill: 'spaces' | 'hex' | Uint8Array
}

function checkFrame(b: Uint8Array): void {
  let head = ''
  for (let i = 0; i < 8 && i < b.length; i++) head += String.fromCharCode(b[i]!)
  if (!HEADER.test(head)) throw corrupt('the PDF header is malformed')
  const eof = lastIndexOf(b, EOF)
  if (eof === -1) throw corrupt('the PDF end-of-file marker is missing')
  for (let i = eof + EOF.length; i < b.length; i++) {
    if (!isSpace(b[i])) throw polyglot('data after the end of the document')
  }
  const startxref = lastIndexOf(b, STARTXREF, eof)
  if (startxref === -1) throw corrupt('the PDF has no cross-reference offset')
  const lexer = new Lexer(b, startxref + STARTXREF.length, eof)
  const offset = lexer.next()
  if (offset?.type !== 'word' || !/^\d+$/.test(offset.value)) {
    throw corrupt('the PDF cross-reference offset is malformed')
  }
  let at = Number(offset.value)
  if (at >= startxref) throw corrupt('the PDF cross-reference offset points outside the file')
  while (isSpace(b[at])) at++
  const c = b[at]!
  if (!wordAt(b, at, 'xref') && !(c >= 0x30 && c <= 0x39)) {
    throw corrupt('the PDF cross-reference offset points at nothing')
  }
  refuseMarkup(b, 0, Math.min(SNIFF_WINDOW, b.length), 'the start of the PDF')
}

/** The parsed layout the metadata search works on. */
interface Layout {
  spans: StreamSpan[]
  headers: ObjectHeader[]
  byNum: Map<number, ObjectHeader[]>
  names: NameAt[]
}

function layout(b: Uint8Array): Layout {
  const spans = streamSpans(b)
  const regions = textRegions(b, spans)
  const headers = objectHeaders(b, regions)
  const byNum = new Map<number, ObjectHeader[]>()
  for (const h of headers) {
    const copies = byNum.get(h.num)
    if (copies) copies.push(h)
    else byNum.set(h.num, [h])
  }
  return { spans, headers, byNum, names: findNames(b, regions, WANTED) }
}

/**
 * The index of the last item whose `key` is at most `at`, or -1; items are in file order.
 * Binary search: a crafted file may hold hundreds of thousands of objects.
 */
function lastAtOrBefore<T>(items: T[], key: (item: T) => number, at: number): number {
  let low = 0
  let high = items.length - 1
  let found = -1
  while (low <= high) {
    const mid = (low + high) >> 1
    if (key(items[mid]!) <= at) {
      found = mid
      low = mid + 1
    } else {
      high = mid - 1
    }
  }
  return found
}

/** The object a position lies in: the last header before it. */
function enclosing(headers: ObjectHeader[], at: number): ObjectHeader | undefined {
  return headers[lastAtOrBefore(headers, (h) => h.body, at)]
}

/** Where an object's body ends: its `endobj`, or the next header when that is missing. */
function bodyEnd(b: Uint8Array, l: Layout, h: ObjectHeader): number {
  const next = l.headers[h.index + 1]?.start ?? b.length
  const endobj = indexOf(b, ascii('endobj'), h.body, next)
  return endobj === -1 ? next : endobj
}

function blank(t: Token, edits: Edit[]): number {
  const from = t.start + 1
  const to = t.end - 1
  if (to > from) edits.push({ from, to, fill: t.type === 'hex' ? 'hex' : 'spaces' })
  return to - from
}

/**
 * Blanks the string values of the dictionary at the start of an object body. Returns the
 * count and size of blanked strings and the objects that values refer to.
 */
function blankDictionary(b: Uint8Array, l: Layout, h: ObjectHeader, edits: Edit[]) {
  const lexer = new Lexer(b, h.body, bodyEnd(b, l, h))
  const result = { count: 0, bytes: 0, refs: [] as number[] }
  if (lexer.next()?.type !== 'dict_open') return result
  for (;;) {
    const key = lexer.next()
    if (!key || key.type === 'dict_close') return result
    const ref = lexer.reference()
    if (ref !== undefined) {
      result.refs.push(ref)
      continue
    }
    const value = lexer.next()
    if (!value) return result
    lexer.skipValue(value, (t) => {
      if (t.type === 'string' || t.type === 'hex') {
        result.count++
        result.bytes += blank(t, edits)
      }
    })
  }
}

/** Blanks every string in an object referred to from the information dictionary. */
function blankStrings(b: Uint8Array, l: Layout, h: ObjectHeader, edits: Edit[]) {
  const lexer = new Lexer(b, h.body, bodyEnd(b, l, h))
  const result = { count: 0, bytes: 0 }
  for (let t = lexer.next(); t; t = lexer.next()) {
    if (t.type === 'string' || t.type === 'hex') {
      result.count++
      result.bytes += blank(t, edits)
    }
  }
  return result
}

interface StreamDict {
  isMetadata: boolean
  length?: number
  lengthRef?: number
  filters: string[]
  hasParams: boolean
}

function readStreamDict(b: Uint8Array, h: ObjectHeader, limit: number): StreamDict {
  const lexer = new Lexer(b, h.body, limit)
  const dict: StreamDict = { isMetadata: false, filters: [], hasParams: false }
  if (lexer.next()?.type !== 'dict_open') return dict
  for (;;) {
    const key = lexer.next()
    if (!key || key.type === 'dict_close') return dict
    const ref = lexer.reference()
    if (ref !== undefined) {
      if (key.value === 'Length') dict.lengthRef = ref
      if (key.value === 'DecodeParms' || key.value === 'DP') dict.hasParams = true
      continue
    }
    const value = lexer.next()
    if (!value) return dict
    if (key.value === 'Type' && value.value === 'Metadata') dict.isMetadata = true
    if (key.value === 'Subtype' && value.value === 'XML') dict.isMetadata = true
    if (key.value === 'Length' && /^\d+$/.test(value.value)) dict.length = Number(value.value)
    if (key.value === 'DecodeParms' || key.value === 'DP') {
      dict.hasParams = value.value !== 'null'
    }
    lexer.skipValue(value, (t) => {
      if ((key.value === 'Filter' || key.value === 'F') && t.type === 'name') {
        dict.filters.push(t.value)
      }
    })
  }
}

/** The integer an indirect `/Length` refers to. */
function resolveLength(b: Uint8Array, l: Layout, num: number): number | undefined {
  const h = l.byNum.get(num)?.at(-1)
  if (!h) return undefined
  const t = new Lexer(b, h.body, bodyEnd(b, l, h)).next()
  return t?.type === 'word' && /^\d+$/.test(t.value) ? Number(t.value) : undefined
}

function adler32(data: Uint8Array): number {
  let a = 1
  let s = 0
  for (let i = 0; i < data.length; i++) {
    a = (a + data[i]!) % 65521
    s = (s + a) % 65521
  }
  return ((s << 16) | a) >>> 0
}

/** Packet padded with spaces to `size` bytes, or spaces only when the packet does not fit. */
function emptyPacket(size: number): Uint8Array {
  const out = new Uint8Array(size).fill(SPACE)
  if (size >= EMPTY_XMP.length) out.set(EMPTY_XMP)
  return out
}

/**
 * A zlib stream of exactly `size` bytes whose content is an empty packet: stored (uncompressed)
 * deflate blocks, so its length can be chosen. Undefined when `size` is below the minimum.
 */
function storedZlib(size: number): Uint8Array | undefined {
  const MAX_BLOCK = 0xffff
  let blocks = 1
  while (size - 6 - 5 * blocks > MAX_BLOCK * blocks) blocks++
  const contentSize = size - 6 - 5 * blocks
  if (contentSize < 0) return undefined
  const content = emptyPacket(contentSize)
  const out = new Uint8Array(size)
  out[0] = 0x78
  out[1] = 0x01
  let at = 2
  let taken = 0
  for (let k = 0; k < blocks; k++) {
    const n = k === blocks - 1 ? contentSize - taken : Math.min(MAX_BLOCK, contentSize - taken)
    out[at] = k === blocks - 1 ? 1 : 0
    out[at + 1] = n & 0xff
    out[at + 2] = n >>> 8
    out[at + 3] = ~n & 0xff
    out[at + 4] = (~n >>> 8) & 0xff
    out.set(content.subarray(taken, taken + n), at + 5)
    at += 5 + n
    taken += n
  }
  const check = adler32(content)
  out.set([check >>> 24, (check >>> 16) & 0xff, (check >>> 8) & 0xff, check & 0xff], at)
  return out
}

/**
 * Overwrites one metadata stream. Answers false when its filter cannot be handled in place;
 * undefined when the object is not a metadata stream after all.
 */
function blankMetadataStream(
  b: Uint8Array,
  l: Layout,
  h: ObjectHeader,
  edits: Edit[],
): { bytes: number } | false | undefined {
  const end = bodyEnd(b, l, h)
  const span = l.spans[lastAtOrBefore(l.spans, (s) => s.keyword, h.body) + 1]
  if (!span || span.keyword >= end) return undefined
  const dict = readStreamDict(b, h, span.keyword)
  if (!dict.isMetadata) return undefined
  let length = dict.length ??
    (dict.lengthRef === undefined ? undefined : resolveLength(b, l, dict.lengthRef))
  if (length === undefined || span.data + length > span.endKeyword) {
    let e = span.endKeyword
    if (b[e - 1] === 0x0a) e--
    if (b[e - 1] === 0x0d) e--
    length = e - span.data
  }
  const from = span.data
  const to = span.data + length
  if (dict.filters.length === 0) {
    edits.push({ from, to, fill: emptyPacket(length) })
    return { bytes: length }
  }
  const flate = dict.filters.length === 1 &&
    (dict.filters[0] === 'FlateDecode' || dict.filters[0] === 'Fl')
  const replacement = flate && !dict.hasParams ? storedZlib(length) : undefined
  if (!replacement) return false
  edits.push({ from, to, fill: replacement })
  return { bytes: length }
}

function apply(b: Uint8Array, edits: Edit[]): Uint8Array {
  if (edits.length === 0) return b
  // A copy made by the constructor: Buffer#slice in Node would share the caller's memory.
  const out = new Uint8Array(b)
  for (const e of edits) {
    if (e.fill === 'spaces') out.fill(SPACE, e.from, e.to)
    else if (e.fill === 'hex') {
      for (let i = e.from; i < e.to; i++) out[i] = (i - e.from) % 2 === 0 ? 0x32 : 0x30
    } else out.set(e.fill, e.from)
  }
  return out
}

/** Checks the file and blanks its metadata in place (see the module comment for limits). */
export function stripPdf(b: Uint8Array): StripResult {
  checkFrame(b)
  const l = layout(b)
  if (l.names.some((n) => ACTIVE.includes(n.name))) {
    throw new EvidenceRefusal(
      'active_content',
      'The PDF holds scripts, launch actions, attached files or interactive forms, which ' +
        'evidence may not contain.',
    )
  }
  if (l.names.some((n) => n.name === 'Encrypt')) {
    return { bytes: b, removed: [], metadataRemoved: false, reason: 'encrypted' }
  }
  const edits: Edit[] = []
  const removed: Removed[] = []
  let reason: MetadataKeptReason | undefined

  const infoNums = new Set<number>()
  const metadataNums = new Set<number>()
  const metadataObjects = new Set<ObjectHeader>()
  for (const n of l.names) {
    const lexer = new Lexer(b, n.end, b.length)
    const ref = lexer.reference()
    if (n.name === 'Info' && ref !== undefined) infoNums.add(ref)
    if (n.name === 'Metadata') {
      if (ref !== undefined) metadataNums.add(ref)
      else {
        const h = enclosing(l.headers, n.start)
        if (h) metadataObjects.add(h)
      }
    }
  }
  for (const num of metadataNums) for (const h of l.byNum.get(num) ?? []) metadataObjects.add(h)

  const valueNums = new Set<number>()
  for (const num of infoNums) {
    const copies = l.byNum.get(num) ?? []
    if (copies.length === 0) reason = 'compressed_object_stream'
    for (const h of copies) {
      const found = blankDictionary(b, l, h, edits)
      if (found.count > 0) tally(removed, 'document_info', found.bytes, found.count)
      for (const r of found.refs) valueNums.add(r)
    }
  }
  for (const num of valueNums) {
    const copies = l.byNum.get(num) ?? []
    if (copies.length === 0) reason = 'compressed_object_stream'
    for (const h of copies) {
      const found = blankStrings(b, l, h, edits)
      if (found.count > 0) tally(removed, 'document_info', found.bytes, found.count)
    }
  }
  for (const h of metadataObjects) {
    const done = blankMetadataStream(b, l, h, edits)
    if (done === false) reason ??= 'unsupported_stream_filter'
    else if (done) tally(removed, 'xmp', done.bytes)
  }

  const result: StripResult = { bytes: apply(b, edits), removed, metadataRemoved: !reason }
  if (reason) result.reason = reason
  return result
}
