/**
 * Human-readable lines for a schema difference, saying on which side each object is.
 */
import type { SchemaDifference } from './schema.ts'

const OBJECT = /^(create|drop|alter)\s+(?:or\s+replace\s+)?((?:materialized\s+|unique\s+)?[a-z]+(?:\s+trigger)?)\s+(?:if\s+(?:not\s+)?exists\s+)?("[^"]+"(?:\."[^"]+")?|[^\s(]+)(?:\s+on\s+("[^"]+"\."[^"]+"|[^\s;]+))?/i

/** One line per statement or fact: `[side] kind object`. */
export function describeDifference(
  d: SchemaDifference,
  sides: { from: string; to: string },
): string[] {
  const lines: string[] = []
  // migra changes an object by dropping and creating it again: such a pair is one change.
  const seen = new Map<string, string>()
  for (const statement of d.statements) {
    const flat = statement.replace(/\s+/g, ' ').trim()
    if (/^set\s/i.test(flat)) continue
    const m = OBJECT.exec(flat)
    if (!m) {
      seen.set(flat, `[differs] ${flat.slice(0, 90)}`)
      continue
    }
    const verb = m[1]!.toLowerCase()
    // A trigger names its table after the timing and events: find the `on` further along.
    const table = m[4] ?? (/trigger/i.test(m[2]!)
      ? /\son\s+("[^"]+"\."[^"]+"|[\w.]+)/i.exec(flat.slice(m.index + m[0].length))?.[1]
      : undefined)
    const subject = `${m[2]!.toLowerCase()} ${m[3]!}${table ? ` on ${table}` : ''}`
    const side = verb === 'create' && !/or replace/i.test(flat) ? `only in ${sides.to}`
      : verb === 'drop' ? `only in ${sides.from}`
      : 'differs'
    // A create or drop followed by alters of the same object stays a create or drop; a drop
    // and a create of it together are a change.
    const before = seen.get(subject)
    const line = `[${side}] ${subject}`
    if (!before || before === line) seen.set(subject, line)
    else if (side === 'differs') continue
    else if (before === `[differs] ${subject}`) seen.set(subject, line)
    else seen.set(subject, `[differs] ${subject}`)
  }
  lines.push(...seen.values())
  // Facts about a function that migra creates or drops are part of that line already.
  const unquoted = d.statements.map((st) => st.replace(/"/g, ''))
  const covered = (object: string) =>
    object.includes('(') && unquoted.some((st) => st.includes(object.split('(')[0]!))
  for (const f of d.onlyFrom) {
    if (!covered(f.object)) lines.push(`[only in ${sides.from}] ${f.kind} ${f.object}: ${f.value}`)
  }
  for (const f of d.onlyTo) {
    if (!covered(f.object)) lines.push(`[only in ${sides.to}] ${f.kind} ${f.object}: ${f.value}`)
  }
  for (const t of d.tables) lines.push(`[differs] rows of ${t}`)
  return lines
}
