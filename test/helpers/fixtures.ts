/** Paths to the test fixtures (copied into test/fixtures so a clone is self-contained). */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures')

export function fixture(name: string): Buffer {
  return readFileSync(join(FIXTURES, name))
}
