/**
 * Test helpers: one shared Gpu for a test file, a loud skip when no adapter exists, seeded random
 * data and comparison against a CPU reference with a stated tolerance.
 */

import { lcgUniform } from "../lib/data/rng.ts";
import { type Gpu, GpuUnavailableError, type LowerLimits, requestGpu } from "../lib/gpu/device.ts";
import { hostGpuOptions } from "../lib/io/_gpu_host.ts";

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
  shared ??= requestGpu({ warnFallback: false, ...hostGpuOptions() }).then((gpu) => {
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

/**
 * Runs `fn` on a device of its own that obeys `lowerLimits` as if the adapter had them (the
 * tests of work split past the limits), and frees the device afterwards.
 */
export async function withLowerLimits<T>(
  lowerLimits: LowerLimits,
  fn: (gpu: Gpu) => Promise<T>,
): Promise<T> {
  const gpu = await requestGpu({ warnFallback: false, ...hostGpuOptions(), lowerLimits });
  try {
    return await fn(gpu);
  } finally {
    gpu.destroy();
  }
}

/** Lower limits of `bytes` per storage buffer (binding and buffer size). */
export function bufferLimits(bytes: number): LowerLimits {
  return { maxStorageBufferBindingSize: bytes, maxBufferSize: bytes };
}

/** Whether GPU tests must be ignored (no adapter, outside CI). */
export const noGpu: boolean = await testGpu().then((g) => g === null);

/** Deterministic uniform values in [lo, hi) (lib/data/rng.ts's LCG). */
export const randomArray: (n: number, seed: number, lo?: number, hi?: number) => Float32Array =
  lcgUniform;

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
