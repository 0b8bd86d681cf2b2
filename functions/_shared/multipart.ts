/**
 * A multipart/form-data body with one file, as browsers and supabase.functions.invoke send
 * it, read with a bound: the body is refused as soon as it grows past the file limit plus a
 * little room for the other fields, so an oversized upload is never buffered whole. The parts
 * are views into the one buffer the body was read into; the file is not copied.
 */
import { AppError } from './errors.ts'

export interface UploadedFile {
  /** The file name the client gave (unchecked: the caller validates it). */
  name: string
  /** The content type the client declared for the part, if any. */
  type: string | null
  bytes: Uint8Array
}

export interface MultipartBody {
  fields: Map<string, string>
  file?: UploadedFile
}

/** Room for boundaries, part headers and small fields beyond the file itself. */
const OVERHEAD = 64 * 1024
const MAX_FIELD_BYTES = 1024
const MAX_PARTS = 8

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!
  const last = haystack.length - needle.length
  for (let i = haystack.indexOf(first, from); i !== -1 && i <= last;
    i = haystack.indexOf(first, i + 1)) {
    let j = 1
    while (j < needle.length && haystack[i + j] === needle[j]) j += 1
    if (j === needle.length) return i
  }
  return -1
}

const malformed = (what: string) =>
  new AppError('bad_request', `The form data is malformed: ${what}`)

/** A body still arriving after this long is given up (a stalled client holds memory). */
const READ_TIMEOUT_MS = 60_000

/** Reads at most `limit` bytes of the request body; more is refused with file_too_large. */
async function readBounded(req: Request, limit: number, tooLarge: () => AppError) {
  const declared = Number(req.headers.get('content-length') ?? NaN)
  if (declared > limit) {
    await req.body?.cancel()
    throw tooLarge()
  }
  // The buffer grows with what actually arrives, not with what the headers promise, so a
  // client that declares 10 MB and sends a byte does not get 10 MB set aside.
  let buffer = new Uint8Array(Math.min(Number.isFinite(declared) ? declared : 256 * 1024,
    1024 * 1024))
  let size = 0
  const reader = req.body?.getReader()
  let timer: ReturnType<typeof setTimeout> | undefined
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AppError('request_timeout',
      `The upload did not arrive within ${READ_TIMEOUT_MS / 1000} seconds`)), READ_TIMEOUT_MS)
  })
  stalled.catch(() => {})
  try {
    while (reader) {
      const { done, value } = await Promise.race([reader.read(), stalled])
      if (done) break
      if (size + value.byteLength > limit) {
        await reader.cancel()
        throw tooLarge()
      }
      if (size + value.byteLength > buffer.length) {
        const grown = new Uint8Array(Math.min(limit, Math.max(buffer.length * 2,
          size + value.byteLength)))
        grown.set(buffer.subarray(0, size))
        buffer = grown
      }
      buffer.set(value, size)
      size += value.byteLength
    }
  } catch (error) {
    await reader?.cancel().catch(() => {})
    throw error
  } finally {
    clearTimeout(timer)
  }
  return buffer.subarray(0, size)
}


function parseDisposition(header: string): { name?: string; filename?: string } {
  if (!/^form-data\s*(;|$)/i.test(header)) throw malformed('a part is not form-data')
  const result: { name?: string; filename?: string } = {}
  // Browsers send names as they are inside the quotes (a quote itself as %22), so a
  // backslash is a character of the name, not an escape.
  for (const m of header.matchAll(/;\s*(name|filename)="([^"]*)"/gi)) {
    result[m[1]!.toLowerCase() as 'name' | 'filename'] = m[2]!
  }
  return result
}

export async function readMultipart(
  req: Request,
  options: { maxFileBytes: number; tooLarge: () => AppError },
): Promise<MultipartBody> {
  const type = req.headers.get('content-type') ?? ''
  const boundaryMatch = /^multipart\/form-data\s*;.*boundary=(?:"([^"]+)"|([^\s;]+))/i
    .exec(type)
  if (!boundaryMatch) {
    throw new AppError('unsupported_media_type', 'Send the file as multipart/form-data')
  }
  const boundary = boundaryMatch[1] ?? boundaryMatch[2]!
  if (boundary.length > 70) throw malformed('the boundary is longer than 70 characters')
  const body = await readBounded(req, options.maxFileBytes + OVERHEAD, options.tooLarge)

  const delimiter = encoder.encode(`--${boundary}`)
  const separator = encoder.encode(`\r\n--${boundary}`)
  const headerEnd = encoder.encode('\r\n\r\n')
  let at = indexOf(body, delimiter, 0)
  if (at === -1) throw malformed('no part starts with the boundary')
  at += delimiter.length
  const result: MultipartBody = { fields: new Map() }
  for (let parts = 0; ; parts += 1) {
    // After a delimiter: "--" ends the body, CRLF starts a part.
    if (body[at] === 45 && body[at + 1] === 45) break
    if (body[at] !== 13 || body[at + 1] !== 10) {
      throw malformed('a boundary is not followed by a line end')
    }
    if (parts >= MAX_PARTS) throw malformed(`more than ${MAX_PARTS} parts`)
    const headersStart = at + 2
    const headersStop = indexOf(body, headerEnd, headersStart)
    if (headersStop === -1 || headersStop - headersStart > 8192) throw malformed('part headers')
    let headerText: string
    try {
      headerText = decoder.decode(body.subarray(headersStart, headersStop))
    } catch {
      throw malformed('part headers are not UTF-8')
    }
    const headers = new Map<string, string>()
    for (const line of headerText.split('\r\n')) {
      const colon = line.indexOf(':')
      if (colon > 0) {
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
      }
    }
    const contentStart = headersStop + headerEnd.length
    const contentStop = indexOf(body, separator, contentStart)
    if (contentStop === -1) throw malformed('a part does not end with the boundary')
    const content = body.subarray(contentStart, contentStop)
    const { name, filename } = parseDisposition(headers.get('content-disposition') ?? '')
    if (!name) throw malformed('a part has no name')
    if (filename !== undefined) {
      if (result.file) throw malformed('more than one file')
      if (name !== 'file') throw malformed(`a file in the field "${name}" (expected "file")`)
      // The form encoding writes line feeds, carriage returns and quotes of a name as %0A, %0D
      // and %22; they are restored, so the name is checked as the uploader's device gave it.
      const given = filename.replace(/%(0A|0D|22)/g, (_m, hex: string) =>
        String.fromCharCode(parseInt(hex, 16)))
      result.file = { name: given, type: headers.get('content-type') ?? null, bytes: content }
    } else {
      if (content.length > MAX_FIELD_BYTES) throw malformed(`the field "${name}" is too long`)
      if (result.fields.has(name)) throw malformed(`the field "${name}" appears twice`)
      try {
        result.fields.set(name, decoder.decode(content))
      } catch {
        throw malformed(`the field "${name}" is not UTF-8`)
      }
    }
    at = contentStop + separator.length
  }
  return result
}
