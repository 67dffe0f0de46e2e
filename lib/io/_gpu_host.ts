/**
 * What a program on this host passes to `requestGpu`: the tuning mode from `LTKIT_TUNE` and the
 * driver probe that reads the Vulkan ICD files. lib/gpu and lib/ops take both as options, so
 * that they read no environment and no file (a browser shares them).
 *
 * @module
 */

import type { GpuOptions } from "../gpu/device.ts";
import { driverVersion } from "./_driver.ts";
import { tuneModeFromEnv } from "./_env.ts";

/**
 * The host's `requestGpu` options: `{ tune, driver }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hostGpuOptions } from "./_gpu_host.ts";
 * const { tune, driver } = hostGpuOptions();
 * assert.match(tune, /^(auto|off|force)$/);
 * assert.equal(typeof driver({ description: "no such adapter", vendor: "" }), "string");
 * ```
 */
export function hostGpuOptions(): Required<Pick<GpuOptions, "tune" | "driver">> {
  return { tune: tuneModeFromEnv(), driver: driverVersion };
}
