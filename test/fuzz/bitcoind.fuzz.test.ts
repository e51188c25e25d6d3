/**
 * Fuzzing what comes back from bitcoind (scripts/fuzz-targets.ts): any HTTP
 * status and body through interpretAnswer, mutated real getblocktemplate /
 * getblockchaininfo / getblockheader answers through their zod schemas, and
 * odd transport errors. Every outcome is a typed value or a BitcoindError.
 */
import t from 'tap'
import { PURE_TARGETS } from '../../scripts/fuzz-targets.js'
import { fuzzCounts, fuzzInTap } from '../helpers/fuzz.js'

const SEEDS: Record<string, number> = { 'bitcoind-rpc-answer': 0x5eed0011, 'bitcoind-answers': 0x5eed0012, 'bitcoind-transport-error': 0x5eed0013 }

for (const target of PURE_TARGETS.filter((x) => x.name in SEEDS)) {
  t.test(target.name, (t) => fuzzInTap(t, target, SEEDS[target.name] as number))
}
t.teardown(() => console.log(`# bitcoind fuzz: ${fuzzCounts.cases} cases in total`))
