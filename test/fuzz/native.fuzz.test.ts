/**
 * The native addon under fuzz inputs: every implementation this CPU has,
 * every function, wrong types, wrong and near-right lengths, odd numbers.
 * Each call returns a right answer (checked against node:crypto where there
 * is one) or throws a TypeError / RangeError naming the function; the
 * process never crashes. (The ASan/UBSan run is scripts/sanitize-native.sh.)
 */
import t from 'tap'
import { PURE_TARGETS } from '../../scripts/fuzz-targets.js'
import { fuzzCounts, fuzzInTap } from '../helpers/fuzz.js'

for (const target of PURE_TARGETS.filter((x) => x.name === 'native-addon')) {
  t.test(target.name, (t) => fuzzInTap(t, target, 0x5eed0021))
}
t.teardown(() => console.log(`# native fuzz: ${fuzzCounts.cases} cases in total`))
