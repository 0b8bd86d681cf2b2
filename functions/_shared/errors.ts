/**
 * The one error type functions throw on purpose. `code` is stable and part of the API; the
 * message is for people; `cause` stays in the server log and never reaches the client.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  request_timeout: 408,
  conflict: 409,
  submission_not_pending: 409,
  file_too_large: 413,
  empty_file: 400,
  bad_file_name: 400,
  unsupported_type: 415,
  type_mismatch: 415,
  polyglot: 415,
  active_content: 415,
  corrupt_file: 422,
  image_too_large: 422,
  too_complex: 422,
  infected: 422,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
  scanner_unavailable: 503,
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

export class AppError extends Error {
  readonly code: ErrorCode
  readonly status: number
  /** Extra response headers, e.g. Retry-After with rate_limited. */
  readonly headers: Record<string, string>

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options)
    this.name = 'AppError'
    this.code = code
    this.status = ERROR_STATUS[code]
    this.headers = options?.headers ?? {}
  }
}
