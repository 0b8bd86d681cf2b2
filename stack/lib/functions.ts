/**
 * Starts the Deno functions server of a stack profile, with the env vars Supabase gives edge
 * functions. Deno is the binary from the npm package `deno`, started directly (not through its
 * Node wrapper) so that the pid we record is the process that serves.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parse } from 'smol-toml'
import { projectRoot, type StackProfile } from './profile.ts'
import { apiUrl, dbUrl, type LocalSecrets } from './secrets.ts'
import { StackError } from './cluster.ts'

export interface FunctionEntry {
  name: string
  entrypoint: string
  verifyJwt: boolean
}

/** The [functions.<name>] blocks of supabase/config.toml, entrypoints relative to the root. */
export function configuredFunctions(): FunctionEntry[] {
  const file = path.join(projectRoot, 'supabase', 'config.toml')
  const toml = parse(readFileSync(file, 'utf8')) as { functions?: Record<string, unknown> }
  return Object.entries(toml.functions ?? {}).map(([name, raw]) => {
    const block = raw as { entrypoint?: string; verify_jwt?: boolean; enabled?: boolean }
    const entrypoint = block.entrypoint
      ? path.relative(projectRoot, path.resolve(projectRoot, 'supabase', block.entrypoint))
      : path.join('functions', name, 'index.ts')
    if (!existsSync(path.join(projectRoot, entrypoint))) {
      throw new StackError(`function ${name}: entrypoint ${entrypoint} does not exist`)
    }
    return { name, entrypoint: `./${entrypoint}`, verifyJwt: block.verify_jwt !== false }
  })
}

export function denoBinary(): string {
  const require = createRequire(import.meta.url)
  const own = path.join(path.dirname(require.resolve('deno/package.json')), 'deno')
  if (existsSync(own)) return own
  const platformPackage = `@deno/${process.platform}-${process.arch}-glibc/package.json`
  const candidate = path.join(path.dirname(require.resolve(platformPackage)), 'deno')
  if (existsSync(candidate)) return candidate
  throw new StackError('the deno binary is missing', 'run "npm ci" to install it')
}

export function functionsEnv(p: StackProfile, s: LocalSecrets): Record<string, string> {
  return {
    SUPABASE_URL: apiUrl(p),
    SUPABASE_ANON_KEY: s.anonKey,
    SUPABASE_SERVICE_ROLE_KEY: s.serviceRoleKey,
    SUPABASE_DB_URL: dbUrl(p, 'postgres', s.postgresPassword),
    SUPABASE_JWT_SECRET: s.jwtSecret,
    // The stack's own clamd, over TCP: --allow-net=127.0.0.1 already covers it.
    LEAPS_SCANNER: 'clamd',
    LEAPS_CLAMD_HOST: '127.0.0.1',
    LEAPS_CLAMD_PORT: String(p.clamdPort),
  }
}

/** Where the local Storage stand-in keeps the bytes of objects (inside the profile folder). */
export function storageDir(p: StackProfile): string {
  return path.join(p.dir, 'storage')
}

/**
 * `extraEnv` adds settings the stack does not give on its own (a test's notification
 * receivers, say); it may override the functions' settings, never the gateway's own.
 */
/** Notification channel settings (see README, Notifications), as given to `npm start`. */
const CHANNEL_SETTINGS = ['SLACK_WEBHOOK_URL', 'PAGERDUTY_ROUTING_KEY', 'PAGERDUTY_EVENTS_URL',
  'EMAIL_API_URL', 'EMAIL_API_KEY', 'EMAIL_FROM', 'EMAIL_TO_SECURITY', 'WEBHOOK_URL',
  'WEBHOOK_SECRET']

export function channelSettingsFromEnvironment(): Record<string, string> {
  return Object.fromEntries(CHANNEL_SETTINGS.filter((name) => process.env[name])
    .map((name) => [name, process.env[name]!]))
}

export function startFunctions(
  p: StackProfile,
  s: LocalSecrets,
  extraEnv: Record<string, string> = {},
): ChildProcess {
  mkdirSync(p.dir, { recursive: true })
  const log = openSync(path.join(p.dir, 'functions.log'), 'a')
  const child = spawn(
    denoBinary(),
    [
      'run',
      '--quiet',
      '--no-prompt',
      '--allow-net=127.0.0.1',
      '--allow-env',
      `--allow-read=${projectRoot}`,
      `--allow-write=${storageDir(p)}`,
      '--allow-sys=hostname,osRelease,networkInterfaces',
      'stack/functions/serve.ts',
    ],
    {
      cwd: projectRoot,
      stdio: ['ignore', log, log],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? p.dir,
        DENO_DIR: path.join(projectRoot, '.leaps', 'deno-cache'),
        DENO_NO_UPDATE_CHECK: '1',
        NO_COLOR: '1',
        // V8 settings for the functions process (heap limits, GC tracing), passed through.
        ...(process.env.DENO_V8_FLAGS ? { DENO_V8_FLAGS: process.env.DENO_V8_FLAGS } : {}),
        ...functionsEnv(p, s),
        ...extraEnv,
        LEAPS_API_PORT: String(p.apiPort),
        LEAPS_STORAGE_DIR: storageDir(p),
        LEAPS_FUNCTIONS: JSON.stringify(configuredFunctions()),
      },
    },
  )
  return child
}

/** Waits until the functions server answers /health, or fails with the log's last lines. */
export async function waitForFunctions(p: StackProfile, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break
    try {
      const res = await fetch(`${apiUrl(p)}/health`)
      if (res.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  const logFile = path.join(p.dir, 'functions.log')
  const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n')
  throw new StackError(`the functions server did not come up on port ${p.apiPort}`,
    `last lines of ${logFile}:\n${tail}`)
}
