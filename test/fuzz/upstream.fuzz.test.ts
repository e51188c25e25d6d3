/**
 * Fuzzing what an upstream pool sends (scripts/fuzz-upstream.ts): mutated
 * recorded pool lines and pool-shaped messages with wrong types; the
 * decoder never throws and keeps its size promises.
 */
import t from 'tap'
import { upstreamTarget } from '../../scripts/fuzz-upstream.js'
import { fuzzInTap } from '../helpers/fuzz.js'

t.test(upstreamTarget.name, (t) => fuzzInTap(t, upstreamTarget, 0x5eed0041))
