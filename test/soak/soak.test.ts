/**
 * The short soak (scripts/soak-run.ts): 200 miner sessions for 20 s against
 * a pool with vardiff and a real ledger, a block every 5 s, the clock 60x
 * (20 simulated minutes). Every accepted share is in the ledger, memory
 * and descriptors are sampled, and after everything is closed the active
 * handles and open descriptors are back to their baseline: no leak.
 * The long run is `npm run soak` (docs/reliability.md).
 */
import t from 'tap'
import { join } from 'node:path'
import { openFds, resourceCounts, runSoak, type SoakSample } from '../../scripts/soak-run.js'

t.test('200 sessions x 20 s: no share lost, no handle leaked', async (t) => {
  const samples: SoakSample[] = []
  const report = await runSoak({
    sessions: 200,
    seconds: 20,
    ledgerPath: join(t.testdir({}), 'ledger'),
    speed: 60,
    blockEveryS: 5,
    reportS: 5,
    shareIntervalMs: 1000,
    onSample: (s) => samples.push(s),
  })
  for (const s of samples) t.comment(JSON.stringify(s))
  const last = samples.at(-1) as SoakSample
  t.equal(last.sessions, 200, 'all 200 sessions connected to the end')
  t.ok(report.accepted > 1000, `${report.accepted} shares accepted`)
  t.ok(last.blocks >= 2, `${last.blocks} block changes`)
  t.equal(last.unrecorded, 0, 'no share failed to be recorded')
  t.equal(report.ledgerShares + report.pruned, report.accepted, 'every accepted share is in the ledger, once')
  // Rejects: only shares for a job a block change made stale while the miner was sending them.
  t.same(Object.keys(report.rejected).filter((r) => r !== 'stale' && r !== 'job-not-found'), [], `rejects: ${JSON.stringify(report.rejected)}`)
  t.ok(samples.every((s) => s.sessions === 200), 'no session closed during the run')
  // At the end the miners hang up: a clean close, or a reset when a share was still in flight.
  t.same(Object.keys(report.closed).filter((r) => !['client-closed', 'socket-error', 'shutdown'].includes(r)), [], `sessions closed only by the miners hanging up: ${JSON.stringify(report.closed)}`)
  t.ok(new Set(samples.map((s) => s.medianDifficulty)).size > 1 || last.medianDifficulty !== 1e-7, 'vardiff moved the difficulty')

  // Back to the baseline: every socket, server and file closed.
  for (const [kind, n] of Object.entries(report.afterClose.handles)) t.ok(n <= (report.baseline.handles[kind] ?? 0), `${kind}: ${n} after close, ${report.baseline.handles[kind] ?? 0} before`)
  t.ok(report.afterClose.fds <= report.baseline.fds, `open descriptors: ${report.afterClose.fds} after close, ${report.baseline.fds} before`)
  t.same(resourceCounts(), report.afterClose.handles, 'and nothing reopened since')
  t.ok(openFds() <= report.baseline.fds)
})
