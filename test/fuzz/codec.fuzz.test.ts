/**
 * Fuzzing the pure Stratum codec (scripts/fuzz-targets.ts): decodeRequest on
 * random, mutated, wrong-typed, huge, deeply nested and non-UTF-8 lines; the
 * LineFramer against a reference on any chunking; the encoders on any id and
 * text. Fixed seeds: a failure here replays exactly.
 */
import t from 'tap'
import { PURE_TARGETS } from '../../scripts/fuzz-targets.js'
import { fuzzCounts, fuzzInTap } from '../helpers/fuzz.js'

const SEEDS: Record<string, number> = { 'stratum-decode': 0x5eed0001, 'stratum-framer': 0x5eed0002, 'stratum-encode': 0x5eed0003 }

for (const target of PURE_TARGETS.filter((x) => x.name in SEEDS)) {
  t.test(target.name, (t) => fuzzInTap(t, target, SEEDS[target.name] as number))
}
t.teardown(() => console.log(`# codec fuzz: ${fuzzCounts.cases} cases in total`))
