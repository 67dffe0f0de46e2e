/**
 * Helpers of the browser page tests: whether they can run, and running a test file again with
 * -A when the caller lacks it (playwright-core reads /proc/sys, which Deno grants only with -A;
 * the main test task runs without it).
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { findChromium } from "../../scripts/_chromium.ts";
import { noGpu } from "../_gpu.ts";

/** The Chromium binary, or null. */
export const chromium: string | null = await findChromium();

const inCi = Deno.env.get("CI") === "true";
if (chromium === null && !inCi) {
  console.error(
    "\n!!! SKIPPING THE BROWSER PAGE TESTS: no chromium (bash scripts/setup.sh --test) !!!\n",
  );
}

/** Whether the page tests must be ignored: no Chromium (outside CI) or no GPU for runStage2. */
export const noBrowser: boolean = (chromium === null && !inCi) || noGpu;

/** Whether this process has every permission (deno test -A). */
export const allGranted: boolean = Deno.permissions.querySync({ name: "ffi" }).state === "granted";

/**
 * Without -A, runs `deno test -A` on the test file with this test's name as the filter and
 * asserts that it passed; returns true then (the caller stops). With -A, returns false.
 *
 * @param file The test file's import.meta.url.
 * @param name The test's name.
 */
export async function ranWithAll(file: string, name: string): Promise<boolean> {
  if (allGranted) return false;
  const path = fileURLToPath(file);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--filter", name, path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `deno test -A --filter ... ${path} failed:\n${text}`);
  assert.match(text, /\b1 passed\b/, `the rerun ran no test:\n${text}`);
  return true;
}

/** The page's `globalThis.ltkitView`, as the tests read it. */
export interface PageView {
  /** loading, waiting, running, training, done, error or no-webgpu. */
  state: string;
  /** The status line. */
  message: string;
}

/**
 * Registers a page test: ignored without Chromium (outside CI) or a GPU; without -A it runs its
 * file again under `deno test -A` for this one test (see {@link ranWithAll}). The sanitizers are
 * off: playwright-core keeps its pipes and timers past the test.
 *
 * @param file The test file's import.meta.url.
 * @param name The test's name.
 * @param fn The body, run with -A and a Chromium path.
 */
export function browserTest(file: string, name: string, fn: (chromium: string) => Promise<void>) {
  Deno.test({
    name,
    ignore: noBrowser,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      if (await ranWithAll(file, name)) return;
      assert.ok(chromium, "CI=true needs chromium");
      await fn(chromium);
    },
  });
}
