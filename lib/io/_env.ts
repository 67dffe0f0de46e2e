/**
 * Reading the process environment, for the callers that own process access (lib/train, the
 * scripts, the test helpers); the compute layers (gpu, ops, nn, stage2) take such settings as
 * options instead.
 *
 * @module
 */

import type { TuneMode } from "../gpu/device.ts";
import { tuneMode } from "../ops/tune.ts";

/**
 * The value of an environment variable, or undefined when it is unset, when the environment
 * cannot be read (no `--allow-env` for it: asked first, so a run neither prompts nor throws) or
 * outside Deno.
 *
 * @param name The variable.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readEnv } from "./_env.ts";
 * assert.equal(readEnv("LTKIT_SURELY_UNSET_VARIABLE"), undefined);
 * ```
 */
export function readEnv(name: string): string | undefined {
  // A capability probe: outside Deno there is no environment to read.
  const deno = globalThis.Deno;
  if (!deno) return undefined;
  try {
    if (deno.permissions.querySync?.({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    return deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * The tuning mode `LTKIT_TUNE` asks for, to pass as `requestGpu({ tune })`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tuneModeFromEnv } from "./_env.ts";
 * assert.match(tuneModeFromEnv(), /^(auto|off|force)$/);
 * ```
 */
export function tuneModeFromEnv(): TuneMode {
  return tuneMode(readEnv("LTKIT_TUNE"));
}
