/**
 * npm run --silent totp -- <handle> [--profile test]
 *
 * Prints the current TOTP code of a demo account's authenticator factor, what an
 * authenticator app would show, for the local MFA step (POST /auth/v1/factors/<id>/verify).
 * Also prints the factor id, on stderr.
 */
import { connect } from '../lib/database.ts'
import { profileFromArgs } from '../lib/profile.ts'
import { dbUrl, readSecrets } from '../lib/secrets.ts'
import { fail } from '../lib/say.ts'
import { totpCode } from '../lib/totp.ts'

const argv = process.argv.slice(2)
const handle = argv.find((a, i) => !a.startsWith('--') && argv[i - 1] !== '--profile')
if (!handle) fail('usage: npm run --silent totp -- <handle>')
const p = profileFromArgs(argv)
const secrets = readSecrets(p)
const sql = connect(dbUrl(p, 'postgres', secrets.postgresPassword))
try {
  const [factor] = await sql<Array<{ id: string; secret: string }>>`
    select f.id, f.secret from auth.mfa_factors as f
    join public.users as u on u.id = f.user_id
    where u.handle = ${handle!} and f.factor_type = 'totp' and f.status = 'verified'
        and f.secret is not null
    limit 1`
  if (!factor) fail(`"${handle}" has no TOTP factor with a secret`)
  process.stderr.write(`factor ${factor!.id}\n`)
  process.stdout.write(`${await totpCode(factor!.secret)}\n`)
} finally {
  await sql.end()
}
