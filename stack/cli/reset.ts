/**
 * npm run reset: stops the stack and deletes its cluster, so the next `npm start` creates
 * the database again from the migrations and reloads the demo data. Keys are kept.
 */
import { rmSync } from 'node:fs'
import path from 'node:path'
import { storageDir } from '../lib/functions.ts'
import { profileFromArgs } from '../lib/profile.ts'
import { stopStack } from './stop.ts'
import { fail, step } from '../lib/say.ts'

const p = profileFromArgs(process.argv.slice(2))
stopStack(p)
  .then(() => {
    rmSync(p.pgdata, { recursive: true, force: true })
    rmSync(path.join(p.dir, 'postgres.log'), { force: true })
    rmSync(path.join(p.dir, 'functions.log'), { force: true })
    rmSync(path.join(p.dir, 'clamd'), { recursive: true, force: true })
    // Stored files belong to the database that is gone.
    rmSync(storageDir(p), { recursive: true, force: true })
    step(`deleted the ${p.name} cluster; run "npm start" to create it again with demo data`)
  })
  .catch((error: unknown) => fail(String(error)))
