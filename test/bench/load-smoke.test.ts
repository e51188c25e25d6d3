/**
 * Keeps the load harness (scripts/bench-load.ts) from rotting: a small run
 * of its `smoke` scenario against a real pool process (startPool, LevelDB
 * ledger, real TCP on 127.0.0.0/8): 300 sessions doing the real handshake
 * for about two seconds, with valid, stale, duplicate and low-difficulty
 * shares. It asserts that the harness works and reports, never how fast
 * anything was.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { PACKAGE_ROOT } from '../../src/package-info.js'

/** The TypeScript loader tap runs this test with, for the script and the processes it forks. */
const loader = process.execArgv.filter((a) => a.includes('typescript') || a === '--enable-source-maps')

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...loader, join(PACKAGE_ROOT, 'scripts', 'bench-load.ts'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    // The harness stops by itself; this only guards the test run.
    const guard = setTimeout(() => child.kill('SIGKILL'), 100_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(guard)
      resolve({ code, stdout, stderr })
    })
  })
}

t.test('--help and bad arguments are answered without starting anything', async (t) => {
  const help = await run(['--help'])
  t.equal(help.code, 0)
  t.match(help.stderr, /scenarios \(default: invalid accepted latency\)/)
  const bad = await run(['nonsense'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /unknown scenario nonsense/)
  const both = await run(['--rate', '10', '--inflight', '2'])
  t.equal(both.code, 2)
})

t.test('the smoke scenario runs sessions against a real pool and prints its report', async (t) => {
  const { code, stdout, stderr } = await run(['smoke', '--sessions', '300', '--seconds', '2'])
  t.equal(code, 0, `exit code (stderr: ${stderr.slice(-2000)})`)
  t.match(stdout, /^machine: .+ cores, Node v/m)
  t.match(stdout, /^smoke: 300 sessions over 1 generator\(s\), 2 in flight per session/m)
  const lines = stdout.split('\n')
  const header = lines.findIndex((l) => l.includes('checked/s') && l.includes('accepted/s'))
  t.ok(header > 0, 'the table header')
  const cells = (lines[header + 1] ?? '').trim().split(/\s+/)
  const number = (s: string | undefined): number => Number((s ?? '').replace(/,/g, ''))
  t.ok(number(cells[0]) > 0, `shares checked per second: ${cells[0]}`)
  t.ok(number(cells[1]) > 0, `shares accepted per second: ${cells[1]}`)
  t.equal(cells[cells.length - 1], '0', 'no errors')
  const answers = lines.find((l) => l.trim().startsWith('answers:')) ?? ''
  // Every kind of share was sent and answered as what it is.
  t.match(answers, /accepted \d+/)
  t.match(answers, /code 21 \d+/, 'stale')
  t.match(answers, /code 22 \d+/, 'duplicate')
  t.match(answers, /code 23 \d+/, 'low difficulty')
  t.match(answers, /rejects tallied/)
  t.notMatch(stdout, /errors: unexpected/)
  t.match(stdout, /load average .+ at the end/)
})

t.test('--bare runs the same load against the bare responder and says so', async (t) => {
  const { code, stdout, stderr } = await run(['latency', '--bare', '--sessions', '50', '--rate', '500', '--seconds', '1', '--warmup', '0.5'])
  t.equal(code, 0, `exit code (stderr: ${stderr.slice(-2000)})`)
  t.match(stdout, /^latency: 50 sessions over 2 generator\(s\), 500 shares\/s offered, 1 s measured; .*BARE Node responder in place of the pool/m, "the latency scenario submits from two generators")
  const lines = stdout.split('\n')
  const header = lines.findIndex((l) => l.includes('checked/s') && l.includes('accepted/s'))
  const cells = (lines[header + 1] ?? '').trim().split(/\s+/)
  // Every submit the generator sent in the window was answered true.
  t.ok(Number((cells[1] ?? '').replace(/,/g, '')) > 0, `answered per second: ${cells[1]}`)
  t.equal(cells[cells.length - 1], '0', 'no errors: nothing unanswered, no session closed')
  t.match(stdout, /responder in the window: event-loop delay p99/)
  t.notMatch(stdout, /ledger:/, 'no pool lines for the bare responder')
  // The report says what ran: the bare responder's own ready message, not the flag.
  const json = await run(['latency', '--bare', '--sessions', '20', '--rate', '200', '--seconds', '0.5', '--warmup', '0.2', '--json'])
  t.equal(json.code, 0)
  const parsed = JSON.parse(json.stdout) as { throughput: { hasher: string; acceptedPerSecond: number }[] }
  t.equal(parsed.throughput[0]?.hasher, 'none (bare responder)')
  t.ok((parsed.throughput[0]?.acceptedPerSecond ?? 0) > 0)
  const refused = await run(['sessions', '--bare'])
  t.equal(refused.code, 2)
  t.match(refused.stderr, /--bare is for the throughput scenarios/)
})
