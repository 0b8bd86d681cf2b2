/**
 * A fix for @pgkit/schemainspect 0.6.1, which migra uses to read a schema. Its dependency
 * loader walks every trigger and every column of every relation once per dependency row,
 * pushing duplicates each time; with a partitioned table (the audit log) and a few triggers,
 * reading our schema took over 30 seconds. This replaces the loader with the original migra
 * algorithm: one pass over the dependency rows, then one over triggers and one over relations,
 * without duplicates. The result is the same graph.
 */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { PostgreSQL } = require('@pgkit/schemainspect') as {
  PostgreSQL: { prototype: Record<string, unknown> }
}
const { quoted_identifier: quoted } = require('@pgkit/schemainspect/dist/misc.js') as {
  quoted_identifier: (name: string, schema?: string) => string
}

interface EnumNode {
  signature: string
  dependents: string[]
}

interface Node {
  signature: string
  dependent_on: string[]
  dependents: string[]
  parent_table?: string
  columns?: Record<string, { is_enum?: boolean; enum?: EnumNode }>
}

interface Inspector {
  deps: Array<Record<string, string>>
  selectables: Record<string, Node>
  triggers: Record<string, Node>
  relations: Record<string, Node>
  enums: Record<string, Node>
  execute(query: string): Promise<Array<Record<string, string>>>
}

const push = (list: string[], item: string) => {
  if (!list.includes(item)) {
    list.push(item)
    list.sort()
  }
}

PostgreSQL.prototype.load_deps = async function loadDeps(this: Inspector): Promise<void> {
  const rows = await this.execute('DEPS_QUERY')
  this.deps = [...rows]
  const args = (expr?: string) => (expr ? `(${expr})` : '')
  for (const dep of this.deps) {
    const x = `${quoted(dep.name!, dep.schema)}${args(dep.identity_arguments)}`
    const on = `${quoted(dep.name_dependent_on!, dep.schema_dependent_on)}`
      + args(dep.identity_arguments_dependent_on)
    const item = this.selectables[x]
    if (!item) continue
    push(item.dependent_on, on)
    const target = this.selectables[on]
    if (target) push(target.dependents, x)
  }
  for (const [k, t] of Object.entries(this.triggers)) {
    for (const name of t.dependent_on) {
      const dependency = this.selectables[name]
      if (dependency) push(dependency.dependents, k)
    }
  }
  for (const [k, r] of Object.entries(this.relations)) {
    for (const c of Object.values(r.columns ?? {})) {
      if (c.is_enum && c.enum && c.enum.signature in this.enums) {
        push(r.dependent_on, c.enum.signature)
        push(c.enum.dependents, k)
      }
    }
    if (r.parent_table && this.relations[r.parent_table]) {
      push(r.dependent_on, r.parent_table)
      push(this.relations[r.parent_table]!.dependents, r.signature)
    }
  }
}
