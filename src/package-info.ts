/**
 * Where the installed package lives and which version it is. Works from
 * both `src/` (tests) and `dist/src/` (production), whose depths differ.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The folder of headframe's package.json, found by walking up from this file. */
export const PACKAGE_ROOT: string = findRoot(dirname(fileURLToPath(import.meta.url)))

/** The version in package.json. */
export const PACKAGE_VERSION: string = (
  JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
).version

function findRoot(from: string): string {
  let dir = from
  for (;;) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'headframe') return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`cannot find the headframe package root above ${from}`)
    dir = parent
  }
}
