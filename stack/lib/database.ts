/**
 * Loads SQL into a stack's database: the platform layer (as the bootstrap superuser), then the
 * project's migrations and seed (as the non-superuser `postgres` owner, as on Supabase).
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import postgres from 'postgres'
import { projectRoot, type StackProfile } from './profile.ts'
import { dbUrl, superuserUrl, type LocalSecrets } from './secrets.ts'
import { StackError } from './cluster.ts'
import { storageDir } from './functions.ts'
import { simplePdf } from './pdf.ts'
import { step } from './say.ts'

const platformDir = path.join(projectRoot, 'stack', 'platform')
export const migrationsDir = path.join(projectRoot, 'supabase', 'migrations')
const seedFile = path.join(projectRoot, 'supabase', 'seed.sql')

export function connect(url: string): postgres.Sql {
  return postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 })
}

/** Runs a whole SQL file; an error names the file and the line it points at. */
async function runFile(sql: postgres.Sql, file: string): Promise<void> {
  const text = readFileSync(file, 'utf8')
  try {
    await sql.unsafe(text)
  } catch (error) {
    throw fileError(file, text, error)
  }
}

function fileError(file: string, text: string, error: unknown): StackError {
  const e = error as { message?: string; position?: string; code?: string }
  const pos = Number(e.position ?? 0)
  const line = pos > 0 ? text.slice(0, pos).split('\n').length : undefined
  const where = path.relative(projectRoot, file) + (line ? `:${line}` : '')
  return new StackError(`${where}: ${e.message ?? String(error)}` + (e.code ? ` [${e.code}]` : ''))
}

export async function applyPlatform(
  p: StackProfile,
  s: LocalSecrets,
  options: { quiet?: boolean } = {},
): Promise<void> {
  if (!options.quiet) step('applying the platform layer (roles, auth, storage, vault, extensions)')
  const sql = connect(superuserUrl(p, s))
  try {
    const files = readdirSync(platformDir).filter((f) => f.endsWith('.sql')).sort()
    for (const f of files) await runFile(sql, path.join(platformDir, f))
    await sql.unsafe(`alter role postgres password '${s.postgresPassword.replace(/'/g, "''")}'`)
    await sql.unsafe(
      `alter role authenticator password '${s.authenticatorPassword.replace(/'/g, "''")}'`)
  } finally {
    await sql.end()
  }
}

export function migrationFiles(): Array<{ version: string; name: string; file: string }> {
  if (!existsSync(migrationsDir)) return []
  return readdirSync(migrationsDir)
    .filter((f) => /^\d{14}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => {
      const [version, ...rest] = f.replace(/\.sql$/, '').split('_')
      return { version: version!, name: rest.join('_'), file: path.join(migrationsDir, f) }
    })
}

/** Applies migrations not yet recorded, each in its own transaction; returns how many ran. */
export async function applyMigrations(
  p: StackProfile,
  s: LocalSecrets,
  options: { quiet?: boolean } = {},
): Promise<number> {
  const sql = connect(dbUrl(p, 'postgres', s.postgresPassword))
  let applied = 0
  try {
    const done = new Set((await sql<Array<{ version: string }>>`
      select version from supabase_migrations.schema_migrations`).map((r) => r.version))
    for (const m of migrationFiles()) {
      if (done.has(m.version)) continue
      if (!options.quiet) step(`applying migration ${m.version}_${m.name}`)
      const text = readFileSync(m.file, 'utf8')
      try {
        await sql.begin(async (tx) => {
          await tx.unsafe(text)
          await tx`insert into supabase_migrations.schema_migrations (version, name)
                   values (${m.version}, ${m.name})`
        })
      } catch (error) {
        throw fileError(m.file, text, error)
      }
      applied += 1
    }
  } finally {
    await sql.end()
  }
  return applied
}

export async function loadSeed(p: StackProfile, s: LocalSecrets): Promise<void> {
  if (!existsSync(seedFile)) return
  step('loading supabase/seed.sql (demo cohort)')
  const sql = connect(dbUrl(p, 'postgres', s.postgresPassword))
  try {
    await sql.begin((tx) => tx.unsafe(readFileSync(seedFile, 'utf8')))
  } catch (error) {
    throw fileError(seedFile, readFileSync(seedFile, 'utf8'), error)
  }
  try {
    await writeDemoFiles(p, sql)
  } finally {
    await sql.end()
  }
}

/**
 * The seed's Storage objects marked "demo" get bytes in the local Storage folder (a demo PDF
 * naming the file), and their attachment rows the matching size and SHA-256.
 */
async function writeDemoFiles(p: StackProfile, sql: postgres.Sql): Promise<void> {
  const objects = await sql<Array<{ id: string; name: string }>>`
    select id, name from storage.objects where metadata ->> 'demo' = 'true'`
  const dir = path.join(storageDir(p), 'objects')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  for (const object of objects) {
    const bytes = simplePdf({ text: `LEAPS demo file: ${path.basename(object.name)}` })
    writeFileSync(path.join(dir, object.id), bytes, { mode: 0o600 })
    await sql`update storage.objects
              set metadata = metadata || ${sql.json({ size: bytes.length })}
              where id = ${object.id}`
    await sql`update public.submission_attachments
              set byte_size = ${bytes.length},
                  sha256 = ${createHash('sha256').update(bytes).digest('hex')}
              where storage_bucket = 'evidence' and storage_path = ${object.name}`
  }
}

/** True once the seed has run: the demo superadmin exists. */
export async function isSeeded(p: StackProfile, s: LocalSecrets): Promise<boolean> {
  const sql = connect(dbUrl(p, 'postgres', s.postgresPassword))
  try {
    const rows = await sql`select 1 from auth.users limit 1`
    return rows.length > 0
  } finally {
    await sql.end()
  }
}
