/**
 * The database URL of the command-line tools that take `--db-url` (audit, pii): the stack's
 * own database by default, and a parsed, checked URL otherwise.
 */
import { profile, type ProfileName } from './profile.ts'
import { dbUrl, readSecrets } from './secrets.ts'

/** The stack's own database as the `postgres` owner, with its local password if known. */
export function defaultUrl(name: ProfileName): string {
  const p = profile(name)
  try {
    return dbUrl(p, 'postgres', readSecrets(p).postgresPassword)
  } catch {
    return dbUrl(p)
  }
}

/** The URL, or an Error whose message is the one line a tool prints. */
export function parseUrl(url: string): URL {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new Error('--db-url is not a URL; expected postgresql://user:password@host:port/db')
  }
  if (parsed.protocol !== 'postgresql:' && parsed.protocol !== 'postgres:') {
    throw new Error(`--db-url must be a postgresql:// URL, got "${parsed.protocol}//..."`)
  }
  return parsed
}

/** host:port/database, without user or password. */
export function databaseName(url: URL): string {
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) ||
    decodeURIComponent(url.username || 'postgres')
  return `${url.hostname}:${url.port || '5432'}/${database}`
}
