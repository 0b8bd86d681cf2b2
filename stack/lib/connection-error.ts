/**
 * One line, without the password, saying why a database could not be reached: the shared
 * part of the command-line tools' error messages. Returns undefined for errors that are not
 * about the connection, which each tool words for itself.
 */
export function connectionProblem(error: unknown, url: URL): string | undefined {
  const e = error as { code?: string; message?: string; errors?: Array<{ code?: string }> }
  const code = e.code ?? e.errors?.[0]?.code
  const where = `${url.hostname}:${url.port || '5432'}`
  const user = decodeURIComponent(url.username || 'postgres')
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || user
  switch (code) {
    case 'ECONNREFUSED':
      return `cannot connect to ${where}: connection refused`
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot connect to ${where}: unknown host`
    case 'ETIMEDOUT':
    case 'CONNECT_TIMEOUT':
      return `cannot connect to ${where}: timed out`
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `cannot connect to ${where}: host unreachable`
    case '28P01':
    case '28000':
      return `cannot connect to ${where} as ${user}: ${e.message ?? 'authentication failed'}`
    case '3D000':
      return `cannot connect to ${where}: database "${database}" does not exist`
    default:
      return undefined
  }
}
