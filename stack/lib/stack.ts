/**
 * Bringing a whole stack profile up and down: cluster, platform layer, migrations, seed,
 * clamd (the virus scanner) and the functions server. Used by `npm start` and by the test
 * runner.
 */
import type { ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { StackProfile } from './profile.ts'
import { loadOrCreateSecrets, type LocalSecrets } from './secrets.ts'
import {
  clusterExists,
  clusterRunning,
  createCluster,
  ensurePackages,
  startCluster,
  stopCluster,
} from './cluster.ts'
import { applyMigrations, applyPlatform, isSeeded, loadSeed } from './database.ts'
import { channelSettingsFromEnvironment, startFunctions, waitForFunctions } from './functions.ts'
import { clamdDir, startClamd, waitForClamd } from './clamd.ts'
import { step } from './say.ts'

export interface RunningStack {
  secrets: LocalSecrets
  functions?: ChildProcess
  clamd?: ChildProcess
}

interface StateFile {
  ownerPid: number
  denoPid?: number
  clamdPid?: number
  ready?: boolean
}

const stateFile = (p: StackProfile) => path.join(p.dir, 'state.json')

export function readState(p: StackProfile): StateFile | undefined {
  if (!existsSync(stateFile(p))) return undefined
  try {
    return JSON.parse(readFileSync(stateFile(p), 'utf8')) as StateFile
  } catch {
    return undefined
  }
}

export function writeState(p: StackProfile, state: StateFile): void {
  writeFileSync(stateFile(p), JSON.stringify(state) + '\n')
}

export function clearState(p: StackProfile): void {
  rmSync(stateFile(p), { force: true })
}

export function alive(pid: number | undefined): boolean {
  if (!pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

export async function up(
  p: StackProfile,
  options: { functions: boolean },
): Promise<RunningStack> {
  ensurePackages()
  const secrets = await loadOrCreateSecrets(p)
  if (!clusterExists(p)) createCluster(p, secrets)
  startCluster(p)
  await applyPlatform(p, secrets)
  const applied = await applyMigrations(p, secrets)
  if (applied === 0) step('migrations up to date')
  if (!(await isSeeded(p, secrets))) await loadSeed(p, secrets)
  else step('demo data already loaded (npm run reset starts over)')
  if (!options.functions) return { secrets }
  // clamd comes first: the functions scan uploads through it and fail closed without it.
  step(`starting clamd (virus scanner, test signature only) on 127.0.0.1:${p.clamdPort}`)
  const scanner = { dir: clamdDir(p), port: p.clamdPort }
  const { child: clamd } = await startClamd(scanner)
  try {
    await waitForClamd(scanner, clamd)
    step(`starting the functions server on 127.0.0.1:${p.apiPort}`)
    // The dev stack delivers the notification outbox every 30 seconds, as pg_cron with pg_net
    // does in production, to the channels given to `npm start`; the test stack leaves both to
    // the tests.
    const functions = startFunctions(p, secrets, p.name === 'dev'
      ? { LEAPS_NOTIFY_EVERY_SECONDS: '30', ...channelSettingsFromEnvironment() }
      : {})
    await waitForFunctions(p, functions)
    return { secrets, functions, clamd }
  } catch (error) {
    if (clamd.pid !== undefined) await stopChild(clamd)
    throw error
  }
}

/** Stops a child we started and waits for it, escalating to SIGKILL after a grace period. */
export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/** Stops a process by pid (one we recorded ourselves) and waits until it is gone. */
export async function stopPid(pid: number | undefined, graceMs = 10_000): Promise<void> {
  if (!alive(pid)) return
  process.kill(pid!, 'SIGTERM')
  const deadline = Date.now() + graceMs
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
  if (alive(pid)) process.kill(pid!, 'SIGKILL')
}

export async function down(p: StackProfile, running?: RunningStack): Promise<void> {
  await stopChild(running?.functions)
  await stopChild(running?.clamd)
  stopCluster(p)
}

/**
 * A running cluster for tools that only need PostgreSQL (no migrations, seed or functions):
 * created and started when needed. `stop` stops it again only if this call started it.
 */
export async function ensureCluster(
  p: StackProfile,
): Promise<{ secrets: LocalSecrets; stop: () => void }> {
  ensurePackages()
  const secrets = await loadOrCreateSecrets(p)
  const fresh = !clusterExists(p)
  if (fresh) createCluster(p, secrets)
  const wasRunning = clusterRunning(p)
  startCluster(p)
  if (fresh) await applyPlatform(p, secrets)
  return { secrets, stop: () => (wasRunning ? undefined : stopCluster(p)) }
}
