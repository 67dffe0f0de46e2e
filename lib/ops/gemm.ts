/**
 * GEMM: `C = alpha * op(A) op(B) + beta * C (+ bias[n])`, f32, row-major, op = transpose or not
 * for A and B independently, with a strided-batch form.
 *
 * Kernel variants share one contract: `gemm_rb`, register-blocked with no workgroup memory
 * (fast on CPU adapters such as lavapipe, where invocations are SIMD lanes), `gemm_tiled`,
 * staged through workgroup memory (for real GPUs), and `gemm_lanes`, whose invocations share the
 * rows of A of one block (with `subgroup`, through subgroup shuffles: the fastest on Mesa 25's
 * lavapipe). Which one, and its block shape, is tuned once per adapter (see {@link gemmConfig}). Unaligned operands are padded to vec4 rows by a small
 * kernel, and results go through an epilogue kernel when beta, bias, split-K or edge blocks need
 * it; buffers for both are allocated once, when the GEMM is prepared.
 *
 * @module
 */

import source from "../../kernels/gemm.wgsl" with { type: "text" };
import subgroupSource from "../../kernels/gemm_subgroup.wgsl" with { type: "text" };
import type { Gpu } from "../gpu/device.ts";
import {
  Dispatch,
  getPipeline,
  grid1d,
  type Pipeline,
  type Recordable,
  recordOnce,
  type Sequence,
  spliceKernel,
} from "../gpu/kernel.ts";
import { formatShape, Tensor } from "../gpu/tensor.ts";
import { checkDType } from "./_check.ts";
import { prepareSteps, type StepBuild } from "./_prepare.ts";
import { referenceGemm } from "./_reference_gemm.ts";
import { timeRecorded, tuned, tuneData, type TuneResult } from "./tune.ts";
import { family, GEMM_ENTRIES } from "./_entries.ts";

const GEMM = family("kernels/gemm.wgsl", source, GEMM_ENTRIES);
/** gemm.wgsl with its quad sharing done by subgroup shuffles (see both files). */
const GEMM_SUBGROUP = spliceKernel(GEMM, "quad sharing", {
  file: "kernels/gemm_subgroup.wgsl",
  source: subgroupSource,
});
/** Workgroup size of the padding and epilogue kernels (one element per invocation). */
const ELEMENT_WG = 256;

/**
 * Register-blocked kernel: one `bm x bn` block of C per invocation, `wg` per workgroup.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { matmul, type RegisterBlockedConfig } from "./gemm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const config: RegisterBlockedConfig = { kernel: "rb", bm: 4, bn: 4, wg: 16 };
 * const a = Tensor.from(gpu, [1, 2, 3, 4], [2, 2]);
 * const b = Tensor.from(gpu, [5, 6, 7, 8], [2, 2]);
 * const c = await matmul(gpu, a, b, { config });
 * assert.deepEqual(Array.from(await c.read()), [19, 22, 43, 50]);
 * gpu.destroy();
 * ```
 */
export interface RegisterBlockedConfig {
  /** Selects the `gemm_rb` entry point. */
  readonly kernel: "rb";
  /** Rows per invocation: 4, 8, 16 or 32. */
  readonly bm: number;
  /** Columns per invocation: 4, 8 or 16. */
  readonly bn: number;
  /** Invocations per workgroup. */
  readonly wg: number;
  /** Skip the k masks on interior steps (a second copy of the loop); default false. */
  readonly edge?: boolean;
}

/**
 * Workgroup-tiled kernel: a `tm x tn` tile per workgroup, `tr x tc` per invocation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { matmul, type TiledConfig } from "./gemm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * // (16 / 4) x (16 / 4) = 16 invocations per workgroup.
 * const config: TiledConfig = { kernel: "tiled", tm: 16, tn: 16, tk: 4, tr: 4, tc: 4 };
 * const a = Tensor.from(gpu, [1, 2, 3, 4, 5, 6], [2, 3]);
 * const b = Tensor.from(gpu, [1, 0, 0, 1, 1, 1], [3, 2]);
 * const c = await matmul(gpu, a, b, { config });
 * assert.deepEqual(Array.from(await c.read()), [4, 5, 10, 11]);
 * gpu.destroy();
 * ```
 */
export interface TiledConfig {
  /** Selects the `gemm_tiled` entry point. */
  readonly kernel: "tiled";
  /** Rows of C per workgroup: a multiple of `tr`. */
  readonly tm: number;
  /** Columns of C per workgroup: a multiple of `tc`. */
  readonly tn: number;
  /** Depth of k staged in workgroup memory per step (a multiple of 4). */
  readonly tk: number;
  /** Rows of C per invocation: 4 or 8. */
  readonly tr: number;
  /** Columns of C per invocation: 4 or 8. */
  readonly tc: number;
}

/**
 * Lane-parallel kernel: a `bm x (wg * bn)` block of C per workgroup, `bm x bn` per invocation.
 * The invocations of a workgroup share the block's rows, so their loads of A are uniform (one
 * scalar load and a broadcast on lavapipe, which runs invocations as SIMD lanes).
 *
 * @example
 * ```ts
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type LanesConfig, matmul } from "./gemm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const config: LanesConfig = { kernel: "lanes", bm: 4, bn: 4, wg: 8 };
 * const a = Tensor.from(gpu, [1, 2, 3, 4], [2, 2]);
 * const b = Tensor.from(gpu, [5, 6, 7, 8], [2, 2]);
 * const c = await matmul(gpu, a, b, { config });
 * console.log(await c.read()); // Float32Array(4) [19, 22, 43, 50]
 * gpu.destroy();
 * ```
 */
export interface LanesConfig {
  /** Selects the `gemm_lanes` entry point. */
  readonly kernel: "lanes";
  /** Rows per workgroup (and invocation): 4, 8, 16 or 32. */
  readonly bm: number;
  /** Columns per invocation: 4, 8 or 16. */
  readonly bn: number;
  /** Invocations per workgroup, side by side along N. */
  readonly wg: number;
  /** Skip the k masks on interior steps (a second copy of the loop); default false. */
  readonly edge?: boolean;
  /**
   * Share the loads of A within subgroups of this many lanes (the adapter's subgroup size; needs
   * the `subgroups` feature, `wg` a multiple of it and `bm / 4` at most twice it): each subgroup
   * then computes a `bm x (subgroup * bn)` block, loading each row of A once for all its lanes.
   */
  readonly subgroup?: number;
}

/**
 * A GEMM kernel configuration.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type GemmConfig, gemmBlock } from "./gemm.ts";
 * const configs: GemmConfig[] = [
 *   { kernel: "rb", bm: 32, bn: 16, wg: 64 },
 *   { kernel: "tiled", tm: 64, tn: 64, tk: 16, tr: 4, tc: 4 },
 * ];
 * assert.deepEqual(configs.map(gemmBlock), [[32, 16], [64, 64]]);
 * ```
 */
export type GemmConfig = RegisterBlockedConfig | TiledConfig | LanesConfig;

/**
 * Storage key of the tuned GEMM configuration; bump the version when candidates change.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { GEMM_TUNE_KEY, gemmConfig } from "./gemm.ts";
 * import { presetTuning } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * // Fix the configuration, e.g. from a CLI flag: no tuning pass runs.
 * presetTuning(gpu, GEMM_TUNE_KEY, { kernel: "rb", bm: 16, bn: 16, wg: 64 });
 * assert.equal((await gemmConfig(gpu)).source, "preset");
 * gpu.destroy();
 * ```
 */
export const GEMM_TUNE_KEY = "gemm.v4";

/**
 * Candidates for CPU (fallback) adapters, default first. Two workgroup-memory tiles and a
 * lane-parallel kernel are timed too: lavapipe on Mesa 22 and 25 prefers registers (Mesa 25 runs
 * `lanes` slower than `rb` on square and on tall, thin problems), but other software drivers
 * (SwiftShader) need not. Where the adapter has subgroups, {@link gemmCandidates} adds the
 * {@link sharedACandidates}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FALLBACK_GEMM_CANDIDATES, formatGemmConfig } from "./gemm.ts";
 * assert.equal(formatGemmConfig(FALLBACK_GEMM_CANDIDATES[0]), "rb 32x16 wg64");
 * ```
 */
export const FALLBACK_GEMM_CANDIDATES: readonly GemmConfig[] = [
  { kernel: "rb", bm: 32, bn: 16, wg: 64 },
  { kernel: "rb", bm: 32, bn: 16, wg: 32 },
  { kernel: "rb", bm: 16, bn: 16, wg: 64 },
  { kernel: "rb", bm: 32, bn: 16, wg: 16 },
  { kernel: "tiled", tm: 64, tn: 64, tk: 16, tr: 8, tc: 8 },
  { kernel: "tiled", tm: 32, tn: 32, tk: 16, tr: 4, tc: 4 },
  { kernel: "lanes", bm: 16, bn: 16, wg: 8 },
];

/**
 * Candidates for real GPUs, default first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatGemmConfig, GPU_GEMM_CANDIDATES } from "./gemm.ts";
 * assert.equal(formatGemmConfig(GPU_GEMM_CANDIDATES[0]), "tiled 64x64x16 4x4");
 * ```
 */
export const GPU_GEMM_CANDIDATES: readonly GemmConfig[] = [
  { kernel: "tiled", tm: 64, tn: 64, tk: 16, tr: 4, tc: 4 },
  { kernel: "tiled", tm: 64, tn: 64, tk: 16, tr: 8, tc: 8 },
  { kernel: "tiled", tm: 128, tn: 64, tk: 16, tr: 8, tc: 4 },
  { kernel: "tiled", tm: 32, tn: 32, tk: 16, tr: 4, tc: 4 },
  { kernel: "tiled", tm: 128, tn: 128, tk: 16, tr: 8, tc: 8 },
  { kernel: "tiled", tm: 64, tn: 64, tk: 32, tr: 4, tc: 4 },
  { kernel: "rb", bm: 8, bn: 8, wg: 64 },
];

/**
 * The candidates that suit this adapter; the first is the default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { defaultGemmConfig, formatGemmConfig, gemmCandidates } from "./gemm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const candidates = gemmCandidates(gpu);
 * const names = candidates.map(formatGemmConfig); // on lavapipe: ["rb 32x16 wg64", ...]
 * assert.equal(new Set(names).size, names.length); // each candidate once
 * assert.equal(candidates[0] === defaultGemmConfig(gpu), true);
 * gpu.destroy();
 * ```
 */
export function gemmCandidates(gpu: Gpu): readonly GemmConfig[] {
  if (!gpu.isFallback) return GPU_GEMM_CANDIDATES;
  const lanes = gpu.hasSubgroups ? gpu.adapter.subgroupMinSize : 0;
  return lanes
    ? [...FALLBACK_GEMM_CANDIDATES, ...sharedACandidates(lanes)]
    : FALLBACK_GEMM_CANDIDATES;
}

/**
 * Lane-parallel candidates that share the loads of A through subgroup shuffles, for an adapter
 * whose subgroups have `lanes` lanes: timed on CPU adapters with the `subgroups` feature. On
 * Mesa 25's lavapipe every storage load costs a branch per lane and component, so loading each
 * row of A once per subgroup instead of once per lane runs a 1024^3 GEMM about twice as fast;
 * taller blocks then halve the loads of B.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatGemmConfig, sharedACandidates } from "./gemm.ts";
 * assert.equal(formatGemmConfig(sharedACandidates(8)[0]), "lanes 32x4 wg64 share-a/8");
 * ```
 */
export function sharedACandidates(lanes: number): readonly LanesConfig[] {
  // The same objects on every call, as for the fixed lists: tuning results are candidates.
  let configs = SHARED_A_CANDIDATES.get(lanes);
  if (!configs) {
    // 64 invocations per workgroup where the subgroup divides it: fewer, larger workgroups cost
    // lavapipe less to schedule than one per subgroup.
    const wg = 64 % lanes === 0 ? 64 : lanes;
    // A lane hands on at most two quads of rows (configProblem).
    configs = SHARED_A_BLOCKS.filter(([bm]) => bm <= 8 * lanes)
      .map(([bm, bn]) => ({ kernel: "lanes", bm, bn, wg, subgroup: lanes }));
    SHARED_A_CANDIDATES.set(lanes, configs);
  }
  return configs;
}

const SHARED_A_CANDIDATES = new Map<number, readonly LanesConfig[]>();

/** Rows x columns per invocation of the {@link sharedACandidates}. */
const SHARED_A_BLOCKS: readonly [number, number][] = [[32, 4], [64, 4], [32, 8], [64, 8], [64, 16]];

/**
 * The configuration used without tuning (`LTKIT_TUNE=0`): register-blocked 32x16 on CPU
 * adapters, workgroup-tiled 64x64 with 4x4 per invocation on GPUs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { defaultGemmConfig, gemm } from "./gemm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const a = Tensor.from(gpu, [1, 2], [1, 2]);
 * const b = Tensor.from(gpu, [3, 4], [2, 1]);
 * const c = Tensor.empty(gpu, [1, 1]);
 * await gemm(gpu, { a, b, c, config: defaultGemmConfig(gpu) }); // skips tuning
 * assert.deepEqual(Array.from(await c.read()), [11]);
 * gpu.destroy();
 * ```
 */
export function defaultGemmConfig(gpu: Gpu): GemmConfig {
  return gemmCandidates(gpu)[0];
}

/**
 * Rows and columns of C that one block (invocation or workgroup) of `config` computes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gemmBlock } from "./gemm.ts";
 * assert.deepEqual(gemmBlock({ kernel: "rb", bm: 32, bn: 16, wg: 64 }), [32, 16]);
 * ```
 */
export function gemmBlock(config: GemmConfig): [number, number] {
  if (config.kernel === "rb") return [config.bm, config.bn];
  if (config.kernel === "lanes") return [config.bm, (config.subgroup ?? config.wg) * config.bn];
  return [config.tm, config.tn];
}

/**
 * Invocations per workgroup of `config`.
 *
 * @example
 * ```ts
 * import { gemmThreads } from "./gemm.ts";
 * console.log(gemmThreads({ kernel: "tiled", tm: 64, tn: 64, tk: 16, tr: 8, tc: 4 })); // 128
 * ```
 */
export function gemmThreads(config: GemmConfig): number {
  return config.kernel === "tiled" ? (config.tm / config.tr) * (config.tn / config.tc) : config.wg;
}

/**
 * A short name for tables: `rb 32x16 wg64`, `tiled 64x64x16 4x4`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatGemmConfig } from "./gemm.ts";
 * assert.equal(formatGemmConfig({ kernel: "tiled", tm: 64, tn: 64, tk: 16, tr: 4, tc: 4 }), "tiled 64x64x16 4x4");
 * ```
 */
export function formatGemmConfig(config: GemmConfig): string {
  return config.kernel === "tiled"
    ? `tiled ${config.tm}x${config.tn}x${config.tk} ${config.tr}x${config.tc}`
    : `${config.kernel} ${config.bm}x${config.bn} wg${config.wg}${config.edge ? " edge" : ""}${
      config.kernel === "lanes" && config.subgroup ? ` share-a/${config.subgroup}` : ""
    }`;
}

/**
 * The GEMM configuration for this adapter. The first call tunes (unless `LTKIT_TUNE=0` or a
 * result is stored for this adapter): it checks each candidate on an odd-shaped problem against
 * the CPU reference, times it on two representative problems, and keeps the fastest. Tuning
 * submits and waits on the GPU; on lavapipe it takes a few seconds the first time, most of it
 * compiling the candidates' pipelines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { defaultGemmConfig, formatGemmConfig, GEMM_TUNE_KEY, gemmConfig } from "./gemm.ts";
 * import { presetTuning } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * // Without the preset, this first call would tune (seconds on lavapipe).
 * presetTuning(gpu, GEMM_TUNE_KEY, defaultGemmConfig(gpu));
 * const { config, source } = await gemmConfig(gpu);
 * assert.equal(source, "preset");
 * assert.equal(formatGemmConfig(config), formatGemmConfig(defaultGemmConfig(gpu))); // e.g. "rb 32x16 wg64"
 * gpu.destroy();
 * ```
 */
export function gemmConfig(
  gpu: Gpu,
  options: { force?: boolean } = {},
): Promise<TuneResult<GemmConfig>> {
  const candidates = gemmCandidates(gpu).filter((c) => configProblem(gpu, c) === null);
  return tuned(gpu, {
    force: options.force,
    key: GEMM_TUNE_KEY,
    fallback: defaultGemmConfig(gpu),
    candidates,
    check: (config) => checkGemmConfig(gpu, config),
    measure: (config) => timeGemmConfig(gpu, config),
  });
}

/**
 * Why `config` cannot run on this device (shape rules, workgroup and memory limits), or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { configProblem, defaultGemmConfig } from "./gemm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * assert.equal(configProblem(gpu, { kernel: "rb", bm: 12, bn: 16, wg: 64 }), "bm is 12, not 4, 8, 16 or 32");
 * assert.equal(configProblem(gpu, defaultGemmConfig(gpu)), null);
 * gpu.destroy();
 * ```
 */
export function configProblem(gpu: Gpu, config: GemmConfig): string | null {
  const maxInvocations = gpu.limits.maxComputeInvocationsPerWorkgroup;
  if (config.kernel !== "tiled") {
    const shared = config.kernel === "lanes" && config.subgroup !== undefined;
    if (![4, 8, 16, 32, ...(shared ? [64] : [])].includes(config.bm)) {
      return `bm is ${config.bm}, not 4, 8, 16 or 32${shared ? " or 64" : ""}`;
    }
    if (![4, 8, 16].includes(config.bn)) return `bn is ${config.bn}, not 4, 8 or 16`;
    if (!Number.isInteger(config.wg) || config.wg < 1 || config.wg > maxInvocations) {
      return `wg is ${config.wg}, not 1..${maxInvocations}`;
    }
    if (config.wg > gpu.limits.maxComputeWorkgroupSizeX) {
      return `wg ${config.wg} exceeds maxComputeWorkgroupSizeX`;
    }
    if (config.kernel === "lanes" && config.subgroup !== undefined) {
      const sg = config.subgroup;
      if (!gpu.hasSubgroups) return `share-a needs the "subgroups" feature`;
      // Subgroups no smaller than the adapter's smallest: a subgroup then holds whole blocks.
      if (sg !== gpu.adapter.subgroupMinSize) {
        return `subgroup is ${sg}, not the adapter's subgroup size (${
          gpu.adapter.subgroupMinSize || "not reported"
        })`;
      }
      if (config.wg % sg !== 0) return `wg ${config.wg} is not a multiple of subgroup ${sg}`;
      if (config.bm / 4 > 2 * sg) return `bm is ${config.bm}, more than 8 x subgroup ${sg}`;
    }
    return null;
  }
  const { tm, tn, tk, tr, tc } = config;
  if (![4, 8].includes(tr) || ![4, 8].includes(tc)) return `tr x tc is ${tr}x${tc}, not 4 or 8`;
  if (!Number.isInteger(tm) || !Number.isInteger(tn) || tm % tr !== 0 || tn % tc !== 0) {
    return `tile ${tm}x${tn} is not a multiple of ${tr}x${tc}`;
  }
  if (!Number.isInteger(tk) || tk < 4 || tk % 4 !== 0) return `tk is ${tk}, not a multiple of 4`;
  const threads = (tm / tr) * (tn / tc);
  if (threads > maxInvocations || threads > gpu.limits.maxComputeWorkgroupSizeX) {
    return `${threads} invocations per workgroup exceed the device limit`;
  }
  if (4 * tk * (tm + tn) > gpu.limits.maxComputeWorkgroupStorageSize) {
    return `${4 * tk * (tm + tn)} bytes of workgroup memory exceed the device limit`;
  }
  return null;
}

/**
 * Options of {@link prepareGemm}: `C = alpha * op(A) op(B) + beta * C (+ bias)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { defaultGemmConfig, gemm, type GemmOptions } from "./gemm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * // A linear layer y = x W^T + b with x (2, 3), W (2, 3), b (2).
 * const options: GemmOptions = {
 *   a: Tensor.from(gpu, [1, 2, 3, 4, 5, 6], [2, 3]),
 *   b: Tensor.from(gpu, [1, 0, 0, 0, 1, 1], [2, 3]),
 *   c: Tensor.empty(gpu, [2, 2]),
 *   bias: Tensor.from(gpu, [10, 20]),
 *   transB: true,
 *   config: defaultGemmConfig(gpu),
 * };
 * await gemm(gpu, options);
 * assert.deepEqual(Array.from(await options.c.read()), [11, 25, 14, 31]);
 * gpu.destroy();
 * ```
 */
export interface GemmOptions {
  /** A: `(M, K)`, or `(K, M)` with `transA`; 3-D for batches; any rank with explicit m, k. */
  a: Tensor;
  /** B: `(K, N)`, or `(N, K)` with `transB`; a 2-D B with 3-D A is shared by all batches. */
  b: Tensor;
  /** C: `(M, N)` or `(batch, M, N)`. Not read when beta is 0 (it may hold NaN). */
  c: Tensor;
  /** Optional `(N)` bias added to every row: a linear layer's `y = x W^T + b`. */
  bias?: Tensor;
  /** Read A as transposed: op(A) = A^T (default false). */
  transA?: boolean;
  /** Read B as transposed: op(B) = B^T (default false). */
  transB?: boolean;
  /** Default 1. */
  alpha?: number;
  /** Default 0. */
  beta?: number;
  /** Rows of op(A) and C; derived from the shapes when omitted, and must agree with them. */
  m?: number;
  /** Columns of op(B) and C; derived from the shapes when omitted, and must agree with them. */
  n?: number;
  /** Columns of op(A), rows of op(B); derived from the shapes when omitted. */
  k?: number;
  /** Batch count: default the leading size of 3-D operands, else 1. */
  batch?: number;
  /** Elements between A's batches; default dense for 3-D A, 0 (shared) for 2-D A. */
  strideA?: number;
  /** Elements between B's batches; default dense for 3-D B, 0 (shared) for 2-D B. */
  strideB?: number;
  /** Elements between C's batches; default `M * N` (C is never shared). */
  strideC?: number;
  /** A kernel configuration to use instead of the tuned one (tests, tuning, benchmarks). */
  config?: GemmConfig;
}

/**
 * The resolved problem.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type GemmShape, resolveGemm } from "./gemm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * // Two batches of (3, 4) x (4, 5), sharing one 2-D B.
 * const a = Tensor.zeros(gpu, [2, 3, 4]);
 * const b = Tensor.zeros(gpu, [4, 5]);
 * const c = Tensor.empty(gpu, [2, 3, 5]);
 * const { m, n, k, batch, strideA, strideB, strideC }: GemmShape = resolveGemm({ a, b, c });
 * assert.equal(m, 3);
 * assert.equal(n, 5);
 * assert.equal(k, 4);
 * assert.equal(batch, 2);
 * assert.equal(strideA, 12);
 * assert.equal(strideB, 0);
 * assert.equal(strideC, 15);
 * gpu.destroy();
 * ```
 */
export interface GemmShape {
  /** Rows of op(A) and of C. */
  readonly m: number;
  /** Columns of op(B) and of C. */
  readonly n: number;
  /** The summed dimension: columns of op(A), rows of op(B). */
  readonly k: number;
  /** Number of independent products. */
  readonly batch: number;
  /** Whether op(A) is A^T. */
  readonly transA: boolean;
  /** Whether op(B) is B^T. */
  readonly transB: boolean;
  /** Elements between A's batches; 0 when all batches share one A. */
  readonly strideA: number;
  /** Elements between B's batches; 0 when all batches share one B. */
  readonly strideB: number;
  /** Elements between C's batches, at least `m * n` when batch > 1. */
  readonly strideC: number;
  /** Scale of the product. */
  readonly alpha: number;
  /** Scale of the old C; 0 means C is not read. */
  readonly beta: number;
}

/**
 * What a prepared GEMM does, for tests, logs and benchmarks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { defaultGemmConfig, type GemmPlanInfo, prepareGemm } from "./gemm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const a = Tensor.zeros(gpu, [2, 3]);
 * const b = Tensor.zeros(gpu, [3, 2]);
 * const c = Tensor.empty(gpu, [2, 2]);
 * const plan = await prepareGemm(gpu, { a, b, c, config: defaultGemmConfig(gpu) });
 * const { splits, direct, padA, padB, dispatches }: GemmPlanInfo = plan.info;
 * // Rows of 3 and 2 floats are not vec4-aligned, and 2x2 is a partial block: pad A, pad B,
 * // the main kernel and the epilogue.
 * assert.equal(splits, 1);
 * assert.equal(direct, false);
 * assert.equal(padA, true);
 * assert.equal(padB, true);
 * assert.equal(dispatches, 4);
 * plan.destroy();
 * gpu.destroy();
 * ```
 */
export interface GemmPlanInfo extends GemmShape {
  /** The kernel configuration the plan was built with. */
  readonly config: GemmConfig;
  /** Split-K slices summed by the epilogue (1: none). */
  readonly splits: number;
  /** True when the main kernel writes C itself (no workspace, no epilogue). */
  readonly direct: boolean;
  /** Whether A is copied into vec4-aligned rows first. */
  readonly padA: boolean;
  /** Whether B is copied into vec4-aligned rows first. */
  readonly padB: boolean;
  /** Bytes of the buffers this GEMM owns (padded operands, workspace). */
  readonly scratchBytes: number;
  /** Dispatches recorded per {@link GemmPlan.record}. */
  readonly dispatches: number;
}

/**
 * A prepared GEMM: record it as often as needed (every training step), destroy it once.
 * Its buffers (padded operands, workspace) are allocated at prepare time and reused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { defaultGemmConfig, prepareGemm } from "./gemm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const a = Tensor.from(gpu, [1, 2, 3, 4], [2, 2]);
 * const identity = Tensor.from(gpu, [1, 0, 0, 1], [2, 2]);
 * const c = Tensor.zeros(gpu, [2, 2]);
 * // C += A I, prepared once and recorded twice.
 * const plan = await prepareGemm(gpu, {
 *   a,
 *   b: identity,
 *   c,
 *   beta: 1,
 *   config: defaultGemmConfig(gpu),
 * });
 * plan.record();
 * plan.record();
 * gpu.submit();
 * plan.destroy();
 * assert.deepEqual(Array.from(await c.read()), [2, 4, 6, 8]);
 * gpu.destroy();
 * ```
 */
export class GemmPlan implements Recordable {
  /** What this GEMM computes and how (shape, configuration, scratch). */
  readonly info: GemmPlanInfo;
  readonly #steps: Sequence;

  /**
   * Takes ownership of `steps` and the scratch it owns (destroyed by {@link GemmPlan.destroy});
   * use {@link prepareGemm} rather than calling this directly.
   */
  constructor(info: GemmPlanInfo, steps: Sequence) {
    this.info = info;
    this.#steps = steps;
  }

  /** Records the GEMM's dispatches into the shared compute pass. */
  record(): void {
    this.#steps.record();
  }

  /** Frees the uniform and scratch buffers once recorded work has been submitted. */
  destroy(): void {
    this.#steps.destroy();
  }
}

interface Operand {
  readonly name: string;
  readonly tensor: Tensor;
  /** Rows and columns of one matrix from the shape, when the shape says. */
  readonly rows?: number;
  readonly cols?: number;
  readonly batch?: number;
}

function operand(name: string, tensor: Tensor): Operand {
  const s = tensor.shape;
  if (s.length === 2) return { name, tensor, rows: s[0], cols: s[1] };
  if (s.length === 3) return { name, tensor, batch: s[0], rows: s[1], cols: s[2] };
  return { name, tensor };
}

function fail(reason: string): never {
  throw new RangeError(`Cannot run gemm: ${reason}`);
}

/**
 * Checks a GEMM's operands and returns the resolved problem; throws RangeError or TypeError
 * (`Cannot run gemm: ...`) for bad shapes, strides, dtypes or aliasing. Records nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { resolveGemm } from "./gemm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const a = Tensor.zeros(gpu, [2, 3]);
 * const b = Tensor.zeros(gpu, [4, 3]);
 * const c = Tensor.empty(gpu, [2, 4]);
 * const shape = resolveGemm({ a, b, c, transB: true });
 * assert.equal(shape.m, 2);
 * assert.equal(shape.n, 4);
 * assert.equal(shape.k, 3);
 * assert.throws(() => resolveGemm({ a, b, c }), {
 *   name: "RangeError",
 *   message: "Cannot run gemm: A is 2x3 but B is 4x3 (K 3 != 4)",
 * });
 * gpu.destroy();
 * ```
 */
export function resolveGemm(opts: GemmOptions): GemmShape {
  return resolve(opts, true);
}

/** resolveGemm, optionally without C (matmul checks before it allocates C). */
function resolve(opts: Omit<GemmOptions, "c"> & { c?: Tensor }, withC: boolean): GemmShape {
  const named: [string, Tensor | undefined, boolean][] = [
    ["A", opts.a, true],
    ["B", opts.b, true],
    ["C", opts.c, withC],
    ["bias", opts.bias, false],
  ];
  for (const [name, t, required] of named) {
    if (required && !(t instanceof Tensor)) fail(`${name} is not a Tensor`);
    if (t !== undefined && !(t instanceof Tensor)) fail(`${name} is not a Tensor`);
    if (t) checkDType("gemm", name, t, "f32");
  }
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const alpha = opts.alpha ?? 1;
  const beta = opts.beta ?? 0;
  if (!Number.isFinite(alpha)) fail(`alpha must be a finite number (got ${alpha})`);
  if (!Number.isFinite(beta)) fail(`beta must be a finite number (got ${beta})`);

  const A = operand("A", opts.a);
  const B = operand("B", opts.b);
  const C: Operand = withC ? operand("C", opts.c!) : { name: "C", tensor: opts.a };
  const nameA = transA ? "A^T" : "A";
  const nameB = transB ? "B^T" : "B";
  // op(A) is M x K, op(B) is K x N, as far as the shapes say.
  const mA = A.rows === undefined ? undefined : transA ? A.cols! : A.rows;
  const kA = A.rows === undefined ? undefined : transA ? A.rows : A.cols!;
  const kB = B.rows === undefined ? undefined : transB ? B.cols! : B.rows;
  const nB = B.rows === undefined ? undefined : transB ? B.rows : B.cols!;
  if (kA !== undefined && kB !== undefined && kA !== kB) {
    fail(`${nameA} is ${mA}x${kA} but ${nameB} is ${kB}x${nB} (K ${kA} != ${kB})`);
  }
  const pick = (what: string, given: number | undefined, ...found: [string, number?][]) => {
    for (const [where, value] of found) {
      if (value === undefined) continue;
      if (given !== undefined && given !== value) fail(`${what} is ${given} but ${where}`);
      given = value;
    }
    if (given === undefined) {
      fail(
        `${what} is unknown: give 2-D or 3-D tensors or m, n and k (A is ` +
          `${formatShape(opts.a.shape)}, B is ${formatShape(opts.b.shape)})`,
      );
    }
    if (!Number.isInteger(given) || given < 1) fail(`${what} must be a whole number >= 1`);
    return given;
  };
  const m = pick("m", opts.m, [`${nameA} is ${mA}x${kA}`, mA], [
    `C is ${C.rows}x${C.cols}`,
    C.rows,
  ]);
  const n = pick("n", opts.n, [`${nameB} is ${kB}x${nB}`, nB], [
    `C is ${C.rows}x${C.cols}`,
    C.cols,
  ]);
  const k = pick("k", opts.k, [`${nameA} is ${mA}x${kA}`, kA], [`${nameB} is ${kB}x${nB}`, kB]);

  let batch = opts.batch;
  for (const x of [A, B, C]) {
    if (x.batch === undefined) continue;
    if (batch !== undefined && batch !== x.batch) {
      fail(
        `${x.name} ${formatShape(x.tensor.shape)} has ${x.batch} batches but ` +
          (opts.batch !== undefined ? `batch is ${opts.batch}` : `another operand has ${batch}`),
      );
    }
    batch = x.batch;
  }
  batch ??= 1;
  if (!Number.isInteger(batch) || batch < 1) fail(`batch must be a whole number >= 1`);

  const stride = (x: Operand, given: number | undefined, dense: number, shared: boolean) => {
    const s = given ?? (x.batch !== undefined || !shared || batch === 1 ? dense : 0);
    if (!Number.isInteger(s) || s < 0) fail(`stride${x.name} must be a whole number >= 0`);
    return s;
  };
  const strideA = stride(A, opts.strideA, m * k, true);
  const strideB = stride(B, opts.strideB, k * n, true);
  const strideC = stride(C, opts.strideC, m * n, false);
  if (batch > 1 && strideC < m * n) {
    fail(`strideC ${strideC} is less than M*N = ${m * n}: batches would overwrite each other`);
  }
  const needs = (x: Operand, rows: number, cols: number, s: number) => {
    const need = (batch! - 1) * s + rows * cols;
    if (x.tensor.size < need) {
      fail(
        `${x.name} ${formatShape(x.tensor.shape)} has ${x.tensor.size} elements but needs ${need}` +
          (batch! > 1
            ? ` (${batch} batches of ${rows}x${cols}, stride ${s})`
            : ` (${rows}x${cols})`),
      );
    }
  };
  needs(A, transA ? k : m, transA ? m : k, strideA);
  needs(B, transB ? n : k, transB ? k : n, strideB);
  if (opts.bias && opts.bias.size !== n) fail(`bias has ${opts.bias.size} elements but N is ${n}`);
  if (withC) {
    const c = opts.c!;
    needs(C, m, n, strideC);
    if (c.buffer === opts.a.buffer) fail(`C and A share a buffer; use a separate output`);
    if (c.buffer === opts.b.buffer) fail(`C and B share a buffer; use a separate output`);
    if (opts.bias && opts.bias.buffer === c.buffer) fail(`bias and C share a buffer`);
  }
  return { m, n, k, batch, transA, transB, strideA, strideB, strideC, alpha, beta };
}

const ceil4 = (x: number) => Math.ceil(x / 4) * 4;

/** Rows of vec4 the main kernel reads an operand as, and whether it must be padded first. */
function layout(rows: number, len: number, stride: number, batch: number) {
  const shared = batch === 1 || stride === 0;
  const aligned = len % 4 === 0 && (shared || stride % 4 === 0);
  const ld = aligned ? len : ceil4(len);
  return {
    pad: !aligned,
    rows,
    len,
    ld,
    copies: shared ? 1 : batch,
    stride: aligned ? (shared ? 0 : stride) : (shared ? 0 : rows * ld),
  };
}

/**
 * Split-K slices: more parallel work when the output has too few blocks to fill the device (a
 * weight gradient such as 144x16 with K = 6272 has 5 blocks of 32x16). Slices keep at least
 * 128 values of k so the epilogue's extra pass stays small.
 */
function chooseSplits(items: number, k4: number): number {
  // 128 blocks (invocations of gemm_rb on lavapipe, workgroups of gemm_tiled) keep the
  // threads or cores busy; measured on lavapipe, splitting larger outputs loses more to the
  // epilogue pass than it gains.
  const target = 128;
  const minK4PerSplit = 32;
  if (items >= target) return 1;
  const splits = Math.max(1, Math.min(Math.ceil(target / items), Math.floor(k4 / minK4PerSplit)));
  return Math.ceil(k4 / Math.ceil(k4 / splits));
}

/**
 * Prepares `C = alpha * op(A) op(B) + beta * C (+ bias)` as a reusable {@link GemmPlan}.
 * Validation runs before anything touches the GPU; the first GEMM on an adapter may tune the
 * kernel configuration (see {@link gemmConfig}), which submits pending work.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { defaultGemmConfig, prepareGemm } from "./gemm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * // A linear layer y = x W^T + b: x (batch, in), W (out, in), b (out).
 * const x = Tensor.from(gpu, [1, 2, 3, 4], [2, 2]);
 * const w = Tensor.from(gpu, [1, 1, 0, 1, 2, 0], [3, 2]);
 * const bias = Tensor.from(gpu, [0, 1, 2]);
 * const y = Tensor.empty(gpu, [2, 3]);
 * // An explicit config skips tuning; leave it out in real code.
 * const config = defaultGemmConfig(gpu);
 * const plan = await prepareGemm(gpu, { a: x, b: w, c: y, bias, transB: true, config });
 * plan.record(); // once per training step
 * gpu.submit();
 * assert.deepEqual(Array.from(await y.read()), [3, 3, 4, 7, 5, 8]);
 * plan.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareGemm(gpu: Gpu, opts: GemmOptions): Promise<GemmPlan> {
  const shape = resolveGemm(opts);
  gpu.assertAlive("run gemm");
  let config = opts.config;
  if (config) {
    const problem = configProblem(gpu, config);
    if (problem) fail(`config ${formatGemmConfig(config)} is not usable here: ${problem}`);
  } else {
    config = fittingConfig(gpu, opts, shape, (await gemmConfig(gpu)).config);
  }
  return build(gpu, opts, shape, config);
}

/** How a config lays out one GEMM: operand layouts, blocks, split-K and the padded output. */
function geometry(opts: GemmOptions, shape: GemmShape, config: GemmConfig) {
  const { m, n, k, batch, transA, transB } = shape;
  const [bm, bn] = gemmBlock(config);
  const la = layout(transA ? k : m, transA ? m : k, shape.strideA, batch);
  const lb = layout(transB ? n : k, transB ? k : n, shape.strideB, batch);
  const mBlocks = Math.ceil(m / bm);
  const nBlocks = Math.ceil(n / bn);
  const blocks = mBlocks * nBlocks;
  const k4 = Math.ceil(k / 4);
  const splits = chooseSplits(batch * blocks, k4);
  const kps = Math.ceil(k4 / splits);
  const direct = splits === 1 && shape.beta === 0 && !opts.bias && m % bm === 0 &&
    n % bn === 0 && (batch === 1 || shape.strideC % 4 === 0);
  const mp = mBlocks * bm;
  const np = nBlocks * bn;
  return { la, lb, nBlocks, blocks, k4, splits, kps, direct, mp, np };
}

/** Bytes of the largest scratch tensor a config allocates for one GEMM (0: none). */
function largestScratch(opts: GemmOptions, shape: GemmShape, config: GemmConfig): number {
  const g = geometry(opts, shape, config);
  const padded = (l: ReturnType<typeof layout>) => l.pad ? 4 * l.copies * l.rows * l.ld : 0;
  const workspace = g.direct ? 0 : 4 * shape.batch * g.splits * g.mp * g.np;
  return Math.max(padded(g.la), padded(g.lb), workspace);
}

/**
 * The tuned config, or where its scratch would not fit one storage buffer (only small or
 * lowered limits reach this: padding and split-K workspaces are a few blocks), the usable
 * candidate with the smallest largest scratch; its sums may differ in order, never in value
 * beyond rounding.
 */
function fittingConfig(
  gpu: Gpu,
  opts: GemmOptions,
  shape: GemmShape,
  tuned: GemmConfig,
): GemmConfig {
  if (largestScratch(opts, shape, tuned) <= gpu.maxTensorBytes) return tuned;
  let best = tuned;
  let bestBytes = Infinity;
  for (const c of gemmCandidates(gpu)) {
    if (configProblem(gpu, c) !== null) continue;
    const bytes = largestScratch(opts, shape, c);
    if (bytes < bestBytes) [best, bestBytes] = [c, bytes];
  }
  return best;
}

async function build(
  gpu: Gpu,
  opts: GemmOptions,
  shape: GemmShape,
  config: GemmConfig,
): Promise<GemmPlan> {
  const { m, n, k, batch, transA, transB } = shape;
  const { la, lb, nBlocks, blocks, k4, splits, kps, direct, mp, np } = geometry(
    opts,
    shape,
    config,
  );

  const shareA = config.kernel === "lanes" && config.subgroup !== undefined;
  const main = config.kernel !== "tiled"
    ? getPipeline(
      gpu,
      shareA ? GEMM_SUBGROUP : GEMM,
      config.kernel === "rb" ? "gemm_rb" : "gemm_lanes",
      {
        WG: config.wg,
        BM: config.bm,
        BN: config.bn,
        EDGE: Number(config.edge ?? false),
        ...(shareA ? { SHARE_A: 1, SG: config.subgroup } : {}),
        A_T: Number(transA),
        B_T: Number(transB),
      },
    )
    : getPipeline(gpu, GEMM, "gemm_tiled", {
      TM: config.tm,
      TN: config.tn,
      TK: config.tk,
      TR: config.tr,
      TC: config.tc,
      A_T: Number(transA),
      B_T: Number(transB),
    });
  const pad = la.pad || lb.pad ? getPipeline(gpu, GEMM, "pad_rows", { WG: ELEMENT_WG }) : null;
  // Four columns per invocation where C's rows and batches start on vec4 boundaries.
  const epilogueVec4 = n % 4 === 0 && (batch === 1 || shape.strideC % 4 === 0);
  const epilogue = direct ? null : getPipeline(
    gpu,
    GEMM,
    epilogueVec4 ? "gemm_epilogue_vec4" : "gemm_epilogue",
    { WG: ELEMENT_WG },
  );
  let scratchBytes = 0;
  const buildSteps = (
    [mainPipe, padPipe, epiPipe]: [Pipeline, Pipeline | null, Pipeline | null],
    owner: StepBuild,
  ) => {
    const own = (t: Tensor) => {
      scratchBytes += t.byteLength;
      return owner.own(t);
    };
    const steps: Dispatch[] = [];
    const padded = (src: Tensor, l: ReturnType<typeof layout>, stride: number, name: string) => {
      if (!l.pad) return src;
      const dst = Tensor.empty(gpu, [l.copies, l.rows, l.ld], "f32", `gemm padded ${name}`);
      own(dst);
      const total = dst.size;
      const { workgroups, row } = grid1d(gpu, total, ELEMENT_WG);
      steps.push(
        new Dispatch(gpu, padPipe as Pipeline, { src, dst }, {
          rows: l.rows,
          len: l.len,
          ldp: l.ld,
          ss: l.copies === 1 ? 0 : stride,
          total,
          row,
        }, workgroups),
      );
      return dst;
    };
    const a = padded(opts.a, la, shape.strideA, "A");
    const b = padded(opts.b, lb, shape.strideB, "B");
    const out = direct
      ? opts.c
      : Tensor.empty(gpu, [batch * splits, mp, np], "f32", "gemm workspace");
    if (!direct) own(out);
    const total = batch * splits * blocks;
    const threads = gemmThreads(config);
    // Blocks per workgroup: one per invocation (rb), per subgroup (lanes with share-a) or one.
    const perGroup = config.kernel === "rb"
      ? threads
      : config.kernel === "lanes" && config.subgroup
      ? threads / config.subgroup
      : 1;
    const grid = grid1d(gpu, Math.ceil(total / perGroup) * threads, threads);
    steps.push(
      new Dispatch(gpu, mainPipe, { a, b, c: out }, {
        m,
        n,
        k,
        k4,
        kps,
        splits,
        lda4: la.ld / 4,
        ldb4: lb.ld / 4,
        ldc4: direct ? n / 4 : np / 4,
        sa4: la.stride / 4,
        sb4: lb.stride / 4,
        sc4: direct ? shape.strideC / 4 : (mp * np) / 4,
        n_blocks: nBlocks,
        blocks,
        total,
        row: grid.row,
        alpha: direct ? shape.alpha : 1,
      }, grid.workgroups),
    );
    if (!direct) {
      const count = batch * m * n / (epilogueVec4 ? 4 : 1);
      const { workgroups, row } = grid1d(gpu, count, ELEMENT_WG);
      const bias = opts.bias ?? out;
      const bound: Record<string, Tensor> = epilogueVec4
        ? { t4: out, bias4: bias, out4: opts.c }
        : { t: out, bias, out: opts.c };
      steps.push(
        new Dispatch(gpu, epiPipe as Pipeline, bound, {
          m,
          n,
          ldt: np,
          st: mp * np,
          splits,
          sc: shape.strideC,
          total: count,
          row,
          alpha: shape.alpha,
          beta: shape.beta,
          use_bias: opts.bias ? 1 : 0,
        }, workgroups),
      );
    }
    return steps;
  };
  const steps = await prepareSteps(gpu, "gemm", {
    pipelines: () => [main, pad, epilogue],
    steps: buildSteps,
  });
  const info: GemmPlanInfo = {
    ...shape,
    config,
    splits,
    direct,
    padA: la.pad,
    padB: lb.pad,
    scratchBytes,
    dispatches: steps.items.length,
  };
  return new GemmPlan(info, steps);
}

/**
 * Records `C = alpha * op(A) op(B) + beta * C (+ bias)` once into the shared encoder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { defaultGemmConfig, gemm } from "./gemm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const a = Tensor.from(gpu, [1, 2], [1, 2]);
 * const b = Tensor.from(gpu, [3, 4], [2, 1]);
 * const c = Tensor.from(gpu, [1], [1, 1]);
 * await gemm(gpu, { a, b, c, alpha: 0.5, beta: 1, config: defaultGemmConfig(gpu) });
 * gpu.submit();
 * assert.deepEqual(Array.from(await c.read()), [6.5]); // 0.5 * 11 + 1
 * gpu.destroy();
 * ```
 */
export async function gemm(gpu: Gpu, opts: GemmOptions): Promise<void> {
  recordOnce(await prepareGemm(gpu, opts));
}

/**
 * Allocates C and records `C = op(A) op(B)`; 3-D operands give a batched `(batch, M, N)` C.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { defaultGemmConfig, matmul } from "./gemm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const a = Tensor.from(gpu, [1, 2, 3, 4], [2, 2]);
 * const b = Tensor.from(gpu, [1, 1, 0, 1], [2, 2]);
 * const c = await matmul(gpu, a, b, { transB: true, config: defaultGemmConfig(gpu) });
 * assert.deepEqual(c.shape, [2, 2]);
 * assert.deepEqual(Array.from(await c.read()), [3, 2, 7, 4]);
 * gpu.destroy();
 * ```
 */
export async function matmul(
  gpu: Gpu,
  a: Tensor,
  b: Tensor,
  options: { transA?: boolean; transB?: boolean; config?: GemmConfig } = {},
): Promise<Tensor> {
  for (const [name, t] of [["A", a], ["B", b]] as const) {
    if (t.shape.length !== 2 && t.shape.length !== 3) {
      fail(`matmul needs 2-D or 3-D tensors but ${name} is ${formatShape(t.shape)}`);
    }
  }
  const probe = { a, b, transA: options.transA, transB: options.transB };
  // Check everything before allocating C, so bad input leaves nothing behind.
  const { m, n, batch } = resolve(probe, false);
  const shapeC = a.shape.length === 3 || b.shape.length === 3 ? [batch, m, n] : [m, n];
  const c = Tensor.empty(gpu, shapeC, "f32", "matmul");
  try {
    await gemm(gpu, { ...probe, c, config: options.config });
  } catch (error) {
    c.destroy();
    throw error;
  }
  return c;
}

/**
 * Runs `config` on an odd-shaped problem that exercises padding, both transposes, alpha, beta
 * and bias, and throws when the result differs from the CPU reference.
 *
 * @example
 * ```ts
 * import { requestGpu } from "../gpu/mod.ts";
 * import { checkGemmConfig } from "./gemm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * await checkGemmConfig(gpu, { kernel: "rb", bm: 8, bn: 8, wg: 64 }); // throws if wrong
 * gpu.destroy();
 * ```
 */
export async function checkGemmConfig(gpu: Gpu, config: GemmConfig): Promise<void> {
  const [m, n, k] = [37, 29, 19];
  const data = [tuneData(k * m, 1), tuneData(n * k, 2), tuneData(m * n, 3), tuneData(n, 4)];
  const [a, b, c, bias] = data.map((d, i) =>
    Tensor.from(gpu, d, [[k, m], [n, k], [m, n], [n]][i], "f32", "gemm check")
  );
  try {
    const opts = { transA: true, transB: true, alpha: 0.5, beta: -1 };
    await gemm(gpu, { a, b, c, bias, ...opts, config });
    const got = await c.read();
    const want = referenceGemm({
      a: data[0],
      b: data[1],
      c: data[2],
      bias: data[3],
      m,
      n,
      k,
      ...opts,
    });
    for (let i = 0; i < want.length; i++) {
      if (!(Math.abs(got[i] - want[i]) <= 1e-4 * Math.max(1, Math.abs(want[i])))) {
        throw new Error(
          `${formatGemmConfig(config)} computes ${got[i]} instead of ${want[i]} at ${i}`,
        );
      }
    }
  } finally {
    for (const t of [a, b, c, bias]) t.destroy();
    gpu.submit();
  }
}

/**
 * The (M, N, K) problems {@link timeGemmConfig} times: a square one and a tall, thin one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { gemmTuneProblems } from "./gemm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * assert.deepEqual(gemmTuneProblems(gpu)[0], gpu.isFallback ? [512, 512, 512] : [1024, 1024, 1024]);
 * gpu.destroy();
 * ```
 */
export function gemmTuneProblems(gpu: Gpu): [number, number, number][] {
  return gpu.isFallback
    ? [[512, 512, 512], [6272, 32, 144]]
    : [[1024, 1024, 1024], [25088, 64, 576]];
}

/**
 * Times `config` on a square problem and a tall, thin one like the backbone's convolutions;
 * returns the geometric mean of ms per GEMM (submits and waits).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { defaultGemmConfig, timeGemmConfig } from "./gemm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const ms = await timeGemmConfig(gpu, defaultGemmConfig(gpu));
 * assert.ok(Number.isFinite(ms) && ms > 0); // e.g. 11.3 ms per GEMM on lavapipe
 * gpu.destroy();
 * ```
 */
export async function timeGemmConfig(gpu: Gpu, config: GemmConfig): Promise<number> {
  const problems = gemmTuneProblems(gpu);
  let logSum = 0;
  for (const [index, [m, n, k]] of problems.entries()) {
    const a = Tensor.from(gpu, tuneData(m * k, 5 + index), [m, k], "f32", "gemm tune");
    const b = Tensor.from(gpu, tuneData(k * n, 7 + index), [k, n], "f32", "gemm tune");
    const c = Tensor.empty(gpu, [m, n], "f32", "gemm tune");
    const plan = await prepareGemm(gpu, { a, b, c, config });
    try {
      logSum += Math.log(await timeRecorded(gpu, () => plan.record(), 2 * m * n * k));
    } finally {
      plan.destroy();
      for (const t of [a, b, c]) t.destroy();
      gpu.submit();
    }
  }
  return Math.exp(logSum / problems.length);
}
