/**
 * The security advisor: its rule views, ids, docs and pgTAP files agree, and `npm run advisor`
 * reports the test stack as a DBA would run it.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type postgres from 'postgres'
import { projectRoot } from '../../stack/lib/profile.ts'
import { ownerSql, stack } from '../fixtures/stack.ts'

interface Rule {
  id: string
  name: string
  level: string
  view: string
}

/** The rule views as the declarative files define them, with the level each returns. */
function rulesInSource(): Rule[] {
  const sqlDir = path.join(projectRoot, 'sql')
  const rules: Rule[] = []
  for (const file of readdirSync(sqlDir).filter((f) => /^6\d_advisor.*\.sql$/.test(f))) {
    const text = readFileSync(path.join(sqlDir, file), 'utf8')
    const views =
      /create view advisor\.(lint_(\d{4})_([a-z0-9_]+))[\s\S]*?'(ERROR|WARN|INFO)'::text as level/g
    for (const m of text.matchAll(views)) {
      rules.push({ view: m[1]!, id: `LG${m[2]!}`, name: m[3]!, level: m[4]! })
    }
  }
  return rules.sort((a, b) => a.id.localeCompare(b.id))
}

const docsDir = path.join(projectRoot, 'docs', 'advisor')
const testsDir = path.join(projectRoot, 'tests', 'database')

function npmAdvisor(args: string[]) {
  const result = spawnSync('npm', ['run', '--silent', 'advisor', '--', ...args],
    { cwd: projectRoot, encoding: 'utf8', env: process.env })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

describe('advisor rules, docs and tests', () => {
  const rules = rulesInSource()

  it('defines at least 20 rules with distinct ids', () => {
    expect(rules.length).toBeGreaterThanOrEqual(20)
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length)
  })

  it('has a doc per rule, titled with its id and name and stating its level', () => {
    for (const rule of rules) {
      const file = path.join(docsDir, `${rule.id}.md`)
      expect(existsSync(file), `${rule.id}: docs/advisor/${rule.id}.md is missing`).toBe(true)
      const text = readFileSync(file, 'utf8')
      expect(text.split('\n')[0], `${rule.id}: doc title`).toBe(`# ${rule.id} ${rule.name}`)
      expect(text, `${rule.id}: doc level line`).toContain(`Level: ${rule.level}.`)
      for (const section of ['## Threat', '## What is checked', '## Known limits',
        '## Remediation']) {
        expect(text, `${rule.id}: doc section ${section}`).toContain(section)
      }
    }
  })

  it('has no doc without a rule view', () => {
    const docs = readdirSync(docsDir).filter((f) => /^LG\d{4}\.md$/.test(f))
    expect(docs.map((f) => f.replace('.md', '')).sort()).toEqual(rules.map((r) => r.id))
  })

  it('lists every rule in the docs index with its name and level', () => {
    const index = readFileSync(path.join(docsDir, 'README.md'), 'utf8')
    for (const rule of rules) {
      expect(index).toContain(`| [${rule.id}](${rule.id}.md) | ${rule.name} | ${rule.level} |`)
    }
  })

  it('has one pgTAP file per rule, named by its id and name, and none for a missing rule', () => {
    const files = readdirSync(testsDir).filter((f) => /^2\d\d_advisor_lg\d{4}_/.test(f))
    const expected = rules.map((r) => `_advisor_${r.id.toLowerCase()}_${r.name}.test.sql`)
    for (const suffix of expected) {
      expect(files.filter((f) => f.endsWith(suffix)), `pgTAP file *${suffix}`).toHaveLength(1)
    }
    expect(files).toHaveLength(expected.length)
  })
})

describe('npm run advisor', () => {
  let sql: postgres.Sql
  const fixture = `advisor_cli_${process.pid}`

  beforeAll(() => {
    sql = ownerSql()
  })

  afterAll(async () => {
    await sql.unsafe(`drop table if exists public.${fixture}`)
    await sql.end()
  })

  it('has in the database exactly the rule views of the declarative files', async () => {
    const views = await sql<Array<{ viewname: string }>>`
      select viewname from pg_catalog.pg_views
      where schemaname = 'advisor' and viewname like 'lint\\_%'
      order by viewname`
    expect(views.map((v) => v.viewname)).toEqual(rulesInSource().map((r) => r.view).sort())
  })

  it('finds no error or warning in the project schema and counts the suppressed gaps', async () => {
    const { status, stdout, stderr } = npmAdvisor(['--db-url', stack.dbUrl, '--json'])
    expect(stderr).toBe('')
    expect(status).toBe(0)
    const report = JSON.parse(stdout) as {
      findings: Array<{ level: string; cache_key: string }>
      suppressed: number
      counts: Record<string, number>
      staleExceptions: string[]
    }
    expect(report.counts).toMatchObject({ ERROR: 0, WARN: 0 })
    expect(report.findings.filter((f) => f.level !== 'INFO')).toEqual([])
    const [exceptions] = await sql<Array<{ n: number }>>`
      select count(*)::int as n from advisor.exceptions`
    expect(report.suppressed).toBe(exceptions!.n)
    expect(report.suppressed).toBeGreaterThan(0)
    expect(report.staleExceptions).toEqual([])
  })

  it('prints the findings by level with a summary line, and exits 1 on an ERROR', async () => {
    await sql.unsafe(`create table public.${fixture} (id integer primary key)`)
    try {
      const { status, stdout } = npmAdvisor(['--db-url', stack.dbUrl])
      expect(status).toBe(1)
      const lines = stdout.trimEnd().split('\n')
      expect(lines[0]).toMatch(/^ERROR \(1\)$/)
      expect(stdout).toContain(`LG0001 rls_disabled_in_public: public.${fixture}`)
      expect(stdout).toContain(`Table public.${fixture} is in the exposed schema public`)
      expect(stdout).toContain('fix: Enable row level security')
      expect(lines.at(-1)).toMatch(/^1 error, 0 warnings, \d+ info, \d+ suppressed/)

      const json = npmAdvisor(['--db-url', stack.dbUrl, '--json', '--level', 'ERROR'])
      expect(json.status).toBe(1)
      const report = JSON.parse(json.stdout) as { findings: Array<{ cache_key: string }> }
      expect(report.findings.map((f) => f.cache_key)).toEqual([`LG0001:public.${fixture}`])
    } finally {
      await sql.unsafe(`drop table public.${fixture}`)
    }
  })

  it('says in one line that it cannot connect, and exits 2', () => {
    const { status, stdout, stderr } = npmAdvisor(
      ['--db-url', 'postgresql://postgres:postgres@127.0.0.1:1/postgres'])
    expect(status).toBe(2)
    expect(stdout).toBe('')
    expect(stderr).toBe('error: cannot connect to 127.0.0.1:1: connection refused\n')
  })

  it('says in one line that a database has no advisor, and exits 2', () => {
    const url = new URL(stack.dbUrl)
    url.pathname = '/template1'
    const { status, stdout, stderr } = npmAdvisor(['--db-url', url.toString()])
    expect(status).toBe(2)
    expect(stdout).toBe('')
    expect(stderr).toBe('error: database has no advisor schema; apply the migrations first\n')
  })

  it('refuses an unknown level with one line and exit 2', () => {
    const { status, stderr } = npmAdvisor(['--db-url', stack.dbUrl, '--level', 'loud'])
    expect(status).toBe(2)
    expect(stderr).toBe('error: --level must be ERROR, WARN or INFO, got "LOUD"\n')
  })
})
