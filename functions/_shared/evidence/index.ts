/**
 * Content checks for evidence uploads: what a file is, whether it is only that, whether its
 * name and declared type agree, whether its image is of a sane size, and the same file with
 * its metadata removed. Pure functions over a fully buffered upload (the caller limits the
 * size while streaming); no I/O, no decoding, the same code in Deno and Node.
 *
 * `inspectEvidence` runs every check in order and is what the upload function calls; the
 * steps are exported for tests and for callers that need one of them. The checks, in order:
 * 1. the file name on its own (`bad_file_name`);
 * 2. the type by signature (`empty_file`, `unsupported_type`);
 * 3. the name's extension and the declared type against it (`type_mismatch`);
 * 4. a ZIP directory at the end of the file (`polyglot`);
 * 5. the declared pixel size, read from the header alone (`image_too_large`), so a header
 *    claiming 64250x64250 is refused before anything else is read;
 * 6. the whole structure and what follows it (`corrupt_file`, `polyglot`, `active_content`,
 *    `too_complex`), then metadata removal.
 * Refusals carry a stable code and a message fit for the teacher, never the file's contents
 * or name. The accepted result carries the cleaned bytes to store and what was removed.
 */
import { endsWithZipDirectory } from './bytes.ts'
import { jpegDimensions, stripJpeg } from './jpeg.ts'
import { checkDeclared, checkFileName } from './name.ts'
import { stripPdf } from './pdf.ts'
import { pngDimensions, stripPng } from './png.ts'
import { EvidenceRefusal, polyglot as polyglotError, type RefusalCode } from './refusal.ts'
import type { Dimensions, MetadataKeptReason, Removed, StripResult } from './report.ts'
import { type Detected, type EvidenceType, sniff } from './sniff.ts'
import { stripWebp, webpDimensions } from './webp.ts'

export { checkDeclared, checkFileName, EvidenceRefusal, sniff }
export { REFUSAL_CODES, type RefusalCode } from './refusal.ts'
export { type Detected, EVIDENCE_TYPES, type EvidenceType } from './sniff.ts'
export type { Dimensions, MetadataKeptReason, Removed, RemovedKind, StripResult } from './report.ts'

/** 40 megapixels: above any phone camera in use, far below what would exhaust a decoder. */
export const DEFAULT_MAX_PIXELS = 40_000_000

/** Declared width and height of an image, from its header only; undefined for a PDF. */
export function dimensions(bytes: Uint8Array, detected: Detected): Dimensions | undefined {
  switch (detected.type) {
    case 'jpeg':
      return jpegDimensions(bytes)
    case 'png':
      return pngDimensions(bytes)
    case 'webp':
      return webpDimensions(bytes)
    case 'pdf':
      return undefined
  }
}

/** Throws `image_too_large` when the image declares more than `maxPixels` pixels. */
export function checkPixels(size: Dimensions, maxPixels = DEFAULT_MAX_PIXELS): void {
  if (size.width * size.height > maxPixels) {
    throw new EvidenceRefusal(
      'image_too_large',
      `The image is larger than ${Math.floor(maxPixels / 1_000_000)} megapixels allowed.`,
    )
  }
}

/**
 * Checks the whole structure and removes metadata. Throws `corrupt_file`, `polyglot`,
 * `active_content` or `too_complex`. The result's bytes may share the input's buffer when
 * nothing was removed.
 */
export function strip(bytes: Uint8Array, detected: Detected): StripResult {
  const strippers: Record<EvidenceType, (b: Uint8Array) => StripResult> = {
    jpeg: stripJpeg,
    png: stripPng,
    webp: stripWebp,
    pdf: stripPdf,
  }
  return strippers[detected.type](bytes)
}

export interface InspectOptions {
  /** The name the uploader's device gave; checked, never used to decide the type. */
  fileName: string
  /** The content type the upload declared, if any. */
  declaredType?: string | null
  /** Pixel limit for images; defaults to DEFAULT_MAX_PIXELS. */
  maxPixels?: number
}

export interface InspectAccepted extends Detected {
  ok: true
  /** The name to show people, cleaned; never a storage key. */
  displayName: string
  /** Declared size of an image; absent for a PDF. */
  width?: number
  height?: number
  /** The file to store. May share the input's buffer when nothing was removed. */
  bytes: Uint8Array
  removed: Removed[]
  /** False when metadata is known to remain (PDF only); `reason` says why. */
  metadataRemoved: boolean
  reason?: MetadataKeptReason
  /** JPEG EXIF orientation kept so the photo shows upright (2-8). */
  orientation?: number
}

export interface InspectRefused {
  ok: false
  code: RefusalCode
  message: string
}

export type InspectResult = InspectAccepted | InspectRefused

/**
 * Every check, then metadata removal. Refusals are returned, not thrown; a TypeError means the
 * caller passed something wrong (not bytes, a bad limit).
 */
export function inspectEvidence(bytes: Uint8Array, options: InspectOptions): InspectResult {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('inspectEvidence needs a Uint8Array')
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS
  if (!Number.isSafeInteger(maxPixels) || maxPixels <= 0) {
    throw new TypeError('maxPixels must be a positive integer')
  }
  try {
    checkFileName(options.fileName)
    const detected = sniff(bytes)
    const { displayName } = checkDeclared(options.fileName, options.declaredType, detected)
    if (endsWithZipDirectory(bytes)) throw polyglotError('a ZIP archive at its end')
    const size = dimensions(bytes, detected)
    if (size) checkPixels(size, maxPixels)
    const stripped = strip(bytes, detected)
    const accepted: InspectAccepted = {
      ok: true,
      ...detected,
      displayName,
      bytes: stripped.bytes,
      removed: stripped.removed,
      metadataRemoved: stripped.metadataRemoved,
    }
    if (size) Object.assign(accepted, size)
    if (stripped.reason) accepted.reason = stripped.reason
    if (stripped.orientation) accepted.orientation = stripped.orientation
    return accepted
  } catch (error) {
    if (error instanceof EvidenceRefusal) {
      return { ok: false, code: error.code, message: error.message }
    }
    throw error
  }
}
