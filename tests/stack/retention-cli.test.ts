/**
 * npm run retention: the procedure pg_cron runs each night, run from the command line against
 * a scratch database of the test cluster (platform layer and migrations), so that its commits
 * touch nothing else. A dry run counts and changes nothing; a run deletes what is due in
 * committed batches; a run whose backend is killed mid-way keeps its finished batches, stays
 * RUNNING in the log, and the next run finishes the work; a
 * failing policy exits 1 and raises a security alert.
 */
import { spawn, spawnSync } from 'node:child_process'
import path from 'node:path'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { profile, projectRoot } from '../../stack/lib/profile.ts'
import { dbUrl, readSecrets, superuserUrl } from '../../stack/lib/secrets.ts'
import { applyMigrations, applyPlatform, connect } from '../../stack/lib/database.ts'

const cluster = profile('test')
const database = `retention_t_${process.pid}`
const url = () => dbUrl({ ...cluster, database }, 'postgres', readSecrets(cluster).postgresPassword)

function retention(args: string[]) {
  const result = spawnSync('npm',
    ['run', '--silent', 'retention', '--', '--db-url', url(), ...args],
    { cwd: projectRoot, encoding: 'utf8', env: process.env })
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() }
}

describe('npm run retention', () => {
  let sql: postgres.Sql
  let admin: postgres.Sql

  const oldLeft = async () => Number((await sql<Array<{ n: string }>>`
    select count(*)::text as n from public.dsar_requests
    where completed_at < now() - interval '5 years'`)[0]!.n)

  beforeAll(async () => {
    admin = connect(superuserUrl(cluster, readSecrets(cluster)))
    await admin.unsafe(`drop database if exists ${database} with (force)`)
    await admin.unsafe(`create database ${database}`)
    const scratch = { ...cluster, database }
    await applyPlatform(scratch, readSecrets(cluster), { quiet: true })
    await applyMigrations(scratch, readSecrets(cluster), { quiet: true })
    sql = postgres(url(), { max: 1, onnotice: () => {} })
    // 3,000 requests answered six years ago, 5 answered last month.
    await sql`
      insert into public.dsar_requests (kind, subject_id, received_at, due_at, status,
          completed_at)
      select 'access', gen_random_uuid(), t, t + interval '72 hours', 'completed', t
      from (select now() - interval '6 years' as t from generate_series(1, 3000)
            union all
            select now() - interval '1 month' from generate_series(1, 5)) as s`
    // Batches of one: thousands of commits, so a kill lands mid-run (the server flushes its
    // progress notices in groups, not one by one).
    await sql`update private.retention_policies set batch_size = 1
              where policy = 'finished-requests'`
  }, 120_000)

  afterAll(async () => {
    await sql?.end()
    await admin?.unsafe(`drop database if exists ${database} with (force)`)
    await admin?.end()
  })

  it('--dry-run prints what a policy would touch and changes nothing', async () => {
    const { status, stdout } = retention(['--dry-run', '--policy', 'finished-requests'])
    expect(status).toBe(0)
    expect(stdout).toMatch(/^finished-requests: success, 1 batch\(es\), 3,000 due, 0 kept, /)
    expect(await oldLeft()).toBe(3000)
  })

  it('killed mid-way, keeps its committed batches; the next run finishes', async () => {
    // The job is killed outright (SIGKILL to its process group) once it reports a batch.
    const child = spawn(path.join(projectRoot, 'node_modules', '.bin', 'tsx'),
      ['stack/cli/retention.ts', '--db-url', url(), '--policy', 'finished-requests'],
      { cwd: projectRoot, env: process.env, detached: true })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
      if (/batch 5,/.test(stderr) && child.exitCode === null && !child.killed) {
        process.kill(-child.pid!, 'SIGKILL')
      }
    })
    const signal = await new Promise<string | null>((resolve) =>
      child.on('close', (_code, sig) => resolve(sig)))
    expect(signal).toBe('SIGKILL')
    // The server notices the lost client at its next write; wait until the job's backend is
    // gone, so that what is counted below is final.
    for (let i = 0; i < 50; i += 1) {
      const [active] = await admin<Array<{ n: number }>>`
        select count(*)::int as n from pg_stat_activity
        where datname = ${database} and application_name = 'leaps-guard retention'`
      if (active!.n === 0) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const left = await oldLeft()
    expect(left).toBeGreaterThan(0)
    expect(left).toBeLessThan(3000)
    const [running] = await sql<Array<{ n: number }>>`
      select count(*)::int as n from private.retention_runs
      where policy = 'finished-requests' and status = 'RUNNING' and not dry_run`
    expect(running!.n).toBe(1)

    const again = retention(['--policy', 'finished-requests'])
    expect(again.status).toBe(0)
    expect(again.stdout).toMatch(new RegExp(`^finished-requests: success, \\d+ batch\\(es\\), `
      + `${left.toLocaleString('en')} done, 0 kept`))
    expect(await oldLeft()).toBe(0)
    const [recent] = await sql<Array<{ n: number }>>`
      select count(*)::int as n from public.dsar_requests`
    expect(recent!.n).toBe(5)
  }, 60_000)

  it('a failing policy exits 1, is logged FAILED and raises a security alert', async () => {
    await sql`insert into private.retention_policies (policy, description, period, basis, method)
              values ('no-such-data', 'test policy without an implementation', '1 day',
                      'never', 'HARD_DELETE')`
    const { status, stdout, stderr } = retention(['--policy', 'no-such-data'])
    expect(status).toBe(1)
    expect(stdout).toMatch(/^no-such-data: failed, 0 batch\(es\).*has no implementation\)$/)
    expect(stderr).not.toMatch(/^error:/m)
    const [alert] = await sql<Array<{ kind: string; severity: string }>>`
      select kind, severity from private.security_alerts
      where details ->> 'policy' = 'no-such-data'`
    expect(alert).toEqual({ kind: 'retention.failed', severity: 'high' })
  })
})
