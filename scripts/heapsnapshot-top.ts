/**
 * Self size per object type of a V8 `.heapsnapshot` (e.g. `bench-load
 * sessions --heap-snapshot DIR`), optionally minus a second snapshot and
 * divided by a count: what each added session holds, without Chrome
 * DevTools.
 *
 *   node dist/scripts/heapsnapshot-top.js <file> [--minus <file>] [--per N] [--top 30]
 *
 * Objects are grouped by node type and constructor name (`object Session`,
 * `number` for heap numbers, `string` for all strings, `array` for
 * internal arrays such as a Map's table). With `--minus` (a snapshot of
 * the same program with fewer sessions) one-off memory cancels out, and
 * `--per` (the sessions added) turns the rest into bytes and objects per
 * session: docs/benchmarks.md, sessions.
 */
import { readFileSync } from 'node:fs'

/** The parts of a `.heapsnapshot` this reads. */
export interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } }
  nodes: number[]
  strings: string[]
}

/** Types whose names are contents (a string's text, a number's value), not kinds. */
const UNNAMED = new Set(['string', 'concatenated string', 'sliced string', 'number'])

/** Count and self size (bytes) per "type name". */
export function selfSizes(snap: HeapSnapshot): Map<string, { count: number; bytes: number }> {
  const fields = snap.snapshot.meta.node_fields
  const types = snap.snapshot.meta.node_types[0]
  const width = fields.length
  const iType = fields.indexOf('type')
  const iName = fields.indexOf('name')
  const iSize = fields.indexOf('self_size')
  const out = new Map<string, { count: number; bytes: number }>()
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType] as number] ?? '?'
    const name = UNNAMED.has(type) ? '' : (snap.strings[snap.nodes[i + iName] as number] ?? '').slice(0, 60)
    const key = name === '' ? type : `${type} ${name}`
    const entry = out.get(key) ?? { count: 0, bytes: 0 }
    entry.count++
    entry.bytes += snap.nodes[i + iSize] as number
    out.set(key, entry)
  }
  return out
}

/** `a` minus `b` (when given), divided by `per`, largest first. */
export function compareSizes(
  a: Map<string, { count: number; bytes: number }>,
  b: Map<string, { count: number; bytes: number }> | undefined,
  per = 1,
): { key: string; count: number; bytes: number }[] {
  const rows: { key: string; count: number; bytes: number }[] = []
  for (const key of new Set([...a.keys(), ...(b?.keys() ?? [])])) {
    const x = a.get(key) ?? { count: 0, bytes: 0 }
    const y = b?.get(key) ?? { count: 0, bytes: 0 }
    rows.push({ key, count: (x.count - y.count) / per, bytes: (x.bytes - y.bytes) / per })
  }
  return rows.sort((r, s) => s.bytes - r.bytes)
}

function main(argv: string[]): void {
  const options = new Map<string, string>()
  const files: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg.startsWith('--')) options.set(arg, argv[++i] ?? '')
    else files.push(arg)
  }
  const file = files[0]
  const minus = options.get('--minus')
  const per = Number(options.get('--per') ?? 1)
  const top = Number(options.get('--top') ?? 30)
  if (file === undefined || !(per > 0) || !Number.isInteger(top)) {
    console.error('node dist/scripts/heapsnapshot-top.js <file.heapsnapshot> [--minus <file.heapsnapshot>] [--per N] [--top 30]')
    process.exit(2)
  }
  const load = (path: string): Map<string, { count: number; bytes: number }> => selfSizes(JSON.parse(readFileSync(path, 'utf8')) as HeapSnapshot)
  const rows = compareSizes(load(file), minus === undefined ? undefined : load(minus), per)
  const total = rows.reduce((sum, r) => sum + r.bytes, 0)
  console.log(`${file}${minus === undefined ? '' : ` minus ${minus}`}${per === 1 ? '' : `, per ${per}`}: ${total.toFixed(1)} bytes (native sizes are V8's estimates)`)
  console.log('     bytes    count  type name')
  for (const r of rows.slice(0, top)) console.log(`${r.bytes.toFixed(1).padStart(10)}  ${r.count.toFixed(2).padStart(7)}  ${r.key}`)
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) main(process.argv.slice(2))
