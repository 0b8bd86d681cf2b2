/**
 * Database access for functions. Every unit of work is one transaction that first takes on
 * the caller's identity the way PostgREST does, `set local role` plus `request.jwt.claims`,
 * so RLS decides exactly as it would for the same call through the Data API.
 */
import postgres from 'postgres'
import type { ApiRole, VerifiedClaims } from './jwt.ts'

export type Sql = postgres.Sql
export type Tx = postgres.TransactionSql

export interface Db {
  /** Runs `work` as the user (or anon/service key holder) whose verified claims are given. */
  asCaller<T>(claims: VerifiedClaims, work: (tx: Tx) => Promise<T>): Promise<T>
  /**
   * Runs `work` as `service_role`: bypasses RLS, for server-side steps that need it. With
   * `snapshot`, the transaction is read-only and every query sees the same snapshot.
   */
  asService<T>(work: (tx: Tx) => Promise<T>, options?: { snapshot?: boolean }): Promise<T>
  end(): Promise<void>
}

async function become(tx: Tx, role: ApiRole, claims: Record<string, unknown>): Promise<void> {
  // Both values travel as bind parameters; nothing from the token is spliced into SQL text.
  await tx`select pg_catalog.set_config('role', ${role}, true),
                  pg_catalog.set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`
}

export function createDb(url: string, poolSize = 5): Db {
  const sql = postgres(url, {
    max: poolSize,
    idle_timeout: 30,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: 'leaps-guard-functions' },
  })
  return {
    asCaller(claims, work) {
      return sql.begin(async (tx) => {
        await become(tx, claims.role, claims)
        return work(tx)
      }) as Promise<never>
    },
    asService(work, options) {
      const mode = options?.snapshot ? 'isolation level repeatable read read only' : ''
      return sql.begin(mode, async (tx) => {
        await become(tx, 'service_role', { role: 'service_role' })
        return work(tx)
      }) as Promise<never>
    },
    end: () => sql.end({ timeout: 5 }),
  }
}
