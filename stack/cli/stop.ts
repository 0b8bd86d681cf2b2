/** npm run stop: stops a running `npm start` (or what it left behind) for a profile. */
import { profileFromArgs } from '../lib/profile.ts'
import { alive, clearState, readState, stopPid } from '../lib/stack.ts'
import { clusterRunning, StackError, stopCluster } from '../lib/cluster.ts'
import { clamdDir, isOwnClamd } from '../lib/clamd.ts'
import { fail, step } from '../lib/say.ts'

export async function stopStack(p = profileFromArgs(process.argv.slice(2))): Promise<void> {
  const state = readState(p)
  const clamdPid = isOwnClamd(clamdDir(p), state?.clamdPid) ? state?.clamdPid : undefined
  const wasRunning = alive(state?.ownerPid) || alive(state?.denoPid) || alive(clamdPid)
    || clusterRunning(p)
  if (state && alive(state.ownerPid)) {
    step(`stopping the ${p.name} stack (pid ${state.ownerPid})`)
    await stopPid(state.ownerPid, 30_000)
  }
  // Whatever a crashed `npm start` left running, by the pids it recorded.
  if (state?.denoPid && alive(state.denoPid)) await stopPid(state.denoPid)
  if (alive(clamdPid)) await stopPid(clamdPid)
  stopCluster(p)
  clearState(p)
  if (wasRunning) step(`the ${p.name} stack is stopped`)
}

if (import.meta.url === `file://${process.argv[1]}`) {
  stopStack().catch((error: unknown) => {
    if (error instanceof StackError) fail(error.message, error.hint)
    fail(String(error))
  })
}
