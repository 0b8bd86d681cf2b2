/**
 * npm start: brings the local stack up (PostgreSQL with the platform layer, migrations and
 * demo data; clamd; the Deno functions server), prints how to reach it, and keeps running
 * until Ctrl-C or `npm run stop`, then shuts everything down. `--detach` returns once it is up.
 */
import { spawn } from 'node:child_process'
import { openSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { profileFromArgs } from '../lib/profile.ts'
import { alive, clearState, down, readState, up, writeState } from '../lib/stack.ts'
import { StackError } from '../lib/cluster.ts'
import { readSecrets } from '../lib/secrets.ts'
import { printBanner } from '../lib/banner.ts'
import { fail, step } from '../lib/say.ts'

const argv = process.argv.slice(2)
const p = profileFromArgs(argv)

async function detach(): Promise<void> {
  const logFile = path.join(p.dir, 'start.log')
  const { mkdirSync } = await import('node:fs')
  mkdirSync(p.dir, { recursive: true })
  const out = openSync(logFile, 'w')
  const args = [...process.execArgv, fileURLToPath(import.meta.url),
    ...argv.filter((a) => a !== '--detach')]
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out] })
  child.unref()
  const deadline = Date.now() + 10 * 60_000
  while (Date.now() < deadline) {
    const state = readState(p)
    if (state?.ownerPid === child.pid && state?.ready) {
      printBanner(p, readSecrets(p))
      step(`running in the background (pid ${child.pid}); stop it with: npm run stop`)
      return
    }
    if (!alive(child.pid)) break
    await new Promise((r) => setTimeout(r, 300))
  }
  fail(`the stack did not start; see ${logFile}`, readFileSync(logFile, 'utf8').slice(-2000))
}

async function main(): Promise<void> {
  const existing = readState(p)
  if (existing && alive(existing.ownerPid)) {
    step(`the ${p.name} stack is already running (pid ${existing.ownerPid})`)
    printBanner(p, readSecrets(p))
    return
  }
  if (argv.includes('--detach')) return detach()

  const running = await up(p, { functions: true })
  writeState(p, {
    ownerPid: process.pid,
    denoPid: running.functions?.pid,
    clamdPid: running.clamd?.pid,
    ready: true,
  })
  printBanner(p, running.secrets)
  step('stack is up; press Ctrl-C (or run "npm run stop") to stop it')

  let stopping = false
  const shutdown = async (why: string) => {
    if (stopping) return
    stopping = true
    step(`${why}: shutting down`)
    try {
      await down(p, running)
    } finally {
      clearState(p)
      process.exit(0)
    }
  }
  process.on('SIGINT', () => void shutdown('interrupted'))
  process.on('SIGTERM', () => void shutdown('asked to stop'))
  running.functions?.on('exit', (code, signal) => {
    if (!stopping) void shutdown(`the functions server exited (${signal ?? code})`)
  })
  // Without clamd every upload would be refused: stop rather than run half a stack.
  running.clamd?.on('exit', (code, signal) => {
    if (!stopping) void shutdown(`clamd exited (${signal ?? code})`)
  })
}

main().catch((error: unknown) => {
  if (error instanceof StackError) fail(error.message, error.hint)
  fail(error instanceof Error ? (error.stack ?? error.message) : String(error))
})
