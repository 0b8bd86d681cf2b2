/**
 * The cluster of the `bench` profile and the scratch databases that benchmarks load their data
 * into. A scratch database is dropped and created again on every run, then given the platform
 * layer and the project's migrations, so every run starts from the schema as it is in sql/
 * and policies/ and never from what an earlier run left behind.
 */
import { profile, type StackProfile } from '../stack/lib/profile.ts'
import { loadOrCreateSecrets, superuserUrl, type LocalSecrets } from '../stack/lib/secrets.ts'
import { rmSync } from 'node:fs'
import path from 'node:path'
import {
  clusterExists,
  clusterRunning,
  createCluster,
  ensurePackages,
  startCluster,
  stopCluster,
} from '../stack/lib/cluster.ts'
import { applyMigrations, applyPlatform, connect } from '../stack/lib/database.ts'
import { step } from '../stack/lib/say.ts'

export interface BenchCluster {
  profile: StackProfile
  secrets: LocalSecrets
}

export async function startBenchCluster(): Promise<BenchCluster> {
  const p = profile('bench')
  ensurePackages()
  const secrets = await loadOrCreateSecrets(p)
  if (!clusterExists(p)) createCluster(p, secrets)
  // Each run writes its own server log (pgaudit logs every DDL statement of the migrations);
  // an earlier run's log is not kept, so the folder does not grow run after run.
  if (!clusterRunning(p)) rmSync(path.join(p.dir, 'postgres.log'), { force: true })
  startCluster(p)
  return { profile: p, secrets }
}

export function stopBenchCluster(cluster: BenchCluster): void {
  stopCluster(cluster.profile)
}

/**
 * Drops and creates the database `name`, applies the platform layer and the migrations to it,
 * and returns a profile that points at it (same cluster, same secrets).
 */
export async function createScratchDatabase(
  cluster: BenchCluster,
  name: string,
): Promise<StackProfile> {
  // The cluster's own database holds pg_cron's job table and is never a scratch database.
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(name) || name === cluster.profile.database) {
    throw new TypeError(`not a usable scratch database name: "${name}"`)
  }
  step(`creating scratch database ${name}`)
  const admin = connect(superuserUrl(cluster.profile, cluster.secrets))
  try {
    await admin.unsafe(`drop database if exists ${name} with (force)`)
    // Created by the superuser; the platform layer hands it to `postgres`, as on Supabase.
    await admin.unsafe(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const scratch: StackProfile = { ...cluster.profile, database: name }
  await applyPlatform(scratch, cluster.secrets)
  await applyMigrations(scratch, cluster.secrets)
  return scratch
}

/**
 * Runs `work` with the bench cluster up, then stops it (unless `keep`): also on Ctrl-C, on
 * SIGTERM, and when the run outlives `deadlineMs`, so that a bench always ends by itself.
 */
export async function withBenchCluster<T>(
  name: string,
  options: { keep: boolean; deadlineMs: number },
  work: (cluster: BenchCluster) => Promise<T>,
): Promise<T> {
  const cluster = await startBenchCluster()
  let stopped = false
  const stop = () => {
    if (stopped || options.keep) return
    stopped = true
    stopBenchCluster(cluster)
  }
  const onSignal = (signal: NodeJS.Signals) => {
    step(`${signal}: stopping the bench cluster`)
    stop()
    process.exit(130)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const watchdog = setTimeout(() => {
    step(`the ${name} bench ran longer than ${options.deadlineMs / 60_000} minutes: giving up`)
    stop()
    process.exit(1)
  }, options.deadlineMs)
  try {
    return await work(cluster)
  } finally {
    clearTimeout(watchdog)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    if (options.keep) step(`bench cluster left running on 127.0.0.1:${cluster.profile.dbPort}`)
    stop()
  }
}
