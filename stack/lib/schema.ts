/**
 * Comparing database schemas: the repo's declarative files against its migrations, and the
 * repo against a live database.
 *
 * Two scratch databases are built in a local cluster, each with the platform layer; then
 * `@pgkit/migra` (a port of migra) lists the statements that turn one schema into the other.
 * migra does not see everything that matters for security here: column grants, function
 * grants and settings (a SECURITY DEFINER's pinned search_path), schema grants, view options
 * such as security_invoker, comments, default privileges, or project triggers and policies on
 * platform tables (auth.users, storage.objects). A catalog fingerprint covers those, and the
 * rows of reference tables (sql/data) are compared as data.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import postgres from 'postgres'
import './migra-fix.ts'
import { run as migra } from '@pgkit/migra'
import { createClient } from '@pgkit/client'
import { projectRoot, type StackProfile } from './profile.ts'
import { dbUrl, superuserUrl, type LocalSecrets } from './secrets.ts'
import { applyMigrations, applyPlatform, connect } from './database.ts'
import { StackError } from './cluster.ts'

/** Schemas the project owns. Everything else belongs to the platform (Supabase). */
export const PROJECT_SCHEMAS = ['public', 'private', 'advisor', 'audit']

/** Platform schemas, left out of the schema diff (their project objects are fingerprinted). */
const PLATFORM_SCHEMAS = [
  'auth', 'storage', 'vault', 'vault_internal', 'extensions', 'cron', 'supabase_migrations',
  'graphql', 'graphql_public', 'realtime', 'pgbouncer', 'net', 'supabase_functions',
  'pgsodium', 'pgsodium_masks', '_realtime', '_analytics', 'information_schema',
  // Not the platform's, but runtime data: the audit log's monthly partitions.
  'audit_partitions',
]

/**
 * Extensions the platform installs (pg_cron only in its own database, so scratch databases
 * never have it); a difference in them is not the project's drift.
 */
const PLATFORM_EXTENSION =
  /^(create|drop|alter) extension (if (not )?exists )?"?(pg_cron|pgaudit|plpgsql_check|pgtap|pgcrypto|uuid-ossp|pg_stat_statements)"?/i

/** Monthly audit partitions are created by a job as time passes: data, not schema. */
const MONTHLY_PARTITION = /audit_log_\d{4}_\d{2}\b/

export interface DeclarativeFile {
  file: string
  /** Reference tables whose rows the file sets (from its `-- rows of:` header). */
  rowsOf: string[]
}

/** The declarative source in the order it is applied: sql/, policies/, then sql/data/. */
export function declarativeFiles(): DeclarativeFile[] {
  const list = (dir: string) =>
    readdirSync(path.join(projectRoot, dir))
      .filter((f) => f.endsWith('.sql'))
      .sort()
      .map((f) => path.join(projectRoot, dir, f))
  return [...list('sql'), ...list('policies'), ...list(path.join('sql', 'data'))].map((file) => {
    const header = /^-- rows of: (.+)$/m.exec(readFileSync(file, 'utf8').split('\n\n')[0] ?? '')
    const rowsOf = header?.[1] ? header[1].split(',').map((t) => t.trim()) : []
    return { file, rowsOf }
  })
}

export function referenceTables(): string[] {
  return declarativeFiles().flatMap((f) => f.rowsOf)
}

export const relative = (file: string) => path.relative(projectRoot, file)

/** A database of a local cluster, created for one comparison and dropped afterwards. */
export interface Scratch {
  name: string
  url: string
  drop(): Promise<void>
}

export async function createScratch(
  p: StackProfile,
  s: LocalSecrets,
  purpose: string,
): Promise<Scratch> {
  const name = `lg_scratch_${purpose}_${process.pid}`
  const admin = connect(superuserUrl(p, s))
  try {
    await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.unsafe(`create database ${name} owner postgres`)
  } finally {
    await admin.end()
  }
  const scratchProfile = { ...p, database: name }
  await applyPlatform(scratchProfile, s, { quiet: true })
  return {
    name,
    url: dbUrl(scratchProfile, 'postgres', s.postgresPassword),
    async drop() {
      const sql = connect(superuserUrl(p, s))
      try {
        await sql.unsafe(`drop database if exists ${name} with (force)`)
      } finally {
        await sql.end()
      }
    },
  }
}

export async function buildFromMigrations(p: StackProfile, s: LocalSecrets, db: Scratch) {
  await applyMigrations({ ...p, database: db.name }, s, { quiet: true })
}

/** Applies the declarative files in one transaction as `postgres`; errors name the file. */
export async function buildFromDeclarative(db: Scratch): Promise<void> {
  const sql = connect(db.url)
  try {
    await sql.begin(async (tx) => {
      for (const { file } of declarativeFiles()) {
        const text = readFileSync(file, 'utf8')
        try {
          await tx.unsafe(text)
        } catch (error) {
          const e = error as { message?: string; position?: string }
          const line = e.position ? text.slice(0, Number(e.position)).split('\n').length : 0
          throw new StackError(`${relative(file)}${line ? `:${line}` : ''}: ${e.message}`)
        }
      }
    })
  } finally {
    await sql.end()
  }
}

/** One fact about the catalog: compared as a whole between two databases. */
export interface Fact {
  kind: string
  object: string
  value: string
}

export interface SchemaDifference {
  /** Statements migra proposes, turning the `from` schema into the `to` schema. */
  statements: string[]
  /** Facts only on the `from` side, and only on the `to` side. */
  onlyFrom: Fact[]
  onlyTo: Fact[]
  /** Reference tables whose rows differ. */
  tables: string[]
  /** Every object named by a fact on the `to` side. */
  toObjects: Set<string>
}

export const isEmpty = (d: SchemaDifference) =>
  d.statements.length === 0 && d.onlyFrom.length === 0 && d.onlyTo.length === 0 &&
  d.tables.length === 0

const FACTS_SQL = `
with project as (
    select oid, nspname from pg_catalog.pg_namespace where nspname = any($1::text[])
),
rels as (
    select c.oid, c.relkind, c.relname, c.relacl, c.relowner, c.reloptions,
           c.relrowsecurity, c.relforcerowsecurity,
           pg_catalog.format('%I.%I', n.nspname, c.relname) as name
    from pg_catalog.pg_class as c
    join project as n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
),
funcs as (
    select p.oid, p.proacl, p.proowner, p.proconfig, p.prosecdef, p.provolatile,
           p.oid::regprocedure::text as name
    from pg_catalog.pg_proc as p
    join project as n on n.oid = p.pronamespace
    where not exists (select 1 from pg_catalog.pg_depend as d
                      where d.objid = p.oid and d.deptype = 'e')
)
select 'table privilege' as kind, r.name as object,
       a.grantee::regrole::text || ' ' || a.privilege_type as value
from rels as r
cross join lateral pg_catalog.aclexplode(
    coalesce(r.relacl, pg_catalog.acldefault('r', r.relowner))) as a
where a.grantee <> 0
union all
select 'table privilege', r.name, 'PUBLIC ' || a.privilege_type
from rels as r
cross join lateral pg_catalog.aclexplode(r.relacl) as a
where a.grantee = 0
union all
select 'column privilege', r.name || '.' || pg_catalog.quote_ident(att.attname),
       a.grantee::regrole::text || ' ' || a.privilege_type
from rels as r
join pg_catalog.pg_attribute as att on att.attrelid = r.oid and att.attacl is not null
cross join lateral pg_catalog.aclexplode(att.attacl) as a
union all
select 'function privilege', f.name,
       case when a.grantee = 0 then 'PUBLIC' else a.grantee::regrole::text end
           || ' ' || a.privilege_type
from funcs as f
cross join lateral pg_catalog.aclexplode(
    coalesce(f.proacl, pg_catalog.acldefault('f', f.proowner))) as a
union all
select 'function setting', f.name, s.setting
from funcs as f
cross join lateral pg_catalog.unnest(f.proconfig) as s(setting)
union all
select 'function security', f.name, case when f.prosecdef then 'definer' else 'invoker' end
from funcs as f
union all
select 'function volatility', f.name, f.provolatile::text
from funcs as f
union all
select 'schema privilege', pg_catalog.quote_ident(n.nspname),
       case when a.grantee = 0 then 'PUBLIC' else a.grantee::regrole::text end
           || ' ' || a.privilege_type
from project as n
join pg_catalog.pg_namespace as ns on ns.oid = n.oid
cross join lateral pg_catalog.aclexplode(
    coalesce(ns.nspacl, pg_catalog.acldefault('n', ns.nspowner))) as a
union all
select 'relation option', r.name, o.option
from rels as r
cross join lateral pg_catalog.unnest(r.reloptions) as o(option)
union all
select 'row level security', r.name,
       case when r.relrowsecurity then 'enabled' else 'disabled' end
           || case when r.relforcerowsecurity then ', forced' else '' end
from rels as r
where r.relkind in ('r', 'p')
union all
select 'comment on ' || case r.relkind when 'v' then 'view' when 'm' then 'materialized view'
           when 'S' then 'sequence' else 'table' end,
       r.name, pg_catalog.obj_description(r.oid, 'pg_class')
from rels as r
where pg_catalog.obj_description(r.oid, 'pg_class') is not null
union all
select 'comment on column', r.name || '.' || pg_catalog.quote_ident(att.attname),
       pg_catalog.col_description(r.oid, att.attnum)
from rels as r
join pg_catalog.pg_attribute as att on att.attrelid = r.oid and att.attnum > 0
where pg_catalog.col_description(r.oid, att.attnum) is not null
union all
select 'comment on function', f.name, pg_catalog.obj_description(f.oid, 'pg_proc')
from funcs as f
where pg_catalog.obj_description(f.oid, 'pg_proc') is not null
union all
select 'comment on schema', pg_catalog.quote_ident(n.nspname),
       pg_catalog.obj_description(n.oid, 'pg_namespace')
from project as n
where pg_catalog.obj_description(n.oid, 'pg_namespace') is not null
union all
select 'default privilege',
       d.defaclrole::regrole::text || coalesce(' in ' || dn.nspname, '') || ' on '
           || d.defaclobjtype::text,
       case when a.grantee = 0 then 'PUBLIC' else a.grantee::regrole::text end
           || ' ' || a.privilege_type
from pg_catalog.pg_default_acl as d
left join pg_catalog.pg_namespace as dn on dn.oid = d.defaclnamespace
cross join lateral pg_catalog.aclexplode(d.defaclacl) as a
where d.defaclrole = 'postgres'::regrole
union all
-- Project triggers and policies on platform tables (auth.users, storage.objects, ...).
select 'platform trigger', t.tgname || ' on ' || t.tgrelid::regclass::text,
       pg_catalog.pg_get_triggerdef(t.oid)
from pg_catalog.pg_trigger as t
join pg_catalog.pg_proc as p on p.oid = t.tgfoid
join project as n on n.oid = p.pronamespace
join pg_catalog.pg_class as c on c.oid = t.tgrelid
where not t.tgisinternal
    and c.relnamespace not in (select oid from project)
union all
select 'platform policy', pol.policyname || ' on ' || pol.schemaname || '.' || pol.tablename,
       pg_catalog.concat_ws(' | ', pol.permissive, pol.cmd, pol.roles::text, pol.qual,
           pol.with_check)
from pg_catalog.pg_policies as pol
where pol.schemaname <> all($1::text[])
    and pol.schemaname in ('storage', 'auth', 'vault', 'realtime')
`

export async function catalogFacts(url: string, schemas = PROJECT_SCHEMAS): Promise<Fact[]> {
  const sql = connect(url)
  try {
    const rows = await sql.unsafe<Fact[]>(FACTS_SQL, [schemas as unknown as string])
    return rows.map((r) => ({ kind: r.kind, object: r.object, value: r.value }))
  } finally {
    await sql.end()
  }
}

/** The rows of each reference table, as canonical JSON without timestamps. */
export async function referenceRows(url: string, tables: string[]): Promise<Map<string, string>> {
  const sql = connect(url)
  const result = new Map<string, string>()
  try {
    for (const table of tables) {
      const [row] = await sql.unsafe(
        `select coalesce(pg_catalog.jsonb_agg(r.j order by r.j::text), '[]')::text as rows
         from (select pg_catalog.to_jsonb(t) - 'created_at' - 'updated_at' as j
               from ${table} as t) as r`)
      result.set(table, String(row?.rows ?? ''))
    }
  } catch (error) {
    throw new StackError(`cannot read reference table: ${(error as Error).message}`)
  } finally {
    await sql.end()
  }
  return result
}

const factKey = (f: Fact) => `${f.kind}\u0000${f.object}\u0000${f.value}`

/** Everything that differs between two databases, seen from `from` towards `to`. */
export async function compare(fromUrl: string, toUrl: string): Promise<SchemaDifference> {
  const a = createClient(fromUrl)
  const b = createClient(toUrl)
  let statements: string[]
  try {
    const m = await migra(a as never, b as never, {
      unsafe: true,
      withPrivileges: true,
      excludeSchema: PLATFORM_SCHEMAS,
      ignoreExtensionVersions: true,
    })
    // Privileges come from the catalog facts, which also see columns, functions and schemas.
    statements = [...m.statements].map((s) => s.trim())
      .filter((s) => s !== '' && !/^(grant|revoke)\s/i.test(s))
      .filter((s) => !PLATFORM_EXTENSION.test(s) && !MONTHLY_PARTITION.test(s))
  } catch (error) {
    throw new StackError(`the schema differ failed: ${(error as Error).message.split('\n')[0]}`)
  } finally {
    await Promise.allSettled([a.end(), b.end()])
  }
  const [fa, fb] = await Promise.all([catalogFacts(fromUrl), catalogFacts(toUrl)])
  const ka = new Set(fa.map(factKey))
  const kb = new Set(fb.map(factKey))
  const tables = referenceTables()
  const [ra, rb] = await Promise.all([
    referenceRows(fromUrl, tables).catch(() => new Map<string, string>()),
    referenceRows(toUrl, tables).catch(() => new Map<string, string>()),
  ])
  const schemaFact = (f: Fact) => !MONTHLY_PARTITION.test(f.object)
  return {
    statements,
    onlyFrom: fa.filter((f) => !kb.has(factKey(f)) && schemaFact(f)),
    onlyTo: fb.filter((f) => !ka.has(factKey(f)) && schemaFact(f)),
    tables: tables.filter((t) => ra.get(t) !== rb.get(t)),
    toObjects: new Set(fb.map((f) => f.object)),
  }
}

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`

function privilegeStatement(f: Fact, grant: boolean): string | undefined {
  const [grantee, ...words] = f.value.split(' ')
  const privilege = words.join(' ')
  const to = grant ? 'to' : 'from'
  const verb = grant ? 'grant' : 'revoke'
  const who = grantee === 'PUBLIC' ? 'public' : grantee
  switch (f.kind) {
    case 'table privilege':
      return `${verb} ${privilege.toLowerCase()} on ${f.object} ${to} ${who};`
    case 'column privilege': {
      const dot = f.object.lastIndexOf('.')
      const table = f.object.slice(0, dot)
      const column = f.object.slice(dot + 1)
      return `${verb} ${privilege.toLowerCase()} (${column}) on ${table} ${to} ${who};`
    }
    case 'function privilege':
      return `${verb} ${privilege.toLowerCase()} on function ${f.object} ${to} ${who};`
    case 'schema privilege':
      return `${verb} ${privilege.toLowerCase()} on schema ${f.object} ${to} ${who};`
    case 'default privilege': {
      // object: `<role>[ in <schema>] on <objtype>`
      const m = /^(\S+)(?: in (\S+))? on (\w)$/.exec(f.object)
      const kinds: Record<string, string> = {
        r: 'tables', S: 'sequences', f: 'functions', T: 'types', n: 'schemas',
      }
      if (!m || !kinds[m[3]!]) return undefined
      const scope = `for role ${m[1]}${m[2] ? ` in schema ${m[2]}` : ''}`
      return `alter default privileges ${scope} ${verb} ${privilege.toLowerCase()} on `
        + `${kinds[m[3]!]} ${to} ${who};`
    }
    default:
      return undefined
  }
}

/**
 * Statements for the facts migra does not handle. Returns them, and the facts it could not
 * express, which the caller reports as manual steps.
 */
export function factStatements(d: SchemaDifference): { statements: string[]; manual: Fact[] } {
  const statements: string[] = []
  const manual: Fact[] = []
  const toObjects = new Set(d.onlyTo.map((f) => `${f.kind}\u0000${f.object}`))
  const existsOnTo = (f: Fact) =>
    d.toObjects.has(f.object) ||
    (f.kind.includes('column') && d.toObjects.has(f.object.slice(0, f.object.lastIndexOf('.'))))
  const handledByMigra = (object: string) =>
    d.statements.some((s) => s.includes('row level security') && s.includes(object.split('.')[1]!))
  for (const f of d.onlyFrom) {
    // What belonged to an object that is gone on the `to` side went with its drop.
    if (!existsOnTo(f)) continue
    const stmt = privilegeStatement(f, false)
    if (stmt) statements.push(stmt)
    else if (f.kind === 'function setting' && !toObjects.has(`${f.kind}\u0000${f.object}`)) {
      statements.push(`alter function ${f.object} reset ${f.value.split('=')[0]};`)
    } else if (f.kind.startsWith('comment on ') && !toObjects.has(`${f.kind}\u0000${f.object}`)) {
      statements.push(`${f.kind} ${f.object} is null;`)
    } else if (f.kind === 'relation option' && !toObjects.has(`${f.kind}\u0000${f.object}`)) {
      statements.push(`alter view ${f.object} reset (${f.value.split('=')[0]});`)
    } else if (!['function security', 'function volatility', 'row level security',
      'function setting', 'relation option'].includes(f.kind) &&
      !f.kind.startsWith('comment on ')) {
      manual.push(f)
    }
  }
  for (const f of d.onlyTo) {
    const stmt = privilegeStatement(f, true)
    if (stmt) statements.push(stmt)
    else if (f.kind === 'function setting') {
      const [name, ...rest] = f.value.split('=')
      const value = rest.join('=')
      statements.push(`alter function ${f.object} set ${name} = ${value === '""' || value === ''
        ? "''" : literal(value)};`)
    } else if (f.kind === 'function security') {
      statements.push(`alter function ${f.object} security ${f.value};`)
    } else if (f.kind === 'function volatility') {
      const word = { i: 'immutable', s: 'stable', v: 'volatile' }[f.value] ?? 'volatile'
      statements.push(`alter function ${f.object} ${word};`)
    } else if (f.kind.startsWith('comment on ')) {
      statements.push(`${f.kind} ${f.object} is ${literal(f.value)};`)
    } else if (f.kind === 'relation option') {
      statements.push(`alter view ${f.object} set (${f.value});`)
    } else if (f.kind === 'row level security') {
      if (handledByMigra(f.object)) continue
      const enable = f.value.startsWith('enabled') ? 'enable' : 'disable'
      statements.push(`alter table ${f.object} ${enable} row level security;`)
      statements.push(`alter table ${f.object} ${f.value.endsWith('forced') ? '' : 'no '}force`
        + ' row level security;')
    } else if (f.kind === 'platform trigger') {
      statements.push(`${f.value};`)
    } else {
      manual.push(f)
    }
  }
  return { statements, manual }
}

/** Connects once to tell a bad URL from a working one, with a one-line reason. */
export async function checkReachable(url: string): Promise<void> {
  let sql: postgres.Sql | undefined
  try {
    sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} })
    await sql`select 1`
  } catch (error) {
    const e = error as { code?: string; message?: string }
    const reason = e.code === 'ECONNREFUSED' ? 'connection refused' : (e.message ?? String(e))
    throw new StackError(`cannot connect to ${safeUrl(url)}: ${reason}`)
  } finally {
    await sql?.end({ timeout: 1 })
  }
}

/** A database URL without its password, for messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return '(unparseable URL)'
  }
}
