/**
 * npm run db:create -- <name> [--drop] [--profile dev|test]
 *
 * Creates an empty database in the local cluster with the platform layer applied (the roles,
 * auth, storage and vault that Supabase provides), ready for `supabase db push --db-url`, and
 * prints its URL. With --drop, removes it again. Refuses to touch the stack's own database.
 */
import { profileFromArgs } from '../lib/profile.ts'
import { ensureCluster } from '../lib/stack.ts'
import { StackError } from '../lib/cluster.ts'
import { applyPlatform, connect } from '../lib/database.ts'
import { dbUrl, superuserUrl } from '../lib/secrets.ts'
import { step } from '../lib/say.ts'

const USAGE = 'usage: npm run db:create -- <name> [--drop]   '
  + '(name: a-z, 0-9 and _, starting with a letter)'

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE + '\n')
    return
  }
  const names = argv.filter((a, i) => !a.startsWith('--') && argv[i - 1] !== '--profile')
  const name = names[0]
  if (names.length !== 1 || !name || !/^[a-z][a-z0-9_]{0,62}$/.test(name)) {
    throw new StackError(USAGE)
  }
  const p = profileFromArgs(argv)
  if (name === p.database || name.startsWith('template')) {
    throw new StackError(`"${name}" is the stack's own database; choose another name`)
  }
  const cluster = await ensureCluster(p)
  const admin = connect(superuserUrl(p, cluster.secrets))
  try {
    if (argv.includes('--drop')) {
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      step(`dropped database ${name}`)
      return
    }
    const [exists] = await admin`select 1 from pg_catalog.pg_database where datname = ${name}`
    if (exists) throw new StackError(`database ${name} already exists`, 'drop it with --drop')
    await admin.unsafe(`create database ${name} owner postgres`)
  } finally {
    await admin.end()
  }
  await applyPlatform({ ...p, database: name }, cluster.secrets, { quiet: true })
  step(`created database ${name} with the platform layer`)
  process.stdout.write(dbUrl({ ...p, database: name }, 'postgres', cluster.secrets.postgresPassword)
    + '\n')
}

main().catch((error: unknown) => {
  const e = error instanceof StackError ? error : new StackError(String(error))
  process.stderr.write(`error: ${e.message}\n` + (e.hint ? `hint:  ${e.hint}\n` : ''))
  process.exit(2)
})
