/**
 * A stack profile names one private cluster and one functions server. `dev` is what
 * `npm start` runs; `test` is what `npm test` runs, on other ports and in another folder, so
 * a test run never touches the data of a developer's stack. `bench` is what `npm run bench`
 * runs: a cluster of its own with no functions server, for benchmarks that load large data.
 */
import { fileURLToPath } from 'node:url'
import path from 'node:path'

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export type ProfileName = 'dev' | 'test' | 'bench'

export interface StackProfile {
  name: ProfileName
  /** Folder holding the cluster, logs, keys and pid files of this profile (git-ignored). */
  dir: string
  pgdata: string
  dbPort: number
  /** Port of the functions server; 0 for `bench`, which runs none. */
  apiPort: number
  /** Port of clamd (the virus scanner) on 127.0.0.1; it runs beside the functions server. */
  clamdPort: number
  /** Database that holds the application (and pg_cron's job table). */
  database: string
}

function port(envName: string, fallback: number): number {
  const raw = process.env[envName]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1024 || value > 65535) {
    throw new Error(`${envName} must be a port number between 1024 and 65535, got "${raw}"`)
  }
  return value
}

export function profile(name: ProfileName): StackProfile {
  const dir = path.join(projectRoot, '.leaps', name)
  const ports =
    name === 'dev'
      ? {
        db: port('LEAPS_DB_PORT', 54322),
        api: port('LEAPS_API_PORT', 54321),
        clamd: port('LEAPS_CLAMD_PORT', 54323),
      }
      : name === 'test'
        ? {
          db: port('LEAPS_TEST_DB_PORT', 54332),
          api: port('LEAPS_TEST_API_PORT', 54331),
          clamd: port('LEAPS_TEST_CLAMD_PORT', 54333),
        }
        : {
          db: port('LEAPS_BENCH_DB_PORT', 54342),
          api: 0,
          clamd: port('LEAPS_BENCH_CLAMD_PORT', 54343),
        }
  return {
    name,
    dir,
    pgdata: path.join(dir, 'pgdata'),
    dbPort: ports.db,
    apiPort: ports.api,
    clamdPort: ports.clamd,
    database: 'postgres',
  }
}

export function profileFromArgs(argv: string[]): StackProfile {
  const i = argv.indexOf('--profile')
  const value = i >= 0 ? argv[i + 1] : 'dev'
  if (value !== 'dev' && value !== 'test') {
    throw new Error(`--profile must be "dev" or "test", got "${value ?? ''}"`)
  }
  return profile(value)
}
