/**
 * Softmax, log-softmax and the fused softmax + cross-entropy loss over rows of (rows, cols) f32
 * logits, forward and backward, with an optional per-class logit offset (logit adjustment,
 * balanced softmax) added before the softmax in every op.
 *
 * Each op has a `prepare*` form returning a reusable {@link Recordable} and a one-shot form that
 * records it into the shared encoder. Labels come from the host through {@link labelsTensor} or
 * {@link writeLabels}, which check their range; the kernels also write NaN losses (and NaN
 * gradients) for rows whose label is out of range, so a bad label on the GPU is never silent.
 *
 * @module
 */

import source from "../../kernels/softmax.wgsl" with { type: "text" };
import subgroupSource from "../../kernels/softmax_subgroup.wgsl" with { type: "text" };
import type { Gpu } from "../gpu/device.ts";
import {
  type Constants,
  Dispatch,
  type EntryOf,
  getPipeline,
  grid1d,
  type KernelSource,
  type Recordable,
  recordOnce,
  spliceKernel,
} from "../gpu/kernel.ts";
import { cacheKey } from "../gpu/_cache.ts";
import { formatShape, Tensor } from "../gpu/tensor.ts";
import {
  asMatrix,
  resolveStrategy,
  type RowOptions,
  type RowRule,
  rowRuleCandidates,
  type RowStrategy,
  ruleUnlessForced,
  timeRowRule,
  tunedRowRule,
} from "./reduce.ts";
import { checkDType, checkSize } from "./_check.ts";
import { prepareDispatch, prepareSteps } from "./_prepare.ts";
import { softmaxRef } from "./_reference_softmax.ts";
import type { TuneResult } from "./tune.ts";
import { family, SOFTMAX_ENTRIES } from "./_entries.ts";

type SoftmaxEntry = EntryOf<typeof SOFTMAX_ENTRIES>;
const SOFTMAX = family("kernels/softmax.wgsl", source, SOFTMAX_ENTRIES);
/** softmax.wgsl with its row reductions swapped for the subgroup ones (see both files). */
const SOFTMAX_SUBGROUP = spliceKernel(SOFTMAX, "row reductions", {
  file: "kernels/softmax_subgroup.wgsl",
  source: subgroupSource,
});

/**
 * Options of the softmax ops.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { softmax, type SoftmaxOptions } from "./softmax.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [0, 0], [1, 2]);
 * const options: SoftmaxOptions = { offset: Tensor.from(gpu, [0, Math.log(3)]) };
 * const p = Tensor.empty(gpu, [1, 2]);
 * await softmax(gpu, x, p, options);
 * assert.deepEqual(Array.from(await p.read(), (v) => v.toFixed(2)), ["0.25", "0.75"]);
 * gpu.destroy();
 * ```
 */
export interface SoftmaxOptions extends RowOptions {
  /** (cols) f32 added to every row of logits before the softmax. */
  offset?: Tensor;
}

/**
 * Options of {@link prepareSoftmax} and {@link prepareLogSoftmax}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { softmax, type SoftmaxRowsOptions } from "./softmax.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 1, 1, 1], [1, 4]);
 * const p = Tensor.empty(gpu, [1, 4]);
 * const options: SoftmaxRowsOptions = { vec4: false }; // force the scalar kernel
 * await softmax(gpu, x, p, options);
 * assert.deepEqual(Array.from(await p.read()), [0.25, 0.25, 0.25, 0.25]);
 * gpu.destroy();
 * ```
 */
export interface SoftmaxRowsOptions extends SoftmaxOptions {
  /**
   * Read and write four values per access (default: when cols is a multiple of 4, which it
   * must then be). Only a test or benchmark needs to set it.
   */
  vec4?: boolean;
}

/**
 * Options of {@link prepareCrossEntropyForward}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type CrossEntropyOptions, crossEntropyForward, labelsTensor } from "./softmax.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const logits = Tensor.from(gpu, [2, 0, 0, 2], [2, 2]);
 * const labels = labelsTensor(gpu, [0, 1], 2);
 * const loss = Tensor.empty(gpu, [2]);
 * const meanLoss = Tensor.zeros(gpu, [1]);
 * const correct = Tensor.zeros(gpu, [1], "u32");
 * const options: CrossEntropyOptions = { accumulate: true }; // sum over several batches
 * await crossEntropyForward(gpu, logits, labels, { loss, meanLoss, correct }, options);
 * await crossEntropyForward(gpu, logits, labels, { loss, meanLoss, correct }, options);
 * assert.deepEqual(Array.from(await correct.read()), [4]);
 * gpu.destroy();
 * ```
 */
export interface CrossEntropyOptions extends SoftmaxOptions {
  /** Add the batch's mean loss and correct count into `meanLoss` and `correct` (default false). */
  accumulate?: boolean;
}

/**
 * Options of {@link prepareCrossEntropyBackward}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import {
 *   crossEntropyBackward,
 *   type CrossEntropyBackwardOptions,
 *   labelsTensor,
 * } from "./softmax.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const logits = Tensor.from(gpu, [0, 0], [1, 2]);
 * const labels = labelsTensor(gpu, [1], 2);
 * const dlogits = Tensor.empty(gpu, [1, 2]);
 * const options: CrossEntropyBackwardOptions = { scale: 4 };
 * await crossEntropyBackward(gpu, logits, labels, dlogits, options);
 * assert.deepEqual(Array.from(await dlogits.read()), [2, -2]);
 * gpu.destroy();
 * ```
 */
export interface CrossEntropyBackwardOptions extends SoftmaxOptions {
  /** Loss scale multiplied into the gradient (default 1); change it later with `setScale`. */
  scale?: number;
}

/**
 * Outputs of the cross-entropy forward.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type CrossEntropyOutputs, crossEntropyForward, labelsTensor } from "./softmax.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const logits = Tensor.from(gpu, [0, 0, 0, 0], [2, 2]);
 * const labels = labelsTensor(gpu, [0, 1], 2);
 * const outputs: CrossEntropyOutputs = {
 *   loss: Tensor.empty(gpu, [2]),
 *   meanLoss: Tensor.empty(gpu, [1]),
 *   pred: Tensor.empty(gpu, [2], "i32"),
 * };
 * await crossEntropyForward(gpu, logits, labels, outputs);
 * assert.equal((await outputs.meanLoss.read())[0].toFixed(4), "0.6931"); // ln 2
 * assert.deepEqual(Array.from(await outputs.pred!.read()), [0, 0]); // ties go to the first class
 * gpu.destroy();
 * ```
 */
export interface CrossEntropyOutputs {
  /** (rows) f32: each row's loss; NaN where the label is out of range. */
  loss: Tensor;
  /** (1) f32: the mean of `loss` over the batch. */
  meanLoss: Tensor;
  /** (rows) i32: argmax of each row (the prediction); scratch is allocated when omitted. */
  pred?: Tensor;
  /** (1) u32: rows whose argmax equals the label; scratch is allocated when omitted. */
  correct?: Tensor;
}

const NO_OFFSET = cacheKey<Tensor>("softmax:no-offset");

/** A zero-length stand-in bound as `offset` when there is none (the kernel never reads it). */
function noOffset(gpu: Gpu): Tensor {
  let t = gpu.cache.get(NO_OFFSET);
  if (!t || t.destroyed) {
    t = Tensor.zeros(gpu, [1], "f32", "no offset");
    gpu.cache.set(NO_OFFSET, t);
  }
  return t;
}

interface Checked {
  rows: number;
  cols: number;
  strategy: RowStrategy;
  offset: Tensor;
  constants: Constants;
  /** softmax.wgsl, or its subgroup variant. */
  kernel: KernelSource;
}

function checkLogits(
  gpu: Gpu,
  op: string,
  x: Tensor,
  options: SoftmaxOptions,
  rule?: RowRule,
): Checked {
  const { rows, cols } = asMatrix(x);
  checkDType(op, "logits", x, "f32");
  if (options.offset) {
    checkDType(op, "offset", options.offset, "f32");
    if (options.offset.size !== cols) {
      throw new RangeError(
        `Cannot run ${op}: offset ${formatShape(options.offset.shape)} has ` +
          `${options.offset.size} values but logits ${formatShape(x.shape)} have ${cols} classes`,
      );
    }
  }
  const strategy = resolveStrategy(gpu, op, rows, cols, options.strategy, rule);
  return {
    rows,
    cols,
    strategy,
    offset: options.offset ?? noOffset(gpu),
    kernel: strategy.subgroups ? SOFTMAX_SUBGROUP : SOFTMAX,
    constants: {
      WG: strategy.workgroupSize,
      TPR: strategy.threadsPerRow,
      HAS_OFFSET: options.offset ? 1 : 0,
      ONLINE: strategy.online ? 1 : 0,
    },
  };
}

/**
 * The tuned row rule of softmax, log-softmax and cross-entropy (timed on softmax, each result
 * checked against the CPU reference).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { formatRowRule } from "./reduce.ts";
 * import { softmaxRowRule } from "./softmax.ts";
 * import { presetTuning } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * presetTuning(gpu, "rows.softmax.v2", { workgroupSize: 256, colsPerThread: 32 });
 * assert.equal(formatRowRule((await softmaxRowRule(gpu)).config), "wg256 32/thread");
 * gpu.destroy();
 * ```
 */
export function softmaxRowRule(
  gpu: Gpu,
  options: { force?: boolean } = {},
): Promise<TuneResult<RowRule>> {
  // Each rule is also timed with its one-read (online) max and sum.
  const rules = rowRuleCandidates(gpu);
  const candidates = [...rules, ...rules.map((rule) => ({ ...rule, online: true }))];
  return tunedRowRule(gpu, "softmax", (rule) =>
    timeRowRule(gpu, rule, async (x, strategy) => {
      const out = Tensor.empty(gpu, x.shape, "f32", "row tune");
      return { work: await prepareSoftmax(gpu, x, out, { strategy }), out };
    }, (out, x, rows, cols) => {
      const want = softmaxRef(x, rows, cols);
      for (let i = 0; i < want.length; i++) {
        if (!(Math.abs(out[i] - want[i]) <= 1e-5)) {
          throw new Error(`softmax under this rule gives ${out[i]}, not ${want[i]}, at ${i}`);
        }
      }
    }), { ...options, candidates });
}

function checkLabelTensor(op: string, labels: Tensor, rows: number, x: Tensor): void {
  checkDType(op, "labels", labels, "i32");
  checkSize(op, "labels", labels, rows, `logits ${formatShape(x.shape)}`);
}

function rowGrid(gpu: Gpu, rows: number, s: RowStrategy): [number, number, number] {
  return grid1d(gpu, rows, s.workgroupSize / s.threadsPerRow).workgroups;
}

async function prepareRows(
  gpu: Gpu,
  [entry, entryVec4]: readonly [plain: SoftmaxEntry, vec4: SoftmaxEntry],
  x: Tensor,
  out: Tensor,
  options: SoftmaxRowsOptions,
): Promise<Dispatch> {
  let c = checkLogits(gpu, entry, x, options);
  checkDType(entry, "out", out, "f32");
  checkSize(entry, "out", out, x.size, `logits ${formatShape(x.shape)}`);
  const vec4 = options.vec4 ?? (c.cols > 0 && c.cols % 4 === 0);
  if (vec4 && c.cols % 4 !== 0) {
    throw new RangeError(
      `Cannot run ${entry} with vec4: logits ${formatShape(x.shape)} have ${c.cols} classes, ` +
        `not a multiple of 4`,
    );
  }
  c = checkLogits(gpu, entry, x, options, await ruleUnlessForced(gpu, options, softmaxRowRule));
  return await prepareDispatch(
    gpu,
    c.kernel,
    vec4 ? entryVec4 : entry,
    c.constants,
    vec4 ? { x4: x, offset4: c.offset, out4: out } : { x, offset: c.offset, out },
    { rows: c.rows, cols: c.cols, alpha: 1, accumulate: 0 },
    rowGrid(gpu, c.rows, c.strategy),
  );
}

/**
 * Prepares `out = softmax(x + offset)` along the last dimension of `x`. Overwrites `out` (same
 * size as `x`, which it must not alias).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareSoftmax } from "./softmax.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [0, 0, 1, 1], [2, 2]);
 * const p = Tensor.empty(gpu, [2, 2]);
 * const work = await prepareSoftmax(gpu, x, p);
 * work.record();
 * assert.deepEqual(Array.from(await p.read()), [0.5, 0.5, 0.5, 0.5]);
 * work.destroy();
 * gpu.destroy();
 * ```
 */
export function prepareSoftmax(
  gpu: Gpu,
  x: Tensor,
  out: Tensor,
  options: SoftmaxRowsOptions = {},
): Promise<Dispatch> {
  return prepareRows(gpu, [SOFTMAX_ENTRIES.softmax, SOFTMAX_ENTRIES.softmax_vec4], x, out, options);
}

/**
 * Records a row-wise softmax (see {@link prepareSoftmax}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { softmax } from "./softmax.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [0, 0, 1, 1], [2, 2]);
 * const p = Tensor.empty(gpu, [2, 2]);
 * await softmax(gpu, x, p);
 * assert.deepEqual(Array.from(await p.read()), [0.5, 0.5, 0.5, 0.5]);
 * gpu.destroy();
 * ```
 */
export async function softmax(
  gpu: Gpu,
  x: Tensor,
  out: Tensor,
  options: SoftmaxRowsOptions = {},
): Promise<void> {
  recordOnce(await prepareSoftmax(gpu, x, out, options));
}

/**
 * Prepares `out = log_softmax(x + offset)` along the last dimension. Overwrites `out`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareLogSoftmax } from "./softmax.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [5, 5], [1, 2]);
 * const out = Tensor.empty(gpu, [1, 2]);
 * const work = await prepareLogSoftmax(gpu, x, out);
 * work.record();
 * assert.deepEqual(Array.from(await out.read(), (v) => v.toFixed(4)), ["-0.6931", "-0.6931"]);
 * work.destroy();
 * gpu.destroy();
 * ```
 */
export function prepareLogSoftmax(
  gpu: Gpu,
  x: Tensor,
  out: Tensor,
  options: SoftmaxRowsOptions = {},
): Promise<Dispatch> {
  return prepareRows(
    gpu,
    [SOFTMAX_ENTRIES.log_softmax, SOFTMAX_ENTRIES.log_softmax_vec4],
    x,
    out,
    options,
  );
}

/**
 * Records a row-wise log-softmax (see {@link prepareLogSoftmax}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { logSoftmax } from "./softmax.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const logits = Tensor.from(gpu, [0, 0, 0, 0], [1, 4]);
 * const logProbs = Tensor.empty(gpu, [1, 4]);
 * await logSoftmax(gpu, logits, logProbs);
 * assert.equal((await logProbs.read())[0].toFixed(4), "-1.3863"); // ln 1/4
 * gpu.destroy();
 * ```
 */
export async function logSoftmax(
  gpu: Gpu,
  x: Tensor,
  out: Tensor,
  options: SoftmaxRowsOptions = {},
): Promise<void> {
  recordOnce(await prepareLogSoftmax(gpu, x, out, options));
}

/**
 * Prepares the cross-entropy forward of (rows, cols) logits against (rows) i32 labels: per-row
 * loss and prediction, then the batch mean loss and correct count (two dispatches). Everything
 * is overwritten, except `meanLoss` and `correct` with `accumulate`. Keeps nothing for the
 * backward, which recomputes the softmax from the logits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { labelsTensor, prepareCrossEntropyForward } from "./softmax.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const logits = Tensor.from(gpu, [3, 0, 0, 3, 3, 0], [3, 2]);
 * const labels = labelsTensor(gpu, [0, 1, 1], 2);
 * const loss = Tensor.empty(gpu, [3]);
 * const meanLoss = Tensor.empty(gpu, [1]);
 * const correct = Tensor.empty(gpu, [1], "u32");
 * const forward = await prepareCrossEntropyForward(gpu, logits, labels, {
 *   loss,
 *   meanLoss,
 *   correct,
 * });
 * forward.record();
 * assert.deepEqual(Array.from(await correct.read()), [2]);
 * forward.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareCrossEntropyForward(
  gpu: Gpu,
  logits: Tensor,
  labels: Tensor,
  outputs: CrossEntropyOutputs,
  options: CrossEntropyOptions = {},
): Promise<Recordable> {
  const op = "cross_entropy_forward";
  let c = checkLogits(gpu, op, logits, options);
  if (c.rows === 0 || c.cols === 0) {
    throw new RangeError(
      `Cannot run ${op}: logits ${formatShape(logits.shape)} need at least one row and one class`,
    );
  }
  checkLabelTensor(op, labels, c.rows, logits);
  const { loss, meanLoss } = outputs;
  checkDType(op, "loss", loss, "f32");
  checkSize(op, "loss", loss, c.rows, "one loss per row");
  checkDType(op, "meanLoss", meanLoss, "f32");
  checkSize(op, "meanLoss", meanLoss, 1, "the mean loss");
  if (outputs.pred) {
    checkDType(op, "pred", outputs.pred, "i32");
    checkSize(op, "pred", outputs.pred, c.rows, "one prediction per row");
  }
  if (outputs.correct) {
    checkDType(op, "correct", outputs.correct, "u32");
    checkSize(op, "correct", outputs.correct, 1, "the correct count");
  }
  c = checkLogits(gpu, op, logits, options, await ruleUnlessForced(gpu, options, softmaxRowRule));
  const scratch: Tensor[] = [];
  const pred = outputs.pred ?? Tensor.empty(gpu, [c.rows], "i32", "predictions");
  if (!outputs.pred) scratch.push(pred);
  const correct = outputs.correct ?? Tensor.empty(gpu, [1], "u32", "correct count");
  if (!outputs.correct) scratch.push(correct);
  const uniforms = {
    rows: c.rows,
    cols: c.cols,
    alpha: 1 / c.rows,
    accumulate: options.accumulate ? 1 : 0,
  };
  return await prepareSteps(gpu, op, {
    scratch,
    pipelines: () => [
      getPipeline(gpu, c.kernel, op, c.constants),
      getPipeline(gpu, SOFTMAX, "cross_entropy_finalize", { WG: 256 }),
    ],
    steps: ([forward, finalize]) => [
      new Dispatch(
        gpu,
        forward,
        { x: logits, offset: c.offset, labels, loss, pred },
        uniforms,
        rowGrid(gpu, c.rows, c.strategy),
      ),
      new Dispatch(
        gpu,
        finalize,
        { row_loss: loss, row_pred: pred, labels, mean_loss: meanLoss, correct },
        uniforms,
        [1, 1, 1],
      ),
    ],
  });
}

/**
 * Records the cross-entropy forward (see {@link prepareCrossEntropyForward}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { crossEntropyForward, labelsTensor } from "./softmax.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const logits = Tensor.from(gpu, new Float32Array(20), [2, 10]);
 * const labels = labelsTensor(gpu, Int32Array.from([3, 1]), 10);
 * const loss = Tensor.empty(gpu, [2]);
 * const meanLoss = Tensor.empty(gpu, [1]);
 * const correct = Tensor.empty(gpu, [1], "u32");
 * await crossEntropyForward(gpu, logits, labels, { loss, meanLoss, correct });
 * assert.equal((await meanLoss.read())[0].toFixed(4), "2.3026"); // ln 10
 * assert.deepEqual(Array.from(await correct.read()), [0]);
 * gpu.destroy();
 * ```
 */
export async function crossEntropyForward(
  gpu: Gpu,
  logits: Tensor,
  labels: Tensor,
  outputs: CrossEntropyOutputs,
  options: CrossEntropyOptions = {},
): Promise<void> {
  const work = await prepareCrossEntropyForward(gpu, logits, labels, outputs, options);
  work.record();
  work.destroy();
}

/**
 * The prepared cross-entropy backward: records `dlogits = scale * (softmax - onehot) / rows`.
 * {@link CrossEntropyBackward.setScale} changes the loss scale without rebuilding it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { labelsTensor, prepareCrossEntropyBackward } from "./softmax.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const logits = Tensor.from(gpu, [0, 0, 0, 0], [2, 2]);
 * const labels = labelsTensor(gpu, [0, 1], 2);
 * const dlogits = Tensor.empty(gpu, [2, 2]);
 * const backward = await prepareCrossEntropyBackward(gpu, logits, labels, dlogits);
 * backward.record();
 * assert.deepEqual(Array.from(await dlogits.read()), [-0.25, 0.25, 0.25, -0.25]);
 * backward.setScale(2);
 * backward.record();
 * assert.deepEqual(Array.from(await dlogits.read()), [-0.5, 0.5, 0.5, -0.5]);
 * backward.destroy();
 * gpu.destroy();
 * ```
 */
export class CrossEntropyBackward implements Recordable {
  /** The underlying dispatch (uniform `alpha` = scale / rows). */
  readonly dispatch: Dispatch;
  /** The batch size the gradient is divided by. */
  readonly rows: number;

  /**
   * Wraps a prepared dispatch; {@link prepareCrossEntropyBackward} makes one.
   *
   * @param dispatch The `cross_entropy_backward` dispatch.
   * @param rows The batch size.
   */
  constructor(dispatch: Dispatch, rows: number) {
    this.dispatch = dispatch;
    this.rows = rows;
  }

  /** Sets the loss scale for the next recordings (applies from the next submit). */
  setScale(scale: number): void {
    this.dispatch.setUniforms({ alpha: checkScale(scale) / this.rows });
  }

  /** Records the backward into the shared pass. */
  record(): void {
    this.dispatch.record();
  }

  /** Frees the dispatch once recorded work has been submitted. */
  destroy(): void {
    this.dispatch.destroy();
  }
}

function checkScale(scale: number): number {
  if (!Number.isFinite(scale)) {
    throw new RangeError(
      `Cannot run cross_entropy_backward: loss scale must be finite, got ${scale}`,
    );
  }
  return scale;
}

/**
 * Prepares the cross-entropy backward: `dlogits = scale * (softmax(logits + offset) -
 * onehot(labels)) / rows`, overwriting `dlogits` (same size as logits). Rows with an
 * out-of-range label get NaN gradients.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { labelsTensor, prepareCrossEntropyBackward } from "./softmax.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const logits = Tensor.from(gpu, [0, 0], [1, 2]);
 * const labels = labelsTensor(gpu, [0], 2);
 * const dlogits = Tensor.empty(gpu, [1, 2]);
 * const backward = await prepareCrossEntropyBackward(gpu, logits, labels, dlogits);
 * backward.record();
 * assert.deepEqual(Array.from(await dlogits.read()), [-0.5, 0.5]);
 * backward.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareCrossEntropyBackward(
  gpu: Gpu,
  logits: Tensor,
  labels: Tensor,
  dlogits: Tensor,
  options: CrossEntropyBackwardOptions = {},
): Promise<CrossEntropyBackward> {
  const op = "cross_entropy_backward";
  let c = checkLogits(gpu, op, logits, options);
  if (c.rows === 0 || c.cols === 0) {
    throw new RangeError(
      `Cannot run ${op}: logits ${formatShape(logits.shape)} need at least one row and one class`,
    );
  }
  checkLabelTensor(op, labels, c.rows, logits);
  checkDType(op, "dlogits", dlogits, "f32");
  checkSize(op, "dlogits", dlogits, logits.size, `logits ${formatShape(logits.shape)}`);
  const scale = checkScale(options.scale ?? 1);
  c = checkLogits(gpu, op, logits, options, await ruleUnlessForced(gpu, options, softmaxRowRule));
  const dispatch = await prepareDispatch(
    gpu,
    c.kernel,
    op,
    c.constants,
    { x: logits, offset: c.offset, labels, out: dlogits },
    { rows: c.rows, cols: c.cols, alpha: scale / c.rows, accumulate: 0 },
    rowGrid(gpu, c.rows, c.strategy),
  );
  return new CrossEntropyBackward(dispatch, c.rows);
}

/**
 * Records the cross-entropy backward (see {@link prepareCrossEntropyBackward}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { crossEntropyBackward, labelsTensor } from "./softmax.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const logits = Tensor.from(gpu, [0, 0, 0, 0], [2, 2]);
 * const labels = labelsTensor(gpu, [0, 1], 2);
 * const dlogits = Tensor.empty(gpu, [2, 2]);
 * await crossEntropyBackward(gpu, logits, labels, dlogits, { scale: 1 });
 * assert.deepEqual(Array.from(await dlogits.read()), [-0.25, 0.25, 0.25, -0.25]);
 * gpu.destroy();
 * ```
 */
export async function crossEntropyBackward(
  gpu: Gpu,
  logits: Tensor,
  labels: Tensor,
  dlogits: Tensor,
  options: CrossEntropyBackwardOptions = {},
): Promise<void> {
  recordOnce((await prepareCrossEntropyBackward(gpu, logits, labels, dlogits, options)).dispatch);
}

/**
 * Throws unless every label is an integer in `0..classes-1`.
 *
 * @example
 * ```ts
 * import { checkLabels } from "./softmax.ts";
 * checkLabels([0, 9, 3], 10); // fine
 * ```
 */
export function checkLabels(labels: ArrayLike<number>, classes: number): void {
  if (!Number.isInteger(classes) || classes < 1) {
    throw new RangeError(
      `Cannot use labels: the class count must be a whole number >= 1, got ${classes}`,
    );
  }
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (!Number.isInteger(label)) {
      throw new TypeError(`Cannot use labels: label ${label} at index ${i} is not an integer`);
    }
    if (label < 0 || label >= classes) {
      throw new RangeError(
        `Cannot use labels: label ${label} at index ${i} is outside 0..${classes - 1}`,
      );
    }
  }
}

/**
 * Uploads class labels as a (n) i32 tensor after checking their range on the host.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { labelsTensor } from "./softmax.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const labels = labelsTensor(gpu, Int32Array.from([3, 1, 4]), 10);
 * assert.equal(labels.dtype, "i32");
 * assert.deepEqual(Array.from(await labels.read()), [3, 1, 4]);
 * assert.throws(() => labelsTensor(gpu, [10], 10), RangeError);
 * gpu.destroy();
 * ```
 */
export function labelsTensor(
  gpu: Gpu,
  labels: ArrayLike<number>,
  classes: number,
  label = "labels",
): Tensor<"i32"> {
  checkLabels(labels, classes);
  return Tensor.from(gpu, Int32Array.from(labels), [labels.length], "i32", label);
}

/**
 * Checks labels on the host and writes them into an existing i32 tensor of the same length
 * (for training loops, which allocate nothing per step).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { writeLabels } from "./softmax.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const labels = Tensor.empty(gpu, [3], "i32", "batch labels"); // allocated once
 * writeLabels(labels, [3, 1, 4], 10); // every step
 * assert.deepEqual(Array.from(await labels.read()), [3, 1, 4]);
 * assert.throws(() => writeLabels(labels, [3, 1, -1], 10), RangeError);
 * gpu.destroy();
 * ```
 */
export function writeLabels(target: Tensor, labels: ArrayLike<number>, classes: number): void {
  checkDType("write labels", "target", target, "i32");
  checkSize("write labels", "target", target, labels.length, `${labels.length} labels`);
  checkLabels(labels, classes);
  target.write(labels);
}
