/**
 * Per-adapter tuning of kernel configurations (tile shapes, workgroup sizes).
 *
 * The shapes that suit a CPU adapter such as lavapipe are wrong for a real GPU and vice versa,
 * so a kernel family can time a few candidate configurations once, on the adapter it runs on,
 * and keep the fastest: in `gpu.cache` for the process and in `localStorage` under the adapter's
 * description so that later runs skip the timing. {@link Gpu.tune} says how: `off` skips tuning
 * (the family's default is used), `force` ignores stored results and tunes again; the command-line
 * tools set it from `LTKIT_TUNE` with {@link tuneMode}, so that this module reads no environment.
 *
 * @module
 */

import type { Gpu, TuneMode } from "../gpu/device.ts";

/**
 * What {@link tuned} needs from a kernel family.
 *
 * @example
 * ```ts
 * import { requestGpu } from "../gpu/mod.ts";
 * import { forgetTuning, tuned, type TuneSpec } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * // A toy spec whose "time" is the candidate itself and which rejects odd candidates.
 * const spec: TuneSpec<number> = {
 *   key: "example.spec.v1",
 *   fallback: 8,
 *   candidates: [3, 8, 4],
 *   measure: (c) => c % 2 ? Promise.reject(new Error(`${c} is odd`)) : Promise.resolve(c),
 *   rounds: 1,
 *   accept: (stored) => typeof stored === "number" && stored % 2 === 0 ? stored : undefined,
 * };
 * forgetTuning(gpu, spec.key); // ignore a result stored by an earlier run
 * console.log((await tuned(gpu, spec)).config); // 4 (8, the fallback, with tuning off)
 * forgetTuning(gpu, spec.key); // leave nothing in localStorage
 * gpu.destroy();
 * ```
 */
export interface TuneSpec<C> {
  /** Names the tuned thing and its version, e.g. `gemm.v1`; bump it when candidates change. */
  readonly key: string;
  /** The configuration used when tuning is off or every candidate fails. */
  readonly fallback: C;
  /** Configurations to time, in order of preference on ties. */
  readonly candidates: readonly C[];
  /** Runs one candidate and returns its time in ms (lower is better); throw to reject it. */
  measure(candidate: C): Promise<number>;
  /**
   * Passes over the candidates (default 2); each keeps its best time. Interleaving the passes
   * spreads out load from other processes, which a software adapter feels directly.
   */
  readonly rounds?: number;
  /** Turns a stored value back into a candidate, or undefined if it is no longer one. */
  accept?(stored: unknown): C | undefined;
}

/**
 * How a configuration was chosen.
 *
 * @example
 * ```ts
 * import { requestGpu } from "../gpu/mod.ts";
 * import { defaultGemmConfig, GEMM_TUNE_KEY, type GemmConfig, gemmConfig } from "./gemm.ts";
 * import { presetTuning, type TuneResult } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * presetTuning(gpu, GEMM_TUNE_KEY, defaultGemmConfig(gpu));
 * const result: TuneResult<GemmConfig> = await gemmConfig(gpu);
 * console.log(result.source, result.config === defaultGemmConfig(gpu)); // "preset" true
 * console.log(result.timings); // undefined: nothing was timed
 * gpu.destroy();
 * ```
 */
export interface TuneResult<C> {
  /** The chosen configuration. */
  readonly config: C;
  /**
   * `default`: the spec's fallback (tuning off, or no candidate ran); `stored`: read from
   * `localStorage`; `tuned`: timed in this process; `preset`: set by {@link presetTuning}.
   */
  readonly source: "default" | "stored" | "tuned" | "preset";
  /** Per-candidate time in ms (or the error) when tuned in this process. */
  readonly timings?: readonly { config: C; ms: number | null; error?: string }[];
}

/**
 * The tuning mode a value of `LTKIT_TUNE` asks for: `off` for `0`/`false`/`off`/`no`, `force`,
 * else `auto` (also when unset or unreadable).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tuneMode } from "./tune.ts";
 * assert.equal(tuneMode("0"), "off");
 * assert.equal(tuneMode(" Force "), "force");
 * assert.equal(tuneMode(undefined), "auto");
 * ```
 */
export function tuneMode(setting: string | undefined): TuneMode {
  const value = setting?.trim().toLowerCase();
  if (value === "0" || value === "false" || value === "off" || value === "no") return "off";
  if (value === "force") return "force";
  return "auto";
}

/**
 * The storage key part that names the adapter: description, vendor, architecture, device.
 *
 * @example
 * ```ts
 * import { requestGpu } from "../gpu/mod.ts";
 * import { adapterKey } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * console.log(adapterKey(gpu)); // e.g. "llvmpipe (LLVM 15.0.6, 256 bits)|65541||0"
 * gpu.destroy();
 * ```
 */
export function adapterKey(gpu: Gpu): string {
  const a = gpu.adapter;
  return [a.description, a.vendor, a.architecture, a.device].join("|");
}

/**
 * Returns the configuration for `spec` on this adapter: from the process cache, else from
 * `localStorage`, else by timing every candidate (submitting and waiting on the GPU: pending
 * recorded work is submitted first). Concurrent callers share one tuning run.
 *
 * @example
 * ```ts
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { formatGemmConfig, type GemmConfig, prepareGemm } from "./gemm.ts";
 * import { forgetTuning, tuned } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const a = Tensor.zeros(gpu, [64, 64]);
 * const b = Tensor.zeros(gpu, [64, 64]);
 * const c = Tensor.empty(gpu, [64, 64]);
 * // Times one small GEMM per candidate, submitting and waiting.
 * async function measure(config: GemmConfig): Promise<number> {
 *   const plan = await prepareGemm(gpu, { a, b, c, config });
 *   plan.record(); // warm-up
 *   await gpu.sync();
 *   const start = performance.now();
 *   plan.record();
 *   await gpu.sync();
 *   plan.destroy();
 *   return performance.now() - start;
 * }
 * const candidates: GemmConfig[] = [
 *   { kernel: "rb", bm: 16, bn: 16, wg: 16 },
 *   { kernel: "rb", bm: 8, bn: 8, wg: 64 },
 * ];
 * const key = "example.gemm64.v1";
 * forgetTuning(gpu, key); // time again even if an earlier run stored a result
 * const result = await tuned(gpu, { key, fallback: candidates[0], candidates, measure });
 * console.log(formatGemmConfig(result.config), result.source); // e.g. "rb 8x8 wg64" "tuned"
 * console.log(result.timings?.length); // 2 (undefined with tuning off)
 * forgetTuning(gpu, key);
 * gpu.destroy();
 * ```
 */
export function tuned<C>(gpu: Gpu, spec: TuneSpec<C>): Promise<TuneResult<C>> {
  const cacheKey = `tune:${spec.key}`;
  let pending = gpu.cache.get(cacheKey) as Promise<TuneResult<C>> | undefined;
  if (!pending) {
    pending = choose(gpu, spec);
    gpu.cache.set(cacheKey, pending);
    pending.catch(() => gpu.cache.delete(cacheKey));
  }
  return pending;
}

/**
 * Fixes the configuration for `key` in this process (skips tuning), e.g. from a CLI flag.
 *
 * @example
 * ```ts
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { GEMM_TUNE_KEY, matmul } from "./gemm.ts";
 * import { presetTuning } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * presetTuning(gpu, GEMM_TUNE_KEY, { kernel: "rb", bm: 16, bn: 16, wg: 64 });
 * // Without a config, matmul asks for the tuned one and gets the preset: no tuning pass.
 * const c = await matmul(gpu, Tensor.from(gpu, [2], [1, 1]), Tensor.from(gpu, [3], [1, 1]));
 * console.log(await c.read()); // Float32Array(1) [6]
 * gpu.destroy();
 * ```
 */
export function presetTuning<C>(gpu: Gpu, key: string, config: C): void {
  gpu.cache.set(`tune:${key}`, Promise.resolve({ config, source: "preset" } as TuneResult<C>));
}

/**
 * Forgets the stored and cached result for `key` on this adapter (the next use tunes again).
 *
 * @example
 * ```ts
 * import { requestGpu } from "../gpu/mod.ts";
 * import { forgetTuning, presetTuning, tuned } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * // A toy spec whose "time" is the candidate itself.
 * const spec = {
 *   key: "example.forget.v1",
 *   fallback: 2,
 *   candidates: [2, 1],
 *   measure: (c: number) => Promise.resolve(c),
 * };
 * presetTuning(gpu, spec.key, 2);
 * console.log((await tuned(gpu, spec)).source); // "preset"
 * forgetTuning(gpu, spec.key);
 * console.log((await tuned(gpu, spec)).config); // 1 (2, the fallback, with tuning off)
 * forgetTuning(gpu, spec.key); // leave nothing in localStorage
 * gpu.destroy();
 * ```
 */
export function forgetTuning(gpu: Gpu, key: string): void {
  gpu.cache.delete(`tune:${key}`);
  try {
    globalThis.localStorage?.removeItem(storageKey(gpu, key));
  } catch {
    // Storage may be unavailable (no origin, quota): nothing to forget then.
  }
}

async function choose<C>(gpu: Gpu, spec: TuneSpec<C>): Promise<TuneResult<C>> {
  const mode = gpu.tune;
  if (mode === "off") return { config: spec.fallback, source: "default" };
  const accept = spec.accept ?? ((v: unknown) => matchCandidate(spec.candidates, v));
  if (mode === "auto") {
    const stored = readStored(gpu, spec.key);
    const config = stored === undefined ? undefined : accept(stored);
    if (config !== undefined) return { config, source: "stored" };
  }
  const timings = spec.candidates.map((config) => ({
    config,
    ms: null as number | null,
    error: undefined as string | undefined,
  }));
  for (let round = 0; round < (spec.rounds ?? 2); round++) {
    for (const entry of timings) {
      if (entry.error !== undefined) continue;
      try {
        const ms = await spec.measure(entry.config);
        entry.ms = Math.min(entry.ms ?? Infinity, ms);
      } catch (error) {
        entry.ms = null;
        entry.error = (error as Error).message;
      }
    }
  }
  let best: C | undefined;
  let bestMs = Infinity;
  for (const entry of timings) {
    if (entry.ms !== null && entry.ms < bestMs) {
      bestMs = entry.ms;
      best = entry.config;
    }
  }
  if (best === undefined) return { config: spec.fallback, source: "default", timings };
  writeStored(gpu, spec.key, best);
  return { config: best, source: "tuned", timings };
}

function matchCandidate<C>(candidates: readonly C[], value: unknown): C | undefined {
  const text = JSON.stringify(value);
  return candidates.find((c) => JSON.stringify(c) === text);
}

function storageKey(gpu: Gpu, key: string): string {
  return `ltkit.tune.${key}.${adapterKey(gpu)}`;
}

function readStored(gpu: Gpu, key: string): unknown {
  try {
    const text = globalThis.localStorage?.getItem(storageKey(gpu, key));
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

function writeStored(gpu: Gpu, key: string, config: unknown): void {
  try {
    globalThis.localStorage?.setItem(storageKey(gpu, key), JSON.stringify(config));
  } catch {
    // No persistent storage here: the result still lives in gpu.cache for this process.
  }
}
