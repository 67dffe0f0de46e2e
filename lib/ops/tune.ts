/**
 * Per-adapter tuning of kernel configurations (tile shapes, workgroup sizes).
 *
 * The shapes that suit a CPU adapter such as lavapipe are wrong for a real GPU and vice versa,
 * so a kernel family can time a few candidate configurations once, on the adapter it runs on,
 * and keep the fastest: in `gpu.cache` for the process and in `localStorage` under the adapter
 * and driver (see {@link adapterKey}) so that later runs skip the timing. Candidates are timed
 * round-robin for several rounds and ranked by their median, so a burst of load from another
 * process slows every candidate alike instead of crowning whichever ran in a quiet moment.
 * {@link Gpu.tune} says how: `off` skips tuning (the family's default is used), `force` ignores
 * stored results and tunes again; the command-line tools set it from `LTKIT_TUNE` with
 * {@link tuneMode}, so that this module reads no environment.
 *
 * Every choice made in a process is kept: {@link tuningRecord} returns them (a run writes them
 * to run.json and the checkpoint) and {@link useTuningRecord} makes a later process use the
 * same ones (`--resume`, `--config`), so the same seed, adapter and driver give the same numbers
 * even if timing would now pick differently.
 *
 * @module
 */

import { type CacheKey, cacheKey } from "../gpu/_cache.ts";
import { lcgUniform } from "../data/rng.ts";
import type { Gpu, TuneMode } from "../gpu/device.ts";

/**
 * What {@link tuned} needs from a kernel family.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
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
 * // The fastest even candidate, or the fallback when tuning is off (gpu.tune "off").
 * assert.equal((await tuned(gpu, spec)).config, gpu.tune === "off" ? 8 : 4);
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
   * Checks one candidate's results (against a CPU reference) before its first timing; throw to
   * reject it. Runs once per candidate and tuning run.
   */
  check?(candidate: C): Promise<void>;
  /**
   * Round-robin passes over the candidates (default 3), each starting one candidate later; a
   * candidate's time is the median of its passes. Interleaving spreads load from other
   * processes over every candidate, which a software adapter feels directly.
   */
  readonly rounds?: number;
  /** Turns a stored value back into a candidate, or undefined if it is no longer one. */
  accept?(stored: unknown): C | undefined;
  /**
   * Time the candidates even if a result is stored, recorded or already chosen in this process
   * (benchmarks; `LTKIT_TUNE=force` retimes every family once per process).
   */
  readonly force?: boolean;
}

/**
 * How a configuration was chosen.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { defaultGemmConfig, GEMM_TUNE_KEY, type GemmConfig, gemmConfig } from "./gemm.ts";
 * import { presetTuning, type TuneResult } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * presetTuning(gpu, GEMM_TUNE_KEY, defaultGemmConfig(gpu));
 * const result: TuneResult<GemmConfig> = await gemmConfig(gpu);
 * assert.equal(result.source, "preset");
 * assert.equal(result.config === defaultGemmConfig(gpu), true);
 * assert.equal(result.timings, undefined); // nothing was timed
 * gpu.destroy();
 * ```
 */
export interface TuneResult<C> {
  /** The chosen configuration. */
  readonly config: C;
  /**
   * `default`: the spec's fallback (tuning off, or no candidate ran); `stored`: read from
   * `localStorage`; `tuned`: timed in this process; `preset`: set by {@link presetTuning};
   * `recorded`: from a run's record, via {@link useTuningRecord}.
   */
  readonly source: "default" | "stored" | "tuned" | "preset" | "recorded";
  /**
   * Per-candidate median time in ms, every round's time, or the error, when tuned in this
   * process.
   */
  readonly timings?: readonly { config: C; ms: number | null; samples: number[]; error?: string }[];
}

/**
 * The tuned choices of one process, as a run records them (run.json, the checkpoint).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TuningRecord } from "./tune.ts";
 * const record: TuningRecord = {
 *   adapter: "llvmpipe (LLVM 15.0.6, 256 bits)|65541||0|Mesa 25.0.7|deno 2.9.6",
 *   choices: { "gemm.v2": { kernel: "rb", bm: 32, bn: 16, wg: 64 } },
 * };
 * assert.deepEqual(Object.keys(record.choices), ["gemm.v2"]);
 * ```
 */
export interface TuningRecord {
  /** {@link adapterKey} of the adapter the choices were made on. */
  readonly adapter: string;
  /** Tune key (e.g. `gemm.v2`) to the chosen configuration. */
  readonly choices: Readonly<Record<string, unknown>>;
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
 * The storage key part that names the adapter and what compiles for it: description, vendor,
 * architecture, device, the driver (see {@link AdapterSummary.driver}) and the WebGPU runtime, whose shader
 * compiler shapes the code as much as the driver does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { adapterKey } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const key = adapterKey(gpu);
 * // e.g. "llvmpipe (LLVM 15.0.6, 256 bits)|65541||0|Mesa 25.0.7-2~bpo12+1|deno 2.9.6"
 * assert.equal(key.split("|").length, 6);
 * assert.equal(key.split("|")[0], gpu.adapter.description);
 * assert.equal(key.endsWith(`|deno ${Deno.version.deno}`), true);
 * gpu.destroy();
 * ```
 */
export function adapterKey(gpu: Gpu): string {
  const a = gpu.adapter;
  // A capability probe: in a browser there is no Deno global and the user agent names the runtime.
  const deno = globalThis.Deno?.version?.deno;
  const runtime = deno ? `deno ${deno}` : (globalThis.navigator?.userAgent ?? "");
  return [a.description, a.vendor, a.architecture, a.device, a.driver, runtime].join("|");
}

/**
 * Returns the configuration for `spec` on this adapter: from the process cache, else from
 * `localStorage`, else by timing every candidate (submitting and waiting on the GPU: pending
 * recorded work is submitted first). Concurrent callers share one tuning run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
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
 * assert.ok(candidates.includes(result.config)); // the faster of the two
 * assert.equal(formatGemmConfig(result.config).startsWith("rb "), true);
 * // Timed now, unless tuning is off (gpu.tune "off"), which takes the fallback untimed.
 * assert.equal(result.timings?.length, gpu.tune === "off" ? undefined : 2);
 * forgetTuning(gpu, key);
 * gpu.destroy();
 * ```
 */
export function tuned<C>(gpu: Gpu, spec: TuneSpec<C>): Promise<TuneResult<C>> {
  const key = tunedKey<C>(spec.key);
  let pending = gpu.cache.get(key);
  if (!pending || spec.force) {
    pending = choose(gpu, spec).then((result) => {
      choices(gpu).set(spec.key, result.config);
      return result;
    });
    gpu.cache.set(key, pending);
    pending.catch(() => gpu.cache.delete(key));
  }
  return pending;
}

/**
 * Every configuration chosen in this process so far (tuned, stored, preset or recorded), with
 * the adapter it was chosen on: what a run writes to run.json and the checkpoint.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { adapterKey, presetTuning, tuned, tuningRecord } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * presetTuning(gpu, "example.record.v1", 4);
 * const record = tuningRecord(gpu);
 * assert.equal(record.choices["example.record.v1"], 4);
 * assert.equal(record.adapter === adapterKey(gpu), true);
 * gpu.destroy();
 * ```
 */
export function tuningRecord(gpu: Gpu): TuningRecord {
  const sorted = [...choices(gpu)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { adapter: adapterKey(gpu), choices: Object.fromEntries(sorted) };
}

/**
 * Makes this process use a recorded run's choices instead of tuning: each recorded key is used
 * when its family next asks ({@link tuned}) if it is still one of the family's candidates on
 * this device; otherwise the family tunes as usual and a warning says so. Call it before the
 * first op is prepared. On a different adapter or driver the recorded choices are still used
 * (the numbers then stay those of the recorded variants), and a note says so.
 *
 * @param gpu The device.
 * @param record A record from {@link tuningRecord}, e.g. read back from run.json.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { forgetTuning, tuned, tuningRecord, useTuningRecord } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const spec = {
 *   key: "example.reuse.v1",
 *   fallback: 1,
 *   candidates: [1, 2, 3],
 *   measure: (c: number) => Promise.resolve(c), // 1 would win a tuning pass
 * };
 * useTuningRecord(gpu, { adapter: tuningRecord(gpu).adapter, choices: { [spec.key]: 3 } });
 * const result = await tuned(gpu, spec);
 * assert.equal(result.config, 3);
 * assert.equal(result.source, "recorded");
 * forgetTuning(gpu, spec.key);
 * gpu.destroy();
 * ```
 */
export function useTuningRecord(gpu: Gpu, record: TuningRecord): void {
  if (record.adapter !== adapterKey(gpu)) {
    console.error(
      `ltkit: note: reusing kernel choices recorded on "${record.adapter}" on ` +
        `"${adapterKey(gpu)}"`,
    );
  }
  for (const [key, value] of Object.entries(record.choices)) recorded(gpu).set(key, value);
}

/**
 * Fixes the configuration for `key` in this process (skips tuning), e.g. from a CLI flag.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { GEMM_TUNE_KEY, matmul } from "./gemm.ts";
 * import { presetTuning } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * presetTuning(gpu, GEMM_TUNE_KEY, { kernel: "rb", bm: 16, bn: 16, wg: 64 });
 * // Without a config, matmul asks for the tuned one and gets the preset: no tuning pass.
 * const c = await matmul(gpu, Tensor.from(gpu, [2], [1, 1]), Tensor.from(gpu, [3], [1, 1]));
 * assert.deepEqual(Array.from(await c.read()), [6]);
 * gpu.destroy();
 * ```
 */
export function presetTuning<C>(gpu: Gpu, key: string, config: C): void {
  gpu.cache.set(tunedKey<C>(key), Promise.resolve({ config, source: "preset" }));
  choices(gpu).set(key, config);
}

/**
 * Forgets the stored and cached result for `key` on this adapter (the next use tunes again).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
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
 * assert.equal((await tuned(gpu, spec)).source, "preset");
 * forgetTuning(gpu, spec.key);
 * assert.equal((await tuned(gpu, spec)).config, gpu.tune === "off" ? 2 : 1);
 * forgetTuning(gpu, spec.key); // leave nothing in localStorage
 * gpu.destroy();
 * ```
 */
export function forgetTuning(gpu: Gpu, key: string): void {
  gpu.cache.delete(tunedKey(key));
  recorded(gpu).delete(key);
  choices(gpu).delete(key);
  try {
    globalThis.localStorage?.removeItem(storageKey(gpu, key));
  } catch {
    // Storage may be unavailable (no origin, quota): nothing to forget then.
  }
}

async function choose<C>(gpu: Gpu, spec: TuneSpec<C>): Promise<TuneResult<C>> {
  const accept = spec.accept ?? ((v: unknown) => matchCandidate(spec.candidates, v));
  const record = recorded(gpu);
  if (record.has(spec.key) && !spec.force) {
    const value = record.get(spec.key);
    const config = accept(value);
    if (config !== undefined) return { config, source: "recorded" };
    console.error(
      `ltkit: warning: the recorded ${spec.key} choice ${JSON.stringify(value)} is not a ` +
        `candidate on this device; choosing again, so results may differ from the recorded run`,
    );
  } else if (!spec.force) {
    // A key's version moves when the family's kernels or candidates change; the earlier run's
    // choice under the old key names kernels that no longer exist as they were.
    const older = supersededKey(spec.key, [...record.keys()]);
    if (older !== undefined) {
      console.error(
        `ltkit: warning: the recorded run chose its ${older} kernels, which this version ` +
          `replaced (${spec.key}); choosing again, so results may differ from the recorded run`,
      );
    }
  }
  const mode = spec.force ? "force" : gpu.tune;
  if (mode === "off") return { config: spec.fallback, source: "default" };
  if (mode === "auto") {
    const stored = readStored(gpu, spec.key);
    const config = stored === undefined ? undefined : accept(stored);
    if (config !== undefined) return { config, source: "stored" };
  }
  const timings = spec.candidates.map((config) => ({
    config,
    ms: null as number | null,
    samples: [] as number[],
    error: undefined as string | undefined,
  }));
  const rounds = spec.rounds ?? 3;
  for (let round = 0; round < rounds; round++) {
    // After two rounds, a candidate whose best time is over PRUNE times the best of all cannot
    // win on any plausible noise; it is not timed again (two rounds, so that one burst of load
    // from another process cannot drop a good candidate).
    const best = Math.min(...timings.map((t) => Math.min(...t.samples)));
    for (let i = 0; i < timings.length; i++) {
      const entry = timings[(i + round) % timings.length];
      if (entry.error !== undefined) continue;
      if (round > 1 && Math.min(...entry.samples) > PRUNE * best) continue;
      try {
        if (round === 0) await spec.check?.(entry.config);
        entry.samples.push(await spec.measure(entry.config));
      } catch (error) {
        entry.error = (error as Error).message;
      }
    }
  }
  let best: C | undefined;
  let bestMs = Infinity;
  for (const entry of timings) {
    entry.ms = entry.error === undefined && entry.samples.length > 0 ? median(entry.samples) : null;
    if (entry.ms !== null && entry.ms < bestMs) {
      bestMs = entry.ms;
      best = entry.config;
    }
  }
  if (best === undefined) return { config: spec.fallback, source: "default", timings };
  writeStored(gpu, spec.key, best);
  return { config: best, source: "tuned", timings };
}

/** A candidate this many times slower than the best, in both of its first two rounds, stops. */
const PRUNE = 3;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const CHOICES = cacheKey<Map<string, unknown>>("tune-choices");

function choices(gpu: Gpu): Map<string, unknown> {
  return gpu.cache.getOrCreate(CHOICES, () => new Map());
}

/**
 * The cache entry holding this process's result for tuning key `key`; deleting it makes the
 * next use look again (in storage first), as a new process would.
 *
 * @param key A tuning key, e.g. `GEMM_TUNE_KEY`.
 * @returns The typed cache key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { presetTuning, tunedKey } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * presetTuning(gpu, "example.key.v1", 3);
 * assert.equal((await gpu.cache.get(tunedKey<number>("example.key.v1")))?.config, 3);
 * gpu.destroy();
 * ```
 */
export function tunedKey<C>(key: string): CacheKey<Promise<TuneResult<C>>> {
  return cacheKey(`tune:${key}`);
}

/** The choices of a recorded run ({@link useTuningRecord}) by tune key, checked before use. */
const RECORDED = cacheKey<Map<string, unknown>>("tune-recorded");

function recorded(gpu: Gpu): Map<string, unknown> {
  return gpu.cache.getOrCreate(RECORDED, () => new Map());
}

/**
 * The recorded key that an earlier version of the family used for `key`: the same name with
 * another `.vN` suffix (`gemm.v3` for `gemm.v4`), or undefined.
 */
function supersededKey(key: string, recorded: readonly string[]): string | undefined {
  const base = key.replace(/\.v\d+$/, "");
  if (base === key) return undefined;
  return recorded.find((k) => k !== key && k.replace(/\.v\d+$/, "") === base);
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

/**
 * The configuration a call asks for, by name (from `named`) or in full, validated by `problem`;
 * or, when it asks for none, the tuned one. Errors name the op and say what to use instead.
 *
 * @param op The op, for error messages (`Cannot run <op>: ...`).
 * @param what What a configuration is called there, e.g. `variant`.
 * @param asked The configuration, its name, or undefined for the tuned one.
 * @param family The named configurations, a check and a short name for messages.
 * @param tunedConfig Returns the tuned configuration.
 * @returns The configuration to run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { askedOrTuned } from "./tune.ts";
 * const family = {
 *   named: { small: 4, large: 64 },
 *   problem: (c: number) => (c % 4 ? `${c} is not a multiple of 4` : null),
 *   format: String,
 * };
 * const tuned = () => Promise.resolve(16);
 * assert.equal(await askedOrTuned("op", "tile", "large", family, tuned), 64);
 * assert.equal(await askedOrTuned("op", "tile", undefined, family, tuned), 16);
 * await assert.rejects(
 *   askedOrTuned("op", "tile", 6, family, tuned),
 *   /Cannot run op: tile 6 is not usable here: 6 is not a multiple of 4/,
 * );
 * await assert.rejects(
 *   askedOrTuned("op", "tile", "huge", family, tuned),
 *   /Cannot run op: tile "huge" is unknown; use "small", "large" or an object/,
 * );
 * ```
 */
export async function askedOrTuned<C>(
  op: string,
  what: string,
  asked: C | string | undefined,
  family: {
    readonly named: Readonly<Record<string, C>>;
    problem(config: C): string | null;
    format(config: C): string;
  },
  tunedConfig: () => Promise<C>,
): Promise<C> {
  if (asked === undefined) return await tunedConfig();
  let config: C;
  if (typeof asked === "string") {
    if (!Object.hasOwn(family.named, asked)) {
      const names = Object.keys(family.named).map((n) => `"${n}"`).join(", ");
      throw new RangeError(
        `Cannot run ${op}: ${what} "${asked}" is unknown; use ${names} or an object`,
      );
    }
    config = family.named[asked];
  } else config = asked;
  const problem = family.problem(config);
  if (problem) {
    throw new RangeError(
      `Cannot run ${op}: ${what} ${family.format(config)} is not usable here: ${problem}`,
    );
  }
  return config;
}

/**
 * Seeded values in [-1, 1) for a kernel family's tuning self-check and timing problems.
 *
 * @param n How many values.
 * @param seed Any integer; 0 acts as 1.
 * @returns The values; the same seed gives the same values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tuneData } from "./tune.ts";
 * const v = tuneData(4, 1);
 * assert.equal(v.length, 4);
 * assert.equal(v.every((x) => x >= -1 && x < 1), true);
 * ```
 */
export function tuneData(n: number, seed: number): Float32Array {
  return lcgUniform(n, seed, -1, 1, { hashSeed: false });
}

/**
 * Times recorded GPU work for tuning: one warm-up recording, one timed alone, then enough
 * recordings in one submit that the wait's fixed cost (about 11 ms on lavapipe) hardly counts,
 * but fewer for slow work so that a poor candidate costs little time.
 *
 * @param gpu The device (pending work is submitted first).
 * @param record Records the work once.
 * @param flop Floating-point operations (or another work measure) of one recording.
 * @returns Milliseconds per recording.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { defaultGemmConfig, prepareGemm } from "./gemm.ts";
 * import { timeRecorded } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const a = Tensor.zeros(gpu, [64, 64]);
 * const c = Tensor.empty(gpu, [64, 64]);
 * const plan = await prepareGemm(gpu, { a, b: a, c, config: defaultGemmConfig(gpu) });
 * const ms = await timeRecorded(gpu, () => plan.record(), 2 * 64 ** 3);
 * assert.equal(ms > 0, true);
 * plan.destroy();
 * gpu.destroy();
 * ```
 */
export async function timeRecorded(gpu: Gpu, record: () => void, flop: number): Promise<number> {
  record();
  await gpu.sync();
  // A slow candidate gets fewer repetitions: about 200 ms (20 ms on a GPU) of work at most.
  let start = performance.now();
  record();
  await gpu.sync();
  const once = performance.now() - start;
  const byWork = Math.round((gpu.isFallback ? 5e8 : 5e10) / flop);
  const byTime = Math.round((gpu.isFallback ? 200 : 20) / once);
  const reps = Math.max(1, Math.min(100, byWork, byTime));
  start = performance.now();
  for (let r = 0; r < reps; r++) record();
  await gpu.sync();
  return (performance.now() - start) / reps;
}
