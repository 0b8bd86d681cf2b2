/**
 * The migrations and the declarative files describe the same database, and the tools that
 * move a real database between them (the migration generator, supabase db push, db lint).
 * Runs against scratch databases in the test stack's cluster.
 */
import { spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { profile, projectRoot } from '../../stack/lib/profile.ts'
import { readSecrets } from '../../stack/lib/secrets.ts'
import { connect, migrationFiles } from '../../stack/lib/database.ts'
import {
  buildFromDeclarative,
  buildFromMigrations,
  compare,
  createScratch,
  isEmpty,
  type Scratch,
} from '../../stack/lib/schema.ts'
import { describeDifference } from '../../stack/lib/drift-report.ts'
import { migrationText } from '../../stack/cli/db-migration.ts'

const p = profile('test')
const secrets = () => readSecrets(p)
const scratches: Scratch[] = []

async function scratch(purpose: string): Promise<Scratch> {
  const db = await createScratch(p, secrets(), purpose)
  scratches.push(db)
  return db
}

const sides = { from: 'migrations', to: 'declarative files' }

let fromMigrations: Scratch
let declared: Scratch

beforeAll(async () => {
  fromMigrations = await scratch('migrations')
  await buildFromMigrations(p, secrets(), fromMigrations)
  declared = await scratch('declared')
  await buildFromDeclarative(declared)
}, 120_000)

afterAll(async () => {
  for (const s of scratches) await s.drop()
})

describe('migrations and declarative files', () => {
  it('give the same schema, privileges, policies and reference rows', async () => {
    const d = await compare(fromMigrations.url, declared.url)
    expect(describeDifference(d, sides), 'run npm run db:migration -- <name>').toEqual([])
    expect(isEmpty(d)).toBe(true)
  })

  it('name the objects when a policy, grant or function setting changes without a migration',
    async () => {
      const edited = await scratch('edited')
      await buildFromDeclarative(edited)
      const sql = connect(edited.url)
      try {
        await sql.unsafe(`
          alter policy "members read own badges" on public.earned_badges using (true);
          grant update (cohort) on public.users to authenticated;
          alter function private.authorize(text) reset search_path;
          update private.activity_rewards set points = 500 where activity_code = 'SHINE';`)
      } finally {
        await sql.end()
      }
      const lines = describeDifference(await compare(declared.url, edited.url), sides)
      const text = lines.join('\n')
      expect(text).toContain('policy "members read own badges" on "public"."earned_badges"')
      expect(text).toContain('column privilege public.users.cohort: authenticated UPDATE')
      expect(text).toContain('function setting private.authorize(text): search_path=""')
      expect(text).toContain('rows of private.activity_rewards')
    })

  it('generate a migration that brings the older schema exactly to the newer one', async () => {
    const target = await scratch('target')
    await buildFromDeclarative(target)
    const sql = connect(target.url)
    try {
      await sql.unsafe(`
        create policy "members read own badges twice" on public.earned_badges
            for select to authenticated using (user_id = (select auth.uid()));
        revoke update (region) on public.users from authenticated;
        comment on table public.badges is 'Badge catalogue, changed for the test.';
        alter function private.refresh_leaderboard(uuid) set statement_timeout = '5s';`)
    } finally {
      await sql.end()
    }
    const older = await scratch('older')
    await buildFromDeclarative(older)
    const d = await compare(older.url, target.url)
    const text = migrationText('test_change', d)
    expect(text).toContain('-- What changed:')
    const apply = connect(older.url)
    try {
      await apply.begin((tx) => tx.unsafe(text))
    } finally {
      await apply.end()
    }
    const left = await compare(older.url, target.url)
    expect(describeDifference(left, sides), text).toEqual([])
  })
})

describe('Supabase CLI (pinned, telemetry off) against a fresh database', () => {
  const cli = (args: string[]) =>
    spawnSync('npx', ['supabase', ...args], {
      cwd: projectRoot,
      encoding: 'utf8',
      env: { ...process.env, DO_NOT_TRACK: '1', SUPABASE_TELEMETRY_DISABLED: '1' },
      timeout: 120_000,
    })

  let pushed: Scratch

  beforeAll(async () => {
    pushed = await scratch('pushed')
  })

  it('supabase db push applies every migration, giving the declarative schema', async () => {
    // The CLI treats any URL but its own local port as remote and asks for TLS by default.
    const result = cli(['db', 'push', '--db-url', `${pushed.url}?sslmode=disable`, '--yes'])
    expect(result.status, result.stderr + result.stdout).toBe(0)
    const sql = connect(pushed.url)
    try {
      const rows = await sql`select version from supabase_migrations.schema_migrations
                             order by version`
      expect(rows.map((r) => r.version)).toEqual(migrationFiles().map((m) => m.version))
    } finally {
      await sql.end()
    }
    const d = await compare(pushed.url, declared.url)
    expect(describeDifference(d, { from: 'pushed', to: 'declarative files' })).toEqual([])
  })

  it('supabase db lint finds no errors in our functions', () => {
    const result = cli(['db', 'lint', '--db-url', `${pushed.url}?sslmode=disable`,
      '--level', 'warning',
      '--fail-on', 'error', '--schema', 'public,private,advisor'])
    expect(result.status, result.stderr + result.stdout).toBe(0)
    expect(result.stdout + result.stderr).toContain('No schema errors found')
  })
})
