/**
 * How surprising a share count is, as a z-score.
 *
 * Shares of a steady miner are a Poisson process, so "is this miner off
 * target?" is "is this count unlikely under a Poisson law with the expected
 * mean?". The tails come from the Poisson-chi-square identity
 * `P(X <= k) = P(chi2(2k + 2) > 2 mu)` and the Wilson-Hilferty cube-root
 * approximation of chi-square quantiles (Wilson & Hilferty, 1931), which is
 * within a few percent of the exact tail down to k = 0 and needs no
 * factorials. Counts may be fractional (shares weighted by difficulty).
 */

/**
 * z-score of a count `k` being this LOW when `mu` was expected:
 * `P(X <= k) ~ 1 - Phi(z)`. Positive when `k < mu`; 2 is ~2.3 %, 3 is ~0.13 %.
 * Example: `lowZ(0, 12)` ~ 4.2 (exact tail 6e-6).
 */
export function lowZ(k: number, mu: number): number {
  const nu = Math.max(k, 0) + 1 // chi-square degrees of freedom / 2
  return wilsonHilferty(mu / nu, nu)
}

/**
 * z-score of a count `k` being this HIGH when `mu` was expected:
 * `P(X >= k) ~ 1 - Phi(z)`. Positive when `k > mu`; `-Infinity` for `k <= 0`.
 * Example: `highZ(24, 12)` ~ 3.0 (exact tail 0.0011).
 */
export function highZ(k: number, mu: number): number {
  if (!(k > 0)) return -Infinity
  return -wilsonHilferty(Math.max(mu, 0) / k, k)
}

/** `(x^(1/3) - (1 - 1/(9 nu))) / sqrt(1/(9 nu))` for chi-square with 2 nu degrees of freedom at 2 nu x. */
function wilsonHilferty(x: number, nu: number): number {
  const v = 1 / (9 * nu)
  return (Math.cbrt(x) - 1 + v) / Math.sqrt(v)
}
