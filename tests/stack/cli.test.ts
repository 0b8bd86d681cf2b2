/**
 * The commands the README and `npm start` print, run as a user would run them, against the
 * test stack (--profile test).
 */
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { decodeJwt } from 'jose'
import { projectRoot } from '../../stack/lib/profile.ts'

function npmRun(script: string, args: string[]) {
  const result = spawnSync('npm', ['run', '--silent', script, '--', ...args, '--profile', 'test'],
    { cwd: projectRoot, encoding: 'utf8', env: process.env })
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() }
}

describe('npm run token', () => {
  it('prints a token with the claims Supabase Auth issues, for a demo handle', () => {
    const { status, stdout } = npmRun('token', ['siti_rahayu'])
    expect(status).toBe(0)
    const claims = decodeJwt(stdout)
    expect(claims).toMatchObject({
      sub: '00000000-0000-4000-8000-000000000001',
      role: 'authenticated',
      aud: 'authenticated',
      aal: 'aal1',
      email: 'siti.rahayu@example.com',
    })
    expect(typeof claims.session_id).toBe('string')
    expect(claims.exp! - claims.iat!).toBe(3600)
    expect((claims.app_metadata as Record<string, unknown>).leaps_role).toBe('PARTICIPANT')
    expect(Array.isArray(claims.amr)).toBe(true)
  })

  it('issues aal2 only to a user with a verified MFA factor', () => {
    const admin = npmRun('token', ['wayan_sudarma', '--aal', 'aal2'])
    expect(admin.status).toBe(0)
    expect(decodeJwt(admin.stdout).aal).toBe('aal2')
    const participant = npmRun('token', ['siti_rahayu', '--aal', 'aal2'])
    expect(participant.status).toBe(1)
    expect(participant.stderr).toContain('has no verified MFA factor')
  })

  it('fails clearly for an unknown handle', () => {
    const { status, stderr, stdout } = npmRun('token', ['nobody_here'])
    expect(status).toBe(1)
    expect(stdout).toBe('')
    expect(stderr).toContain('no user with handle "nobody_here"')
  })
})

describe('npm run psql -- --as', () => {
  const psql = (as: string, query: string, extra: string[] = []) =>
    npmRun('psql', ['--as', as, ...extra, '-At', '-c', query])

  it('runs as the member, under RLS: a participant sees own and public approved only', () => {
    const mine = psql('siti_rahayu', `select
        count(*) filter (where owner_id = auth.uid()),
        count(*) filter (where owner_id <> auth.uid()
                         and not (visibility = 'PUBLIC' and status = 'APPROVED'))
      from submissions`)
    expect(mine.status).toBe(0)
    expect(mine.stdout).toBe('4|0')
    expect(psql('siti_rahayu', 'select current_user').stdout).toBe('authenticated')
  })

  it('lets a reviewer read every submission', () => {
    expect(psql('rina_wulandari', 'select count(*) from submissions').stdout).toBe('9')
  })

  it('gives an admin nothing at aal1 and everything at aal2', () => {
    expect(psql('wayan_sudarma', 'select count(*) from users').stdout).toBe('0')
    expect(psql('wayan_sudarma', 'select count(*) from users', ['--aal', 'aal2']).stdout)
      .toBe('7')
  })

  it('refuses anon on the leaderboard and lets service_role read past RLS', () => {
    const anon = psql('anon', 'select * from leaderboard_totals')
    expect(anon.status).not.toBe(0)
    expect(anon.stderr).toContain('permission denied')
    expect(psql('service', 'select count(*) from submissions').stdout).toBe('9')
  })
})
