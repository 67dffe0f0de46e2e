/**
 * The classifier kernel family (kernels/classifier.wgsl): evaluation logits, the tau sweep,
 * tau-normalised weights, row normalisation, column and class means, NCM weights, and the
 * dispatches of one SGD step of cRT or LWS (a gather of the batch rows from each chunk of the
 * training rows, forward, update, step counter).
 *
 * Layouts: feature rows are read as vec4, so the feature dimension of every tensor here is
 * padded with zeros to a multiple of 4 ({@link paddedDim}, {@link padColumns}). A "model" tensor
 * holds `[W (C,Dp) | b (C4) | f (C4)]` with C4 = C rounded up to a multiple of 4 and zero
 * padding, and logits are `f * (W x + b)` ({@link packModel}, {@link unpackModel}). Zero padding
 * changes no dot product or norm, and padded parameters get zero gradients, so they stay zero.
 *
 * Every `prepare*` validates shapes and dtypes before anything is recorded and returns a
 * reusable {@link Dispatch} (or {@link Sequence}); nothing here submits. Every launch is 1-D over
 * its items and folded into a 2-D grid past the device's maxComputeWorkgroupsPerDimension
 * ({@link grid1d}), so ImageNet-sized class and row counts dispatch on any device. No kernel
 * loops over all rows once per class: class means read the rows through by-class segments
 * ({@link classSegments}), and the tau sweep computes W x once for every tau.
 *
 * @module
 */

import source from "../../kernels/classifier.wgsl" with { type: "text" };
import type { Gpu } from "../gpu/device.ts";
import {
  type Constants,
  type Dispatch,
  type EntryOf,
  grid1d,
  type Recordable,
  type Sequence,
} from "../gpu/kernel.ts";
import { formatShape, Tensor } from "../gpu/tensor.ts";
import { checkDType, checkSize } from "./_check.ts";
import { prepareDispatch, prepareSteps } from "./_prepare.ts";
import { CLASSIFIER_ENTRIES, family } from "./_entries.ts";

const CLASSIFIER = family("kernels/classifier.wgsl", source, CLASSIFIER_ENTRIES);
const WG = 64;

/**
 * D rounded up to a multiple of 4: the row length of feature and weight tensors here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { paddedDim } from "./classifier.ts";
 * assert.equal(paddedDim(6), 8);
 * assert.equal(paddedDim(64), 64);
 * ```
 */
export function paddedDim(dim: number): number {
  return Math.ceil(dim / 4) * 4;
}

/**
 * C rounded up to a multiple of 4: the length of the b and f parts of a model.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { paddedClasses } from "./classifier.ts";
 * assert.equal(paddedClasses(10), 12);
 * ```
 */
export function paddedClasses(classes: number): number {
  return Math.ceil(classes / 4) * 4;
}

/**
 * Elements of a model tensor: C*Dp + 2*C4 (D must already be padded).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { modelSize, paddedDim } from "./classifier.ts";
 * assert.equal(modelSize(10, paddedDim(64)), 664);
 * ```
 */
export function modelSize(classes: number, dim: number): number {
  return classes * dim + 2 * paddedClasses(classes);
}

/**
 * Elements of the training work tensor for batch B and C classes: 2*B*C + B.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { workSize } from "./classifier.ts";
 * assert.equal(workSize(512, 10), 10752);
 * ```
 */
export function workSize(batch: number, classes: number): number {
  return 2 * batch * classes + batch;
}

/**
 * (rows, dim) row-major data as (rows, paddedDim(dim)) with zero columns at the end. When dim is
 * already a multiple of 4 a Float32Array comes back as it is (no copy).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { padColumns } from "./classifier.ts";
 * const padded = padColumns(Float32Array.of(1, 2, 3, 4, 5, 6), 2, 3); // (2, 3) to (2, 4)
 * assert.deepEqual([...padded], [1, 2, 3, 0, 4, 5, 6, 0]);
 * ```
 */
export function padColumns(data: ArrayLike<number>, rows: number, dim: number): Float32Array {
  const dp = paddedDim(dim);
  if (data.length !== rows * dim) {
    throw new RangeError(
      `Cannot pad columns: ${data.length} values are not (${rows}, ${dim}) = ${rows * dim}`,
    );
  }
  if (dp === dim) return data instanceof Float32Array ? data : Float32Array.from(data);
  const out = new Float32Array(rows * dp);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < dim; k++) out[r * dp + k] = data[r * dim + k];
  }
  return out;
}

/**
 * A linear classifier on the host: `logits = f * (W x + b)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type LinearModel, packModel } from "./classifier.ts";
 * const model: LinearModel = {
 *   weight: Float32Array.of(1, 0, 0, 1), // (C=2, D=2)
 *   bias: Float32Array.of(0, 0),
 *   scale: Float32Array.of(1, 1),
 * };
 * assert.equal(packModel(model, 2, 2).length, 16); // W padded to (2, 4), then b and f padded to 4
 * ```
 */
export interface LinearModel {
  /** W, (C, D). */
  weight: Float32Array;
  /** b, (C). */
  bias: Float32Array;
  /** f, (C); all ones for a plain linear layer. */
  scale: Float32Array;
}

/**
 * Packs W (C, D), b and f into the kernels' model layout `[W (C,Dp) | b (C4) | f (C4)]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { packModel } from "./classifier.ts";
 * const m = packModel({ weight: new Float32Array(6), bias: Float32Array.of(1, 2),
 *   scale: Float32Array.of(1, 1) }, 2, 3);
 * assert.equal(m.length, 2 * 4 + 2 * 4);
 * ```
 */
export function packModel(model: LinearModel, classes: number, dim: number): Float32Array {
  const dp = paddedDim(dim);
  const c4 = paddedClasses(classes);
  if (
    model.weight.length !== classes * dim || model.bias.length !== classes ||
    model.scale.length !== classes
  ) {
    throw new RangeError(
      `Cannot pack model: W has ${model.weight.length} values, b ${model.bias.length} and f ` +
        `${model.scale.length}, but (C, D) = (${classes}, ${dim}) needs ${classes * dim}, ` +
        `${classes} and ${classes}`,
    );
  }
  const out = new Float32Array(modelSize(classes, dp));
  out.set(padColumns(model.weight, classes, dim));
  out.set(model.bias, classes * dp);
  out.set(model.scale, classes * dp + c4);
  return out;
}

/**
 * Unpacks the kernels' model layout back into W (C, D), b and f.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { packModel, unpackModel } from "./classifier.ts";
 * const m = {
 *   weight: Float32Array.of(1, 2, 3),
 *   bias: Float32Array.of(4),
 *   scale: Float32Array.of(5),
 * };
 * assert.deepEqual(unpackModel(packModel(m, 1, 3), 1, 3).weight, Float32Array.of(1, 2, 3));
 * ```
 */
export function unpackModel(packed: ArrayLike<number>, classes: number, dim: number): LinearModel {
  const dp = paddedDim(dim);
  const c4 = paddedClasses(classes);
  if (packed.length < modelSize(classes, dp)) {
    throw new RangeError(
      `Cannot unpack model: ${packed.length} values but (C, D) = (${classes}, ${dim}) needs ` +
        `${modelSize(classes, dp)}`,
    );
  }
  const weight = new Float32Array(classes * dim);
  for (let c = 0; c < classes; c++) {
    for (let k = 0; k < dim; k++) weight[c * dim + k] = packed[c * dp + k];
  }
  const bias = Float32Array.from({ length: classes }, (_, c) => packed[classes * dp + c]);
  const scale = Float32Array.from({ length: classes }, (_, c) => packed[classes * dp + c4 + c]);
  return { weight, bias, scale };
}

const NO_UNIFORMS = {
  rows: 0,
  dim4: 0,
  classes: 0,
  batch: 0,
  steps_per_epoch: 0,
  mode: 0,
  taus: 0,
  momentum: 0,
  weight_decay: 0,
  tau0: 0,
  tau_step: 0,
  row: 0,
  chunk_start: 0,
  chunk_rows: 0,
  sample_base: 0,
};

type Uniforms = Partial<typeof NO_UNIFORMS>;

/** One dispatch of `entry` over `items` invocations (train_finish: one invocation). */
async function prepare(
  gpu: Gpu,
  entry: EntryOf<typeof CLASSIFIER_ENTRIES>,
  resources: Record<string, Tensor>,
  uniforms: Uniforms,
  items: number,
): Promise<Dispatch> {
  const single = entry === "train_finish";
  const constants: Constants = single ? {} : { WG };
  const { workgroups, row } = single
    ? { workgroups: [1, 1, 1] as [number, number, number], row: 1 }
    : grid1d(gpu, items, WG);
  const all = { ...NO_UNIFORMS, ...uniforms, row };
  return await prepareDispatch(gpu, CLASSIFIER, entry, constants, resources, all, workgroups);
}

function fail(op: string, why: string): never {
  throw new RangeError(`Cannot run ${op}: ${why}`);
}

/** Checks a (N, Dp) f32 matrix with Dp a multiple of 4 and returns [N, Dp]. */
function matrix(op: string, name: string, t: Tensor): [number, number] {
  checkDType(op, name, t, "f32");
  if (t.shape.length !== 2) fail(op, `${name} must be 2-D (N, D) but is ${formatShape(t.shape)}`);
  const d = t.shape[1];
  if (d % 4 !== 0 || d === 0) {
    fail(
      op,
      `${name} ${formatShape(t.shape)} has ${d} columns, not a positive multiple of 4; pad the ` +
        `rows with zero columns (padColumns)`,
    );
  }
  return [t.shape[0], d];
}

function checkModel(op: string, name: string, model: Tensor, classes: number, dim: number): void {
  checkDType(op, name, model, "f32");
  checkSize(
    op,
    name,
    model,
    modelSize(classes, dim),
    `the model layout for (C, D) = (${classes}, ${dim})`,
  );
}

function positive(op: string, what: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    fail(op, `${what} ${value} must be a positive integer`);
  }
}

/**
 * Prepares `out[r, c] = f_c * (W_c . x_r + b_c) + offset_c`.
 *
 * @param gpu The device.
 * @param x Features, (N, Dp) f32.
 * @param model `[W | b | f]`, modelSize(C, Dp) f32.
 * @param offset Additive logit offsets, (C) f32 (zeros for plain logits); C comes from here.
 * @param out Logits, (N, C) f32.
 * @returns The reusable dispatch.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { packModel, prepareLogits } from "./classifier.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const model = Tensor.from(gpu, packModel({
 *   weight: Float32Array.of(1, 0, 0, 0, 0, 2, 0, 0), // W (C=2, D=4)
 *   bias: Float32Array.of(0, 0),
 *   scale: Float32Array.of(1, 1),
 * }, 2, 4));
 * const x = Tensor.from(gpu, [1, 1, 0, 0], [1, 4]); // (N=1, Dp=4)
 * const offset = Tensor.from(gpu, [0.5, 0]);
 * const out = Tensor.empty(gpu, [1, 2]);
 * const logits = await prepareLogits(gpu, x, model, offset, out);
 * logits.record();
 * assert.deepEqual(Array.from(await out.read(), (v) => +v.toFixed(5)), [1.5, 2]);
 * logits.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareLogits(
  gpu: Gpu,
  x: Tensor,
  model: Tensor,
  offset: Tensor,
  out: Tensor,
): Promise<Dispatch> {
  const op = "classifier logits";
  const [n, d] = matrix(op, "x", x);
  checkDType(op, "offset", offset, "f32");
  const c = offset.size;
  checkModel(op, "model", model, c, d);
  checkDType(op, "out", out, "f32");
  checkSize(op, "out", out, n * c, `(N, C) = (${n}, ${c})`);
  return await prepare(
    gpu,
    "logits",
    { x, model, offset, out },
    { rows: n, dim4: d / 4, classes: c },
    blocks(n, c),
  );
}

/** 4 x 4 blocks of (row, class) that cover (N, C): the logits kernels' items. */
function blocks(rows: number, classes: number): number {
  return Math.ceil(rows / 4) * Math.ceil(classes / 4);
}

/**
 * What the tau sweep computes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SweepMode } from "./classifier.ts";
 * const modes: SweepMode[] = ["tau-norm", "logit-adjust"];
 * assert.equal(modes.length, 2);
 * ```
 */
export type SweepMode = "tau-norm" | "logit-adjust";

/**
 * Prepares the tau sweep: the prediction (argmax class, ties to the smallest) of every row for T
 * taus at once, predictions (T, N) u32. The scores `W x` are computed once into an (N, C) scratch
 * and only the adjustment is repeated per tau, so T taus cost one pass of logits plus T * N * C
 * comparisons, and only T * N predictions come back.
 *
 * - `tau-norm`: `(W_c . x) * ||W_c||^-tau`, bias dropped (a zero row keeps scale 1);
 * - `logit-adjust`: `f_c (W_c . x + b_c) - tau * offset_c` with offset = log prior.
 *
 * @param gpu The device.
 * @param x Features, (N, Dp) f32.
 * @param model `[W | b | f]`, modelSize(C, Dp) f32.
 * @param offset (C) f32: log prior for `logit-adjust` (bound but unused by `tau-norm`).
 * @param predictions (T, N) u32.
 * @param mode Which adjustment.
 * @param taus The grid: `tau0 + t * step`, t = 0..count-1.
 * @returns The reusable sequence (it owns its scratch).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { packModel, prepareSweep } from "./classifier.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const model = Tensor.from(gpu, packModel({
 *   weight: Float32Array.of(1, 0, 0, 0, 0, 2, 0, 0), // W (C=2, D=4)
 *   bias: Float32Array.of(0, 0),
 *   scale: Float32Array.of(1, 1),
 * }, 2, 4));
 * const x = Tensor.from(gpu, [1, 0.8, 0, 0], [1, 4]);
 * const predictions = Tensor.empty(gpu, [2, 1], "u32"); // (T, N)
 * const offset = Tensor.zeros(gpu, [2]);
 * const taus = { tau0: 0, step: 1, count: 2 };
 * const sweep = await prepareSweep(gpu, x, model, offset, predictions, "tau-norm", taus);
 * sweep.record();
 * // tau = 0: W x = [1, 1.6], class 1; tau = 1: W x / ||W_c|| = [1, 0.8], class 0.
 * assert.deepEqual([...await predictions.read()], [1, 0]);
 * sweep.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareSweep(
  gpu: Gpu,
  x: Tensor,
  model: Tensor,
  offset: Tensor,
  predictions: Tensor,
  mode: SweepMode,
  taus: { tau0: number; step: number; count: number },
): Promise<Sequence> {
  const op = "tau sweep";
  const [n, d] = matrix(op, "x", x);
  if (mode !== "tau-norm" && mode !== "logit-adjust") {
    fail(op, `mode "${mode}" is not tau-norm or logit-adjust`);
  }
  positive(op, "the tau count", taus.count);
  checkDType(op, "offset", offset, "f32");
  const c = offset.size;
  checkModel(op, "model", model, c, d);
  checkDType(op, "predictions", predictions, "u32");
  checkSize(op, "predictions", predictions, taus.count * n, `(T, N) = (${taus.count}, ${n})`);
  const uniforms = {
    rows: n,
    dim4: d / 4,
    classes: c,
    taus: taus.count,
    mode: mode === "tau-norm" ? 0 : 1,
    tau0: taus.tau0,
    tau_step: taus.step,
  };
  const scores = Tensor.empty(gpu, [n, c], "f32", "tau sweep scores");
  const norms = Tensor.empty(gpu, [c], "f32", "tau sweep weight norms");
  return await prepareSteps(gpu, op, {
    scratch: [scores, norms],
    pipelines: () => [
      prepare(gpu, "sweep_base", { x, model, out: scores }, uniforms, blocks(n, c)),
      prepare(gpu, "weight_norms", { model, out: norms }, uniforms, c),
      prepare(gpu, "sweep", { scores, norms, offset, predictions }, uniforms, taus.count * n),
    ],
    steps: (dispatches) => dispatches,
  });
}

/**
 * Prepares the tau-normalised model `out = [W_c ||W_c||^-tau | 0 | 1]`.
 *
 * @param gpu The device.
 * @param model Source `[W | b | f]`, modelSize(C, Dp) f32.
 * @param out Destination model, same size.
 * @param classes C.
 * @param dim Dp, a multiple of 4.
 * @param tau The exponent.
 * @returns The reusable sequence (weight norms, then the weights; it owns the norms).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { modelSize, packModel, prepareTauWeights, unpackModel } from "./classifier.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const model = Tensor.from(gpu, packModel({
 *   weight: Float32Array.of(1, 0, 0, 0, 0, 2, 0, 0), // W (C=2, D=4)
 *   bias: Float32Array.of(0, 0),
 *   scale: Float32Array.of(1, 1),
 * }, 2, 4));
 * const out = Tensor.empty(gpu, [modelSize(2, 4)]);
 * const work = await prepareTauWeights(gpu, model, out, 2, 4, 1);
 * work.record();
 * const normalised = unpackModel(await out.read(), 2, 4);
 * assert.deepEqual(Array.from(normalised.weight, (v) => +v.toFixed(5)), [1, 0, 0, 0, 0, 1, 0, 0]);
 * work.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareTauWeights(
  gpu: Gpu,
  model: Tensor,
  out: Tensor,
  classes: number,
  dim: number,
  tau: number,
): Promise<Sequence> {
  const op = "tau weights";
  positive(op, "class count", classes);
  if (!Number.isInteger(dim) || dim < 4 || dim % 4 !== 0) {
    fail(op, `dimension ${dim} is not a positive multiple of 4; pad it (paddedDim)`);
  }
  checkModel(op, "model", model, classes, dim);
  checkModel(op, "out", out, classes, dim);
  if (!Number.isFinite(tau)) fail(op, `tau ${tau} is not finite`);
  const uniforms = { dim4: dim / 4, classes, tau0: tau };
  // The norms first: each element of W reads its row's norm instead of recomputing it (which
  // cost D times more than the whole rest at D = 2048).
  const norms = Tensor.empty(gpu, [classes], "f32", "tau weight norms");
  return await prepareSteps(gpu, op, {
    scratch: [norms],
    pipelines: () => [
      prepare(gpu, "weight_norms", { model, out: norms }, uniforms, classes),
      prepare(gpu, "tau_weights", { model, norms, out }, uniforms, model.size),
    ],
    steps: (dispatches) => dispatches,
  });
}

/**
 * Prepares `out[r] = (x[r] - centre) / ||x[r] - centre||` (a row equal to the centre gives 0).
 *
 * @param gpu The device.
 * @param x (N, Dp) f32.
 * @param centre (Dp) f32 (zeros to only normalise).
 * @param out (N, Dp) f32, not `x`.
 * @returns The reusable dispatch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareNormalizeRows } from "./classifier.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [3, 4, 0, 0], [1, 4]);
 * const centre = Tensor.zeros(gpu, [4]);
 * const out = Tensor.empty(gpu, [1, 4]);
 * const work = await prepareNormalizeRows(gpu, x, centre, out);
 * work.record();
 * assert.deepEqual(Array.from(await out.read(), (v) => +v.toFixed(5)), [0.6, 0.8, 0, 0]);
 * work.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareNormalizeRows(
  gpu: Gpu,
  x: Tensor,
  centre: Tensor,
  out: Tensor,
): Promise<Dispatch> {
  const op = "normalize rows";
  const [n, d] = matrix(op, "x", x);
  checkDType(op, "centre", centre, "f32");
  checkSize(op, "centre", centre, d, `D = ${d}`);
  checkDType(op, "out", out, "f32");
  checkSize(op, "out", out, n * d, `(N, D) = (${n}, ${d})`);
  return await prepare(
    gpu,
    "normalize_rows",
    { x, centre, out },
    { rows: n, dim4: d / 4 },
    n,
  );
}

/**
 * Prepares `out[k] = mean_r x[r, k]`.
 *
 * @param gpu The device.
 * @param x (N, Dp) f32.
 * @param out (Dp) f32.
 * @returns The reusable dispatch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareColumnMean } from "./classifier.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2, 3, 4, 3, 4, 5, 6], [2, 4]);
 * const mean = Tensor.empty(gpu, [4]);
 * const work = await prepareColumnMean(gpu, x, mean);
 * work.record();
 * assert.deepEqual(Array.from(await mean.read(), (v) => +v.toFixed(5)), [2, 3, 4, 5]);
 * work.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareColumnMean(gpu: Gpu, x: Tensor, out: Tensor): Promise<Dispatch> {
  const op = "column mean";
  const [n, d] = matrix(op, "x", x);
  checkDType(op, "out", out, "f32");
  checkSize(op, "out", out, d, `D = ${d}`);
  return await prepare(gpu, "column_mean", { x, out }, { rows: n, dim4: d / 4 }, d / 4);
}

/**
 * The rows of each class, for {@link prepareClassMean}: `[start (C + 1) | total (C) | order (N)]`,
 * where the rows with label c are `order[start[c]] .. order[start[c + 1] - 1]`, in increasing row
 * order (a stable counting sort, O(N + C)), and `total[c]` is the class's row count over all
 * chunks of the training rows (`totals`; by default these labels' own counts).
 *
 * @param labels Label of each row (of one chunk), each an integer in 0..C-1.
 * @param classes C.
 * @param totals Rows of each class over every chunk, when the labels are one chunk of several.
 * @returns The segments, 2C + 1 + N values.
 * @throws {RangeError} When a label is outside 0..C-1.
 *
 * @example
 * ```ts
 * import { classSegments } from "./classifier.ts";
 * console.log([...classSegments(Int32Array.of(1, 0, 1, 1), 3)]);
 * // [0, 1, 4, 4, 1, 3, 0, 1, 0, 2, 3]: class 0 is row 1; class 1 rows 0, 2, 3; class 2 none
 * ```
 */
export function classSegments(
  labels: ArrayLike<number>,
  classes: number,
  totals?: ArrayLike<number>,
): Uint32Array {
  positive("class mean", "class count", classes);
  const n = labels.length;
  const out = new Uint32Array(2 * classes + 1 + n);
  for (let r = 0; r < n; r++) {
    const y = labels[r];
    if (!(Number.isInteger(y) && y >= 0 && y < classes)) {
      fail("class mean", `row ${r} has label ${y}, outside 0..${classes - 1}`);
    }
    out[y + 1]++;
  }
  for (let c = 0; c < classes; c++) {
    out[classes + 1 + c] = totals ? totals[c] : out[c + 1];
    out[c + 1] += out[c];
  }
  const next = out.slice(0, classes);
  const order = 2 * classes + 1;
  for (let r = 0; r < n; r++) out[order + next[labels[r]]++] = r;
  return out;
}

/**
 * Which part of a class mean over chunked rows one dispatch does: `whole` (one chunk: the
 * means), `first` (writes the chunk's sums), `middle` (adds them), `last` (adds them and divides
 * by the classes' totals).
 *
 * @example
 * ```ts
 * import type { ClassMeanPart } from "./classifier.ts";
 * const parts: ClassMeanPart[] = ["first", "middle", "last"];
 * console.log(parts.length); // 3
 * ```
 */
export type ClassMeanPart = "whole" | "first" | "middle" | "last";

const CLASS_MEAN_MODES: Record<ClassMeanPart, number> = { first: 0, middle: 1, whole: 2, last: 3 };

/**
 * Prepares class means `out[c] = mean of x[r] over rows with label c` (0 for an empty class), in
 * one pass over the rows: each class sums only its own rows, found through the segments. Rows
 * held in several chunks take one dispatch per chunk (`part`), each adding its sums to `out`.
 *
 * @param gpu The device.
 * @param x (N, Dp) f32: all rows, or one chunk of them.
 * @param segments {@link classSegments} of x's labels, (2C + 1 + N) u32.
 * @param out (C, Dp) f32.
 * @param part Which part of a chunked mean this is (default `whole`).
 * @returns The reusable dispatch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { classSegments, prepareClassMean } from "./classifier.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 0, 0, 0, 3, 0, 0, 0, 0, 2, 0, 0], [3, 4]);
 * const segments = Tensor.from(gpu, classSegments(Int32Array.of(0, 0, 1), 2));
 * const means = Tensor.empty(gpu, [2, 4]);
 * const work = await prepareClassMean(gpu, x, segments, means);
 * work.record();
 * assert.deepEqual(Array.from(await means.read(), (v) => +v.toFixed(5)), [2, 0, 0, 0, 0, 2, 0, 0]);
 * work.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareClassMean(
  gpu: Gpu,
  x: Tensor,
  segments: Tensor,
  out: Tensor,
  part: ClassMeanPart = "whole",
): Promise<Dispatch> {
  const op = "class mean";
  const [n, d] = matrix(op, "x", x);
  const [c, d2] = matrix(op, "out", out);
  if (d2 !== d) fail(op, `out ${formatShape(out.shape)} has dimension ${d2} but x has ${d}`);
  if (!(part in CLASS_MEAN_MODES)) fail(op, `part "${part}" is not whole, first, middle or last`);
  checkDType(op, "segments", segments, "u32");
  checkSize(
    op,
    "segments",
    segments,
    2 * c + 1 + n,
    `classSegments of (N, C) = (${n}, ${c}): 2C + 1 + N`,
  );
  return await prepare(
    gpu,
    "class_mean",
    { x, samples: segments, out },
    { rows: n, dim4: d / 4, classes: c, mode: CLASS_MEAN_MODES[part] },
    (c * d) / 4,
  );
}

/**
 * The two NCM scores: cosine on unit features, or minus the squared L2 distance.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { NcmMode } from "./classifier.ts";
 * const mode: NcmMode = "l2";
 * assert.equal(mode === "l2" ? "ncm_l2" : "ncm", "ncm_l2");
 * ```
 */
export type NcmMode = "cosine" | "l2";

/**
 * Prepares the NCM model from class means: `cosine` gives `W = m / ||m||, b = 0`; `l2` gives
 * `W = 2m, b = -||m||^2 - 1`, so the logits of a unit feature are `-||x - m||^2`. f is 1.
 *
 * @param gpu The device.
 * @param means (C, Dp) f32.
 * @param out Destination model, modelSize(C, Dp) f32.
 * @param mode `cosine` or `l2`.
 * @returns The reusable dispatch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { modelSize, prepareNcmWeights, unpackModel } from "./classifier.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const means = Tensor.from(gpu, [2, 0, 0, 0, 0, 2, 0, 0], [2, 4]);
 * const model = Tensor.empty(gpu, [modelSize(2, 4)]);
 * const cosine = await prepareNcmWeights(gpu, means, model, "cosine");
 * cosine.record();
 * const unit = unpackModel(await model.read(), 2, 4).weight;
 * assert.deepEqual(Array.from(unit, (v) => +v.toFixed(5)), [1, 0, 0, 0, 0, 1, 0, 0]);
 * const l2 = await prepareNcmWeights(gpu, means, model, "l2");
 * l2.record();
 * const bias = unpackModel(await model.read(), 2, 4).bias;
 * assert.deepEqual(Array.from(bias, (v) => +v.toFixed(5)), [-5, -5]); // -||m||^2 - 1
 * cosine.destroy();
 * l2.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareNcmWeights(
  gpu: Gpu,
  means: Tensor,
  out: Tensor,
  mode: NcmMode,
): Promise<Dispatch> {
  const op = "NCM weights";
  const [c, d] = matrix(op, "means", means);
  checkModel(op, "out", out, c, d);
  if (mode !== "cosine" && mode !== "l2") fail(op, `mode "${mode}" is not cosine or l2`);
  return await prepare(
    gpu,
    "ncm_weights",
    { x: means, out },
    { dim4: d / 4, classes: c, mode: mode === "cosine" ? 0 : 1 },
    c,
  );
}

/**
 * The buffers and settings of a training run, see {@link prepareTrainStep}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import {
 *   modelSize,
 *   packModel,
 *   prepareTrainStep,
 *   type TrainStepSpec,
 *   workSize,
 * } from "./classifier.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * // Two training rows (N = 2, Dp = 4), C = 2, one epoch of one step with batch 2.
 * const x = Tensor.from(gpu, [1, 0, 0, 0, 0, 1, 0, 0], [2, 4]);
 * const scale = Float32Array.of(1, 1); // f = 1: a plain linear layer
 * const zero = { weight: new Float32Array(8), bias: new Float32Array(2), scale };
 * const spec: TrainStepSpec = {
 *   x,
 *   samples: Tensor.from(gpu, Uint32Array.of(0, 0, 1, 1), [2, 2]), // (row, label) pairs
 *   lr: Tensor.from(gpu, [0.5]),
 *   offset: Tensor.zeros(gpu, [2]),
 *   model: Tensor.from(gpu, packModel(zero, 2, 4)),
 *   velocity: Tensor.zeros(gpu, [modelSize(2, 4)]),
 *   work: Tensor.zeros(gpu, [workSize(2, 2)]),
 *   trace: Tensor.zeros(gpu, [2], "u32"),
 *   epochLength: 2,
 *   batch: 2,
 *   mode: "crt",
 *   momentum: 0.9,
 *   weightDecay: 0,
 * };
 * const step = await prepareTrainStep(gpu, spec);
 * step.record();
 * const trace = await spec.trace.read();
 * assert.equal(trace[0], 1); // steps run
 * assert.equal(new Float32Array(trace.buffer, 4, 1)[0].toFixed(4), Math.LN2.toFixed(4));
 * step.destroy();
 * gpu.destroy();
 * ```
 */
export interface TrainStepSpec {
  /**
   * Training features, (N, Dp) f32, or their rows in consecutive chunks (each (N_k, Dp), at
   * most one storage binding) when N * Dp exceeds one binding.
   */
  x: Tensor | readonly Tensor[];
  /**
   * (row, label) of every sample position of every epoch, (epochs * E, 2) u32, or those pairs in
   * consecutive chunks, each the positions of whole steps and at most one storage binding, when
   * they exceed one binding ({@link planSampleChunks}).
   */
  samples: Tensor | readonly Tensor[];
  /** Learning rate of each step, (S) f32. */
  lr: Tensor;
  /** Loss-only logit offset, (C) f32: log prior for balanced softmax, else zeros. */
  offset: Tensor;
  /** `[W | b | f]`, modelSize(C, Dp) f32, updated in place. */
  model: Tensor;
  /** Momentum buffers, the model's size, zeros at the start. */
  velocity: Tensor;
  /** Scratch, {@link workSize}(B, C) f32. */
  work: Tensor;
  /** `[step, mean loss of each step]`, (1 + S) u32, zeros at the start. */
  trace: Tensor;
  /** E, the samples per epoch. */
  epochLength: number;
  /** B. */
  batch: number;
  /** `crt` trains W and b; `lws` trains f. */
  mode: "crt" | "lws";
  /** SGD momentum. */
  momentum: number;
  /** Weight decay on the trained parameters. */
  weightDecay: number;
}

/**
 * Prepares one SGD step (gather of the batch rows, one dispatch per chunk of the training
 * rows; forward + softmax-CE backward; gradient + momentum update; step counter) as a
 * {@link Sequence}. The step index lives on the GPU
 * (`trace[0]`), so recording the sequence S times runs S different steps in one submit.
 * Sample rows must be below N (the caller builds them from a sampler over the training set).
 * With the samples in chunks, the sequence counts its recordings (trace starts at zeros, so
 * the i-th recording runs step i) and binds the chunk that holds that step's samples; each step
 * runs the same dispatches as with one chunk, so the results are the same bit for bit; it
 * refuses to record a step past the last one they hold.
 *
 * @param gpu The device.
 * @param spec Buffers and settings.
 * @returns The step, to record once per step.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import {
 *   modelSize,
 *   packModel,
 *   prepareTrainStep,
 *   type TrainStepSpec,
 *   workSize,
 * } from "./classifier.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * // Two training rows (N = 2, Dp = 4), C = 2, three epochs of one step with batch 2.
 * const x = Tensor.from(gpu, [1, 0, 0, 0, 0, 1, 0, 0], [2, 4]);
 * const scale = Float32Array.of(1, 1); // f = 1: a plain linear layer
 * const zero = { weight: new Float32Array(8), bias: new Float32Array(2), scale };
 * const spec: TrainStepSpec = {
 *   x,
 *   // (row, label) pairs, epoch after epoch
 *   samples: Tensor.from(gpu, Uint32Array.of(0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1), [6, 2]),
 *   lr: Tensor.from(gpu, [0.5, 0.25, 0.125]),
 *   offset: Tensor.zeros(gpu, [2]),
 *   model: Tensor.from(gpu, packModel(zero, 2, 4)),
 *   velocity: Tensor.zeros(gpu, [modelSize(2, 4)]),
 *   work: Tensor.zeros(gpu, [workSize(2, 2)]),
 *   trace: Tensor.zeros(gpu, [4], "u32"),
 *   epochLength: 2,
 *   batch: 2,
 *   mode: "crt",
 *   momentum: 0.9,
 *   weightDecay: 0,
 * };
 * const step = await prepareTrainStep(gpu, spec);
 * const steps = 3;
 * for (let s = 0; s < steps; s++) step.record(); // one submit runs all three
 * gpu.submit();
 * const trace = await spec.trace.read();
 * const losses = new Float32Array(trace.buffer, 4, steps);
 * assert.equal(trace[0], 3);
 * assert.ok(losses[2] < losses[0]);
 * step.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareTrainStep(gpu: Gpu, spec: TrainStepSpec): Promise<Sequence> {
  const op = "classifier training step";
  const chunks = spec.x instanceof Tensor ? [spec.x] : [...spec.x];
  if (chunks.length === 0) fail(op, "x has no chunks");
  const shapes = chunks.map((t, i) => matrix(op, chunks.length > 1 ? `x[${i}]` : "x", t));
  const d = shapes[0][1];
  shapes.forEach(([, dk], i) => {
    if (dk !== d) fail(op, `x[${i}] has ${dk} columns but x[0] has ${d}`);
  });
  const { batch, epochLength } = spec;
  positive(op, "batch", batch);
  positive(op, "epoch length", epochLength);
  if (spec.mode !== "crt" && spec.mode !== "lws") fail(op, `mode "${spec.mode}" is not crt or lws`);
  checkDType(op, "offset", spec.offset, "f32");
  const c = spec.offset.size;
  checkModel(op, "model", spec.model, c, d);
  checkModel(op, "velocity", spec.velocity, c, d);
  const perEpoch = Math.ceil(epochLength / batch);
  const sampleChunks = spec.samples instanceof Tensor ? [spec.samples] : [...spec.samples];
  const parts = sampleParts(op, sampleChunks, epochLength, batch);
  const steps = parts.at(-1)!.firstStep + parts.at(-1)!.steps;
  checkDType(op, "lr", spec.lr, "f32");
  checkSize(op, "lr", spec.lr, steps, `one rate per step (${steps} steps)`);
  checkDType(op, "work", spec.work, "f32");
  checkSize(op, "work", spec.work, workSize(batch, c), `(2*B*C + B) for (B, C) = (${batch}, ${c})`);
  checkDType(op, "trace", spec.trace, "u32");
  checkSize(op, "trace", spec.trace, 1 + steps, `1 + S (S = ${steps})`);
  const uniforms = {
    rows: epochLength,
    dim4: d / 4,
    classes: c,
    batch,
    steps_per_epoch: perEpoch,
    mode: spec.mode === "crt" ? 0 : 1,
    momentum: spec.momentum,
    weight_decay: spec.weightDecay,
  };
  const { lr, offset, model, velocity, work, trace } = spec;
  const c4 = paddedClasses(c) / 4;
  // cRT: blocks of 4 classes x 4 vec4 columns of W, then one vec4 of b each.
  const invocations = spec.mode === "crt" ? c4 * Math.ceil(d / 16) + c4 : c4;
  const batchX = Tensor.empty(gpu, [batch, d], "f32", "stage-2 batch rows");
  return await prepareSteps(gpu, op, {
    scratch: [batchX],
    pipelines: () => {
      // Per chunk of samples: a gather from each chunk of rows, then the forward pass, the two
      // dispatches that read samples; the update and the step's end are shared.
      const reads = parts.map(({ samples, start: sampleBase }) => {
        let start = 0;
        const gathers = chunks.map((x, i) => {
          const chunk = {
            ...uniforms,
            chunk_start: start,
            chunk_rows: shapes[i][0],
            sample_base: sampleBase,
          };
          start += shapes[i][0];
          return prepare(
            gpu,
            "gather_batch",
            { x, samples, batch_x: batchX, trace },
            chunk,
            batch * d / 4,
          );
        });
        return Promise.all([
          ...gathers,
          prepare(
            gpu,
            "train_forward",
            { x: batchX, samples, offset, model, work, trace },
            { ...uniforms, sample_base: sampleBase },
            Math.ceil(batch / 4),
          ),
        ]);
      });
      return [
        Promise.all(reads),
        prepare(
          gpu,
          "train_update",
          { x: batchX, lr, model, velocity, work, trace },
          uniforms,
          invocations,
        ),
        prepare(gpu, "train_finish", { work, trace }, uniforms, 1),
      ];
    },
    steps: ([reads, update, finish]) => {
      if (reads.length === 1) return [...reads[0], update, finish];
      return [new ChunkedSteps(op, parts, reads), update, finish];
    },
  });
}

/** A chunk of samples and the steps whose samples it holds. */
interface SamplePart extends SampleChunk {
  samples: Tensor;
}

/**
 * Checks that consecutive chunks of (row, label) pairs hold the positions of whole steps and
 * of whole epochs together, and returns the steps each holds.
 */
function sampleParts(
  op: string,
  chunks: readonly Tensor[],
  epochLength: number,
  batch: number,
): SamplePart[] {
  if (chunks.length === 0) fail(op, "samples has no chunks");
  const parts: SamplePart[] = [];
  let step = 0;
  chunks.forEach((samples, i) => {
    const name = chunks.length > 1 ? `samples[${i}]` : "samples";
    checkDType(op, name, samples, "u32");
    const start = stepStart(step, epochLength, batch);
    const end = start + samples.size / 2;
    const first = step;
    while (stepStart(step, epochLength, batch) < end) step++;
    if (!Number.isInteger(end) || end === start || stepStart(step, epochLength, batch) !== end) {
      fail(
        op,
        chunks.length === 1
          ? `samples has ${samples.size} elements, which is not (epochs * ${epochLength}, 2) ` +
            `(row, label) pairs`
          : `${name} has ${samples.size} elements, which are not the (row, label) pairs of ` +
            `whole steps from position ${start} on (epoch length ${epochLength}, batch ${batch})`,
      );
    }
    parts.push({ samples, firstStep: first, steps: step - first, start, end });
  });
  const total = parts.at(-1)!.end;
  if (total % epochLength !== 0) {
    fail(
      op,
      `the samples hold ${total} positions, which is not whole epochs of ${epochLength} ` +
        `(row, label) pairs`,
    );
  }
  return parts;
}

/** Sample position where step `s` starts: epoch * E + (s mod steps per epoch) * B. */
function stepStart(s: number, epochLength: number, batch: number): number {
  const perEpoch = Math.ceil(epochLength / batch);
  return Math.floor(s / perEpoch) * epochLength + (s % perEpoch) * batch;
}

/**
 * The reads of samples of a step with its samples in chunks: the i-th recording records the
 * dispatches bound to the chunk that holds step i.
 */
class ChunkedSteps implements Recordable {
  #recorded = 0;
  readonly #op: string;
  readonly #parts: readonly SampleChunk[];
  readonly #reads: readonly (readonly Dispatch[])[];

  constructor(op: string, parts: readonly SampleChunk[], reads: readonly (readonly Dispatch[])[]) {
    this.#op = op;
    this.#parts = parts;
    this.#reads = reads;
  }

  record(): void {
    const s = this.#recorded;
    const k = this.#parts.findIndex((p) => s < p.firstStep + p.steps);
    if (k < 0) {
      throw new RangeError(
        `Cannot record ${this.#op}: all ${s} steps its samples hold are recorded; prepare it ` +
          `again with the samples of further steps`,
      );
    }
    for (const d of this.#reads[k]) d.record();
    this.#recorded++;
  }

  destroy(): void {
    for (const reads of this.#reads) for (const d of reads) d.destroy();
  }
}

/**
 * The steps and sample positions of one chunk of a training run's samples: steps `firstStep`
 * .. `firstStep + steps - 1`, whose (row, label) pairs are positions `start` .. `end - 1`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planSampleChunks, type SampleChunk } from "./classifier.ts";
 * const [whole]: SampleChunk[] = planSampleChunks(10, 4, 2, 1000);
 * assert.deepEqual(whole, { firstStep: 0, steps: 6, start: 0, end: 20 });
 * ```
 */
export interface SampleChunk {
  /** The first step whose samples the chunk holds. */
  firstStep: number;
  /** Steps whose samples it holds. */
  steps: number;
  /** Its first sample position (epoch * E + position in epoch). */
  start: number;
  /** One past its last sample position. */
  end: number;
}

/**
 * Splits the (row, label) pairs of `epochs` epochs of `epochLength` samples, taken `batch` per
 * step, into consecutive chunks of whole steps, each at most `maxPairs` pairs (fill each chunk
 * as far as it goes): the samples of a training run that exceed one storage binding. One chunk
 * when they all fit.
 *
 * @param epochLength E, samples per epoch.
 * @param batch B, samples per step (the last step of an epoch takes the rest).
 * @param epochs Epochs.
 * @param maxPairs Pairs one chunk may hold: a storage binding's bytes / 8.
 * @returns The chunks, in step order.
 * @throws {RangeError} When one step's pairs exceed `maxPairs`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planSampleChunks } from "./classifier.ts";
 * // Epochs of 10 samples in steps of 4, 4, 2: at most 9 pairs take two steps per chunk.
 * const chunks = planSampleChunks(10, 4, 2, 9);
 * assert.deepEqual(chunks.map((c) => [c.start, c.end]), [[0, 8], [8, 14], [14, 20]]);
 * assert.deepEqual(chunks.map((c) => c.steps), [2, 2, 2]);
 * assert.throws(() => planSampleChunks(10, 4, 2, 3), /one step takes 4 \(row, label\) pairs/);
 * ```
 */
export function planSampleChunks(
  epochLength: number,
  batch: number,
  epochs: number,
  maxPairs: number,
): SampleChunk[] {
  const op = "split the stage-2 samples";
  positive(op, "epoch length", epochLength);
  positive(op, "batch", batch);
  positive(op, "epochs", epochs);
  const steps = epochs * Math.ceil(epochLength / batch);
  const at = (s: number) => stepStart(s, epochLength, batch);
  const chunks: SampleChunk[] = [];
  for (let first = 0; first < steps;) {
    let end = first;
    while (end < steps && at(end + 1) - at(first) <= maxPairs) end++;
    if (end === first) {
      throw new RangeError(
        `Cannot ${op}: one step takes ${Math.min(batch, epochLength)} (row, label) pairs ` +
          `(${8 * Math.min(batch, epochLength)} bytes) but a chunk holds at most ` +
          `${Math.max(0, maxPairs)}; use a smaller batch`,
      );
    }
    chunks.push({ firstStep: first, steps: end - first, start: at(first), end: at(end) });
    first = end;
  }
  return chunks;
}
