/**
 * The option-A residual shortcut: subsample by the stride, zero-pad the channels. It has no
 * parameters; the zero channels sit half in front of the input's and half behind them
 * (`floor((F - C) / 2)` in front), as LDAM-DRW's `F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0,
 * planes // 4, planes // 4))`.
 *
 * ```
 * prepareShortcutPadForward(gpu, { x, y, stride })                y = pad(x[:, :, ::s, ::s])  (overwrites y)
 * prepareShortcutPadBackward(gpu, { dy, dx, stride, accumulate }) dx (+)= its transpose       (overwrites by default)
 * ```
 *
 * @module
 */

import source from "../../kernels/shortcut.wgsl" with { type: "text" };
import type { Gpu } from "../gpu/device.ts";
import { type Dispatch, type EntryOf, grid1d, recordOnce } from "../gpu/kernel.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { checkF32, checkRank, checkShape, checkWhole } from "./_check.ts";
import { prepareDispatch } from "./_prepare.ts";
import { family, SHORTCUT_ENTRIES } from "./_entries.ts";

const SHORTCUT = family("kernels/shortcut.wgsl", source, SHORTCUT_ENTRIES);
const WG = 64;
const NCHW = ["N", "C", "H", "W"];

/**
 * Arguments of {@link prepareShortcutPadForward}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type ShortcutPadForwardArgs, shortcutPadForward } from "./shortcut.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: ShortcutPadForwardArgs = {
 *   x: Tensor.from(gpu, [1, 2, 3, 4], [1, 1, 2, 2]),
 *   y: Tensor.empty(gpu, [1, 3, 1, 1]),
 *   stride: 2,
 * };
 * await shortcutPadForward(gpu, args);
 * assert.deepEqual(Array.from(await args.y.read()), [0, 1, 0]);
 * gpu.destroy();
 * ```
 */
export interface ShortcutPadForwardArgs {
  /** Block input (N,C,H,W). */
  x: Tensor;
  /** Output (N,F,Ho,Wo), F >= C, Ho = ceil(H / stride); overwritten. */
  y: Tensor;
  /** Subsampling step along H and W (default 1). */
  stride?: number;
}

/**
 * Arguments of {@link prepareShortcutPadBackward}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type ShortcutPadBackwardArgs, shortcutPadBackward } from "./shortcut.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: ShortcutPadBackwardArgs = {
 *   dy: Tensor.from(gpu, [5, 6, 7], [1, 3, 1, 1]),
 *   dx: Tensor.from(gpu, [1, 1, 1, 1], [1, 1, 2, 2]),
 *   stride: 2,
 *   accumulate: true,
 * };
 * await shortcutPadBackward(gpu, args);
 * assert.deepEqual(Array.from(await args.dx.read()), [7, 1, 1, 1]);
 * gpu.destroy();
 * ```
 */
export interface ShortcutPadBackwardArgs {
  /** Gradient of the output (N,F,Ho,Wo). */
  dy: Tensor;
  /** Gradient of the input (N,C,H,W): overwritten, or added to with `accumulate`. */
  dx: Tensor;
  /** Subsampling step along H and W (default 1). */
  stride?: number;
  /** Add to dx instead of overwriting it (default false). */
  accumulate?: boolean;
}

/**
 * Output shape of the option-A shortcut and the zero channels in front.
 *
 * @param xShape [N,C,H,W]
 * @param channels F, the output channels (>= C).
 * @param stride s.
 * @returns `shape` [N,F,ceil(H/s),ceil(W/s)] and `before`, the zero channels in front.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shortcutPadShape } from "./shortcut.ts";
 * assert.deepEqual(shortcutPadShape([128, 16, 32, 32], 32, 2), {
 *   shape: [128, 32, 16, 16],
 *   before: 8,
 * });
 * ```
 */
export function shortcutPadShape(
  xShape: readonly number[],
  channels: number,
  stride = 1,
  op = "shortcut pad",
): { shape: number[]; before: number } {
  if (xShape.length !== 4) {
    throw new RangeError(
      `Cannot run ${op}: input has ${xShape.length} dimensions but needs 4 (N, C, H, W)`,
    );
  }
  checkWhole(op, "stride", stride, 1);
  const [n, c, h, w] = xShape;
  if (channels < c) {
    throw new RangeError(
      `Cannot run ${op}: the output has ${channels} channels but the input has ${c}; a ` +
        `zero-padding shortcut cannot drop channels (use a 1x1 convolution shortcut)`,
    );
  }
  return {
    shape: [n, channels, Math.ceil(h / stride), Math.ceil(w / stride)],
    before: Math.floor((channels - c) / 2),
  };
}

async function prepare(
  gpu: Gpu,
  entry: EntryOf<typeof SHORTCUT_ENTRIES>,
  xShape: readonly number[],
  yShape: readonly number[],
  stride: number,
  before: number,
  total: number,
  accumulate: boolean,
  resources: Record<string, Tensor>,
): Promise<Dispatch> {
  const { workgroups, row } = grid1d(gpu, total, WG);
  const [n, c, h, w] = xShape;
  return await prepareDispatch(gpu, SHORTCUT, entry, { WG }, resources, {
    n,
    c,
    h,
    w,
    f: yShape[1],
    ho: yShape[2],
    wo: yShape[3],
    stride,
    before,
    total,
    row,
    accumulate: accumulate ? 1 : 0,
  }, workgroups);
}

/**
 * Prepares `y = pad(x[:, :, ::s, ::s])`; reusable every step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareShortcutPadForward } from "./shortcut.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
 * const y = Tensor.empty(gpu, [1, 2, 2, 2]);
 * const pad = await prepareShortcutPadForward(gpu, { x, y, stride: 2 });
 * pad.record();
 * // One zero channel in front is floor((2 - 1) / 2) = 0: the input comes first.
 * assert.deepEqual(Array.from(await y.read()), [1, 3, 7, 9, 0, 0, 0, 0]);
 * pad.destroy();
 * gpu.destroy();
 * ```
 */
export function prepareShortcutPadForward(
  gpu: Gpu,
  args: ShortcutPadForwardArgs,
): Promise<Dispatch> {
  const op = "shortcut pad";
  const { x, y } = args;
  const stride = args.stride ?? 1;
  checkRank(op, "input x", x, NCHW);
  checkRank(op, "output y", y, NCHW);
  checkF32(op, { x, y });
  const { shape, before } = shortcutPadShape(x.shape, y.shape[1], stride, op);
  checkShape(op, "output y", y, shape);
  const rows = shape[0] * shape[1] * shape[2];
  return prepare(gpu, "shortcut_pad_forward", x.shape, shape, stride, before, rows, false, {
    x,
    y,
  });
}

/**
 * Records the option-A shortcut once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { shortcutPadForward } from "./shortcut.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [1, 2], [1, 2, 1, 1]);
 * const y = Tensor.empty(gpu, [1, 4, 1, 1]);
 * await shortcutPadForward(gpu, { x, y });
 * assert.deepEqual(Array.from(await y.read()), [0, 1, 2, 0]);
 * gpu.destroy();
 * ```
 */
export async function shortcutPadForward(gpu: Gpu, args: ShortcutPadForwardArgs): Promise<void> {
  recordOnce(await prepareShortcutPadForward(gpu, args));
}

/**
 * Prepares the shortcut's backward pass: `dx[n,c,h,w] = dy[n, c + B, h/s, w/s]` where s divides
 * h and w, else 0; overwrites dx, or adds to it with `accumulate`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareShortcutPadBackward } from "./shortcut.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const dy = Tensor.from(gpu, [0, 1, 2, 0], [1, 4, 1, 1]);
 * const dx = Tensor.empty(gpu, [1, 2, 1, 1]);
 * const back = await prepareShortcutPadBackward(gpu, { dy, dx });
 * back.record();
 * assert.deepEqual(Array.from(await dx.read()), [1, 2]);
 * back.destroy();
 * gpu.destroy();
 * ```
 */
export function prepareShortcutPadBackward(
  gpu: Gpu,
  args: ShortcutPadBackwardArgs,
): Promise<Dispatch> {
  const op = "shortcut pad backward";
  const { dy, dx } = args;
  const stride = args.stride ?? 1;
  checkRank(op, "gradient dy", dy, NCHW);
  checkRank(op, "gradient dx", dx, NCHW);
  checkF32(op, { dy, dx });
  const { shape, before } = shortcutPadShape(dx.shape, dy.shape[1], stride, op);
  checkShape(op, "gradient dy", dy, shape);
  return prepare(
    gpu,
    "shortcut_pad_backward",
    dx.shape,
    shape,
    stride,
    before,
    dx.shape[0] * dx.shape[1] * dx.shape[2],
    args.accumulate ?? false,
    { dy, dx },
  );
}

/**
 * Records the shortcut's backward pass once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { shortcutPadBackward } from "./shortcut.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const dy = Tensor.from(gpu, [4, 5, 6, 7], [1, 1, 2, 2]);
 * const dx = Tensor.empty(gpu, [1, 1, 3, 3]);
 * await shortcutPadBackward(gpu, { dy, dx, stride: 2 });
 * assert.deepEqual(Array.from(await dx.read()), [4, 0, 5, 0, 0, 0, 6, 0, 7]);
 * gpu.destroy();
 * ```
 */
export async function shortcutPadBackward(
  gpu: Gpu,
  args: ShortcutPadBackwardArgs,
): Promise<void> {
  recordOnce(await prepareShortcutPadBackward(gpu, args));
}
