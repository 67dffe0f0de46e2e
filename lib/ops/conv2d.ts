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
 * and returns a {@link Recordable} to record every step; the one-shot forms record once.
 *
 * Two kernel variants share that contract: `direct`, convolutions with 16x16 register tiles and
 * no workgroup memory (kernels/conv2d.wgsl; fast on lavapipe), and `tiled`, an implicit GEMM
 * staged through workgroup memory with 64..256 invocations per workgroup
 * (kernels/conv2d_tiled.wgsl; for GPUs). Each pass picks its variant by tuning on the adapter
 * ({@link conv2dVariant}); `variant` on any call forces one.
 *
 * @module
 */

import source from "../../kernels/conv2d.wgsl" with { type: "text" };
import tiledSource from "../../kernels/conv2d_tiled.wgsl" with { type: "text" };
import type { Gpu } from "../gpu/device.ts";
import {
  Dispatch,
  getPipeline,
  grid1d,
  type Pipeline,
  type Recordable,
  recordOnce,
} from "../gpu/kernel.ts";
import { formatShape, Tensor } from "../gpu/tensor.ts";
import { checkDistinct, checkF32, checkShape } from "./_check.ts";
import { prepareSteps } from "./_prepare.ts";
import { checkConvPass, type ConvFamily, timeConvPass } from "./_conv_check.ts";
import { askedOrTuned, tuned, type TuneResult } from "./tune.ts";
import { CONV2D_ENTRIES, CONV2D_TILED_ENTRIES, family } from "./_entries.ts";

const CONV2D = family("kernels/conv2d.wgsl", source, CONV2D_ENTRIES);
const CONV2D_TILED = family("kernels/conv2d_tiled.wgsl", tiledSource, CONV2D_TILED_ENTRIES);

/**
 * Workgroup sizes: conv tiles (heavy, few) and packing/reduction (light, many).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type Conv2dTuning, conv2dForward } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const w = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const y = Tensor.empty(gpu, [1, 1, 3, 3]);
 * const tuning: Conv2dTuning = { tileWorkgroup: 16, workgroup: 64 };
 * await conv2dForward(gpu, { x, w, y, padding: 1, tuning });
 * assert.deepEqual(Array.from(await y.read()), [4, 6, 4, 6, 9, 6, 4, 6, 4]);
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
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type Conv2dGeometry, conv2dForward } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, new Float32Array(16).fill(1), [1, 1, 4, 4]);
 * const w = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const y = Tensor.empty(gpu, [1, 1, 2, 2]);
 * const geometry: Conv2dGeometry = { stride: 2, padding: 1 };
 * await conv2dForward(gpu, { x, w, y, ...geometry });
 * assert.deepEqual(Array.from(await y.read()), [4, 6, 6, 9]);
 * gpu.destroy();
 * ```
 */
export interface Conv2dGeometry {
  /** Step between output positions along H and W (default 1). */
  stride?: number;
  /** Zeros added on every side of the input (default 0). */
  padding?: number;
  /** Workgroup sizes of the direct kernels, for benchmarks. */
  tuning?: Conv2dTuning;
  /**
   * Forces a kernel variant instead of the tuned one: a full {@link Conv2dVariant}, or
   * `"direct"` / `"tiled"` for that kind's default shape (tests, benchmarks).
   */
  variant?: Conv2dVariant | "direct" | "tiled";
}

/**
 * A convolution kernel variant: `direct` (kernels/conv2d.wgsl, 16x16 register tiles, `wg`
 * invocations per workgroup) or `tiled` (kernels/conv2d_tiled.wgsl, an implicit GEMM with a
 * `tm x tn` output tile per workgroup staged `tk` deep in workgroup memory, 4x4 per invocation).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type Conv2dVariant, conv2dForward } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const variant: Conv2dVariant = { kernel: "tiled", tm: 32, tn: 32, tk: 16 }; // 64 invocations
 * const x = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const w = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const y = Tensor.empty(gpu, [1, 1, 3, 3]);
 * await conv2dForward(gpu, { x, w, y, padding: 1, variant });
 * assert.deepEqual(Array.from(await y.read()), [4, 6, 4, 6, 9, 6, 4, 6, 4]);
 * gpu.destroy();
 * ```
 */
export type Conv2dVariant =
  | { readonly kernel: "direct"; readonly wg: number }
  | { readonly kernel: "tiled"; readonly tm: number; readonly tn: number; readonly tk: number };

/**
 * The three passes, each tuned on its own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONV2D_TUNE_KEYS, type Conv2dPass } from "./conv2d.ts";
 * const pass: Conv2dPass = "backward_weight";
 * assert.equal(CONV2D_TUNE_KEYS[pass], "conv2d.backward_weight.v1");
 * ```
 */
export type Conv2dPass = "forward" | "backward_input" | "backward_weight";

/**
 * Storage keys of the tuned variant per pass; bump the version when candidates change.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONV2D_TUNE_KEYS } from "./conv2d.ts";
 * assert.equal(CONV2D_TUNE_KEYS.forward, "conv2d.forward.v1");
 * ```
 */
export const CONV2D_TUNE_KEYS: Readonly<Record<Conv2dPass, string>> = {
  forward: "conv2d.forward.v1",
  backward_input: "conv2d.backward_input.v1",
  backward_weight: "conv2d.backward_weight.v1",
};

/**
 * Candidates on CPU (fallback) adapters, default first: lavapipe likes the direct kernels'
 * 16-wide workgroups (Mesa 25's lavapipe runs the tiled variant 15-30x slower, and compiling
 * the direct kernels for 64 invocations takes it 5-20 s); the tiled one is timed too, for
 * drivers where it wins.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FALLBACK_CONV2D_CANDIDATES, formatConv2dVariant } from "./conv2d.ts";
 * assert.equal(formatConv2dVariant(FALLBACK_CONV2D_CANDIDATES[0]), "direct wg16");
 * ```
 */
export const FALLBACK_CONV2D_CANDIDATES: readonly Conv2dVariant[] = [
  { kernel: "direct", wg: 16 },
  { kernel: "tiled", tm: 32, tn: 32, tk: 16 },
];

/**
 * Candidates on real GPUs, default first: workgroup-memory tiles of 64..256 invocations.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatConv2dVariant, GPU_CONV2D_CANDIDATES } from "./conv2d.ts";
 * assert.equal(formatConv2dVariant(GPU_CONV2D_CANDIDATES[0]), "tiled 64x64x16");
 * ```
 */
export const GPU_CONV2D_CANDIDATES: readonly Conv2dVariant[] = [
  { kernel: "tiled", tm: 64, tn: 64, tk: 16 },
  { kernel: "tiled", tm: 64, tn: 32, tk: 16 },
  { kernel: "tiled", tm: 32, tn: 32, tk: 16 },
  { kernel: "tiled", tm: 64, tn: 64, tk: 8 },
  { kernel: "direct", wg: 16 },
];

/** The shapes `"direct"` and `"tiled"` stand for. */
const NAMED_VARIANTS: Readonly<Record<"direct" | "tiled", Conv2dVariant>> = {
  direct: { kernel: "direct", wg: 16 },
  tiled: { kernel: "tiled", tm: 64, tn: 64, tk: 16 },
};

/**
 * A short name for tables: `direct wg16`, `tiled 64x64x16`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatConv2dVariant } from "./conv2d.ts";
 * assert.equal(formatConv2dVariant({ kernel: "tiled", tm: 64, tn: 32, tk: 16 }), "tiled 64x32x16");
 * ```
 */
export function formatConv2dVariant(v: Conv2dVariant): string {
  return v.kernel === "direct" ? `direct wg${v.wg}` : `tiled ${v.tm}x${v.tn}x${v.tk}`;
}

/**
 * The candidates that suit this adapter and fit its limits; the first is the default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { conv2dCandidates, conv2dVariantProblem, formatConv2dVariant } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const names = conv2dCandidates(gpu).map(formatConv2dVariant); // on lavapipe: ["direct wg16", ...]
 * assert.equal(new Set(names).size, names.length); // each candidate once
 * assert.equal(names.every((n) => /^(direct|tiled) /.test(n)), true);
 * assert.equal(conv2dCandidates(gpu).every((v) => conv2dVariantProblem(gpu, v) === null), true);
 * gpu.destroy();
 * ```
 */
export function conv2dCandidates(gpu: Gpu): readonly Conv2dVariant[] {
  const all = gpu.isFallback ? FALLBACK_CONV2D_CANDIDATES : GPU_CONV2D_CANDIDATES;
  return all.filter((v) => conv2dVariantProblem(gpu, v) === null);
}

/**
 * Why `v` cannot run on this device, or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { conv2dVariantProblem } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * assert.equal(conv2dVariantProblem(gpu, { kernel: "tiled", tm: 30, tn: 32, tk: 16 }), "tile 30x32 is not a multiple of 4x4");
 * assert.equal(conv2dVariantProblem(gpu, { kernel: "direct", wg: 16 }), null);
 * gpu.destroy();
 * ```
 */
export function conv2dVariantProblem(gpu: Gpu, v: Conv2dVariant): string | null {
  const max = Math.min(
    gpu.limits.maxComputeInvocationsPerWorkgroup,
    gpu.limits.maxComputeWorkgroupSizeX,
  );
  if (v.kernel === "direct") {
    return Number.isInteger(v.wg) && v.wg >= 1 && v.wg <= max
      ? null
      : `wg is ${v.wg}, not 1..${max}`;
  }
  const { tm, tn, tk } = v;
  if (![tm, tn, tk].every((d) => Number.isInteger(d) && d >= 4) || tm % 4 || tn % 4) {
    return `tile ${tm}x${tn} is not a multiple of 4x4`;
  }
  const threads = (tm / 4) * (tn / 4);
  if (threads > max) return `${threads} invocations per workgroup exceed the device limit ${max}`;
  const bytes = 4 * tk * (tm + tn);
  if (bytes > gpu.limits.maxComputeWorkgroupStorageSize) {
    return `${bytes} bytes of workgroup memory exceed the device limit`;
  }
  return null;
}

/**
 * The variant for one pass on this adapter. The first call per pass tunes (unless
 * `LTKIT_TUNE=0`, a stored result for this adapter and driver, or a recorded run's choice):
 * each candidate is checked against the CPU reference on an odd shape, then timed round-robin
 * on a backbone-like layer; the median wins.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { CONV2D_TUNE_KEYS, conv2dVariant, formatConv2dVariant } from "./conv2d.ts";
 * import { presetTuning } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * // Without the preset, this first call would tune (seconds on lavapipe).
 * presetTuning(gpu, CONV2D_TUNE_KEYS.forward, { kernel: "direct", wg: 16 });
 * const { config, source } = await conv2dVariant(gpu, "forward");
 * assert.equal(formatConv2dVariant(config), "direct wg16");
 * assert.equal(source, "preset");
 * gpu.destroy();
 * ```
 */
export function conv2dVariant(
  gpu: Gpu,
  pass: Conv2dPass,
  options: { force?: boolean } = {},
): Promise<TuneResult<Conv2dVariant>> {
  const candidates = conv2dCandidates(gpu);
  return tuned(gpu, {
    force: options.force,
    key: CONV2D_TUNE_KEYS[pass],
    fallback: candidates[0] ?? NAMED_VARIANTS.direct,
    candidates,
    check: (v) => checkConv2dVariant(gpu, pass, v),
    measure: (v) => timeConv2dVariant(gpu, pass, v),
  });
}

/** The variant a call asked for (validated), else the tuned one for its pass. */
function chooseVariant(
  gpu: Gpu,
  op: string,
  pass: Conv2dPass,
  g: Conv2dGeometry,
): Promise<Conv2dVariant> {
  const wg = g.tuning?.tileWorkgroup;
  const asked = g.variant ?? (wg === undefined ? undefined : { kernel: "direct", wg } as const);
  return askedOrTuned(op, "variant", asked, {
    named: NAMED_VARIANTS,
    problem: (v) => conv2dVariantProblem(gpu, v),
    format: formatConv2dVariant,
  }, async () => (await conv2dVariant(gpu, pass)).config);
}

/**
 * Arguments of {@link prepareConv2dForward}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type Conv2dForwardArgs, conv2dForward } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: Conv2dForwardArgs = {
 *   x: Tensor.from(gpu, [1, 2, 3, 4], [1, 1, 2, 2]),
 *   w: Tensor.from(gpu, [2], [1, 1, 1, 1]),
 *   y: Tensor.empty(gpu, [1, 1, 2, 2]),
 * };
 * await conv2dForward(gpu, args);
 * assert.deepEqual(Array.from(await args.y.read()), [2, 4, 6, 8]);
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
 * import assert from "node:assert/strict";
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
 * assert.deepEqual(Array.from(await args.dx.read()), [3, 5, 7, 9]);
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
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type Conv2dBackwardWeightArgs, conv2dBackwardWeight } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args: Conv2dBackwardWeightArgs = {
 *   x: Tensor.from(gpu, [1, 2, 3, 4], [1, 1, 2, 2]),
 *   dy: Tensor.from(gpu, [1, 1, 1, 1], [1, 1, 2, 2]),
 *   dw: Tensor.empty(gpu, [1, 1, 1, 1]),
 * };
 * await conv2dBackwardWeight(gpu, args);
 * assert.deepEqual(Array.from(await args.dw.read()), [10]);
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

/**
 * Resolved sizes of one convolution (names as in kernels/conv2d.wgsl); the grouped convolution's
 * shape extends it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Conv2dShape } from "./conv2d.ts";
 * const s: Conv2dShape = {
 *   n: 8, c: 16, h: 28, w: 28, f: 32, kh: 3, kw: 3, ho: 14, wo: 14, stride: 2, padding: 1,
 * };
 * assert.equal(s.ho, Math.floor((s.h + 2 * s.padding - s.kh) / s.stride) + 1);
 * ```
 */
export interface Conv2dShape {
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
 * import assert from "node:assert/strict";
 * import { conv2dOutputShape } from "./conv2d.ts";
 * assert.deepEqual(conv2dOutputShape([128, 16, 28, 28], [32, 16, 3, 3], 2, 1), [128, 32, 14, 14]);
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

const roundUp = (v: number, m: number) => Math.ceil(v / m) * m;

/** The sizes every kernel of both convolution files takes as uniforms. */
function geometryUniforms(s: Conv2dShape): Record<string, number> {
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
  };
}

/** Uniforms common to every entry point; each dispatch then sets its own count and extras. */
function uniforms(s: Conv2dShape): Record<string, number> {
  return {
    ...geometryUniforms(s),
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

/** A dispatch of a kernels/conv2d.wgsl entry over `count` x invocations, folded as needed. */
function folded(
  gpu: Gpu,
  pipeline: Pipeline,
  resources: Record<string, Tensor>,
  uniforms: Record<string, number>,
  wg: number,
  y = 1,
): Dispatch {
  const { grid, row } = foldGroups("conv2d", uniforms.count, wg, gpu, y);
  return new Dispatch(gpu, pipeline, resources, { ...uniforms, row }, grid);
}

/**
 * How many partial sums of a `weights`-value gradient one storage buffer holds: the cap on the
 * batch shares a weight gradient splits into (dense and grouped convolutions), so that its
 * partial sums are never the tensor that does not fit. 0 when not even the gradient itself fits.
 *
 * @param gpu The device whose per-buffer limit applies ({@link Gpu.maxTensorBytes}).
 * @param weights Values of one gradient.
 * @returns Whole gradients per storage buffer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { partialsThatFit } from "./conv2d.ts";
 * const gpu = await requestGpu({
 *   warnFallback: false,
 *   lowerLimits: { maxStorageBufferBindingSize: 64 * 1024, maxBufferSize: 64 * 1024 },
 * });
 * assert.equal(partialsThatFit(gpu, 1000), 16); // 16 x 4000 bytes fit 64 KiB, 17 do not
 * gpu.destroy();
 * ```
 */
export function partialsThatFit(gpu: Gpu, weights: number): number {
  const max = gpu.maxTensorBytes;
  return Math.floor(max / (weights * 4));
}

/**
 * The grid of `count` invocations along x in workgroups of `wg`, with `y` along y: x folds into
 * z-slices past the per-dimension limit ({@link grid1d}), and the kernels read their x index as
 * `gid.z * row + gid.x` (kernels/conv2d.wgsl `lin`, kernels/conv2d_grouped.wgsl's tiles).
 * Returns the workgroups and the `row` uniform.
 *
 * @param op The op named in the error.
 * @param count Invocations along x.
 * @param wg Workgroup size.
 * @param gpu The device whose per-dimension limit applies.
 * @param y Workgroups along y.
 * @returns The grid and `row`.
 * @throws {RangeError} When `y` exceeds the per-dimension limit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { foldGroups } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * assert.deepEqual(foldGroups("conv2d", 640, 64, gpu, 3), { grid: [10, 3, 1], row: 640 });
 * gpu.destroy();
 * ```
 */
export function foldGroups(
  op: string,
  count: number,
  wg: number,
  gpu: Gpu,
  y = 1,
): { grid: [number, number, number]; row: number } {
  const { workgroups: [x, z], row } = grid1d(gpu, count, wg);
  // y counts blocks of 16 channels: past WebGPU's guaranteed 65535 only beyond a million
  // channels, so it is checked here rather than folded (a forced small limit can reach it).
  const max = gpu.limits.maxComputeWorkgroupsPerDimension;
  if (y > max) {
    throw new RangeError(
      `Cannot run ${op}: a grid of ${x}x${y}x${z} workgroups exceeds the device limit of ` +
        `${max} per dimension; use fewer channels or a smaller batch`,
    );
  }
  return { grid: [x, y, z], row };
}

/**
 * Prepares `y = conv2d(x, w)` (no bias). Records two dispatches: weight packing, then the tiled
 * convolution. Reusable every step; re-reads x and w at each recording.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareConv2dForward } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, new Float32Array(16).fill(1), [1, 1, 4, 4]);
 * const w = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const y = Tensor.empty(gpu, [1, 1, 2, 2]);
 * const conv = await prepareConv2dForward(gpu, { x, w, y, stride: 2, padding: 1 });
 * conv.record();
 * assert.deepEqual(Array.from(await y.read()), [4, 6, 6, 9]);
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
  const variant = await chooseVariant(gpu, op, "forward", args);
  if (variant.kernel === "tiled") {
    return prepareTiled(gpu, op, 0, s, variant, { src0: w, src1: x, dst: y }, false);
  }
  const tileWg = variant.wg;
  const wg = args.tuning?.workgroup ?? 64;
  const u = uniforms(s);
  const kdim = s.c * s.kh * s.kw;
  const wt = Tensor.empty(gpu, [kdim, u.f4 * 4], "f32", "conv2d packed weight");
  const packCount = kdim * u.f4;
  const count = Math.ceil(s.n / 16) * s.ho * s.wo;
  return prepareSteps(gpu, op, {
    scratch: [wt],
    pipelines: () => [
      getPipeline(gpu, CONV2D, "pack_weight_forward", { WG: wg }),
      getPipeline(gpu, CONV2D, "conv2d_forward", { WG: tileWg }),
    ],
    steps: ([pack, conv]) => [
      folded(gpu, pack, { w, wt_out: wt }, { ...u, count: packCount }, wg),
      folded(gpu, conv, { x, wt, y }, { ...u, count }, tileWg, u.f4 / 4),
    ],
  });
}

/**
 * Records `y = conv2d(x, w)` once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { conv2dForward } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const w = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const y = Tensor.empty(gpu, [1, 1, 3, 3]);
 * await conv2dForward(gpu, { x, w, y, padding: 1 });
 * assert.deepEqual(Array.from(await y.read()), [4, 6, 4, 6, 9, 6, 4, 6, 4]);
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
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareConv2dBackwardInput } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const dy = Tensor.from(gpu, [1, 0, 0, 0], [1, 1, 2, 2]);
 * const w = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const dx = Tensor.empty(gpu, [1, 1, 4, 4]);
 * const back = await prepareConv2dBackwardInput(gpu, { dy, w, dx, stride: 2, padding: 1 });
 * back.record();
 * // Output (0, 0) saw input rows and columns 0..1.
 * assert.deepEqual(Array.from(await dx.read()), [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
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
  const variant = await chooseVariant(gpu, op, "backward_input", args);
  if (variant.kernel === "tiled") {
    const dst = { src0: w, src1: dy, dst: dx };
    return prepareTiled(gpu, op, 1, s, variant, dst, args.accumulate ?? false);
  }
  const tileWg = variant.wg;
  const wg = args.tuning?.workgroup ?? 64;
  const u = uniforms(s);
  const kk = s.kh * s.kw;
  const wb = Tensor.empty(gpu, [s.f * kk, u.c4 * 4], "f32", "conv2d packed weight");
  const packCount = s.f * kk * u.c4;
  const cell = Math.ceil(s.h / s.stride) * Math.ceil(s.w / s.stride);
  const count = Math.ceil(s.n / 16) * cell;
  return prepareSteps(gpu, op, {
    scratch: [wb],
    pipelines: () => [
      getPipeline(gpu, CONV2D, "pack_weight_backward", { WG: wg }),
      getPipeline(gpu, CONV2D, "conv2d_backward_input", { WG: tileWg }),
    ],
    steps: ([pack, conv]) => [
      folded(gpu, pack, { w, wb_out: wb }, { ...u, count: packCount }, wg),
      folded(
        gpu,
        conv,
        { dy, wb, dx },
        { ...u, count, accumulate: args.accumulate ? 1 : 0 },
        tileWg,
        u.cblocks * s.stride * s.stride,
      ),
    ],
  });
}

/**
 * Records `dx = dL/dx` (or `dx += dL/dx` with `accumulate`) once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { conv2dBackwardInput } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const dy = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const w = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const dx = Tensor.empty(gpu, [1, 1, 3, 3]);
 * await conv2dBackwardInput(gpu, { dy, w, dx, padding: 1 });
 * assert.deepEqual(Array.from(await dx.read()), [4, 6, 4, 6, 9, 6, 4, 6, 4]);
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
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { prepareConv2dBackwardWeight } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, new Float32Array(16).fill(1), [1, 1, 4, 4]);
 * const dy = Tensor.from(gpu, [1, 1, 1, 1], [1, 1, 2, 2]);
 * const dw = Tensor.empty(gpu, [1, 1, 3, 3]);
 * const gw = await prepareConv2dBackwardWeight(gpu, { x, dy, dw, stride: 2, padding: 1 });
 * gw.record();
 * assert.deepEqual(Array.from(await dw.read()), [1, 2, 2, 2, 4, 4, 2, 4, 4]);
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
  const variant = await chooseVariant(gpu, op, "backward_weight", args);
  if (variant.kernel === "tiled") {
    const dst = { src0: dy, src1: x, dst: dw };
    return prepareTiled(gpu, op, 2, s, variant, dst, args.accumulate ?? false);
  }
  const tileWg = variant.wg;
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
  // machine, few enough that the partial sums stay small (and fit one storage buffer).
  const wanted = Math.min(s.n, Math.ceil(target / tiles), partialsThatFit(gpu, s.f * kdim));
  const perSplit = Math.ceil(s.n / Math.max(1, wanted));
  const splits = Math.ceil(s.n / perSplit);
  const part = Tensor.empty(gpu, [splits, s.f, kdim], "f32", "conv2d weight partials");
  const count = columnTiles * splits;
  const reduceCount = s.f * kdim;
  const common = { ...u, splits, per_split: perSplit };
  return prepareSteps(gpu, op, {
    scratch: [part],
    pipelines: () => [
      getPipeline(
        gpu,
        CONV2D,
        useChannels ? "conv2d_backward_weight_channels" : "conv2d_backward_weight",
        { WG: tileWg },
      ),
      getPipeline(gpu, CONV2D, "conv2d_reduce_weight", { WG: wg }),
    ],
    steps: ([tile, reduce]) => [
      folded(gpu, tile, { x, dy, part_out: part }, { ...common, count }, tileWg, u.f4 / 4),
      folded(gpu, reduce, { part, dw }, {
        ...common,
        count: reduceCount,
        accumulate: args.accumulate ? 1 : 0,
      }, wg),
    ],
  });
}

/**
 * Records `dw = dL/dw` (or `dw += dL/dw` with `accumulate`) once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { conv2dBackwardWeight } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const dy = Tensor.from(gpu, new Float32Array(9).fill(1), [1, 1, 3, 3]);
 * const dw = Tensor.empty(gpu, [1, 1, 3, 3]);
 * await conv2dBackwardWeight(gpu, { x, dy, dw, padding: 1 });
 * assert.deepEqual(Array.from(await dw.read()), [4, 6, 4, 6, 9, 6, 4, 6, 4]);
 * gpu.destroy();
 * ```
 */
export async function conv2dBackwardWeight(
  gpu: Gpu,
  args: Conv2dBackwardWeightArgs,
): Promise<void> {
  recordOnce(await prepareConv2dBackwardWeight(gpu, args));
}

/**
 * Prepares one pass as the tiled implicit GEMM (kernels/conv2d_tiled.wgsl). The weight pass
 * splits its long depth (N*P) into slices so that enough workgroups run, writes per-slice
 * partials and sums them with conv2d.wgsl's reduction, which also accumulates.
 */
function prepareTiled(
  gpu: Gpu,
  op: string,
  mode: 0 | 1 | 2,
  s: Conv2dShape,
  v: Extract<Conv2dVariant, { kernel: "tiled" }>,
  io: { src0: Tensor; src1: Tensor; dst: Tensor },
  accumulate: boolean,
): Promise<Recordable> {
  const kk = s.kh * s.kw;
  const pixels = s.ho * s.wo;
  const [m, cols, depth] = mode === 0
    ? [s.f, s.n * pixels, s.c * kk]
    : mode === 1
    ? [s.c, s.n * s.h * s.w, s.f * kk]
    : [s.f, s.c * kk, s.n * pixels];
  const mtiles = Math.ceil(m / v.tm);
  const ntiles = Math.ceil(cols / v.tn);
  let splits = 1;
  if (mode === 2) {
    // About 4 workgroups per invocation-group the device can hold (256 on a software adapter,
    // 2048 on a GPU); every slice keeps at least 8 steps of TK.
    const target = gpu.isFallback ? 64 : 2048;
    splits = Math.max(
      1,
      Math.min(
        Math.ceil(target / (mtiles * ntiles)),
        Math.floor(depth / (8 * v.tk)),
        partialsThatFit(gpu, s.f * s.c * kk),
      ),
    );
  }
  const kps = roundUp(Math.ceil(depth / splits), v.tk);
  splits = Math.ceil(depth / kps);
  // One workgroup per (NC tile, M tile, slice), as a 1-D range folded past the per-dimension
  // limit; the kernel decodes the three indices from the linear workgroup number.
  const { workgroups, row: gx } = grid1d(gpu, ntiles * mtiles * splits, 1);
  const part = mode === 2
    ? Tensor.empty(gpu, [splits, s.f, s.c * kk], "f32", "conv2d weight partials")
    : null;
  return prepareSteps(gpu, op, {
    scratch: part ? [part] : [],
    pipelines: () => [
      getPipeline(gpu, CONV2D_TILED, "conv2d_tiled", { MODE: mode, TM: v.tm, TN: v.tn, TK: v.tk }),
      part ? getPipeline(gpu, CONV2D, "conv2d_reduce_weight", { WG: 64 }) : null,
    ],
    steps: ([tile, reduce]) => {
      const steps = [
        new Dispatch(gpu, tile, { src0: io.src0, src1: io.src1, dst: part ?? io.dst }, {
          ...geometryUniforms(s),
          m,
          cols,
          depth,
          kps,
          gx,
          ntiles,
          mtiles,
          splits,
          accumulate: accumulate ? 1 : 0,
        }, workgroups),
      ];
      if (part && reduce) {
        const count = s.f * s.c * kk;
        steps.push(
          folded(gpu, reduce, { part, dw: io.dst }, {
            ...uniforms(s),
            splits,
            count,
            accumulate: accumulate ? 1 : 0,
          }, 64),
        );
      }
      return steps;
    },
  });
}

/** The odd shape every candidate is checked on: stride 2, padding, nothing a tile multiple. */
const CHECK_SHAPE = { x: [3, 5, 9, 11], w: [7, 5, 3, 3], stride: 2, padding: 1 };

/** The prepare functions the tuner's check and timing run. */
const CONV2D_FAMILY: ConvFamily<Conv2dGeometry> = {
  forward: prepareConv2dForward,
  backwardInput: prepareConv2dBackwardInput,
  backwardWeight: prepareConv2dBackwardWeight,
};

/**
 * Runs variant `v` of `pass` on an odd shape (with accumulation for the backward passes) and
 * throws when it differs from the CPU reference: the tuner's self-check.
 *
 * @example
 * ```ts
 * import { requestGpu } from "../gpu/mod.ts";
 * import { checkConv2dVariant } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * // Resolves when the tiled 32x32x16 kernel matches the CPU reference; throws otherwise.
 * await checkConv2dVariant(gpu, "forward", { kernel: "tiled", tm: 32, tn: 32, tk: 16 });
 * gpu.destroy();
 * ```
 */
export function checkConv2dVariant(
  gpu: Gpu,
  pass: Conv2dPass,
  v: Conv2dVariant,
): Promise<void> {
  return checkConvPass(
    gpu,
    CONV2D_FAMILY,
    pass,
    CHECK_SHAPE,
    { variant: v },
    formatConv2dVariant(v),
  );
}

/**
 * The layer {@link timeConv2dVariant} times: N images of C channels at HW x HW through a 3x3
 * convolution to C channels (stride 1, padding 1), and its multiply-adds times 2.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { conv2dTuneShape } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * assert.equal(conv2dTuneShape(gpu).c, gpu.isFallback ? 16 : 64);
 * gpu.destroy();
 * ```
 */
export function conv2dTuneShape(gpu: Gpu): { n: number; c: number; hw: number; flop: number } {
  const [n, c, hw] = gpu.isFallback ? [8, 16, 28] : [64, 64, 28];
  return { n, c, hw, flop: 2 * n * c * c * 9 * hw * hw };
}

/**
 * Times variant `v` of `pass` on a backbone-like layer (3x3, stride 1, padding 1: 16 channels
 * at 28x28 and batch 8 on software adapters, 64 channels at 28x28 and batch 64 on GPUs);
 * returns ms per call (submits and waits).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { timeConv2dVariant } from "./conv2d.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const ms = await timeConv2dVariant(gpu, "forward", { kernel: "direct", wg: 16 });
 * assert.equal(ms > 0, true);
 * gpu.destroy();
 * ```
 */
export function timeConv2dVariant(
  gpu: Gpu,
  pass: Conv2dPass,
  v: Conv2dVariant,
): Promise<number> {
  const { n, c, hw, flop } = conv2dTuneShape(gpu);
  const layer = { x: [n, c, hw, hw], w: [c, c, 3, 3], stride: 1, padding: 1 };
  return timeConvPass(gpu, CONV2D_FAMILY, pass, layer, { variant: v }, flop);
}
