/**
 * 2-D convolution (NCHW, weight (F,C,KH,KW), no bias: batch norm follows every convolution in a
 * ResNet), forward and both backward passes, any kernel size, stride and symmetric padding.
 *
 * ```
 * prepareConv2dForward(gpu, { x, w, y, stride, padding })               y  = conv(x, w)
 * prepareConv2dBackwardInput(gpu, { dy, w, dx, stride, padding,
 *                                   accumulate })                       dx (+)= conv^T(dy, w) (overwrites by default)
 * prepareConv2dBackwardWeight(gpu, { x, dy, dw, stride, padding,
 *                                    accumulate })                      dw (+)= dconv/dw    (overwrites by default)
 * ```
 *
 * Each `prepare*` validates shapes, allocates its scratch (packed weights, partial sums) once
 * and returns a {@link Recordable} to record every step; the one-shot forms record once. The
 * kernels are direct convolutions with 16x16 register tiles (see kernels/conv2d.wgsl).
 *
 * @module
 */

import source from "../../kernels/conv2d.wgsl" with { type: "text" };
import type { Gpu } from "../gpu/device.ts";
import {
  Dispatch,
  getPipeline,
  type KernelSource,
  type Recordable,
  recordOnce,
  Sequence,
} from "../gpu/kernel.ts";
import { formatShape, Tensor } from "../gpu/tensor.ts";

const CONV2D: KernelSource = { file: "kernels/conv2d.wgsl", source };

/**
 * Workgroup sizes: conv tiles (heavy, few) and packing/reduction (light, many).
 *
 * @example
 * ```ts
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type Conv2dTuning, conv2dForward } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const w = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const y = Tensor.empty(gpu, [1, 1, 3, 3]);
 * const tuning: Conv2dTuning = { tileWorkgroup: 16, workgroup: 64 };
 * await conv2dForward(gpu, { x, w, y, padding: 1, tuning });
 * console.log(Array.from(await y.read())); // [4, 6, 4, 6, 9, 6, 4, 6, 4]
 * gpu.destroy();
 * ```
 */
export interface Conv2dTuning {
  /** Invocations per workgroup of the three tiled kernels (default 16). */
  tileWorkgroup?: number;
  /** Invocations per workgroup of the weight packing and reduction kernels (default 64). */
  workgroup?: number;
  /** Backward weight: aim for about this many tile invocations when splitting the batch. */
  targetInvocations?: number;
  /**
   * Backward weight tiling: 16 output channels x 16 flattened taps (c,kh,kw) (`"taps"`) or
   * x 16 input channels at one (kh,kw) (`"channels"`, faster when C is near a multiple of 16).
   * Default: whichever wastes less of its tile.
   */
  weightTile?: "taps" | "channels";
}

/**
 * Stride and padding shared by every convolution call.
 *
 * @example
 * ```ts
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type Conv2dGeometry, conv2dForward } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, new Float32Array(16).fill(1), [1, 1, 4, 4]);
 * const w = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const y = Tensor.empty(gpu, [1, 1, 2, 2]);
 * const geometry: Conv2dGeometry = { stride: 2, padding: 1 };
 * await conv2dForward(gpu, { x, w, y, ...geometry });
 * console.log(await y.read()); // Float32Array(4) [4, 6, 6, 9]
 * gpu.destroy();
 * ```
 */
export interface Conv2dGeometry {
  /** Step between output positions along H and W (default 1). */
  stride?: number;
  /** Zeros added on every side of the input (default 0). */
  padding?: number;
  /** Workgroup sizes, for benchmarks. */
  tuning?: Conv2dTuning;
}

/**
 * Arguments of {@link prepareConv2dForward}.
 *
 * @example
 * ```ts
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type Conv2dForwardArgs, conv2dForward } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: Conv2dForwardArgs = {
 *   x: Tensor.from(gpu, [1, 2, 3, 4], [1, 1, 2, 2]),
 *   w: Tensor.from(gpu, [2], [1, 1, 1, 1]),
 *   y: Tensor.empty(gpu, [1, 1, 2, 2]),
 * };
 * await conv2dForward(gpu, args);
 * console.log(await args.y.read()); // Float32Array(4) [2, 4, 6, 8]
 * gpu.destroy();
 * ```
 */
export interface Conv2dForwardArgs extends Conv2dGeometry {
  /** Input (N,C,H,W). */
  x: Tensor;
  /** Weight (F,C,KH,KW). */
  w: Tensor;
  /** Output (N,F,Ho,Wo), overwritten. */
  y: Tensor;
}

/**
 * Arguments of {@link prepareConv2dBackwardInput}.
 *
 * @example
 * ```ts
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type Conv2dBackwardInputArgs, conv2dBackwardInput } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: Conv2dBackwardInputArgs = {
 *   dy: Tensor.from(gpu, [1, 2, 3, 4], [1, 1, 2, 2]),
 *   w: Tensor.from(gpu, [2], [1, 1, 1, 1]),
 *   dx: Tensor.from(gpu, [1, 1, 1, 1], [1, 1, 2, 2]),
 *   accumulate: true,
 * };
 * await conv2dBackwardInput(gpu, args);
 * console.log(await args.dx.read()); // Float32Array(4) [3, 5, 7, 9]
 * gpu.destroy();
 * ```
 */
export interface Conv2dBackwardInputArgs extends Conv2dGeometry {
  /** Gradient of the output (N,F,Ho,Wo). */
  dy: Tensor;
  /** Weight (F,C,KH,KW). */
  w: Tensor;
  /** Gradient of the input (N,C,H,W): overwritten, or added to with `accumulate`; its shape fixes H and W. */
  dx: Tensor;
  /**
   * Add to dx instead of overwriting it (default false): a ResNet block's shortcut and main
   * branch then sum their input gradients without a separate add.
   */
  accumulate?: boolean;
}

/**
 * Arguments of {@link prepareConv2dBackwardWeight}.
 *
 * @example
 * ```ts
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type Conv2dBackwardWeightArgs, conv2dBackwardWeight } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: Conv2dBackwardWeightArgs = {
 *   x: Tensor.from(gpu, [1, 2, 3, 4], [1, 1, 2, 2]),
 *   dy: Tensor.from(gpu, [1, 1, 1, 1], [1, 1, 2, 2]),
 *   dw: Tensor.empty(gpu, [1, 1, 1, 1]),
 * };
 * await conv2dBackwardWeight(gpu, args);
 * console.log(await args.dw.read()); // Float32Array(1) [10]
 * gpu.destroy();
 * ```
 */
export interface Conv2dBackwardWeightArgs extends Conv2dGeometry {
  /** Forward input (N,C,H,W). */
  x: Tensor;
  /** Gradient of the output (N,F,Ho,Wo). */
  dy: Tensor;
  /** Gradient of the weight (F,C,KH,KW): overwritten, or added to with `accumulate`. */
  dw: Tensor;
  /** Add to dw instead of overwriting it (default false). */
  accumulate?: boolean;
}

/** Resolved sizes of one convolution (names as in kernels/conv2d.wgsl). */
interface Conv2dShape {
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
  padding: number;
}

/**
 * Output shape of a convolution, `Ho = floor((H + 2 padding - KH) / stride) + 1`, with checks.
 *
 * @param xShape [N,C,H,W]
 * @param wShape [F,C,KH,KW]
 * @returns [N,F,Ho,Wo]
 *
 * @example
 * ```ts
 * import { conv2dOutputShape } from "./conv2d.ts";
 * console.log(conv2dOutputShape([128, 16, 28, 28], [32, 16, 3, 3], 2, 1)); // [128, 32, 14, 14]
 * ```
 */
export function conv2dOutputShape(
  xShape: readonly number[],
  wShape: readonly number[],
  stride = 1,
  padding = 0,
): number[] {
  const s = resolve("conv2d", xShape, wShape, stride, padding);
  return [s.n, s.f, s.ho, s.wo];
}

function resolve(
  op: string,
  xShape: readonly number[],
  wShape: readonly number[],
  stride: number,
  padding: number,
): Conv2dShape {
  if (xShape.length !== 4) {
    throw new RangeError(
      `Cannot run ${op}: input must be 4-D (N,C,H,W), got ${formatShape(xShape)}`,
    );
  }
  if (wShape.length !== 4) {
    throw new RangeError(
      `Cannot run ${op}: weight must be 4-D (F,C,KH,KW), got ${formatShape(wShape)}`,
    );
  }
  if (!Number.isInteger(stride) || stride < 1) {
    throw new RangeError(`Cannot run ${op}: stride must be a whole number >= 1, got ${stride}`);
  }
  if (!Number.isInteger(padding) || padding < 0) {
    throw new RangeError(`Cannot run ${op}: padding must be a whole number >= 0, got ${padding}`);
  }
  const [n, c, h, w] = xShape;
  const [f, wc, kh, kw] = wShape;
  if (wc !== c) {
    throw new RangeError(
      `Cannot run ${op}: weight has ${wc} input channels but input has ${c}`,
    );
  }
  for (const [name, v] of [["batch", n], ["channels", c], ["output channels", f]] as const) {
    if (v < 1) throw new RangeError(`Cannot run ${op}: ${name} must be >= 1, got ${v}`);
  }
  if (kh < 1 || kw < 1) {
    throw new RangeError(`Cannot run ${op}: kernel must be at least 1x1, got ${kh}x${kw}`);
  }
  const ho = Math.floor((h + 2 * padding - kh) / stride) + 1;
  const wo = Math.floor((w + 2 * padding - kw) / stride) + 1;
  if (h < 1 || w < 1 || ho < 1 || wo < 1) {
    throw new RangeError(
      `Cannot run ${op}: the ${kh}x${kw} kernel with padding ${padding} does not fit the ` +
        `${h}x${w} input`,
    );
  }
  return { n, c, h, w, f, kh, kw, ho, wo, stride, padding };
}

function checkF32(op: string, tensors: Record<string, Tensor>): void {
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== "f32") {
      throw new TypeError(`Cannot run ${op}: ${name} must be f32 but is ${t.dtype}`);
    }
  }
}

function checkShape(op: string, name: string, t: Tensor, expected: readonly number[]): void {
  const same = t.shape.length === expected.length && t.shape.every((d, i) => d === expected[i]);
  if (!same) {
    throw new RangeError(
      `Cannot run ${op}: ${name} has shape ${formatShape(t.shape)} but ${formatShape(expected)} ` +
        `is expected`,
    );
  }
}

function checkDistinct(op: string, tensors: Record<string, Tensor>): void {
  const names = Object.keys(tensors);
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      if (tensors[names[i]].buffer === tensors[names[j]].buffer) {
        throw new RangeError(`Cannot run ${op}: ${names[i]} and ${names[j]} share a buffer`);
      }
    }
  }
}

const roundUp = (v: number, m: number) => Math.ceil(v / m) * m;

/** Uniforms common to every entry point; each dispatch then sets its own count and extras. */
function uniforms(s: Conv2dShape): Record<string, number> {
  return {
    n: s.n,
    c: s.c,
    h: s.h,
    w: s.w,
    f: s.f,
    ho: s.ho,
    wo: s.wo,
    kh: s.kh,
    kw: s.kw,
    stride: s.stride,
    pad: s.padding,
    c4: roundUp(s.c, 16) / 4,
    f4: roundUp(s.f, 16) / 4,
    count: 0,
    cblocks: Math.ceil(s.c / 16),
    splits: 1,
    per_split: 1,
    kblocks: Math.ceil((s.c * s.kh * s.kw) / 16),
    accumulate: 0,
  };
}

function tileGroups(gpu: Gpu, op: string, count: number, wg: number): number {
  const groups = Math.ceil(count / wg);
  const max = gpu.limits.maxComputeWorkgroupsPerDimension;
  if (groups > max) {
    throw new RangeError(
      `Cannot run ${op}: ${groups} workgroups exceed the device limit of ${max}; use a smaller ` +
        `batch or a larger tileWorkgroup`,
    );
  }
  return groups;
}

/**
 * Prepares `y = conv2d(x, w)` (no bias). Records two dispatches: weight packing, then the tiled
 * convolution. Reusable every step; re-reads x and w at each recording.
 *
 * @example
 * ```ts
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareConv2dForward } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, new Float32Array(16).fill(1), [1, 1, 4, 4]);
 * const w = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const y = Tensor.empty(gpu, [1, 1, 2, 2]);
 * const conv = await prepareConv2dForward(gpu, { x, w, y, stride: 2, padding: 1 });
 * conv.record();
 * console.log(await y.read()); // Float32Array(4) [4, 6, 6, 9]
 * conv.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareConv2dForward(
  gpu: Gpu,
  args: Conv2dForwardArgs,
): Promise<Recordable> {
  const op = "conv2d";
  const { x, w, y } = args;
  const s = resolve(op, x.shape, w.shape, args.stride ?? 1, args.padding ?? 0);
  checkF32(op, { x, w, y });
  checkShape(op, "output y", y, [s.n, s.f, s.ho, s.wo]);
  checkDistinct(op, { x, w, y });
  gpu.assertAlive(`run ${op}`);
  const tileWg = args.tuning?.tileWorkgroup ?? 16;
  const wg = args.tuning?.workgroup ?? 64;
  const u = uniforms(s);
  const kdim = s.c * s.kh * s.kw;
  const wt = Tensor.empty(gpu, [kdim, u.f4 * 4], "f32", "conv2d packed weight");
  try {
    const [pack, conv] = await Promise.all([
      getPipeline(gpu, CONV2D, "pack_weight_forward", { WG: wg }),
      getPipeline(gpu, CONV2D, "conv2d_forward", { WG: tileWg }),
    ]);
    const packCount = kdim * u.f4;
    const count = Math.ceil(s.n / 16) * s.ho * s.wo;
    return new Sequence([
      new Dispatch(gpu, pack, { w, wt_out: wt }, { ...u, count: packCount }, [
        tileGroups(gpu, op, packCount, wg),
        1,
        1,
      ]),
      new Dispatch(gpu, conv, { x, wt, y }, { ...u, count }, [
        tileGroups(gpu, op, count, tileWg),
        u.f4 / 4,
        1,
      ]),
    ], [wt]);
  } catch (error) {
    wt.destroy();
    throw error;
  }
}

/**
 * Records `y = conv2d(x, w)` once.
 *
 * @example
 * ```ts
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { conv2dForward } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const w = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const y = Tensor.empty(gpu, [1, 1, 3, 3]);
 * await conv2dForward(gpu, { x, w, y, padding: 1 });
 * console.log(Array.from(await y.read())); // [4, 6, 4, 6, 9, 6, 4, 6, 4]
 * gpu.destroy();
 * ```
 */
export async function conv2dForward(gpu: Gpu, args: Conv2dForwardArgs): Promise<void> {
  recordOnce(await prepareConv2dForward(gpu, args));
}

/**
 * Prepares `dx = dL/dx` from `dy` and `w` (the transposed convolution); overwrites dx, or adds
 * to it with `accumulate`.
 *
 * @example
 * ```ts
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareConv2dBackwardInput } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const dy = Tensor.from(gpu, [1, 0, 0, 0], [1, 1, 2, 2]);
 * const w = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const dx = Tensor.empty(gpu, [1, 1, 4, 4]);
 * const back = await prepareConv2dBackwardInput(gpu, { dy, w, dx, stride: 2, padding: 1 });
 * back.record();
 * // Output (0, 0) saw input rows and columns 0..1.
 * console.log(Array.from(await dx.read())); // [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
 * back.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareConv2dBackwardInput(
  gpu: Gpu,
  args: Conv2dBackwardInputArgs,
): Promise<Recordable> {
  const op = "conv2d backward input";
  const { dy, w, dx } = args;
  const s = resolve(op, dx.shape, w.shape, args.stride ?? 1, args.padding ?? 0);
  checkF32(op, { dy, w, dx });
  checkShape(op, "gradient dy", dy, [s.n, s.f, s.ho, s.wo]);
  checkDistinct(op, { dy, w, dx });
  gpu.assertAlive(`run ${op}`);
  const tileWg = args.tuning?.tileWorkgroup ?? 16;
  const wg = args.tuning?.workgroup ?? 64;
  const u = uniforms(s);
  const kk = s.kh * s.kw;
  const wb = Tensor.empty(gpu, [s.f * kk, u.c4 * 4], "f32", "conv2d packed weight");
  try {
    const [pack, conv] = await Promise.all([
      getPipeline(gpu, CONV2D, "pack_weight_backward", { WG: wg }),
      getPipeline(gpu, CONV2D, "conv2d_backward_input", { WG: tileWg }),
    ]);
    const packCount = s.f * kk * u.c4;
    const cell = Math.ceil(s.h / s.stride) * Math.ceil(s.w / s.stride);
    const count = Math.ceil(s.n / 16) * cell;
    return new Sequence([
      new Dispatch(gpu, pack, { w, wb_out: wb }, { ...u, count: packCount }, [
        tileGroups(gpu, op, packCount, wg),
        1,
        1,
      ]),
      new Dispatch(gpu, conv, { dy, wb, dx }, {
        ...u,
        count,
        accumulate: args.accumulate ? 1 : 0,
      }, [
        tileGroups(gpu, op, count, tileWg),
        u.cblocks * s.stride * s.stride,
        1,
      ]),
    ], [wb]);
  } catch (error) {
    wb.destroy();
    throw error;
  }
}

/**
 * Records `dx = dL/dx` (or `dx += dL/dx` with `accumulate`) once.
 *
 * @example
 * ```ts
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { conv2dBackwardInput } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const dy = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const w = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const dx = Tensor.empty(gpu, [1, 1, 3, 3]);
 * await conv2dBackwardInput(gpu, { dy, w, dx, padding: 1 });
 * console.log(Array.from(await dx.read())); // [4, 6, 4, 6, 9, 6, 4, 6, 4]
 * gpu.destroy();
 * ```
 */
export async function conv2dBackwardInput(
  gpu: Gpu,
  args: Conv2dBackwardInputArgs,
): Promise<void> {
  recordOnce(await prepareConv2dBackwardInput(gpu, args));
}

/**
 * Prepares `dw = dL/dw` from x and dy: the batch is split into shares whose partial sums are
 * reduced by a second dispatch (which also does `accumulate`). Overwrites dw by default.
 *
 * @example
 * ```ts
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareConv2dBackwardWeight } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, new Float32Array(16).fill(1), [1, 1, 4, 4]);
 * const dy = Tensor.from(gpu, [1, 1, 1, 1], [1, 1, 2, 2]);
 * const dw = Tensor.empty(gpu, [1, 1, 3, 3]);
 * const gw = await prepareConv2dBackwardWeight(gpu, { x, dy, dw, stride: 2, padding: 1 });
 * gw.record();
 * console.log(Array.from(await dw.read())); // [1, 2, 2, 2, 4, 4, 2, 4, 4]
 * gw.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareConv2dBackwardWeight(
  gpu: Gpu,
  args: Conv2dBackwardWeightArgs,
): Promise<Recordable> {
  const op = "conv2d backward weight";
  const { x, dy, dw } = args;
  const s = resolve(op, x.shape, dw.shape, args.stride ?? 1, args.padding ?? 0);
  checkF32(op, { x, dy, dw });
  checkShape(op, "gradient dy", dy, [s.n, s.f, s.ho, s.wo]);
  checkDistinct(op, { x, dy, dw });
  gpu.assertAlive(`run ${op}`);
  const tileWg = args.tuning?.tileWorkgroup ?? 16;
  const wg = args.tuning?.workgroup ?? 64;
  const target = args.tuning?.targetInvocations ?? 512;
  const u = uniforms(s);
  const kdim = s.c * s.kh * s.kw;
  // Fraction of each tile's columns that hold real taps; the channel tiling does less index
  // arithmetic per pixel, so it wins unless it wastes clearly more.
  const useChannels = args.tuning?.weightTile === undefined
    ? s.c / (u.cblocks * 16) >= 0.8 * (kdim / (u.kblocks * 16))
    : args.tuning.weightTile === "channels";
  const columnTiles = useChannels ? s.kh * s.kw * u.cblocks : u.kblocks;
  const tiles = columnTiles * (u.f4 / 4);
  // Split the batch so that there are about `target` tile invocations: enough to fill the
  // machine, few enough that the partial sums stay small.
  const perSplit = Math.ceil(s.n / Math.max(1, Math.min(s.n, Math.ceil(target / tiles))));
  const splits = Math.ceil(s.n / perSplit);
  const part = Tensor.empty(gpu, [splits, s.f, kdim], "f32", "conv2d weight partials");
  try {
    const [tile, reduce] = await Promise.all([
      getPipeline(
        gpu,
        CONV2D,
        useChannels ? "conv2d_backward_weight_channels" : "conv2d_backward_weight",
        { WG: tileWg },
      ),
      getPipeline(gpu, CONV2D, "conv2d_reduce_weight", { WG: wg }),
    ]);
    const count = columnTiles * splits;
    const reduceCount = s.f * kdim;
    const common = { ...u, splits, per_split: perSplit };
    return new Sequence([
      new Dispatch(gpu, tile, { x, dy, part_out: part }, { ...common, count }, [
        tileGroups(gpu, op, count, tileWg),
        u.f4 / 4,
        1,
      ]),
      new Dispatch(gpu, reduce, { part, dw }, {
        ...common,
        count: reduceCount,
        accumulate: args.accumulate ? 1 : 0,
      }, [tileGroups(gpu, op, reduceCount, wg), 1, 1]),
    ], [part]);
  } catch (error) {
    part.destroy();
    throw error;
  }
}

/**
 * Records `dw = dL/dw` (or `dw += dL/dw` with `accumulate`) once.
 *
 * @example
 * ```ts
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { conv2dBackwardWeight } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const dy = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const dw = Tensor.empty(gpu, [1, 1, 3, 3]);
 * await conv2dBackwardWeight(gpu, { x, dy, dw, padding: 1 });
 * console.log(Array.from(await dw.read())); // [4, 6, 4, 6, 9, 6, 4, 6, 4]
 * gpu.destroy();
 * ```
 */
export async function conv2dBackwardWeight(
  gpu: Gpu,
  args: Conv2dBackwardWeightArgs,
): Promise<void> {
  recordOnce(await prepareConv2dBackwardWeight(gpu, args));
}
