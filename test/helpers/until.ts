/** Waits (polling each event-loop turn, no timing assumption) until `condition()` holds; fails after `limitMs`. */
export async function until(condition: () => boolean, limitMs = 10_000): Promise<void> {
  const start = Date.now()
  while (!condition()) {
    if (Date.now() - start > limitMs) throw new Error(`condition not met within ${limitMs} ms`)
    await new Promise((r) => setTimeout(r, 1))
  }
}
