/**
 * Structured logs: one JSON object a line on stderr, always with the request id. Callers pass
 * ids, codes and counts; a field whose name suggests a secret or personal data is replaced
 * before writing, as a second line of defence.
 */
const SENSITIVE = /token|authorization|password|secret|key|cookie|email|name|phone|claims/i

export type LogFields = Record<string, string | number | boolean | null | undefined>

export interface Logger {
  info(event: string, fields?: LogFields): void
  warn(event: string, fields?: LogFields): void
  error(event: string, fields?: LogFields): void
}

function write(level: string, requestId: string, event: string, fields: LogFields = {}): void {
  const safe: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(fields)) {
    safe[k] = SENSITIVE.test(k) && k !== 'function_name' ? '[redacted]' : v
  }
  const line = JSON.stringify({
    ts: new Date().toISOString(),
    level,
    request_id: requestId,
    event,
    ...safe,
  })
  console.error(line)
}

export function logger(requestId: string): Logger {
  return {
    info: (event, fields) => write('info', requestId, event, fields),
    warn: (event, fields) => write('warn', requestId, event, fields),
    error: (event, fields) => write('error', requestId, event, fields),
  }
}
