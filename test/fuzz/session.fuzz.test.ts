/**
 * Fuzzing the session state machine (scripts/fuzz-session.ts): a real
 * StratumServer fed hostile streams through in-memory sockets. Nothing
 * throws out of a session, every request gets one reply in order (an error
 * for what does not decode) or the session closes itself for a stated
 * reason, the partial line stays within the limit, and closed sessions
 * are released.
 */
import t from 'tap'
import { sessionTarget } from '../../scripts/fuzz-session.js'
import { fuzzCounts, fuzzInTap } from '../helpers/fuzz.js'

t.test('stratum-session', async (t) => {
  const target = sessionTarget()
  t.teardown(() => target.close())
  await fuzzInTap(t, target, 0x5eed0031)
  t.comment(`complete lines fed: ${target.stats.lines}; sessions the server closed itself: ${target.stats.closedByServer}`)
  // The generator reaches both outcomes: sessions that survive and sessions closed for misbehaving.
  t.ok(target.stats.closedByServer > 0 && target.stats.closedByServer < target.stats.cases, 'some sessions closed, some served to the end')
})
t.teardown(() => console.log(`# session fuzz: ${fuzzCounts.cases} cases in total`))
