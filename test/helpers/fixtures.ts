/**
 * Paths to the test fixtures (copied into test/fixtures so a clone is
 * self-contained), found from the package root so that the scripts which
 * use these helpers also run from dist/ (dist/test/helpers has no fixtures).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PACKAGE_ROOT } from '../../src/package-info.js'

export const FIXTURES = join(PACKAGE_ROOT, 'test', 'fixtures')

export function fixture(name: string): Buffer {
  return readFileSync(join(FIXTURES, name))
}
