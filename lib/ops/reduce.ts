/**
 * Reductions: row sums, column sums (bias gradients), per-channel sums over (N, C, H, W),
 * argmax per row and the sum of a whole tensor; plus the launch-shape choice that the row-wise
 * kernels (these and softmax) share.
 *
 * Each op has a `prepare*` form returning a reusable {@link Recordable} and a one-shot form that
 * records it into the shared encoder. Outputs are overwritten, or added to with
 * `accumulate: true` (gradient accumulation); `alpha` scales the sum either way.
 *
 * @module
 */

import source from "../../kernels/reduce.wgsl" with { type: "text" };
import subgroupSource from "../../kernels/reduce_subgroup.wgsl" with { type: "text" };
import type { Gpu } from "../gpu/device.ts";
import {
  Dispatch,
  type EntryOf,
  getPipeline,
  grid1d,
  type Recordable,
  recordOnce,
  spliceKernel,
} from "../gpu/kernel.ts";
import { formatShape, Tensor } from "../gpu/tensor.ts";
import { checkDType, checkSize } from "./_check.ts";
import { prepareDispatch, prepareSteps } from "./_prepare.ts";
import { rowSumRef } from "./_reference_softmax.ts";
import { timeRecorded, tuned, tuneData, type TuneResult } from "./tune.ts";
import { family, REDUCE_ENTRIES } from "./_entries.ts";

const REDUCE = family("kernels/reduce.wgsl", source, REDUCE_ENTRIES);
/** reduce.wgsl with its row reductions swapped for the subgroup ones (see both files). */
const REDUCE_SUBGROUP = spliceKernel(REDUCE, "row reductions", {
  file: "kernels/reduce_subgroup.wgsl",
  source: subgroupSource,
});

/**
 * How a row-wise kernel is launched: `threadsPerRow` invocations cooperate on one row.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RowStrategy } from "./reduce.ts";
 * // 16 rows per workgroup of 64, four invocations per row.
 * const strategy: RowStrategy = { workgroupSize: 64, threadsPerRow: 4 };
 * assert.equal(strategy.workgroupSize / strategy.threadsPerRow, 16);
 * ```
 */
export interface RowStrategy {
  /** Invocations per workgroup (a power of two, at most 256). */
  workgroupSize: number;
  /** Invocations per row (a power of two dividing `workgroupSize`). 1 = one row per invocation. */
  threadsPerRow: number;
  /**
   * Reduce a row with subgroup operations instead of workgroup memory (needs the `subgroups`
   * feature and `threadsPerRow` at most the adapter's smallest subgroup).
   */
  subgroups?: boolean;
  /**
   * Softmax family only: find the row max and the sum of exponentials in one read of the row
   * (online softmax) instead of two; other families ignore it.
   */
  online?: boolean;
}

/**
 * Options shared by the summing ops.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { colSum, type SumOptions } from "./reduce.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const dy = Tensor.from(gpu, [1, 2, 3, 4], [2, 2]);
 * const dbias = Tensor.from(gpu, [100, 100]);
 * const options: SumOptions = { alpha: 0.5, accumulate: true };
 * await colSum(gpu, dy, dbias, options);
 * assert.deepEqual(Array.from(await dbias.read()), [102, 103]);
 * gpu.destroy();
 * ```
 */
export interface SumOptions {
  /** Scale applied to the sum (default 1). */
  alpha?: number;
  /** Add into the output instead of overwriting it (default false). */
  accumulate?: boolean;
}

/**
 * Options of the row-wise ops: a forced launch shape, for benchmarks and tests.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type RowOptions, rowSum } from "./reduce.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2, 3, 4, 5, 6], [2, 3]);
 * const out = Tensor.empty(gpu, [2]);
 * const options: RowOptions = { strategy: { threadsPerRow: 2 } };
 * await rowSum(gpu, x, out, options);
 * assert.deepEqual(Array.from(await out.read()), [6, 15]);
 * gpu.destroy();
 * ```
 */
export interface RowOptions {
  /** Forced launch shape; missing fields come from {@link rowStrategy}. */
  strategy?: Partial<RowStrategy>;
}

function nextPow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}

/**
 * How row-wise kernels (row sums, argmax, softmax) pick a launch shape for a row length: a
 * tuned variant. `colsPerThread` > 0 gives each row `cols / colsPerThread` threads (a power of
 * two, up to `workgroupSize`) that reduce in workgroup memory; 0 is one row per invocation
 * unless there are too few rows to fill the cores (the rule that suits lavapipe).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { type RowRule, rowStrategy } from "./reduce.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const rule: RowRule = { workgroupSize: 256, colsPerThread: 32 };
 * assert.deepEqual(rowStrategy(gpu, 4096, 1000, rule), { workgroupSize: 256, threadsPerRow: 32 });
 * gpu.destroy();
 * ```
 */
export interface RowRule {
  /** Invocations per workgroup (a power of two, at most 256). */
  readonly workgroupSize: number;
  /** Values per thread of a row; 0 for one row per invocation. */
  readonly colsPerThread: number;
  /** Reduce rows with subgroup operations, threads per row capped at the subgroup size. */
  readonly subgroups?: boolean;
  /** Softmax family only: max and sum in one read of the row (see {@link RowStrategy}). */
  readonly online?: boolean;
}

/**
 * Row rules timed on CPU (fallback) adapters, default first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FALLBACK_ROW_RULES } from "./reduce.ts";
 * assert.deepEqual(FALLBACK_ROW_RULES[0], { workgroupSize: 64, colsPerThread: 0 });
 * ```
 */
export const FALLBACK_ROW_RULES: readonly RowRule[] = [
  { workgroupSize: 64, colsPerThread: 0 },
  { workgroupSize: 64, colsPerThread: 256 },
  { workgroupSize: 256, colsPerThread: 64 },
];

/**
 * Row rules timed on real GPUs, default first: a row gets one thread per few values so long
 * rows are read coalesced and reduced in workgroup memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GPU_ROW_RULES } from "./reduce.ts";
 * assert.deepEqual(GPU_ROW_RULES[0], { workgroupSize: 256, colsPerThread: 32 });
 * ```
 */
export const GPU_ROW_RULES: readonly RowRule[] = [
  { workgroupSize: 256, colsPerThread: 32 },
  { workgroupSize: 256, colsPerThread: 8 },
  { workgroupSize: 256, colsPerThread: 128 },
  { workgroupSize: 64, colsPerThread: 16 },
  { workgroupSize: 64, colsPerThread: 0 },
];

/**
 * The row rules that suit this adapter; the first is the default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { FALLBACK_ROW_RULES, rowRuleCandidates } from "./reduce.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * assert.equal(rowRuleCandidates(gpu)[0] === FALLBACK_ROW_RULES[0], gpu.isFallback);
 * // Subgroup reductions are timed too where the device has them.
 * assert.equal(rowRuleCandidates(gpu).some((r) => r.subgroups) === gpu.hasSubgroups, true);
 * gpu.destroy();
 * ```
 */
export function rowRuleCandidates(gpu: Gpu): readonly RowRule[] {
  const rules = gpu.isFallback ? FALLBACK_ROW_RULES : GPU_ROW_RULES;
  return gpu.hasSubgroups ? [...rules, ...SUBGROUP_ROW_RULES] : rules;
}

/**
 * Row rules with subgroup reductions, timed where the device has the `subgroups` feature.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRowRule, SUBGROUP_ROW_RULES } from "./reduce.ts";
 * assert.equal(formatRowRule(SUBGROUP_ROW_RULES[0]), "wg64 256/thread subgroups");
 * ```
 */
export const SUBGROUP_ROW_RULES: readonly RowRule[] = [
  { workgroupSize: 64, colsPerThread: 256, subgroups: true },
  { workgroupSize: 256, colsPerThread: 32, subgroups: true },
];

/**
 * A short name for tables: `wg256 32/thread`, `wg64 row/thread`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRowRule } from "./reduce.ts";
 * assert.equal(formatRowRule({ workgroupSize: 64, colsPerThread: 0 }), "wg64 row/thread");
 * ```
 */
export function formatRowRule(rule: RowRule): string {
  const per = rule.colsPerThread ? `${rule.colsPerThread}/thread` : "row/thread";
  return `wg${rule.workgroupSize} ${per}${rule.subgroups ? " subgroups" : ""}${
    rule.online ? " online" : ""
  }`;
}

/**
 * Storage keys of the tuned row rule per kernel family.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ROW_RULE_TUNE_KEYS } from "./reduce.ts";
 * assert.equal(ROW_RULE_TUNE_KEYS.softmax, "rows.softmax.v2");
 * ```
 */
export const ROW_RULE_TUNE_KEYS = { reduce: "rows.reduce.v2", softmax: "rows.softmax.v2" } as const;

/**
 * The tuned row rule of a kernel family: each candidate rule is timed round-robin by `time`
 * (which also checks its results), the median wins. Without tuning, the adapter's default.
 *
 * @param gpu The device.
 * @param family Which family's rule (`reduce`: row sums and argmax; `softmax`).
 * @param time Runs the family's kernel under one rule, checks it, returns ms.
 * @param options `force` retimes even when a result is stored or recorded.
 * @returns The chosen rule and how.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { reduceRowRule } from "./reduce.ts";
 * import { presetTuning } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * presetTuning(gpu, "rows.reduce.v2", { workgroupSize: 64, colsPerThread: 0 });
 * assert.equal((await reduceRowRule(gpu)).source, "preset");
 * gpu.destroy();
 * ```
 */
export function tunedRowRule(
  gpu: Gpu,
  family: keyof typeof ROW_RULE_TUNE_KEYS,
  time: (rule: RowRule) => Promise<number>,
  options: { force?: boolean; candidates?: readonly RowRule[] } = {},
): Promise<TuneResult<RowRule>> {
  const candidates = options.candidates ?? rowRuleCandidates(gpu);
  return tuned(gpu, {
    key: ROW_RULE_TUNE_KEYS[family],
    fallback: candidates[0],
    candidates,
    measure: time,
    force: options.force,
  });
}

/**
 * The problems a row rule is timed on: many long rows and a few very long ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { rowTuneProblems } from "./reduce.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * assert.deepEqual(rowTuneProblems(gpu)[0], gpu.isFallback ? [512, 1000] : [4096, 1000]);
 * gpu.destroy();
 * ```
 */
export function rowTuneProblems(gpu: Gpu): [number, number][] {
  return gpu.isFallback ? [[512, 1000], [16, 4096]] : [[4096, 1000], [64, 16384]];
}

/**
 * Times a row-wise kernel family under `rule` on {@link rowTuneProblems}, checking the first
 * result of each problem with `check`; the geometric mean of ms per call.
 *
 * @param gpu The device.
 * @param rule The rule under test.
 * @param prepare Prepares the kernel on (rows, cols) input x with a forced strategy.
 * @param check Throws when the output for input data `x` is wrong.
 * @returns ms per call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { reduceRowRule, timeRowRule } from "./reduce.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * assert.equal(typeof timeRowRule, "function");
 * assert.equal(typeof reduceRowRule, "function");
 * gpu.destroy();
 * ```
 */
export async function timeRowRule(
  gpu: Gpu,
  rule: RowRule,
  prepare: (x: Tensor, strategy: RowStrategy) => Promise<{ work: Recordable; out: Tensor }>,
  check: (out: Float32Array | Int32Array, x: Float32Array, rows: number, cols: number) => void,
): Promise<number> {
  let logSum = 0;
  const problems = rowTuneProblems(gpu);
  for (const [index, [rows, cols]] of problems.entries()) {
    const data = tuneData(rows * cols, 31 + index);
    const x = Tensor.from(gpu, data, [rows, cols], "f32", "row tune");
    const { work, out } = await prepare(x, rowStrategy(gpu, rows, cols, rule));
    try {
      work.record();
      check(await out.read() as Float32Array | Int32Array, data, rows, cols);
      logSum += Math.log(await timeRecorded(gpu, () => work.record(), rows * cols * 4));
    } finally {
      work.destroy();
      x.destroy();
      out.destroy();
      gpu.submit();
    }
  }
  return Math.exp(logSum / problems.length);
}

/**
 * The tuned row rule of row sums and argmax (timed on row sums).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { formatRowRule, reduceRowRule } from "./reduce.ts";
 * import { presetTuning } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * presetTuning(gpu, "rows.reduce.v2", { workgroupSize: 64, colsPerThread: 0 });
 * assert.equal(formatRowRule((await reduceRowRule(gpu)).config), "wg64 row/thread");
 * gpu.destroy();
 * ```
 */
export function reduceRowRule(
  gpu: Gpu,
  options: { force?: boolean } = {},
): Promise<TuneResult<RowRule>> {
  return tunedRowRule(gpu, "reduce", (rule) =>
    timeRowRule(gpu, rule, async (x, strategy) => {
      const { rows } = asMatrix(x);
      const out = Tensor.empty(gpu, [rows], "f32", "row tune");
      return { work: await prepareRowSum(gpu, x, out, { strategy }), out };
    }, (out, x, rows, cols) => {
      const want = rowSumRef(x, rows, cols);
      for (let r = 0; r < rows; r++) {
        if (!(Math.abs(out[r] - want[r]) <= 1e-4 * Math.max(1, Math.abs(want[r])))) {
          throw new Error(`${formatRowRule(rule)} sums row ${r} to ${out[r]}, not ${want[r]}`);
        }
      }
    }), options);
}

/**
 * Picks the launch shape for `rows` rows of `cols` values under a {@link RowRule} (default: the
 * adapter's first candidate). On a CPU adapter (lavapipe) one row per invocation wins:
 * invocations run as SIMD lanes of one thread, so barriers cost a context switch and a row
 * streams through one core's cache; only when there are too few rows to fill the cores do
 * several threads share a row. On a GPU, a row gets about one thread per 32 values (up to a
 * whole workgroup of 256) so long rows are read coalesced and reduced in shared memory.
 *
 * @param gpu The device (software adapters get another default rule).
 * @param rows Number of rows.
 * @param cols Values per row.
 * @param rule The rule (tuned per family; see {@link tunedRowRule}).
 * @returns The launch shape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { rowStrategy } from "./reduce.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const s = rowStrategy(gpu, 4096, 1000); // { workgroupSize: 64, threadsPerRow: 1 } on lavapipe
 * assert.equal(s.threadsPerRow <= s.workgroupSize && s.workgroupSize <= 256, true);
 * if (gpu.isFallback) assert.deepEqual(s, { workgroupSize: 64, threadsPerRow: 1 });
 * gpu.destroy();
 * ```
 */
export function rowStrategy(
  gpu: Gpu,
  rows: number,
  cols: number,
  rule: RowRule = rowRuleCandidates(gpu)[0],
): RowStrategy {
  const shape = launchShape(gpu, rows, cols, rule);
  return rule.online ? { ...shape, online: true } : shape;
}

function launchShape(gpu: Gpu, rows: number, cols: number, rule: RowRule): RowStrategy {
  const wg = rule.workgroupSize;
  if (rule.subgroups) {
    // WebGPU guarantees subgroups of at least 4 lanes where the adapter does not say.
    const lanes = gpu.adapter.subgroupMinSize || 4;
    const wanted = rule.colsPerThread ? nextPow2(cols / rule.colsPerThread) : 1;
    return { workgroupSize: wg, threadsPerRow: Math.min(wg, lanes, wanted), subgroups: true };
  }
  if (rule.colsPerThread === 0) {
    if (rows >= 64 || cols <= 256) {
      // Small batches still get several workgroups, so that every core has one.
      return { workgroupSize: Math.min(wg, Math.max(8, nextPow2(rows / 8))), threadsPerRow: 1 };
    }
    return { workgroupSize: wg, threadsPerRow: Math.min(wg, nextPow2(cols / 256)) };
  }
  return { workgroupSize: wg, threadsPerRow: Math.min(wg, nextPow2(cols / rule.colsPerThread)) };
}

/**
 * The tuned rule of a family, unless `options` forces the whole launch shape (tuning runs
 * kernels with forced shapes, so it never waits on itself).
 */
export async function ruleUnlessForced(
  gpu: Gpu,
  options: RowOptions,
  rule: (gpu: Gpu) => Promise<TuneResult<RowRule>>,
): Promise<RowRule | undefined> {
  const forced = options.strategy;
  if (forced?.workgroupSize !== undefined && forced.threadsPerRow !== undefined) return undefined;
  return (await rule(gpu)).config;
}

/** Resolves a (possibly partial) forced strategy against the default and checks it. */
export function resolveStrategy(
  gpu: Gpu,
  op: string,
  rows: number,
  cols: number,
  forced: Partial<RowStrategy> = {},
  rule?: RowRule,
): RowStrategy {
  const auto = rowStrategy(gpu, rows, cols, rule);
  const workgroupSize = forced.workgroupSize ??
    Math.max(auto.workgroupSize, forced.threadsPerRow ?? 1);
  const threadsPerRow = forced.threadsPerRow ?? Math.min(auto.threadsPerRow, workgroupSize);
  const pow2 = (n: number) => Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
  if (!pow2(workgroupSize) || workgroupSize > 256) {
    throw new RangeError(
      `Cannot run ${op}: workgroup size ${workgroupSize} must be a power of two up to 256`,
    );
  }
  if (!pow2(threadsPerRow) || threadsPerRow > workgroupSize) {
    throw new RangeError(
      `Cannot run ${op}: ${threadsPerRow} threads per row must be a power of two up to the ` +
        `workgroup size ${workgroupSize}`,
    );
  }
  const online = (forced.online ?? auto.online) ? { online: true } : {};
  const subgroups = forced.subgroups ?? (forced.threadsPerRow === undefined && auto.subgroups);
  if (subgroups) {
    const lanes = gpu.adapter.subgroupMinSize || 4;
    if (!gpu.hasSubgroups) {
      throw new RangeError(
        `Cannot run ${op} with subgroups: the device lacks the "subgroups" feature; leave ` +
          `subgroups unset`,
      );
    }
    if (threadsPerRow > lanes) {
      throw new RangeError(
        `Cannot run ${op} with subgroups: ${threadsPerRow} threads per row exceed the ` +
          `adapter's smallest subgroup of ${lanes}`,
      );
    }
    return { workgroupSize, threadsPerRow, subgroups: true, ...online };
  }
  return { workgroupSize, threadsPerRow, ...online };
}

/** Views a tensor as (rows, cols): the last dimension is the row; a scalar is (1, 1). */
export function asMatrix(t: Tensor): { rows: number; cols: number } {
  if (t.shape.length === 0) return { rows: 1, cols: 1 };
  const cols = t.shape[t.shape.length - 1];
  let rows = 1;
  for (let i = 0; i < t.shape.length - 1; i++) rows *= t.shape[i];
  return { rows, cols };
}

function sumUniforms(rows: number, cols: number, inner: number, options: SumOptions) {
  const alpha = options.alpha ?? 1;
  if (!Number.isFinite(alpha)) {
    throw new RangeError(`Cannot run a reduction: alpha must be finite, got ${alpha}`);
  }
  return { rows, cols, inner, alpha, accumulate: options.accumulate ? 1 : 0 };
}

async function prepareRowwise(
  gpu: Gpu,
  entry: EntryOf<typeof REDUCE_ENTRIES>,
  x: Tensor,
  out: Tensor,
  outName: string,
  uniforms: Record<string, number>,
  rows: number,
  strategy: RowStrategy,
): Promise<Dispatch> {
  const src = strategy.subgroups ? REDUCE_SUBGROUP : REDUCE;
  const constants = { WG: strategy.workgroupSize, TPR: strategy.threadsPerRow };
  const { workgroups } = grid1d(gpu, rows, strategy.workgroupSize / strategy.threadsPerRow);
  return await prepareDispatch(
    gpu,
    src,
    entry,
    constants,
    { x, [outName]: out },
    uniforms,
    workgroups,
  );
}

/**
 * Prepares `out[r] = alpha * sum_c x[r, c]` (or `+=` with `accumulate`). `x` is (rows, cols),
 * its last dimension being the row; `out` has `rows` elements.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareRowSum } from "./reduce.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2, 3, 4, 5, 6], [2, 3]);
 * const out = Tensor.empty(gpu, [2]);
 * const sums = await prepareRowSum(gpu, x, out);
 * sums.record(); // record again every step; nothing new is allocated
 * assert.deepEqual(Array.from(await out.read()), [6, 15]);
 * sums.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareRowSum(
  gpu: Gpu,
  x: Tensor,
  out: Tensor,
  options: SumOptions & RowOptions = {},
): Promise<Dispatch> {
  const { rows, cols } = asMatrix(x);
  checkDType("row_sum", "x", x, "f32");
  checkDType("row_sum", "out", out, "f32");
  checkSize("row_sum", "out", out, rows, `x ${formatShape(x.shape)}`);
  resolveStrategy(gpu, "row_sum", rows, cols, options.strategy);
  const uniforms = sumUniforms(rows, cols, 0, options);
  const strategy = resolveStrategy(
    gpu,
    "row_sum",
    rows,
    cols,
    options.strategy,
    await ruleUnlessForced(gpu, options, reduceRowRule),
  );
  return prepareRowwise(gpu, "row_sum", x, out, "out", uniforms, rows, strategy);
}

/**
 * Records row sums (see {@link prepareRowSum}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { rowSum } from "./reduce.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2, 3, 4, 5, 6], [2, 3]);
 * const out = Tensor.empty(gpu, [2]);
 * await rowSum(gpu, x, out);
 * assert.deepEqual(Array.from(await out.read()), [6, 15]);
 * gpu.destroy();
 * ```
 */
export async function rowSum(
  gpu: Gpu,
  x: Tensor,
  out: Tensor,
  options: SumOptions & RowOptions = {},
): Promise<void> {
  recordOnce(await prepareRowSum(gpu, x, out, options));
}

/**
 * Prepares `out[r] = first argmax of row r` of (rows, cols) f32 `x` into (rows) i32 `out`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareArgmax } from "./reduce.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const logits = Tensor.from(gpu, [0.1, 0.7, 0.2, 0.9, 0.05, 0.05], [2, 3]);
 * const predicted = Tensor.empty(gpu, [2], "i32");
 * const work = await prepareArgmax(gpu, logits, predicted);
 * work.record();
 * assert.deepEqual(Array.from(await predicted.read()), [1, 0]);
 * work.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareArgmax(
  gpu: Gpu,
  x: Tensor,
  out: Tensor,
  options: RowOptions = {},
): Promise<Dispatch> {
  const { rows, cols } = asMatrix(x);
  checkDType("argmax", "x", x, "f32");
  checkDType("argmax", "out", out, "i32");
  checkSize("argmax", "out", out, rows, `x ${formatShape(x.shape)}`);
  if (cols === 0) {
    throw new RangeError(`Cannot run argmax: x ${formatShape(x.shape)} has empty rows`);
  }
  resolveStrategy(gpu, "argmax", rows, cols, options.strategy);
  const uniforms = { rows, cols, inner: 0, alpha: 1, accumulate: 0 };
  const strategy = resolveStrategy(
    gpu,
    "argmax",
    rows,
    cols,
    options.strategy,
    await ruleUnlessForced(gpu, options, reduceRowRule),
  );
  return prepareRowwise(gpu, "argmax_rows", x, out, "index", uniforms, rows, strategy);
}

/**
 * Records the argmax of each row (ties go to the first column).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { argmax } from "./reduce.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 5, 5, 9, 0, 2], [2, 3]);
 * const out = Tensor.empty(gpu, [2], "i32");
 * await argmax(gpu, x, out);
 * assert.deepEqual(Array.from(await out.read()), [1, 0]);
 * gpu.destroy();
 * ```
 */
export async function argmax(
  gpu: Gpu,
  x: Tensor,
  out: Tensor,
  options: RowOptions = {},
): Promise<void> {
  recordOnce(await prepareArgmax(gpu, x, out, options));
}

/** Columns per workgroup for col_sum: enough to read rows coalesced, never more than needed. */
function columnTile(cols: number): number {
  return Math.min(64, nextPow2(cols));
}

/**
 * Prepares `out[c] = alpha * sum_r x[r, c]` (or `+=` with `accumulate`): the bias gradient
 * from a (rows, cols) output gradient. `out` has `cols` elements.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareColSum } from "./reduce.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const dy = Tensor.from(gpu, [1, 2, 3, 4, 5, 6], [2, 3]);
 * const dbias = Tensor.empty(gpu, [3]);
 * const work = await prepareColSum(gpu, dy, dbias);
 * work.record();
 * assert.deepEqual(Array.from(await dbias.read()), [5, 7, 9]);
 * work.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareColSum(
  gpu: Gpu,
  x: Tensor,
  out: Tensor,
  options: SumOptions = {},
): Promise<Dispatch> {
  const { rows, cols } = asMatrix(x);
  checkDType("col_sum", "x", x, "f32");
  checkDType("col_sum", "out", out, "f32");
  checkSize("col_sum", "out", out, cols, `x ${formatShape(x.shape)}`);
  const uniforms = sumUniforms(rows, cols, 0, options);
  const tx = columnTile(cols);
  const { workgroups } = grid1d(gpu, cols, tx);
  return await prepareDispatch(
    gpu,
    REDUCE,
    "col_sum",
    { WG: 256, TX: tx },
    { x, out },
    uniforms,
    workgroups,
  );
}

/**
 * Records column sums (see {@link prepareColSum}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { colSum } from "./reduce.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const dy = Tensor.from(gpu, [1, 2, 3, 4, 5, 6], [2, 3]);
 * const dbias = Tensor.zeros(gpu, [3]);
 * await colSum(gpu, dy, dbias, { accumulate: true });
 * assert.deepEqual(Array.from(await dbias.read()), [5, 7, 9]);
 * gpu.destroy();
 * ```
 */
export async function colSum(
  gpu: Gpu,
  x: Tensor,
  out: Tensor,
  options: SumOptions = {},
): Promise<void> {
  recordOnce(await prepareColSum(gpu, x, out, options));
}

/**
 * Prepares `out[c] = alpha * sum_{n, h, w} x[n, c, h, w]` (or `+=`): per-channel sums of an
 * (N, C, ...spatial) tensor, e.g. a convolution's bias gradient. `out` has C elements.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareChannelSum } from "./reduce.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * // (N=2, C=2, H*W=2)
 * const x = Tensor.from(gpu, [1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]);
 * const out = Tensor.empty(gpu, [2]);
 * const work = await prepareChannelSum(gpu, x, out);
 * work.record();
 * assert.deepEqual(Array.from(await out.read()), [14, 22]);
 * work.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareChannelSum(
  gpu: Gpu,
  x: Tensor,
  out: Tensor,
  options: SumOptions = {},
): Promise<Dispatch> {
  if (x.shape.length < 2) {
    throw new RangeError(
      `Cannot run channel_sum: x ${formatShape(x.shape)} must be (N, C, ...spatial)`,
    );
  }
  checkDType("channel_sum", "x", x, "f32");
  checkDType("channel_sum", "out", out, "f32");
  const [n, channels] = x.shape;
  const spatial = x.shape.slice(2).reduce((a, b) => a * b, 1);
  checkSize("channel_sum", "out", out, channels, `x ${formatShape(x.shape)}`);
  const uniforms = sumUniforms(n, channels, spatial, options);
  const { workgroups } = grid1d(gpu, channels, 1);
  return await prepareDispatch(
    gpu,
    REDUCE,
    "channel_sum",
    { WG: 256 },
    { x, out },
    uniforms,
    workgroups,
  );
}

/**
 * Records per-channel sums (see {@link prepareChannelSum}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { channelSum } from "./reduce.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2, 3, 4], [1, 2, 2]);
 * const out = Tensor.empty(gpu, [2]);
 * await channelSum(gpu, x, out);
 * assert.deepEqual(Array.from(await out.read()), [3, 7]);
 * gpu.destroy();
 * ```
 */
export async function channelSum(
  gpu: Gpu,
  x: Tensor,
  out: Tensor,
  options: SumOptions = {},
): Promise<void> {
  recordOnce(await prepareChannelSum(gpu, x, out, options));
}

/** Up to this many elements one workgroup sums a tensor alone; beyond, partial sums first. */
const SINGLE_PASS = 16384;
/** Elements per partial sum: enough work per workgroup to hide its launch. */
const PARTIAL_CHUNK = 8192;

/**
 * Prepares `out[0] = alpha * sum(x)` (or `+=`) for an f32 tensor of any shape; `out` has one
 * element. Large tensors take two dispatches (partial sums, then their sum) and a scratch
 * buffer owned by the returned recordable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareSumAll } from "./reduce.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, new Float32Array(20000).fill(0.5)); // two passes
 * const mean = Tensor.empty(gpu, [1]);
 * const work = await prepareSumAll(gpu, x, mean, { alpha: 1 / x.size });
 * work.record();
 * assert.deepEqual(Array.from(await mean.read()), [0.5]);
 * work.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareSumAll(
  gpu: Gpu,
  x: Tensor,
  out: Tensor,
  options: SumOptions = {},
): Promise<Recordable> {
  checkDType("sum", "x", x, "f32");
  checkDType("sum", "out", out, "f32");
  checkSize("sum", "out", out, 1, "a sum");
  const wholeRow = { workgroupSize: 256, threadsPerRow: 256 };
  if (x.size <= SINGLE_PASS) {
    const uniforms = sumUniforms(1, x.size, 0, options);
    return prepareRowwise(gpu, "row_sum", x, out, "out", uniforms, 1, wholeRow);
  }
  const partials = Math.min(
    Math.ceil(x.size / PARTIAL_CHUNK),
    gpu.limits.maxComputeWorkgroupsPerDimension,
  );
  const chunk = Math.ceil(x.size / partials);
  const scratch = Tensor.empty(gpu, [partials], "f32", "partial sums");
  return await prepareSteps(gpu, "sum", {
    scratch: [scratch],
    pipelines: () => [
      getPipeline(gpu, REDUCE, "sum_partial", { WG: 256 }),
      prepareRowwise(
        gpu,
        "row_sum",
        scratch,
        out,
        "out",
        sumUniforms(1, partials, 0, options),
        1,
        wholeRow,
      ),
    ],
    steps: ([pipeline, second]) => [
      new Dispatch(
        gpu,
        pipeline,
        { x, out: scratch },
        { rows: x.size, cols: chunk, inner: 0, alpha: 1, accumulate: 0 },
        [partials, 1, 1],
      ),
      second,
    ],
  });
}

/**
 * Records the sum of a whole tensor (see {@link prepareSumAll}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { sumAll } from "./reduce.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2, 3, 4]);
 * const out = Tensor.empty(gpu, [1]);
 * await sumAll(gpu, x, out);
 * assert.deepEqual(Array.from(await out.read()), [10]);
 * gpu.destroy();
 * ```
 */
export async function sumAll(
  gpu: Gpu,
  x: Tensor,
  out: Tensor,
  options: SumOptions = {},
): Promise<void> {
  recordOnce(await prepareSumAll(gpu, x, out, options));
}
