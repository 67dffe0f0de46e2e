/**
 * Test helpers: one shared Gpu for a test file, a loud skip when no adapter exists, seeded random
 * data and comparison against a CPU reference with a stated tolerance.
 */

import { type Gpu, GpuUnavailableError, requestGpu } from "../lib/gpu/device.ts";

let shared: Promise<Gpu | null> | null = null;

/**
 * The adapter a run of the tests must be on (`LTKIT_EXPECT_ADAPTER`, e.g. `swiftshader`), so that a
 * CI job meant for a second driver cannot silently run the first one again; undefined when unset.
 */
export const expectedAdapter: string | undefined = Deno.env.get("LTKIT_EXPECT_ADAPTER")?.trim() ||
  undefined;

/** Throws unless `description` contains `expected` (case-insensitively); no-op when it is undefined. */
export function checkExpectedAdapter(
  description: string,
  expected: string | undefined,
): void {
  if (expected && !description.toLowerCase().includes(expected.toLowerCase())) {
    throw new Error(
      `Cannot run the GPU tests on adapter "${description}": LTKIT_EXPECT_ADAPTER asks for ` +
        `"${expected}"; point VK_ICD_FILENAMES at that driver's ICD file or unset the variable`,
    );
  }
}

/**
 * The test GPU, or null (with a loud message) when WebGPU has no adapter at all. When
 * {@link expectedAdapter} is set, any other adapter (or none) fails the test file.
 */
export function testGpu(): Promise<Gpu | null> {
  shared ??= requestGpu({ warnFallback: false }).then((gpu) => {
    try {
      checkExpectedAdapter(gpu.adapter.description, expectedAdapter);
    } catch (error) {
      gpu.destroy();
      throw error;
    }
    return gpu;
  }, (error) => {
    if (
      error instanceof GpuUnavailableError && Deno.env.get("CI") !== "true" && !expectedAdapter
    ) {
      console.error(`\n!!! SKIPPING GPU TESTS: ${error.message} !!!\n`);
      return null;
    }
    throw error;
  });
  return shared;
}

/** Whether GPU tests must be ignored (no adapter, outside CI). */
export const noGpu: boolean = await testGpu().then((g) => g === null);

/** Deterministic uniform values in [lo, hi) from a small LCG (tests only). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}

/** Largest absolute difference, scaled by max(1, |expected|) elementwise. */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) {
    throw new RangeError(`length ${actual.length} != expected ${expected.length}`);
  }
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
    if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
  }
  return worst;
}

/** Asserts closeness and reports the max error, labelled. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  label: string,
): void {
  const err = maxRelativeError(actual, expected);
  if (!(err <= tolerance)) {
    throw new Error(`${label}: max error ${err.toExponential(3)} exceeds ${tolerance}`);
  }
}
