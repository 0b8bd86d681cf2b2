/**
 * Human-readable lines for a schema difference, saying on which side each object is.
 */
import type { SchemaDifference } from './schema.ts'

const OBJECT = /^(create|drop|alter)\s+(?:or\s+replace\s+)?((?:materialized\s+)?[a-z]+(?:\s+trigger)?)\s+(?:if\s+(?:not\s+)?exists\s+)?("[^"]+"(?:\."[^"]+")?|[^\s(]+)(?:\s+on\s+("[^"]+"\."[^"]+"|[^\s;]+))?/i

/** One line per statement or fact: `[side] kind object`. */
export function describeDifference(
  d: SchemaDifference,
  sides: { from: string; to: string },
): string[] {
  const lines: string[] = []
  for (const statement of d.statements) {
    const flat = statement.replace(/\s+/g, ' ').trim()
    const m = OBJECT.exec(flat)
    if (!m) {
      lines.push(`[differs] ${flat.slice(0, 90)}`)
      continue
    }
    const verb = m[1]!.toLowerCase()
    const kind = m[2]!.toLowerCase()
    const object = m[3]! + (m[4] ? ` on ${m[4]}` : '')
    const side = verb === 'create' && !/or replace/i.test(flat) ? `only in ${sides.to}`
      : verb === 'drop' ? `only in ${sides.from}`
      : 'differs'
    lines.push(`[${side}] ${kind} ${object}`)
  }
  for (const f of d.onlyFrom) lines.push(`[only in ${sides.from}] ${f.kind} ${f.object}: ${f.value}`)
  for (const f of d.onlyTo) lines.push(`[only in ${sides.to}] ${f.kind} ${f.object}: ${f.value}`)
  for (const t of d.tables) lines.push(`[differs] rows of ${t}`)
  return lines
}
