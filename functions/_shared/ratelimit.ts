/**
 * Per-caller rate limits for function routes, counted in Postgres (private.take_rate_limit)
 * so that every function instance draws on the same numbers. One statement per request; a
 * refused request answers 429 rate_limited with Retry-After.
 */
import type { Db } from './db.ts'
import { AppError } from './errors.ts'

export async function takeRateLimit(db: Db, route: string, callerId: string | null) {
  const [slot] = await db.asService((tx) => tx<Array<{ allowed: boolean;
    retry_after_seconds: number }>>`
    select allowed, retry_after_seconds from private.take_rate_limit(${route}, ${callerId})`)
  if (!slot?.allowed) {
    const seconds = slot?.retry_after_seconds ?? 60
    throw new AppError('rate_limited', `Too many requests; try again in ${seconds} second(s)`,
      { headers: { 'retry-after': String(seconds) } })
  }
}
