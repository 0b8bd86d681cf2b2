/**
 * Why an evidence file was refused. The code is stable and part of the API (the upload function
 * answers with it, tests and clients match on it); the message is for the teacher and never
 * quotes the file's name or contents, so it is safe to show, log and return.
 */
export const REFUSAL_CODES = [
  /** Zero bytes: nothing to check. */
  'empty_file',
  /** Not a PDF, JPEG, PNG or WebP by its first bytes (HTML, SVG, scripts, ZIP, GIF, text…). */
  'unsupported_type',
  /**
   * The file is also something else: data after the end of the image or document, a ZIP
   * directory at its end, or HTML/SVG/script markup in a text region (metadata, comments, the
   * start of a PDF) that a browser or another program could read as a page.
   */
  'polyglot',
  /** Truncated or malformed: a structure is cut short, overruns the file or breaks the format. */
  'corrupt_file',
  /** A PDF that names JavaScript, launch actions, embedded files, rich media or XFA forms. */
  'active_content',
  /** The declared content type or the name's extension disagrees with the content. */
  'type_mismatch',
  /** The file name holds a path, control or direction characters, or is too long or empty. */
  'bad_file_name',
  /** The image header declares more pixels than the limit allows. */
  'image_too_large',
  /**
   * More segments, chunks, objects or streams than MAX_PIECES: no photo or document needs
   * that many, and tracking each one costs memory that a crafted file could exhaust.
   */
  'too_complex',
] as const

export type RefusalCode = (typeof REFUSAL_CODES)[number]

/** Thrown by the checks; `inspectEvidence` turns it into `{ ok: false, code, message }`. */
export class EvidenceRefusal extends Error {
  readonly code: RefusalCode

  constructor(code: RefusalCode, message: string) {
    super(message)
    this.name = 'EvidenceRefusal'
    this.code = code
  }
}

/** Shorthand for the many structural checks that fail the same way. */
export function corrupt(what: string): EvidenceRefusal {
  return new EvidenceRefusal('corrupt_file', `The file is damaged or incomplete: ${what}.`)
}

/**
 * The most structural pieces (JPEG segments, PNG or WebP chunks, PDF objects, streams or
 * metadata names) a file may have. Real photos have tens, PNGs at most a few thousand IDAT
 * chunks, a 10 MB PDF rarely more than tens of thousands of objects.
 */
export const MAX_PIECES = 100_000

/** Throws `too_complex` when a list of pieces is full. */
export function countPiece(count: number, what: string): void {
  if (count >= MAX_PIECES) {
    throw new EvidenceRefusal(
      'too_complex',
      `The file has more ${what} than an evidence file may have (${MAX_PIECES}).`,
    )
  }
}

export function polyglot(what: string): EvidenceRefusal {
  return new EvidenceRefusal('polyglot', `The file holds more than one kind of content: ${what}.`)
}
