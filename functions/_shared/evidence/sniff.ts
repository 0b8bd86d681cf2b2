/**
 * What a file is, decided by its first bytes only. The name and the declared content type are
 * whatever the uploader's device chose (or the uploader typed), so they are checked against
 * this answer, never used to reach it.
 *
 * Four types are accepted, each by its signature at offset 0 (not "somewhere in the first
 * kilobyte", as lenient PDF readers allow: that slack is what lets a file be HTML and PDF at
 * once). Everything else is `unsupported_type`, including GIF, SVG, HTML, ZIP, text and
 * scripts; an empty file is `empty_file`. EICAR's test string is plain text, so a file holding
 * it is refused here whatever its name; the virus scanner still sees every accepted file.
 */
import { ascii, startsWith } from './bytes.ts'
import { EvidenceRefusal } from './refusal.ts'

export const EVIDENCE_TYPES = {
  pdf: { mime: 'application/pdf', ext: 'pdf' },
  jpeg: { mime: 'image/jpeg', ext: 'jpg' },
  png: { mime: 'image/png', ext: 'png' },
  webp: { mime: 'image/webp', ext: 'webp' },
} as const

export type EvidenceType = keyof typeof EVIDENCE_TYPES

export interface Detected {
  type: EvidenceType
  /** The content type to store and serve the file with. */
  mime: string
  /** The canonical extension, without a dot. */
  ext: string
}

const PDF = ascii('%PDF-')
const JPEG = Uint8Array.of(0xff, 0xd8, 0xff)
const PNG = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)
const RIFF = ascii('RIFF')
const WEBP = ascii('WEBP')

function detected(type: EvidenceType): Detected {
  return { type, ...EVIDENCE_TYPES[type] }
}

/** The type of `bytes` by signature; throws `empty_file` or `unsupported_type`. */
export function sniff(bytes: Uint8Array): Detected {
  if (bytes.length === 0) throw new EvidenceRefusal('empty_file', 'The file is empty.')
  if (startsWith(bytes, PDF)) return detected('pdf')
  if (startsWith(bytes, JPEG)) return detected('jpeg')
  if (startsWith(bytes, PNG)) return detected('png')
  if (startsWith(bytes, RIFF) && startsWith(bytes, WEBP, 8)) return detected('webp')
  throw new EvidenceRefusal(
    'unsupported_type',
    'Only PDF documents and JPEG, PNG or WebP images can be uploaded as evidence.',
  )
}
