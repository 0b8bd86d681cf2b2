/**
 * What stripping took out of a file, by kind, so the upload can record it (counts and sizes,
 * never the values).
 */
export type RemovedKind =
  /** EXIF: camera, time, GPS position, thumbnails, maker notes (JPEG APP1, PNG eXIf, WebP). */
  | 'exif'
  /** XMP packets (JPEG APP1, PNG iTXt `XML:com.adobe.xmp`, WebP `XMP `, PDF metadata streams). */
  | 'xmp'
  /** IPTC and other Photoshop resources (JPEG APP13). */
  | 'iptc'
  /** JPEG comments (COM). */
  | 'comment'
  /** PNG text chunks (tEXt, zTXt, iTXt other than XMP). */
  | 'text'
  /** PNG modification time (tIME). */
  | 'time'
  /** Embedded preview images (JFIF thumbnails, JFXX). */
  | 'thumbnail'
  /** Other application segments or chunks a decoder does not need (MPF, Ducky, private…). */
  | 'other'
  /** Zero padding or extra images (MPF, gain maps) after the end of a JPEG, PNG or WebP. */
  | 'trailing_data'
  /** PDF document information: Author, Creator, Producer, Title, Subject, Keywords, dates. */
  | 'document_info'

export interface Removed {
  kind: RemovedKind
  /** How many segments, chunks, packets or values. */
  count: number
  /** How many bytes they held. */
  bytes: number
}

/** Why PDF metadata could not be removed (or not all of it). */
export type MetadataKeptReason =
  /** Strings in an encrypted PDF are ciphertext; changing them in place garbles or breaks. */
  | 'encrypted'
  /** The information dictionary sits in a compressed object stream. */
  | 'compressed_object_stream'
  /** An XMP stream uses a filter (or decode parameters) other than plain or Flate. */
  | 'unsupported_stream_filter'

export interface StripResult {
  /** The cleaned file. May be the input itself (same buffer) when nothing was removed. */
  bytes: Uint8Array
  removed: Removed[]
  /** False when metadata is known to remain (PDF only); `reason` says why. */
  metadataRemoved: boolean
  reason?: MetadataKeptReason
  /** JPEG EXIF orientation (2-8) kept in a minimal EXIF block so photos stay upright. */
  orientation?: number
}

/** Adds a removal to the tally, merging by kind. */
export function tally(removed: Removed[], kind: RemovedKind, bytes: number, count = 1): void {
  const entry = removed.find((r) => r.kind === kind)
  if (entry) {
    entry.count += count
    entry.bytes += bytes
  } else {
    removed.push({ kind, count, bytes })
  }
}

export interface Dimensions {
  width: number
  height: number
}
