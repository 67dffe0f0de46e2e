/** Test helper: wait for something another task or process does, without a fixed sleep. */

/**
 * Polls `done` every `everyMs` until it holds or `seconds` have passed; returns whether it held.
 * The caller asserts what it needs afterwards, so a slow machine waits longer, never fails early.
 */
export async function waitUntil(
  done: () => boolean | Promise<boolean>,
  seconds: number,
  everyMs = 5,
): Promise<boolean> {
  const deadline = performance.now() + seconds * 1000;
  while (!(await done())) {
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return true;
}
