/**
 * npm run --silent token -- <handle> [--aal aal2] [--expires-in <seconds>]
 * Prints a signed access token for a demo user, as Supabase Auth would issue it.
 */
import { profileFromArgs } from '../lib/profile.ts'
import { dbUrl, readSecrets } from '../lib/secrets.ts'
import { connect } from '../lib/database.ts'
import { issueUserToken, TokenError } from '../lib/tokens.ts'
import { fail } from '../lib/say.ts'

const argv = process.argv.slice(2)
const option = (name: string) => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}
const positional = argv.filter((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--'))
const who = positional[0]
if (!who) fail('usage: npm run --silent token -- <handle> [--aal aal2] [--expires-in <seconds>]')
const aal = option('--aal') ?? 'aal1'
if (aal !== 'aal1' && aal !== 'aal2') fail('--aal must be aal1 or aal2')
const expiresIn = option('--expires-in') === undefined ? 3600 : Number(option('--expires-in'))
if (!Number.isInteger(expiresIn)) fail('--expires-in must be a whole number of seconds')

const p = profileFromArgs(argv)
const secrets = readSecrets(p)
const sql = connect(dbUrl(p, 'postgres', secrets.postgresPassword))
try {
  const { token } = await issueUserToken(sql, secrets.jwtSecret, who!, {
    aal,
    expiresIn,
    issuer: `http://127.0.0.1:${p.apiPort}/auth/v1`,
  })
  process.stdout.write(token + '\n')
} catch (error) {
  if (error instanceof TokenError) fail(error.message)
  const code = (error as { code?: string }).code
  if (code === 'ECONNREFUSED') fail('the database is not running', 'start it with: npm start')
  fail(String(error))
} finally {
  await sql.end()
}
