/**
 * npm run psql -- [--as <handle>|service|anon|superuser] [--aal aal2] [psql arguments...]
 *
 * Opens psql on the local database. With --as, it connects as `authenticator` and takes on
 * the caller's identity exactly as PostgREST does: the role named by the token's `role`
 * claim and the verified claims in `request.jwt.claims`, so RLS applies as through the API,
 * with the statement timeouts Supabase gives those roles (anon 3 s, authenticated 8 s).
 * Without --as, it connects as the `postgres` owner; `--as superuser` connects as the
 * cluster's bootstrap superuser (`supabase_admin`), for what even the owner may not do, such
 * as tampering with the audit trail to see verification catch it.
 */
import { spawnSync } from 'node:child_process'
import { profileFromArgs } from '../lib/profile.ts'
import { readSecrets } from '../lib/secrets.ts'
import { dbUrl } from '../lib/secrets.ts'
import { connect } from '../lib/database.ts'
import { issueUserToken, TokenError } from '../lib/tokens.ts'
import { fail } from '../lib/say.ts'

const argv = process.argv.slice(2)
const own = new Set(['--as', '--aal', '--profile'])
const take = (name: string) => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}
const passThrough = argv.filter((a, i) => !own.has(a) && !own.has(argv[i - 1] ?? ''))
const as = take('--as')
const aal = take('--aal') ?? 'aal1'
if (aal !== 'aal1' && aal !== 'aal2') fail('--aal must be aal1 or aal2')

const p = profileFromArgs(argv)
const secrets = readSecrets(p)

/** Escapes a value for PGOPTIONS, where spaces and backslashes are special. */
const pgOption = (value: string) => value.replace(/\\/g, '\\\\').replace(/ /g, '\\ ')

let url = dbUrl(p, 'postgres', secrets.postgresPassword)
let pgoptions = ''
if (as === 'superuser') {
  url = dbUrl(p, 'supabase_admin', secrets.superuserPassword)
} else if (as) {
  let role: string
  let claims: Record<string, unknown>
  if (as === 'anon' || as === 'service') {
    role = as === 'anon' ? 'anon' : 'service_role'
    claims = { role, iss: 'leaps-guard-local' }
  } else {
    const sql = connect(url)
    try {
      ;({ claims } = await issueUserToken(sql, secrets.jwtSecret, as, { aal }))
      role = 'authenticated'
    } catch (error) {
      fail(error instanceof TokenError ? error.message : String(error))
    } finally {
      await sql.end()
    }
  }
  url = dbUrl(p, 'authenticator', secrets.authenticatorPassword)
  const timeout = role === 'anon' ? '3s' : role === 'authenticated' ? '8s' : '0'
  pgoptions = `-c role=${role} -c request.jwt.claims=${pgOption(JSON.stringify(claims))}`
    + ` -c statement_timeout=${timeout}`
}

const result = spawnSync('psql', [url, ...passThrough], {
  stdio: 'inherit',
  env: { ...process.env, PGOPTIONS: pgoptions, PGAPPNAME: as ? `psql as ${as}` : 'psql' },
})
if (result.error) fail(`psql could not start: ${result.error.message}`, 'install postgresql-client')
process.exit(result.status ?? 1)
