/**
 * npm run db:drift against scratch databases of the test cluster: silent on a database built
 * from the migrations, loud and precise on one changed by hand.
 */
import { spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { profile, projectRoot } from '../../stack/lib/profile.ts'
import { readSecrets } from '../../stack/lib/secrets.ts'
import { connect } from '../../stack/lib/database.ts'
import { buildFromMigrations, createScratch, type Scratch } from '../../stack/lib/schema.ts'

const p = profile('test')
let live: Scratch
let empty: Scratch

function drift(url: string) {
  const result = spawnSync('npm', ['run', '--silent', 'db:drift', '--', '--db-url', url,
    '--profile', 'test'], { cwd: projectRoot, encoding: 'utf8', timeout: 120_000 })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

beforeAll(async () => {
  live = await createScratch(p, readSecrets(p), 'live')
  await buildFromMigrations(p, readSecrets(p), live)
  empty = await createScratch(p, readSecrets(p), 'empty')
}, 120_000)

afterAll(async () => {
  await live.drop()
  await empty.drop()
})

describe('npm run db:drift', () => {
  it('reports nothing and exits 0 for a database built from the migrations', () => {
    const { status, stdout } = drift(live.url)
    expect(status).toBe(0)
    expect(stdout.trim()).toBe('no drift: the database matches the repo')
  })

  it('names a policy edited in a dashboard and grants added by hand, with sides', async () => {
    const sql = connect(live.url)
    try {
      await sql.unsafe(`
        alter policy "members read own badges" on public.earned_badges using (true);
        grant select on private.permissions to anon;
        drop trigger users_guard_update on public.users;`)
    } finally {
      await sql.end()
    }
    const { status, stdout } = drift(live.url)
    expect(status).toBe(1)
    const policy = 'policy "members read own badges" on "public"."earned_badges"'
    expect(stdout).toContain(`[differs] ${policy}`)
    const grant = 'table privilege private.permissions: anon SELECT'
    expect(stdout).toContain(`[only in database] ${grant}`)
    const trigger = /\[only in repo\] trigger "?users_guard_update"? on "?public"?\."?users"?\n/
    expect(stdout).toMatch(trigger)
    expect(stdout).toMatch(/\n3 difference\(s\)\n$/)
  })

  it('fails with one clear line and exit 2 for an unreachable database', () => {
    const { status, stderr, stdout } = drift('postgresql://postgres:secret@127.0.0.1:1/postgres')
    expect(status).toBe(2)
    expect(stdout).toBe('')
    expect(stderr.trim().split('\n')[0]).toBe(
      'error: cannot connect to postgresql://postgres:***@127.0.0.1:1/postgres: connection refused')
    expect(stderr).not.toContain('secret')
  })

  it('fails with exit 2 for a database without the project schema', () => {
    const { status, stderr } = drift(empty.url)
    expect(status).toBe(2)
    expect(stderr).toContain('has no leaps-guard schema')
  })
})

describe('npm run db:create', () => {
  const run = (args: string[]) => spawnSync('npm', ['run', '--silent', 'db:create', '--', ...args,
    '--profile', 'test'], { cwd: projectRoot, encoding: 'utf8', timeout: 60_000 })

  it('creates a database with the platform layer, prints its URL, and drops it', async () => {
    const created = run(['lg_created_by_test'])
    expect(created.status, created.stderr).toBe(0)
    const url = created.stdout.trim()
    expect(url).toMatch(/\/lg_created_by_test$/)
    const sql = connect(url)
    try {
      const [row] = await sql`select pg_catalog.to_regclass('auth.users') is not null as auth,
                                     pg_catalog.to_regclass('public.users') is null as empty`
      expect(row).toEqual({ auth: true, empty: true })
    } finally {
      await sql.end()
    }
    expect(run(['lg_created_by_test']).stderr).toContain('already exists')
    expect(run(['lg_created_by_test', '--drop']).status).toBe(0)
  })

  it('refuses a bad name and the stack database with exit 2', () => {
    const bad = run(['Bad-Name'])
    expect(bad.status).toBe(2)
    expect(bad.stderr).toMatch(/^error: usage: npm run db:create/)
    const own = run(['postgres'])
    expect(own.status).toBe(2)
    expect(own.stderr).toContain("is the stack's own database")
  })
})
