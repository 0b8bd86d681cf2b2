/**
 * The uploader's claims about a file (its name and declared content type) checked against what
 * its bytes are.
 *
 * Rules:
 * - The name is refused (`bad_file_name`) when it is empty, longer than 255 bytes in UTF-8,
 *   holds `/` or `\`, holds `..` anywhere (strict on purpose: the name never needs it), holds
 *   control characters (C0, DEL, C1), Unicode line or paragraph separators, direction marks
 *   and overrides (which make `gpj.exe` read as `exe.jpg`), or broken UTF-16.
 * - The extension (1 to 10 letters and digits after the last dot, at least one a letter), when
 *   there is one, must be one of the detected type's (`jpg`, `jpeg`, `jfif` for JPEG),
 *   case-insensitively; otherwise `type_mismatch`. A name without an extension is accepted
 *   and the display name gets the canonical one.
 * - The declared type (parameters after `;` ignored, case-insensitive) must name the detected
 *   type; common aliases count (`image/jpg`, `image/pjpeg`, `image/x-png`, `application/x-pdf`).
 *   An absent type, an empty one and `application/octet-stream` mean "the device did not
 *   know": browsers send that for files they cannot classify, so the content decides. Any
 *   other type, `text/html` or `image/svg+xml` included, is `type_mismatch`.
 *
 * The display name is for showing to people only; storage keys must never be derived from it.
 */
import { EvidenceRefusal } from './refusal.ts'
import type { Detected, EvidenceType } from './sniff.ts'

const EXTENSIONS: Record<EvidenceType, readonly string[]> = {
  pdf: ['pdf'],
  jpeg: ['jpg', 'jpeg', 'jfif'],
  png: ['png'],
  webp: ['webp'],
}

const MIME_TYPES: Record<EvidenceType, readonly string[]> = {
  pdf: ['application/pdf', 'application/x-pdf'],
  jpeg: ['image/jpeg', 'image/jpg', 'image/pjpeg'],
  png: ['image/png', 'image/x-png'],
  webp: ['image/webp'],
}

const UNKNOWN_TYPES = ['', 'application/octet-stream']

const MAX_NAME_BYTES = 255

/** C0 and C1 controls, DEL, line and paragraph separators, direction marks and isolates. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
/** Characters that are legal here but awkward when shown or saved: shown as `_`. */
const AWKWARD = /[<>:"|?*\u00ad\u200b-\u200d\u2060\ufeff]/g

function badName(why: string): EvidenceRefusal {
  return new EvidenceRefusal('bad_file_name', `The file name is not accepted: ${why}.`)
}

/**
 * The extension, lowercased: 1 to 10 letters and digits after the last dot, at least one a
 * letter ('IMG 2024.03.05' has none). '' when there is none.
 */
function extensionOf(name: string): string {
  const match = /\.([a-z0-9]{1,10})$/i.exec(name)
  return match && match.index > 0 && /[a-z]/i.test(match[1]!) ? match[1]!.toLowerCase() : ''
}

/**
 * Checks a file name on its own and returns the name to show: NFC, trimmed, inner runs of
 * white space as one space, awkward characters as `_`, leading dots removed.
 */
export function checkFileName(fileName: string): string {
  if (typeof fileName !== 'string' || fileName.trim() === '') throw badName('it is empty')
  if (new TextEncoder().encode(fileName).length > MAX_NAME_BYTES) {
    throw badName(`it is longer than ${MAX_NAME_BYTES} bytes`)
  }
  if (/[/\\]/.test(fileName)) throw badName('it holds a path separator')
  if (fileName.includes('..')) throw badName('it holds ".."')
  if (FORBIDDEN.test(fileName)) throw badName('it holds control or text-direction characters')
  if (LONE_SURROGATE.test(fileName)) throw badName('it is not valid Unicode')
  const shown = fileName.normalize('NFC').replace(AWKWARD, '_').replace(/\s+/g, ' ').trim()
    .replace(/^\.+/, '')
  if (shown === '') throw badName('it has no name before the extension')
  return shown
}

/**
 * Checks the name and the declared type against the detected type and returns the display
 * name, with the canonical extension added when the name had none.
 */
export function checkDeclared(
  fileName: string,
  declaredType: string | null | undefined,
  detected: Detected,
): { displayName: string } {
  const shown = checkFileName(fileName)
  const named = extensionOf(shown)
  if (named !== '' && !EXTENSIONS[detected.type].includes(named)) {
    throw new EvidenceRefusal(
      'type_mismatch',
      `The file name ends in a different type than its content (${detected.ext}).`,
    )
  }
  const declared = (declaredType ?? '').split(';')[0]!.trim().toLowerCase()
  if (!UNKNOWN_TYPES.includes(declared) && !MIME_TYPES[detected.type].includes(declared)) {
    throw new EvidenceRefusal(
      'type_mismatch',
      `The declared content type does not match the content (${detected.mime}).`,
    )
  }
  return { displayName: named === '' ? `${shown}.${detected.ext}` : shown }
}
