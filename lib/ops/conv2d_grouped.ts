/**
 * Grouped 2-D convolution (NCHW, weight (F, C/groups, KH, KW), no bias), forward and both
 * backward passes: ResNeXt's 3x3 convolution. With `groups` 1 every function hands over to the
 * register-tiled ops of `conv2d.ts`, so ungrouped convolutions keep their fast path.
 *
 * ```
 * prepareGroupedConv2dForward(gpu, { x, w, y, stride, padding, groups })        y  = conv(x, w)
 * prepareGroupedConv2dBackwardInput(gpu, { dy, w, dx, ..., accumulate })        dx (+)= conv^T(dy, w)
 * prepareGroupedConv2dBackwardWeight(gpu, { x, dy, dw, ..., accumulate })       dw (+)= dconv/dw
 * ```
 *
 * @module
 */

import source from "../../kernels/conv2d_grouped.wgsl" with { type: "text" };
import type { Gpu } from "../gpu/device.ts";
import {
  Dispatch,
  type EntryOf,
  getPipeline,
  grid1d,
  type Pipeline,
  type Recordable,
  recordOnce,
} from "../gpu/kernel.ts";
import { Tensor } from "../gpu/tensor.ts";
import { checkF32, checkRank, checkShape, checkWhole } from "./_check.ts";
import { prepareSteps } from "./_prepare.ts";
import {
  type Conv2dBackwardInputArgs,
  type Conv2dBackwardWeightArgs,
  type Conv2dForwardArgs,
  prepareConv2dBackwardInput,
  prepareConv2dBackwardWeight,
  prepareConv2dForward,
} from "./conv2d.ts";
import { family, GROUPED_ENTRIES } from "./_entries.ts";

const GROUPED = family("kernels/conv2d_grouped.wgsl", source, GROUPED_ENTRIES);
const WG = 64;
/**
 * The weight gradient splits the batch into shares until about this many invocations run (one
 * per weight and share): enough to fill a large GPU even for a layer with a few thousand weights,
 * while the partial sums stay near this many floats (256 KiB) beyond the weights themselves.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GROUPED_WEIGHT_TARGET } from "./conv2d_grouped.ts";
 * // ResNeXt-50's first grouped layer, 128 channels in 32 groups, 3x3: 4608 weights, 15 shares.
 * assert.equal(Math.ceil(GROUPED_WEIGHT_TARGET / (128 * 4 * 9)), 15);
 * ```
 */
export const GROUPED_WEIGHT_TARGET = 65536;

/**
 * The channel groups of a convolution.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Conv2dGroups } from "./conv2d_grouped.ts";
 * const resnext: Conv2dGroups = { groups: 32 };
 * assert.equal(resnext.groups, 32);
 * ```
 */
export interface Conv2dGroups {
  /** Channel groups (default 1): C and F must be multiples of it. */
  groups?: number;
}

/**
 * Arguments of {@link prepareGroupedConv2dForward}: those of the plain convolution, weight
 * (F, C/groups, KH, KW).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { groupedConv2dForward, type GroupedConv2dForwardArgs } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: GroupedConv2dForwardArgs = {
 *   x: Tensor.from(gpu, [1, 2], [1, 2, 1, 1]),
 *   w: Tensor.from(gpu, [10, 100], [2, 1, 1, 1]), // each output sees its own input channel
 *   y: Tensor.empty(gpu, [1, 2, 1, 1]),
 *   groups: 2,
 * };
 * await groupedConv2dForward(gpu, args);
 * assert.deepEqual(Array.from(await args.y.read()), [10, 200]);
 * gpu.destroy();
 * ```
 */
export interface GroupedConv2dForwardArgs extends Conv2dForwardArgs, Conv2dGroups {}

/**
 * Arguments of {@link prepareGroupedConv2dBackwardInput}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import {
 *   groupedConv2dBackwardInput,
 *   type GroupedConv2dBackwardInputArgs,
 * } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: GroupedConv2dBackwardInputArgs = {
 *   dy: Tensor.from(gpu, [1, 1], [1, 2, 1, 1]),
 *   w: Tensor.from(gpu, [10, 100], [2, 1, 1, 1]),
 *   dx: Tensor.empty(gpu, [1, 2, 1, 1]),
 *   groups: 2,
 * };
 * await groupedConv2dBackwardInput(gpu, args);
 * assert.deepEqual(Array.from(await args.dx.read()), [10, 100]);
 * gpu.destroy();
 * ```
 */
export interface GroupedConv2dBackwardInputArgs extends Conv2dBackwardInputArgs, Conv2dGroups {}

/**
 * Arguments of {@link prepareGroupedConv2dBackwardWeight}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import {
 *   groupedConv2dBackwardWeight,
 *   type GroupedConv2dBackwardWeightArgs,
 * } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: GroupedConv2dBackwardWeightArgs = {
 *   x: Tensor.from(gpu, [1, 2], [1, 2, 1, 1]),
 *   dy: Tensor.from(gpu, [3, 5], [1, 2, 1, 1]),
 *   dw: Tensor.empty(gpu, [2, 1, 1, 1]),
 *   groups: 2,
 * };
 * await groupedConv2dBackwardWeight(gpu, args);
 * assert.deepEqual(Array.from(await args.dw.read()), [3, 10]);
 * gpu.destroy();
 * ```
 */
export interface GroupedConv2dBackwardWeightArgs extends Conv2dBackwardWeightArgs, Conv2dGroups {}

interface GroupedShape {
  n: number;
  c: number;
  h: number;
  w: number;
  f: number;
  kh: number;
  kw: number;
  ho: number;
  wo: number;
  stride: number;
  pad: number;
  cg: number;
  fg: number;
}

const NCHW = ["N", "C", "H", "W"];
const WEIGHT = ["F", "C/groups", "KH", "KW"];

/**
 * Output shape of a grouped convolution, with checks.
 *
 * @param xShape [N,C,H,W]
 * @param wShape [F,C/groups,KH,KW]
 * @returns [N,F,Ho,Wo]
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupedConv2dOutputShape } from "./conv2d_grouped.ts";
 * assert.deepEqual(groupedConv2dOutputShape([2, 128, 56, 56], [128, 4, 3, 3], 32, 2, 1), [
 *   2, 128, 28, 28,
 * ]);
 * assert.throws(() => groupedConv2dOutputShape([2, 6, 5, 5], [4, 2, 3, 3], 2), /C\/groups/);
 * ```
 */
export function groupedConv2dOutputShape(
  xShape: readonly number[],
  wShape: readonly number[],
  groups = 1,
  stride = 1,
  padding = 0,
): number[] {
  const s = resolve("grouped conv2d", xShape, wShape, groups, stride, padding);
  return [s.n, s.f, s.ho, s.wo];
}

function resolve(
  op: string,
  xShape: readonly number[],
  wShape: readonly number[],
  groups: number,
  stride: number,
  padding: number,
): GroupedShape {
  const rank = (name: string, shape: readonly number[], legend: readonly string[]) => {
    if (shape.length !== 4) {
      throw new RangeError(
        `Cannot run ${op}: ${name} has ${shape.length} dimensions but needs 4 ` +
          `(${legend.join(", ")})`,
      );
    }
  };
  rank("input", xShape, NCHW);
  rank("weight", wShape, WEIGHT);
  checkWhole(op, "groups", groups, 1);
  checkWhole(op, "stride", stride, 1);
  checkWhole(op, "padding", padding, 0);
  const [n, c, h, w] = xShape;
  const [f, cg, kh, kw] = wShape;
  for (const [name, v] of [["batch", n], ["channels", c], ["output channels", f]] as const) {
    if (v < 1) throw new RangeError(`Cannot run ${op}: ${name} must be >= 1, got ${v}`);
  }
  if (c % groups !== 0 || f % groups !== 0) {
    throw new RangeError(
      `Cannot run ${op}: ${groups} groups must divide the ${c} input and ${f} output channels`,
    );
  }
  if (cg * groups !== c) {
    throw new RangeError(
      `Cannot run ${op}: weight has ${cg} input channels but C/groups is ${c}/${groups} = ` +
        `${c / groups}`,
    );
  }
  const ho = Math.floor((h + 2 * padding - kh) / stride) + 1;
  const wo = Math.floor((w + 2 * padding - kw) / stride) + 1;
  if (kh < 1 || kw < 1 || h < 1 || w < 1 || ho < 1 || wo < 1) {
    throw new RangeError(
      `Cannot run ${op}: the ${kh}x${kw} kernel with padding ${padding} does not fit the ` +
        `${h}x${w} input`,
    );
  }
  return { n, c, h, w, f, kh, kw, ho, wo, stride, pad: padding, cg, fg: f / groups };
}

function uniforms(s: GroupedShape, total: number, row: number, accumulate = false) {
  const { n, c, h, w, f, ho, wo, kh, kw, stride, pad, cg, fg } = s;
  return {
    n,
    c,
    h,
    w,
    f,
    ho,
    wo,
    kh,
    kw,
    stride,
    pad,
    cg,
    fg,
    total,
    row,
    splits: 1,
    per_split: n,
    accumulate: accumulate ? 1 : 0,
  };
}

/** Binds one grouped-convolution pipeline over `total` outputs. */
function bindGrouped(
  gpu: Gpu,
  pipeline: Pipeline,
  s: GroupedShape,
  total: number,
  resources: Record<string, Tensor>,
  extra: Record<string, number> = {},
  accumulate = false,
): Dispatch {
  const { workgroups, row } = grid1d(gpu, total, WG);
  return new Dispatch(gpu, pipeline, resources, {
    ...uniforms(s, total, row, accumulate),
    ...extra,
  }, workgroups);
}

async function dispatch(
  gpu: Gpu,
  entry: EntryOf<typeof GROUPED_ENTRIES>,
  s: GroupedShape,
  total: number,
  resources: Record<string, Tensor>,
  extra: Record<string, number> = {},
  accumulate = false,
): Promise<Dispatch> {
  gpu.assertAlive(`run ${entry}`);
  const pipeline = await getPipeline(gpu, GROUPED, entry, { WG });
  return bindGrouped(gpu, pipeline, s, total, resources, extra, accumulate);
}

/**
 * Prepares `y = conv2d(x, w)` with channel groups; `groups` 1 is the plain convolution's fast
 * path. Reusable every step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareGroupedConv2dForward } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2, 3, 4], [1, 4, 1, 1]);
 * const w = Tensor.from(gpu, [1, 1, 1, -1], [2, 2, 1, 1]); // two groups of two channels
 * const y = Tensor.empty(gpu, [1, 2, 1, 1]);
 * const conv = await prepareGroupedConv2dForward(gpu, { x, w, y, groups: 2 });
 * conv.record();
 * assert.deepEqual(Array.from(await y.read()), [3, -1]);
 * conv.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareGroupedConv2dForward(
  gpu: Gpu,
  args: GroupedConv2dForwardArgs,
): Promise<Recordable> {
  const groups = args.groups ?? 1;
  if (groups === 1) return prepareConv2dForward(gpu, args);
  const op = "grouped conv2d";
  const { x, w, y } = args;
  const s = resolve(op, x.shape, w.shape, groups, args.stride ?? 1, args.padding ?? 0);
  checkF32(op, { x, w, y });
  checkRank(op, "output y", y, NCHW);
  checkShape(op, "output y", y, [s.n, s.f, s.ho, s.wo]);
  return await dispatch(gpu, "conv2d_grouped_forward", s, y.size, { x, w, y });
}

/**
 * Records the grouped convolution once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { groupedConv2dForward } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2], [1, 2, 1, 1]);
 * const w = Tensor.from(gpu, [3, 4], [2, 1, 1, 1]);
 * const y = Tensor.empty(gpu, [1, 2, 1, 1]);
 * await groupedConv2dForward(gpu, { x, w, y, groups: 2 });
 * assert.deepEqual(Array.from(await y.read()), [3, 8]);
 * gpu.destroy();
 * ```
 */
export async function groupedConv2dForward(
  gpu: Gpu,
  args: GroupedConv2dForwardArgs,
): Promise<void> {
  recordOnce(await prepareGroupedConv2dForward(gpu, args));
}

/**
 * Prepares `dx = dL/dx` of a grouped convolution; overwrites dx, or adds to it with
 * `accumulate`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareGroupedConv2dBackwardInput } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const dy = Tensor.from(gpu, [1, 10], [1, 2, 1, 1]);
 * const w = Tensor.from(gpu, [1, 1, 1, -1], [2, 2, 1, 1]);
 * const dx = Tensor.empty(gpu, [1, 4, 1, 1]);
 * const back = await prepareGroupedConv2dBackwardInput(gpu, { dy, w, dx, groups: 2 });
 * back.record();
 * assert.deepEqual(Array.from(await dx.read()), [1, 1, 10, -10]);
 * back.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareGroupedConv2dBackwardInput(
  gpu: Gpu,
  args: GroupedConv2dBackwardInputArgs,
): Promise<Recordable> {
  const groups = args.groups ?? 1;
  if (groups === 1) return prepareConv2dBackwardInput(gpu, args);
  const op = "grouped conv2d backward input";
  const { dy, w, dx } = args;
  const s = resolve(op, dx.shape, w.shape, groups, args.stride ?? 1, args.padding ?? 0);
  checkF32(op, { dy, w, dx });
  checkShape(op, "gradient dy", dy, [s.n, s.f, s.ho, s.wo]);
  return await dispatch(
    gpu,
    "conv2d_grouped_backward_input",
    s,
    dx.size,
    { dy, w, dx },
    {},
    args.accumulate,
  );
}

/**
 * Records the grouped convolution's input gradient once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { groupedConv2dBackwardInput } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const dy = Tensor.from(gpu, [1, 1], [1, 2, 1, 1]);
 * const w = Tensor.from(gpu, [3, 4], [2, 1, 1, 1]);
 * const dx = Tensor.from(gpu, [1, 1], [1, 2, 1, 1]);
 * await groupedConv2dBackwardInput(gpu, { dy, w, dx, groups: 2, accumulate: true });
 * assert.deepEqual(Array.from(await dx.read()), [4, 5]);
 * gpu.destroy();
 * ```
 */
export async function groupedConv2dBackwardInput(
  gpu: Gpu,
  args: GroupedConv2dBackwardInputArgs,
): Promise<void> {
  recordOnce(await prepareGroupedConv2dBackwardInput(gpu, args));
}

/**
 * Prepares `dw = dL/dw` of a grouped convolution: per-share partial sums over the batch, then
 * a reduction (which also does `accumulate`). Overwrites dw by default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareGroupedConv2dBackwardWeight } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2, 3, 4], [1, 4, 1, 1]);
 * const dy = Tensor.from(gpu, [1, 10], [1, 2, 1, 1]);
 * const dw = Tensor.empty(gpu, [2, 2, 1, 1]);
 * const gw = await prepareGroupedConv2dBackwardWeight(gpu, { x, dy, dw, groups: 2 });
 * gw.record();
 * assert.deepEqual(Array.from(await dw.read()), [1, 2, 30, 40]);
 * gw.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareGroupedConv2dBackwardWeight(
  gpu: Gpu,
  args: GroupedConv2dBackwardWeightArgs,
): Promise<Recordable> {
  const groups = args.groups ?? 1;
  if (groups === 1) return prepareConv2dBackwardWeight(gpu, args);
  const op = "grouped conv2d backward weight";
  const { x, dy, dw } = args;
  const s = resolve(op, x.shape, dw.shape, groups, args.stride ?? 1, args.padding ?? 0);
  checkF32(op, { x, dy, dw });
  checkShape(op, "gradient dy", dy, [s.n, s.f, s.ho, s.wo]);
  const weights = dw.size;
  const perSplit = Math.ceil(
    s.n / Math.max(1, Math.min(s.n, Math.ceil(GROUPED_WEIGHT_TARGET / weights))),
  );
  const splits = Math.ceil(s.n / perSplit);
  const part = Tensor.empty(gpu, [splits, ...dw.shape], "f32", "grouped conv2d weight partials");
  const shares = { splits, per_split: perSplit };
  return await prepareSteps(gpu, op, {
    scratch: [part],
    pipelines: () => [
      getPipeline(gpu, GROUPED, "conv2d_grouped_backward_weight", { WG }),
      getPipeline(gpu, GROUPED, "conv2d_grouped_reduce_weight", { WG }),
    ],
    steps: ([tile, reduce]) => [
      bindGrouped(gpu, tile, s, splits * weights, { x, dy, part_out: part }, shares),
      bindGrouped(gpu, reduce, s, weights, { part, dw }, shares, args.accumulate),
    ],
  });
}

/**
 * Records the grouped convolution's weight gradient once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { groupedConv2dBackwardWeight } from "./conv2d_grouped.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2], [1, 2, 1, 1]);
 * const dy = Tensor.from(gpu, [3, 5], [1, 2, 1, 1]);
 * const dw = Tensor.from(gpu, [1, 1], [2, 1, 1, 1]);
 * await groupedConv2dBackwardWeight(gpu, { x, dy, dw, groups: 2, accumulate: true });
 * assert.deepEqual(Array.from(await dw.read()), [4, 11]);
 * gpu.destroy();
 * ```
 */
export async function groupedConv2dBackwardWeight(
  gpu: Gpu,
  args: GroupedConv2dBackwardWeightArgs,
): Promise<void> {
  recordOnce(await prepareGroupedConv2dBackwardWeight(gpu, args));
}
