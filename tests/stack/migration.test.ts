import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { buildSchemaMigration, SCHEMA_MIGRATION } from '../../stack/cli/build-migration.ts'

describe('schema migration', () => {
  it('matches the declarative source in sql/ and policies/ (run npm run build:migration)', () => {
    expect(readFileSync(SCHEMA_MIGRATION, 'utf8')).toBe(buildSchemaMigration())
  })
})
