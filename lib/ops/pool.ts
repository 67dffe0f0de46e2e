/**
 * Pooling. Global average pooling: (N,C,H,W) -> (N,C), and its backward pass `dx = dy / (H W)`
 * broadcast over each plane. Max pooling over square windows (default 3x3, stride 2, padding 1,
 * the ImageNet ResNets' pool after the stem), keeping each window's winner for the backward pass.
 *
 * ```
 * prepareGlobalAvgPoolForward(gpu, { x, y })     y[n,c] = mean(x[n,c,:,:])     (overwrites y)
 * prepareGlobalAvgPoolBackward(gpu, { dy, dx })  dx[n,c,h,w] = dy[n,c] / (H W) (overwrites dx)
 * prepareMaxPool2dForward(gpu, { x, y, argmax }) y = max over windows         (overwrites y, argmax)
 * prepareMaxPool2dBackward(gpu, { dy, argmax, dx }) dx = dy routed to winners  (overwrites dx)
 * ```
 *
 * @module
 */

import source from "../../kernels/pool.wgsl" with { type: "text" };
import type { Gpu } from "../gpu/device.ts";
import { type Dispatch, type EntryOf, grid1d, recordOnce } from "../gpu/kernel.ts";
import { formatShape, type Tensor } from "../gpu/tensor.ts";
import { checkDType, checkF32, checkRank, checkShape, checkWhole } from "./_check.ts";
import { prepareDispatch } from "./_prepare.ts";
import { family, POOL_ENTRIES } from "./_entries.ts";

type PoolEntry = EntryOf<typeof POOL_ENTRIES>;
const POOL = family("kernels/pool.wgsl", source, POOL_ENTRIES);
const WG = 64;

/**
 * Arguments of {@link prepareGlobalAvgPoolForward}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { globalAvgPoolForward, type GlobalAvgPoolForwardArgs } from "./pool.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: GlobalAvgPoolForwardArgs = {
 *   x: Tensor.from(gpu, [1, 2, 3, 4, 10, 20, 30, 40], [1, 2, 2, 2]),
 *   y: Tensor.empty(gpu, [1, 2]),
 * };
 * await globalAvgPoolForward(gpu, args);
 * assert.deepEqual(Array.from(await args.y.read()), [2.5, 25]);
 * gpu.destroy();
 * ```
 */
export interface GlobalAvgPoolForwardArgs {
  /** Input (N,C,H,W). */
  x: Tensor;
  /** Output (N,C), overwritten. */
  y: Tensor;
}

/**
 * Arguments of {@link prepareGlobalAvgPoolBackward}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { globalAvgPoolBackward, type GlobalAvgPoolBackwardArgs } from "./pool.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: GlobalAvgPoolBackwardArgs = {
 *   dy: Tensor.from(gpu, [4, 8], [1, 2]),
 *   dx: Tensor.empty(gpu, [1, 2, 2, 2]),
 * };
 * await globalAvgPoolBackward(gpu, args);
 * assert.deepEqual(Array.from(await args.dx.read()), [1, 1, 1, 1, 2, 2, 2, 2]);
 * gpu.destroy();
 * ```
 */
export interface GlobalAvgPoolBackwardArgs {
  /** Gradient of the output (N,C). */
  dy: Tensor;
  /** Gradient of the input (N,C,H,W), overwritten; its shape fixes H and W. */
  dx: Tensor;
}

function check(op: string, big: Tensor, bigName: string, small: Tensor, smallName: string) {
  checkF32(op, { [bigName]: big, [smallName]: small });
  if (big.shape.length !== 4) {
    throw new RangeError(
      `Cannot run ${op}: ${bigName} must be (N,C,H,W), got ${formatShape(big.shape)}`,
    );
  }
  const [n, c, h, w] = big.shape;
  if (small.shape.length !== 2 || small.shape[0] !== n || small.shape[1] !== c) {
    throw new RangeError(
      `Cannot run ${op}: ${smallName} has shape ${formatShape(small.shape)} but ` +
        `${formatShape([n, c])} is expected for ${bigName} ${formatShape(big.shape)}`,
    );
  }
  if (h * w === 0) throw new RangeError(`Cannot run ${op}: ${bigName} has an empty plane`);
  return { planes: n * c, hw: h * w };
}

async function prepare(
  gpu: Gpu,
  entries: readonly [plain: PoolEntry, vec4: PoolEntry],
  planes: number,
  hw: number,
  resources: Record<string, Tensor>,
): Promise<Dispatch> {
  const vec4 = hw % 4 === 0;
  const { workgroups, row } = grid1d(gpu, planes, WG);
  const uniforms = { planes, v: vec4 ? hw / 4 : hw, row, inv_hw: 1 / hw };
  const entry = entries[vec4 ? 1 : 0];
  return await prepareDispatch(gpu, POOL, entry, { WG }, resources, uniforms, workgroups);
}

/**
 * Prepares `y = mean of x over (H, W)`; reusable every step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareGlobalAvgPoolForward } from "./pool.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2, 3, 4, 10, 20, 30, 40], [2, 1, 2, 2]);
 * const y = Tensor.empty(gpu, [2, 1]);
 * const pool = await prepareGlobalAvgPoolForward(gpu, { x, y });
 * pool.record();
 * assert.deepEqual(Array.from(await y.read()), [2.5, 25]);
 * pool.destroy();
 * gpu.destroy();
 * ```
 */
export function prepareGlobalAvgPoolForward(
  gpu: Gpu,
  args: GlobalAvgPoolForwardArgs,
): Promise<Dispatch> {
  const { planes, hw } = check("global average pool", args.x, "x", args.y, "y");
  if (args.x.buffer === args.y.buffer) {
    throw new RangeError("Cannot run global average pool: x and y share a buffer");
  }
  const x: Record<string, Tensor> = { [hw % 4 === 0 ? "x4" : "x"]: args.x };
  return prepare(gpu, [POOL_ENTRIES.avg_forward, POOL_ENTRIES.avg_forward_vec4], planes, hw, {
    ...x,
    y: args.y,
  });
}

/**
 * Records the global average pool once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { globalAvgPoolForward } from "./pool.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2, 3, 6], [1, 1, 2, 2]);
 * const y = Tensor.empty(gpu, [1, 1]);
 * await globalAvgPoolForward(gpu, { x, y });
 * assert.deepEqual(Array.from(await y.read()), [3]);
 * gpu.destroy();
 * ```
 */
export async function globalAvgPoolForward(
  gpu: Gpu,
  args: GlobalAvgPoolForwardArgs,
): Promise<void> {
  recordOnce(await prepareGlobalAvgPoolForward(gpu, args));
}

/**
 * Prepares `dx[n,c,:,:] = dy[n,c] / (H W)`; reusable every step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareGlobalAvgPoolBackward } from "./pool.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const dy = Tensor.from(gpu, [4, 8], [2, 1]);
 * const dx = Tensor.empty(gpu, [2, 1, 2, 2]);
 * const back = await prepareGlobalAvgPoolBackward(gpu, { dy, dx });
 * back.record();
 * assert.deepEqual(Array.from(await dx.read()), [1, 1, 1, 1, 2, 2, 2, 2]);
 * back.destroy();
 * gpu.destroy();
 * ```
 */
export function prepareGlobalAvgPoolBackward(
  gpu: Gpu,
  args: GlobalAvgPoolBackwardArgs,
): Promise<Dispatch> {
  const { planes, hw } = check("global average pool backward", args.dx, "dx", args.dy, "dy");
  if (args.dx.buffer === args.dy.buffer) {
    throw new RangeError("Cannot run global average pool backward: dy and dx share a buffer");
  }
  const dx: Record<string, Tensor> = { [hw % 4 === 0 ? "dx4" : "dx"]: args.dx };
  return prepare(gpu, [POOL_ENTRIES.avg_backward, POOL_ENTRIES.avg_backward_vec4], planes, hw, {
    dy: args.dy,
    ...dx,
  });
}

/**
 * Records the global average pool backward pass once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { globalAvgPoolBackward } from "./pool.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const dy = Tensor.from(gpu, [8], [1, 1]);
 * const dx = Tensor.empty(gpu, [1, 1, 2, 2]);
 * await globalAvgPoolBackward(gpu, { dy, dx });
 * assert.deepEqual(Array.from(await dx.read()), [2, 2, 2, 2]);
 * gpu.destroy();
 * ```
 */
export async function globalAvgPoolBackward(
  gpu: Gpu,
  args: GlobalAvgPoolBackwardArgs,
): Promise<void> {
  recordOnce(await prepareGlobalAvgPoolBackward(gpu, args));
}

/**
 * Window of a max pool. Defaults: 3x3, stride 2, padding 1 (padded cells never win).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maxPool2dOutputShape, type MaxPool2dGeometry } from "./pool.ts";
 * const stem: MaxPool2dGeometry = { kernel: 3, stride: 2, padding: 1 };
 * assert.deepEqual(maxPool2dOutputShape([2, 64, 112, 112], stem), [2, 64, 56, 56]);
 * ```
 */
export interface MaxPool2dGeometry {
  /** Window size (default 3). */
  kernel?: number;
  /** Step between windows (default 2). */
  stride?: number;
  /** Cells outside the input on every side, at most kernel / 2 (default 1). */
  padding?: number;
}

/**
 * Arguments of {@link prepareMaxPool2dForward}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { maxPool2dForward, type MaxPool2dForwardArgs } from "./pool.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: MaxPool2dForwardArgs = {
 *   x: Tensor.from(gpu, [1, 5, 3, 2], [1, 1, 2, 2]),
 *   y: Tensor.empty(gpu, [1, 1, 1, 1]),
 *   argmax: Tensor.empty(gpu, [1, 1, 1, 1], "u32"),
 * };
 * await maxPool2dForward(gpu, args);
 * assert.deepEqual([...await args.y.read(), ...await args.argmax.read()], [5, 1]);
 * gpu.destroy();
 * ```
 */
export interface MaxPool2dForwardArgs extends MaxPool2dGeometry {
  /** Input (N,C,H,W). */
  x: Tensor;
  /** Output (N,C,Ho,Wo), overwritten. */
  y: Tensor;
  /** u32 (N,C,Ho,Wo): each window's winner as h*W + w within its plane, overwritten. */
  argmax: Tensor;
}

/**
 * Arguments of {@link prepareMaxPool2dBackward}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { maxPool2dBackward, type MaxPool2dBackwardArgs } from "./pool.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: MaxPool2dBackwardArgs = {
 *   dy: Tensor.from(gpu, [7], [1, 1, 1, 1]),
 *   argmax: Tensor.from(gpu, new Uint32Array([1]), [1, 1, 1, 1]),
 *   dx: Tensor.empty(gpu, [1, 1, 2, 2]),
 * };
 * await maxPool2dBackward(gpu, args);
 * assert.deepEqual(Array.from(await args.dx.read()), [0, 7, 0, 0]);
 * gpu.destroy();
 * ```
 */
export interface MaxPool2dBackwardArgs extends MaxPool2dGeometry {
  /** Gradient of the output (N,C,Ho,Wo). */
  dy: Tensor;
  /** u32 (N,C,Ho,Wo) winners from the forward pass. */
  argmax: Tensor;
  /** Gradient of the input (N,C,H,W), overwritten; its shape fixes H and W. */
  dx: Tensor;
}

const NCHW = ["N", "C", "H", "W"];

/**
 * Output shape of a max pool, `Ho = floor((H + 2 padding - kernel) / stride) + 1`, with checks.
 *
 * @param xShape [N,C,H,W]
 * @param geometry Window, stride, padding.
 * @returns [N,C,Ho,Wo]
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maxPool2dOutputShape } from "./pool.ts";
 * assert.deepEqual(maxPool2dOutputShape([1, 3, 7, 6]), [1, 3, 4, 3]);
 * assert.throws(() => maxPool2dOutputShape([1, 3, 7, 6], { kernel: 2, padding: 2 }), /at most/);
 * ```
 */
export function maxPool2dOutputShape(
  xShape: readonly number[],
  geometry: MaxPool2dGeometry = {},
  op = "maxpool2d",
): number[] {
  if (xShape.length !== 4) {
    throw new RangeError(
      `Cannot run ${op}: input has ${xShape.length} dimensions but needs 4 (N, C, H, W)`,
    );
  }
  const { kernel = 3, stride = 2, padding = 1 } = geometry;
  checkWhole(op, "kernel", kernel, 1);
  checkWhole(op, "stride", stride, 1);
  checkWhole(op, "padding", padding, 0);
  if (2 * padding > kernel) {
    throw new RangeError(
      `Cannot run ${op}: padding ${padding} must be at most half the kernel ${kernel}, or whole ` +
        `windows would lie in the padding`,
    );
  }
  const [n, c, h, w] = xShape;
  const ho = Math.floor((h + 2 * padding - kernel) / stride) + 1;
  const wo = Math.floor((w + 2 * padding - kernel) / stride) + 1;
  if (h < 1 || w < 1 || ho < 1 || wo < 1) {
    throw new RangeError(
      `Cannot run ${op}: the ${kernel}x${kernel} window with padding ${padding} does not fit ` +
        `the ${h}x${w} input`,
    );
  }
  return [n, c, ho, wo];
}

async function prepareMaxPool(
  gpu: Gpu,
  entry: EntryOf<typeof POOL_ENTRIES>,
  xShape: readonly number[],
  yShape: readonly number[],
  geometry: MaxPool2dGeometry,
  total: number,
  resources: Record<string, Tensor>,
): Promise<Dispatch> {
  const { workgroups, row } = grid1d(gpu, total, WG);
  return await prepareDispatch(gpu, POOL, entry, { WG }, resources, {
    h: xShape[2],
    w: xShape[3],
    ho: yShape[2],
    wo: yShape[3],
    kernel: geometry.kernel ?? 3,
    stride: geometry.stride ?? 2,
    pad: geometry.padding ?? 1,
    total,
    row,
  }, workgroups);
}

function checkArgmax(op: string, argmax: Tensor, shape: readonly number[]): void {
  checkDType(op, "argmax", argmax, "u32");
  checkShape(op, "argmax", argmax, shape);
}

/**
 * Prepares the max pool forward pass; reusable every step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareMaxPool2dForward } from "./pool.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2, 3, 4, 9, 6, 7, 8, 5], [1, 1, 3, 3]);
 * const y = Tensor.empty(gpu, [1, 1, 2, 2]);
 * const argmax = Tensor.empty(gpu, [1, 1, 2, 2], "u32");
 * const pool = await prepareMaxPool2dForward(gpu, { x, y, argmax });
 * pool.record();
 * assert.deepEqual(Array.from(await y.read()), [9, 9, 9, 9]); // every window holds the 9
 * assert.deepEqual(Array.from(await argmax.read()), [4, 4, 4, 4]);
 * pool.destroy();
 * gpu.destroy();
 * ```
 */
export function prepareMaxPool2dForward(
  gpu: Gpu,
  args: MaxPool2dForwardArgs,
): Promise<Dispatch> {
  const op = "maxpool2d";
  const { x, y, argmax } = args;
  checkRank(op, "input x", x, NCHW);
  checkF32(op, { x, y });
  const shape = maxPool2dOutputShape(x.shape, args, op);
  checkShape(op, "output y", y, shape);
  checkArgmax(op, argmax, shape);
  const rows = shape[0] * shape[1] * shape[2];
  return prepareMaxPool(gpu, "maxpool_forward", x.shape, shape, args, rows, { x, y, argmax });
}

/**
 * Records the max pool forward pass once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { maxPool2dForward } from "./pool.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2, 3, 4], [1, 1, 2, 2]);
 * const y = Tensor.empty(gpu, [1, 1, 1, 1]);
 * const argmax = Tensor.empty(gpu, [1, 1, 1, 1], "u32");
 * await maxPool2dForward(gpu, { x, y, argmax });
 * assert.deepEqual(Array.from(await y.read()), [4]);
 * gpu.destroy();
 * ```
 */
export async function maxPool2dForward(gpu: Gpu, args: MaxPool2dForwardArgs): Promise<void> {
  recordOnce(await prepareMaxPool2dForward(gpu, args));
}

/**
 * Prepares the max pool backward pass: each output's gradient goes to its window's winner,
 * summed where windows overlap; overwrites dx. Reusable every step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareMaxPool2dBackward } from "./pool.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const dy = Tensor.from(gpu, [1, 2, 3, 4], [1, 1, 2, 2]);
 * const argmax = Tensor.from(gpu, new Uint32Array([4, 4, 4, 4]), [1, 1, 2, 2]);
 * const dx = Tensor.empty(gpu, [1, 1, 3, 3]);
 * const back = await prepareMaxPool2dBackward(gpu, { dy, argmax, dx });
 * back.record();
 * assert.deepEqual(Array.from(await dx.read()), [0, 0, 0, 0, 10, 0, 0, 0, 0]);
 * back.destroy();
 * gpu.destroy();
 * ```
 */
export function prepareMaxPool2dBackward(
  gpu: Gpu,
  args: MaxPool2dBackwardArgs,
): Promise<Dispatch> {
  const op = "maxpool2d backward";
  const { dy, argmax, dx } = args;
  checkRank(op, "gradient dx", dx, NCHW);
  checkF32(op, { dy, dx });
  const shape = maxPool2dOutputShape(dx.shape, args, op);
  checkShape(op, "gradient dy", dy, shape);
  checkArgmax(op, argmax, shape);
  const rows = dx.shape[0] * dx.shape[1] * dx.shape[2];
  return prepareMaxPool(gpu, "maxpool_backward", dx.shape, shape, args, rows, {
    dy,
    argmax_in: argmax,
    dx,
  });
}

/**
 * Records the max pool backward pass once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { maxPool2dBackward } from "./pool.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const dy = Tensor.from(gpu, [3], [1, 1, 1, 1]);
 * const argmax = Tensor.from(gpu, new Uint32Array([2]), [1, 1, 1, 1]);
 * const dx = Tensor.empty(gpu, [1, 1, 2, 2]);
 * await maxPool2dBackward(gpu, { dy, argmax, dx });
 * assert.deepEqual(Array.from(await dx.read()), [0, 0, 3, 0]);
 * gpu.destroy();
 * ```
 */
export async function maxPool2dBackward(gpu: Gpu, args: MaxPool2dBackwardArgs): Promise<void> {
  recordOnce(await prepareMaxPool2dBackward(gpu, args));
}
