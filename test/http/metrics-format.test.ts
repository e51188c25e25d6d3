/**
 * `/metrics` against a strict reader of the Prometheus text exposition
 * format 0.0.4 (there is no promtool here): names and label syntax,
 * escapes, values, one HELP and one TYPE per family before its samples,
 * families not interleaved, no duplicate series, histogram buckets
 * cumulative with `+Inf` equal to `_count`; and Headframe's own naming
 * (`headframe_` prefix, counters ending in `_total`, base units). The
 * reader is checked on invalid inputs too, so it can fail.
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 */
import t from 'tap'
import { FakeMiner } from '../helpers/fake-miner.js'
import { serveHttpPool } from '../helpers/http-pool.js'

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
// Prometheus reads values with Go's strconv.ParseFloat, which takes NaN and
// Inf in any case: prom-client writes "Nan" (nodejs_eventloop_lag_* before
// the first sample), which Prometheus and promtool accept.
const VALUE = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf(?:inity)?|nan)$/i

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}
interface Family {
  name: string
  type: string
  help: string | undefined
  samples: Sample[]
}

/** Parses `{a="x",b="y"}` from `text` at `i` (just after `{`); returns labels and the index after `}`. */
function parseLabels(text: string, start: number, where: string): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {}
  let i = start
  for (;;) {
    if (text[i] === '}') return { labels, end: i + 1 }
    const eq = text.indexOf('=', i)
    if (eq < 0) throw new Error(`${where}: label without "="`)
    const name = text.slice(i, eq)
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`)
    if (name in labels) throw new Error(`${where}: label ${name} twice`)
    if (text[eq + 1] !== '"') throw new Error(`${where}: label value not quoted`)
    let value = ''
    let j = eq + 2
    for (;;) {
      const c = text[j]
      if (c === undefined) throw new Error(`${where}: unterminated label value`)
      if (c === '"') break
      if (c === '\\') {
        const e = text[j + 1]
        if (e === '\\') value += '\\'
        else if (e === '"') value += '"'
        else if (e === 'n') value += '\n'
        else throw new Error(`${where}: bad escape \\${e ?? ''} in a label value`)
        j += 2
        continue
      }
      if (c === '\n') throw new Error(`${where}: raw newline in a label value`)
      value += c
      j++
    }
    labels[name] = value
    i = j + 1
    if (text[i] === ',') i++
    else if (text[i] !== '}') throw new Error(`${where}: expected "," or "}" after a label`)
  }
}

function parseValue(raw: string, where: string): number {
  if (!VALUE.test(raw)) throw new Error(`${where}: bad value ${JSON.stringify(raw)}`)
  if (/inf/i.test(raw)) return raw.startsWith('-') ? -Infinity : Infinity
  return /nan/i.test(raw) ? NaN : Number(raw)
}

/** The family a sample belongs to (histogram and summary series carry suffixes). */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  for (const suffix of ['_bucket', '_sum', '_count', '']) {
    if (!name.endsWith(suffix)) continue
    const base = name.slice(0, name.length - suffix.length)
    const f = families.get(base)
    if (f !== undefined && (suffix === '' || f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return f
  }
  return undefined
}

/** Reads exposition text strictly; throws on the first violation. */
export function parseExposition(text: string): Map<string, Family> {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the text must end with a newline')
  const families = new Map<string, Family>()
  const closed = new Set<string>()
  const series = new Set<string>()
  let current: Family | undefined
  const lines = text.split('\n').slice(0, -1)
  lines.forEach((line, n) => {
    const where = `line ${n + 1}`
    if (line.trim() === '') return
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line)
      if (m === null) return // another comment
      const [, kind, name = '', rest = ''] = m
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${name}`)
      if (closed.has(name)) throw new Error(`${where}: ${name} appears again after other families`)
      let f = families.get(name)
      if (f === undefined) {
        if (current !== undefined) closed.add(current.name)
        f = { name, type: 'untyped', help: undefined, samples: [] }
        families.set(name, f)
        current = f
      }
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`${where}: second HELP for ${name}`)
        if (/\\[^\\n]/.test(rest.replaceAll('\\\\', ''))) throw new Error(`${where}: bad escape in HELP`)
        f.help = rest
      } else {
        if (!TYPES.has(rest)) throw new Error(`${where}: bad type ${rest}`)
        if (f.samples.length > 0) throw new Error(`${where}: TYPE for ${name} after its samples`)
        if (f.type !== 'untyped' || (f as { typed?: boolean }).typed === true) throw new Error(`${where}: second TYPE for ${name}`)
        f.type = rest
        ;(f as { typed?: boolean }).typed = true
      }
      return
    }
    const nameEnd = line.search(/[{ ]/)
    if (nameEnd <= 0) throw new Error(`${where}: no metric name`)
    const name = line.slice(0, nameEnd)
    if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${name}`)
    let labels: Record<string, string> = {}
    let i = nameEnd
    if (line[i] === '{') ({ labels, end: i } = parseLabels(line, i + 1, where))
    if (line[i] !== ' ') throw new Error(`${where}: expected a space before the value`)
    const parts = line.slice(i + 1).split(' ')
    if (parts.length > 2 || parts[0] === '') throw new Error(`${where}: expected "value [timestamp]"`)
    const value = parseValue(parts[0] ?? '', where)
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`${where}: bad timestamp`)
    let f = familyOf(name, families)
    if (f === undefined) {
      if (closed.has(name)) throw new Error(`${where}: ${name} appears again after other families`)
      f = { name, type: 'untyped', help: undefined, samples: [] }
      families.set(name, f)
    }
    if (f !== current) {
      if (current !== undefined) closed.add(current.name)
      if (closed.has(f.name)) throw new Error(`${where}: samples of ${f.name} are not together`)
      current = f
    }
    const key = `${name}{${Object.entries(labels).sort().map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`
    if (series.has(key)) throw new Error(`${where}: duplicate series ${key}`)
    series.add(key)
    if (f.type === 'histogram' && name.endsWith('_bucket') && labels.le === undefined) throw new Error(`${where}: bucket without le`)
    if (f.type === 'summary' && name === f.name && labels.quantile === undefined) throw new Error(`${where}: summary sample without quantile`)
    if ((f.type === 'counter' || name.endsWith('_count') || name.endsWith('_bucket')) && !(value >= 0)) throw new Error(`${where}: negative or NaN count`)
    f.samples.push({ name, labels, value })
  })
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f)
  return families
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>()
  for (const s of f.samples) {
    const { le, ...rest } = s.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    let g = groups.get(key)
    if (g === undefined) groups.set(key, (g = { buckets: [] }))
    if (s.name === `${f.name}_bucket`) g.buckets.push([parseValue(le ?? '', f.name), s.value])
    else if (s.name === `${f.name}_count`) g.count = s.value
    else if (s.name === `${f.name}_sum`) g.sum = s.value
    else throw new Error(`${f.name}: unexpected series ${s.name} in a histogram`)
  }
  for (const g of groups.values()) {
    if (g.count === undefined || g.sum === undefined) throw new Error(`${f.name}: histogram without _count or _sum`)
    const last = g.buckets.at(-1)
    if (last === undefined || last[0] !== Infinity) throw new Error(`${f.name}: no le="+Inf" bucket last`)
    if (last[1] !== g.count) throw new Error(`${f.name}: +Inf bucket ${last[1]} is not _count ${g.count}`)
    for (let i = 1; i < g.buckets.length; i++) {
      const [le0, n0] = g.buckets[i - 1] as [number, number]
      const [le1, n1] = g.buckets[i] as [number, number]
      if (!(le1 > le0)) throw new Error(`${f.name}: le not increasing`)
      if (n1 < n0) throw new Error(`${f.name}: buckets not cumulative`)
    }
  }
}

t.test('the reader refuses what the format forbids', async (t) => {
  const ok = '# HELP a_total Things.\n# TYPE a_total counter\na_total{x="1"} 3\na_total{x="q\\"\\\\\\n"} 4 1700000000000\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3.5\nh_count 2\nu NaN\n'
  const parsed = parseExposition(ok)
  t.same([...parsed.keys()], ['a_total', 'h', 'u'])
  t.equal(parsed.get('a_total')?.samples[1]?.labels.x, 'q"\\\n')
  const bad: [string, RegExp][] = [
    ['a 1', /end with a newline/],
    ['1a 1\n', /bad metric name/],
    ['a{b=1} 1\n', /not quoted/],
    ['a{__b="1"} 1\n', /bad label name/],
    ['a{b="\\t"} 1\n', /bad escape/],
    ['a{b="1",b="2"} 1\n', /twice/],
    ['a one\n', /bad value/],
    ['a 1 2 3\n', /value \[timestamp\]/],
    ['a 1 x\n', /bad timestamp/],
    ['a 1\na 2\n', /duplicate series/],
    ['a 1\nb 1\na{x="1"} 2\n', /again after other families|not together/],
    ['# TYPE a counter\n# TYPE a counter\na 1\n', /second TYPE/],
    ['# HELP a x\n# HELP a y\na 1\n', /second HELP/],
    ['# TYPE a gauge\na 1\n# TYPE a gauge\n', /TYPE for a after its samples/],
    ['# TYPE a widget\n', /bad type/],
    ['# TYPE a counter\na -1\n', /negative/],
    ['# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', /\+Inf/],
    ['# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', /not cumulative/],
    ['# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n', /is not _count/],
    ['# TYPE h histogram\nh_bucket 1\n', /bucket without le/],
    ['# TYPE s summary\ns 1\n', /without quantile/],
  ]
  for (const [text, message] of bad) t.throws(() => parseExposition(text), message, JSON.stringify(text))
})

t.test('/metrics of a mining pool is valid exposition text with Headframe naming', async (t) => {
  const pool = await serveHttpPool(t)

  // Accounts with awkward but legal names, accepted and rejected shares.
  for (const user of ['acct.rig1', 'a-b_c@d:e.rig2']) {
    const miner = await FakeMiner.connect(pool.port)
    t.teardown(() => miner.close())
    await miner.handshake(user, 'cgminer "quoted" \\ agent')
    const job = await miner.nextNotify()
    const found = miner.findShare(job)
    t.equal((await miner.submit(user, job.jobId, found)).result, true)
    t.not((await miner.submit(user, job.jobId, found)).error, null)
  }

  const res = await pool.get('/metrics')
  t.equal(res.status, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4; charset=utf-8/)
  const families = parseExposition(res.body)
  const ours = [...families.values()].filter((f) => f.name.startsWith('headframe_'))
  t.ok(ours.length >= 8, `${ours.length} headframe_ families`)
  for (const f of ours) {
    t.ok(f.help !== undefined && f.help.length > 0, `${f.name} has HELP`)
    t.not(f.type, 'untyped', `${f.name} has a TYPE`)
    if (f.type === 'counter') t.match(f.name, /_total$/, `counter ${f.name} ends in _total`)
    else t.notMatch(f.name, /_total$/, `${f.name} is not a counter and does not end in _total`)
    t.notMatch(f.name, /_(ms|milliseconds|minutes|kb|mb)(_|$)/, `${f.name} uses base units`)
  }
  for (const f of families.values()) t.match(f.name, /^(headframe|process|nodejs)_/, `${f.name}: ours or prom-client's process metrics`)
  t.equal(families.get('headframe_accepted_difficulty_total')?.samples.find((s) => s.labels.account === 'a-b_c@d:e')?.value, 0.001, 'an awkward account label survives')
  // A second scrape is valid too (counters from deltas).
  parseExposition((await pool.get('/metrics')).body)
})
