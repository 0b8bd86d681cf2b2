/**
 * An administrator exporting other members' data past the hourly threshold: the detectors
 * raise an alert, the automatic response pauses exports, and the next export is refused with
 * 503, with the response on an incident's timeline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type postgres from 'postgres'
import { createMember, type Member, ownerSql, stack, tokenFor } from '../fixtures/stack.ts'

let sql: postgres.Sql
let exporter: Member
const subjects: Member[] = []

const exportOf = async (token: string, subject: string) => {
  const res = await fetch(`${stack.apiUrl}/functions/v1/dsar-export`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ subject }),
  })
  await res.body?.cancel()
  return res.status
}

beforeAll(async () => {
  sql = ownerSql()
  exporter = await createMember(sql, { role: 'ADMIN', mfa: true })
  for (let i = 0; i < 7; i += 1) subjects.push(await createMember(sql))
})

afterAll(async () => {
  // Exports on again, and this test's alerts and incident acknowledged, for later suites.
  await sql`update private.platform_switches set enabled = false where name = 'exports_paused'`
  await sql`update private.security_alerts set acknowledged_at = now()
            where cause like ${`%${exporter.id}%`}`
  await sql`delete from auth.users where id in ${sql([exporter.id, ...subjects.map((s) => s.id)])}`
  await sql.end()
})

describe('mass export by one administrator', () => {
  it('raises an alert, pauses exports and refuses the next one with 503', async () => {
    const token = await tokenFor(sql, exporter, { aal: 'aal2' })
    const statuses: number[] = []
    for (const s of subjects.slice(0, 6)) statuses.push(await exportOf(token, s.id))
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200])
    await sql`select private.run_detectors()`
    const [alert] = await sql`select severity, details -> 'observed' as observed
      from private.security_alerts where cause = ${`data_exports_per_actor:user:${exporter.id}`}`
    expect(alert).toEqual({ severity: 'medium', observed: 6 })
    expect(await exportOf(token, subjects[6]!.id)).toBe(503)
    const [switched] = await sql`select enabled from private.platform_switches
                                 where name = 'exports_paused'`
    expect(switched!.enabled).toBe(true)
    const timeline = await sql`select t.entry, t.details ->> 'action' as action
      from private.incident_timeline as t join private.incidents as i on i.id = t.incident_id
      where i.title = ${`data_exports_per_actor: user:${exporter.id}`} order by t.id`
    expect(timeline.map((t) => [t.entry, t.action])).toEqual([
      ['opened', null], ['automatic_response', 'exports_paused']])
  })
})
