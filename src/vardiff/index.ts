/** Per-session variable difficulty (docs/vardiff.md). */
export { Vardiff } from './vardiff.js'
export { defaultVardiffOptions, resolveVardiffOptions, vardiffProblems, type VardiffOptions } from './options.js'
export { niceDifficulty, DIFFICULTY_SIGNIFICANT_FIGURES } from './rounding.js'
