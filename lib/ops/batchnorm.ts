/**
 * Batch normalisation per channel over (N, H, W) for (N,C,H,W) input, or over N for (N,C).
 *
 * ```
 * prepareBatchNormTrainForward(gpu, { x, gamma, beta, y, mean, invStd, runningMean, runningVar,
 *                                     momentum = 0.1, eps = 1e-5, relu = false })
 * prepareBatchNormEvalForward(gpu, { x, gamma, beta, y, runningMean, runningVar, eps, relu })
 * prepareBatchNormBackward(gpu, { x, dy, gamma, mean, invStd, dx, dgamma, dbeta, reluOutput })
 * ```
 *
 * Training normalises with the biased batch variance, saves mean and invStd (C) for the
 * backward pass and updates the running statistics as PyTorch does (the running variance is fed
 * the unbiased variance). `relu: true` fuses a ReLU into y; the backward pass then needs the
 * forward output as `reluOutput` to mask dy. The backward pass overwrites dx, dgamma and dbeta.
 *
 * @module
 */

import source from "../../kernels/batchnorm.wgsl" with { type: "text" };
import subgroupSource from "../../kernels/batchnorm_subgroup.wgsl" with { type: "text" };
import type { Gpu } from "../gpu/device.ts";
import {
  Dispatch,
  type EntryOf,
  getPipeline,
  grid1d,
  type Pipeline,
  type Recordable,
  recordOnce,
  spliceKernel,
} from "../gpu/kernel.ts";
import { formatShape, Tensor } from "../gpu/tensor.ts";
import { checkDistinct, checkF32 } from "./_check.ts";
import { prepareSteps } from "./_prepare.ts";
import * as reference from "./_reference_nn.ts";
import { timeRecorded, tuned, tuneData, type TuneResult } from "./tune.ts";
import { BATCHNORM_ENTRIES, family } from "./_entries.ts";

const BN = BATCHNORM_ENTRIES;
const BATCHNORM = family("kernels/batchnorm.wgsl", source, BATCHNORM_ENTRIES);
/** batchnorm.wgsl with its workgroup reductions swapped for the subgroup ones. */
const BATCHNORM_SUBGROUP = spliceKernel(BATCHNORM, "workgroup reductions", {
  file: "kernels/batchnorm_subgroup.wgsl",
  source: subgroupSource,
});
/** Reduction workgroup (one per channel); a power of two. */
const REDUCE_WG = 64;
const APPLY_WG = 64;
/** Values (or vec4s) per invocation of the element-wise kernels. */
const PER = 8;

/**
 * Arguments of {@link prepareBatchNormTrainForward}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { batchNormTrainForward, type BatchNormTrainForwardArgs } from "./batchnorm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const round = (a: ArrayLike<number>) => Array.from(a, (v) => +v.toFixed(3));
 * const x = Tensor.from(gpu, [1, 3], [2, 1]); // (N=2, C=1)
 * const args: BatchNormTrainForwardArgs = {
 *   x,
 *   gamma: Tensor.from(gpu, [2]),
 *   beta: Tensor.from(gpu, [0.5]),
 *   y: Tensor.empty(gpu, [2, 1]),
 *   mean: Tensor.empty(gpu, [1]),
 *   invStd: Tensor.empty(gpu, [1]),
 *   runningMean: Tensor.zeros(gpu, [1]),
 *   runningVar: Tensor.from(gpu, [1]),
 * };
 * await batchNormTrainForward(gpu, args);
 * assert.deepEqual(round(await args.y.read()), [-1.5, 2.5]);
 * assert.deepEqual(round(await args.runningMean.read()), [0.2]);
 * assert.deepEqual(round(await args.runningVar.read()), [1.1]);
 * gpu.destroy();
 * ```
 */
export interface BatchNormTrainForwardArgs {
  /** Input (N,C,H,W) or (N,C). */
  x: Tensor;
  /** Scale (C). */
  gamma: Tensor;
  /** Shift (C). */
  beta: Tensor;
  /** Output, same shape as x; overwritten. */
  y: Tensor;
  /** Batch mean (C), written for the backward pass. */
  mean: Tensor;
  /** 1 / sqrt(biased batch variance + eps) (C), written for the backward pass. */
  invStd: Tensor;
  /** Running mean (C), updated in place. */
  runningMean: Tensor;
  /** Running variance (C), updated in place with the unbiased batch variance. */
  runningVar: Tensor;
  /** Weight of the batch statistic in the running averages (default 0.1, as in PyTorch). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Apply ReLU to the output (default false). */
  relu?: boolean;
  /** Forces the reduction variant instead of the tuned one (tests, benchmarks). */
  variant?: BatchNormVariant;
}

/**
 * Arguments of {@link prepareBatchNormEvalForward}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { batchNormEvalForward, type BatchNormEvalForwardArgs } from "./batchnorm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const round = (a: ArrayLike<number>) => Array.from(a, (v) => +v.toFixed(3));
 * const args: BatchNormEvalForwardArgs = {
 *   x: Tensor.from(gpu, [1, 3], [2, 1]),
 *   gamma: Tensor.from(gpu, [1]),
 *   beta: Tensor.from(gpu, [0]),
 *   y: Tensor.empty(gpu, [2, 1]),
 *   runningMean: Tensor.from(gpu, [2]),
 *   runningVar: Tensor.from(gpu, [4]),
 * };
 * await batchNormEvalForward(gpu, args);
 * assert.deepEqual(round(await args.y.read()), [-0.5, 0.5]);
 * gpu.destroy();
 * ```
 */
export interface BatchNormEvalForwardArgs {
  /** Input (N,C,H,W) or (N,C). */
  x: Tensor;
  /** Scale (C). */
  gamma: Tensor;
  /** Shift (C). */
  beta: Tensor;
  /** Output, same shape as x; overwritten. */
  y: Tensor;
  /** Running mean (C), used in place of the batch mean. */
  runningMean: Tensor;
  /** Running variance (C), used in place of the batch variance. */
  runningVar: Tensor;
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Apply ReLU to the output (default false). */
  relu?: boolean;
}

/**
 * Arguments of {@link prepareBatchNormBackward}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { batchNormBackward, type BatchNormBackwardArgs } from "./batchnorm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * // x (N=4, C=1) with batch mean 1 and invStd 1, as a training forward pass saved them.
 * const args: BatchNormBackwardArgs = {
 *   x: Tensor.from(gpu, [0, 0, 2, 2], [4, 1]),
 *   dy: Tensor.from(gpu, [1, 0, 0, 0], [4, 1]),
 *   gamma: Tensor.from(gpu, [1]),
 *   mean: Tensor.from(gpu, [1]),
 *   invStd: Tensor.from(gpu, [1]),
 *   dx: Tensor.empty(gpu, [4, 1]),
 *   dgamma: Tensor.empty(gpu, [1]),
 *   dbeta: Tensor.empty(gpu, [1]),
 * };
 * await batchNormBackward(gpu, args);
 * assert.deepEqual(Array.from(await args.dbeta.read()), [1]);
 * assert.deepEqual(Array.from(await args.dgamma.read()), [-1]);
 * assert.deepEqual(Array.from(await args.dx.read()), [0.5, -0.5, 0, 0]);
 * gpu.destroy();
 * ```
 */
export interface BatchNormBackwardArgs {
  /** Forward input. */
  x: Tensor;
  /** Gradient of the output (of the ReLU output when the forward fused one). */
  dy: Tensor;
  /** Scale (C) used in the forward pass. */
  gamma: Tensor;
  /** Saved batch mean from the training forward pass. */
  mean: Tensor;
  /** Saved invStd from the training forward pass. */
  invStd: Tensor;
  /** Gradient of the input, overwritten. */
  dx: Tensor;
  /** Gradient of gamma (C), overwritten. */
  dgamma: Tensor;
  /** Gradient of beta (C), overwritten. */
  dbeta: Tensor;
  /** The forward output y when the forward pass fused a ReLU: dy counts only where y > 0. */
  reluOutput?: Tensor;
  /** Forces the reduction variant instead of the tuned one (tests, benchmarks). */
  variant?: BatchNormVariant;
}

/**
 * How the per-channel reductions combine their partial sums: through workgroup memory
 * (`workgroup`, kernels/batchnorm.wgsl) or with subgroup shuffles first (`subgroups`,
 * kernels/batchnorm_subgroup.wgsl; needs the `subgroups` feature).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { batchNormCandidates, type BatchNormVariant } from "./batchnorm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const variants: readonly BatchNormVariant[] = batchNormCandidates(gpu);
 * assert.equal(variants[0], "workgroup");
 * gpu.destroy();
 * ```
 */
export type BatchNormVariant = "workgroup" | "subgroups";

/**
 * Storage key of the tuned batch-norm variant; bump it when the candidates change.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BATCHNORM_TUNE_KEY } from "./batchnorm.ts";
 * assert.equal(BATCHNORM_TUNE_KEY, "batchnorm.v1");
 * ```
 */
export const BATCHNORM_TUNE_KEY = "batchnorm.v1";

/**
 * The variants this device can run, default first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { batchNormCandidates } from "./batchnorm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * assert.equal(batchNormCandidates(gpu).length === (gpu.hasSubgroups ? 2 : 1), true);
 * gpu.destroy();
 * ```
 */
export function batchNormCandidates(gpu: Gpu): readonly BatchNormVariant[] {
  return gpu.hasSubgroups ? ["workgroup", "subgroups"] : ["workgroup"];
}

/**
 * The batch-norm variant for this adapter: tuned on first use (each candidate's training
 * forward and backward checked against the CPU reference, then timed round-robin).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { BATCHNORM_TUNE_KEY, batchNormVariant } from "./batchnorm.ts";
 * import { presetTuning } from "./tune.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * presetTuning(gpu, BATCHNORM_TUNE_KEY, "workgroup");
 * assert.equal((await batchNormVariant(gpu)).config, "workgroup");
 * gpu.destroy();
 * ```
 */
export function batchNormVariant(
  gpu: Gpu,
  options: { force?: boolean } = {},
): Promise<TuneResult<BatchNormVariant>> {
  const candidates = batchNormCandidates(gpu);
  return tuned(gpu, {
    key: BATCHNORM_TUNE_KEY,
    fallback: candidates[0],
    candidates,
    measure: (v) => timeBatchNormVariant(gpu, v),
    force: options.force,
  });
}

/**
 * Runs the training forward and backward of variant `v` on a backbone-like shape, checks one
 * result of each against the CPU reference, and returns ms per forward + backward.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { timeBatchNormVariant } from "./batchnorm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * assert.equal((await timeBatchNormVariant(gpu, "workgroup")) > 0, true);
 * gpu.destroy();
 * ```
 */
export async function timeBatchNormVariant(gpu: Gpu, v: BatchNormVariant): Promise<number> {
  const shape = gpu.isFallback ? [16, 16, 27, 27] : [128, 64, 27, 27];
  const c = shape[1];
  const size = shape.reduce((a, b) => a * b, 1);
  const xs = tuneData(size, 41).map((value) => 3 + 2 * value);
  const dys = tuneData(size, 42);
  const gs = tuneData(c, 43).map((value) => 1 + value / 2);
  const t = (data: Float32Array, dims: number[]) =>
    Tensor.from(gpu, data, dims, "f32", "batchnorm tune");
  const [x, dy, gamma, beta] = [t(xs, shape), t(dys, shape), t(gs, [c]), t(gs, [c])];
  const vectors = Array.from({ length: 6 }, () => Tensor.zeros(gpu, [c], "f32", "bn tune"));
  const [mean, invStd, runningMean, runningVar, dgamma, dbeta] = vectors;
  const y = Tensor.empty(gpu, shape, "f32", "batchnorm tune");
  const dx = Tensor.empty(gpu, shape, "f32", "batchnorm tune");
  const forward = await prepareBatchNormTrainForward(gpu, {
    x,
    gamma,
    beta,
    y,
    mean,
    invStd,
    runningMean,
    runningVar,
    variant: v,
  });
  const backward = await prepareBatchNormBackward(gpu, {
    x,
    dy,
    gamma,
    mean,
    invStd,
    dx,
    dgamma,
    dbeta,
    variant: v,
  });
  try {
    forward.record();
    backward.record();
    const want = reference.batchNormTrainForward(xs, shape, gs, gs);
    const grads = reference.batchNormBackward(xs, dys, shape, gs, want.mean, want.invStd);
    for (
      const [name, got, expected] of [
        ["y", await y.read(), want.y],
        ["dx", await dx.read(), grads.dx],
        ["dgamma", await dgamma.read(), grads.dgamma],
      ] as const
    ) {
      for (let i = 0; i < expected.length; i++) {
        if (!(Math.abs(got[i] - expected[i]) <= 1e-3 * Math.max(1, Math.abs(expected[i])))) {
          throw new Error(`batchnorm ${v} gives ${name}[${i}] = ${got[i]}, not ${expected[i]}`);
        }
      }
    }
    return await timeRecorded(gpu, () => {
      forward.record();
      backward.record();
    }, 10 * size);
  } finally {
    forward.destroy();
    backward.destroy();
    for (const tensor of [x, dy, gamma, beta, y, dx, ...vectors]) tensor.destroy();
    gpu.submit();
  }
}

/** The reduction pipeline of the variant asked for (checked), else of the tuned one. */
async function reductionPipeline(
  gpu: Gpu,
  op: string,
  entry: EntryOf<typeof BATCHNORM_ENTRIES>,
  forced: BatchNormVariant | undefined,
): Promise<Pipeline> {
  if (forced !== undefined && !batchNormCandidates(gpu).includes(forced)) {
    throw new RangeError(
      `Cannot run ${op} with variant "${forced}": ` +
        (forced === "subgroups"
          ? `the device lacks the "subgroups" feature`
          : `use "workgroup" or "subgroups"`),
    );
  }
  const variant = forced ?? (await batchNormVariant(gpu)).config;
  if (variant === "subgroups") {
    const lanes = Math.min(REDUCE_WG, gpu.adapter.subgroupMinSize || 4);
    return getPipeline(gpu, BATCHNORM_SUBGROUP, entry, { WG: REDUCE_WG, LANES: lanes });
  }
  return getPipeline(gpu, BATCHNORM, entry, { WG: REDUCE_WG });
}

interface BnShape {
  n: number;
  c: number;
  hw: number;
}

function shapeOf(op: string, x: Tensor): BnShape {
  if (x.shape.length === 2) return { n: x.shape[0], c: x.shape[1], hw: 1 };
  if (x.shape.length === 4) {
    return { n: x.shape[0], c: x.shape[1], hw: x.shape[2] * x.shape[3] };
  }
  throw new RangeError(
    `Cannot run ${op}: x must be (N,C,H,W) or (N,C), got ${formatShape(x.shape)}`,
  );
}

function check(
  op: string,
  x: Tensor,
  perChannel: Record<string, Tensor>,
  sameAsX: Record<string, Tensor>,
): BnShape {
  const s = shapeOf(op, x);
  if (s.n * s.hw === 0 || s.c === 0) {
    throw new RangeError(`Cannot run ${op}: x ${formatShape(x.shape)} is empty`);
  }
  const all = { x, ...perChannel, ...sameAsX };
  checkF32(op, all);
  for (const [name, t] of Object.entries(perChannel)) {
    if (t.size !== s.c) {
      throw new RangeError(
        `Cannot run ${op}: ${name} has ${t.size} values but x ${formatShape(x.shape)} has ` +
          `${s.c} channels`,
      );
    }
  }
  for (const [name, t] of Object.entries(sameAsX)) {
    const same = t.shape.length === x.shape.length && t.shape.every((d, i) => d === x.shape[i]);
    if (!same) {
      throw new RangeError(
        `Cannot run ${op}: ${name} has shape ${formatShape(t.shape)} but x has ` +
          formatShape(x.shape),
      );
    }
  }
  checkDistinct(op, all);
  return s;
}

function checkEps(op: string, eps: number): void {
  if (!(eps > 0) || !Number.isFinite(eps)) {
    throw new RangeError(`Cannot run ${op}: eps must be a positive number, got ${eps}`);
  }
}

/** `{ name: t }`, or `{ name4: t }` for the vec4 entry points. */
function bind(vec4: boolean, name: string, t: Tensor): Record<string, Tensor> {
  return { [vec4 ? `${name}4` : name]: t };
}

/** Uniforms; `vec4` picks the vec4 entry points (HW a multiple of 4). */
function uniforms(s: BnShape, vec4: boolean, extra: Partial<Record<string, number>> = {}) {
  const v = vec4 ? s.hw / 4 : s.hw;
  return {
    n: s.n,
    c: s.c,
    v,
    count: s.n * v,
    per: PER,
    relu: 0,
    momentum: 0,
    eps: 1e-5,
    unbias: 1,
    inv_m: 1 / (s.n * s.hw),
    ...extra,
  } as Record<string, number>;
}

/** One workgroup per channel, folded past the per-dimension limit (`channel_of` in the kernel). */
function channelGrid(gpu: Gpu, u: Record<string, number>, s: BnShape) {
  const { workgroups, row } = grid1d(gpu, s.c, 1);
  return { uniforms: { ...u, row, span: 0 }, workgroups };
}

/**
 * The apply kernels' grid: `span` invocations per channel, each over {@link PER} values, as one
 * range folded past the per-dimension limit (`apply_at` in the kernel).
 */
function applyGrid(gpu: Gpu, u: Record<string, number>, s: BnShape) {
  const span = Math.ceil(u.count / PER);
  const { workgroups, row } = grid1d(gpu, s.c * span, APPLY_WG);
  return { uniforms: { ...u, row, span }, workgroups };
}

/**
 * Prepares the training forward pass: batch statistics (one workgroup per channel), running
 * statistics update, then the normalisation. Two dispatches.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type BatchNormTrainForwardArgs, prepareBatchNormTrainForward } from "./batchnorm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const round = (a: ArrayLike<number>) => Array.from(a, (v) => +v.toFixed(3));
 * const x = Tensor.from(gpu, [1, 3], [2, 1]); // (N=2, C=1)
 * const args: BatchNormTrainForwardArgs = {
 *   x,
 *   gamma: Tensor.from(gpu, [2]),
 *   beta: Tensor.from(gpu, [0.5]),
 *   y: Tensor.empty(gpu, [2, 1]),
 *   mean: Tensor.empty(gpu, [1]),
 *   invStd: Tensor.empty(gpu, [1]),
 *   runningMean: Tensor.zeros(gpu, [1]),
 *   runningVar: Tensor.from(gpu, [1]),
 * };
 * const bn = await prepareBatchNormTrainForward(gpu, { ...args, relu: true });
 * bn.record();
 * assert.deepEqual(round(await args.y.read()), [0, 2.5]);
 * assert.deepEqual(round(await args.mean.read()), [2]);
 * assert.deepEqual(round(await args.invStd.read()), [1]);
 * bn.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareBatchNormTrainForward(
  gpu: Gpu,
  args: BatchNormTrainForwardArgs,
): Promise<Recordable> {
  const op = "batchnorm";
  const { x, gamma, beta, y, mean, invStd, runningMean, runningVar } = args;
  const s = check(op, x, { gamma, beta, mean, invStd, runningMean, runningVar }, { y });
  const momentum = args.momentum ?? 0.1;
  const eps = args.eps ?? 1e-5;
  checkEps(op, eps);
  if (!(momentum >= 0 && momentum <= 1)) {
    throw new RangeError(`Cannot run ${op}: momentum must be in [0, 1], got ${momentum}`);
  }
  const m = s.n * s.hw;
  if (m < 2) {
    throw new RangeError(
      `Cannot run ${op}: training needs more than one value per channel, x ` +
        `${formatShape(x.shape)} has ${m}`,
    );
  }
  gpu.assertAlive(`run ${op}`);
  const vec4 = s.hw % 4 === 0;
  const u = uniforms(s, vec4, {
    momentum,
    eps,
    unbias: m / (m - 1),
    relu: args.relu ? 1 : 0,
  });
  const [channel, spread] = [channelGrid(gpu, u, s), applyGrid(gpu, u, s)];
  const coef = Tensor.empty(gpu, [s.c, 4], "f32", "batchnorm coefficients");
  const xs = bind(vec4, "x", x);
  return await prepareSteps(gpu, op, {
    scratch: [coef],
    pipelines: () => [
      reductionPipeline(gpu, op, vec4 ? BN.stats_vec4 : BN.stats, args.variant),
      getPipeline(gpu, BATCHNORM, vec4 ? BN.apply_vec4 : BN.apply, { WG: APPLY_WG }),
    ],
    steps: ([stats, apply]) => [
      new Dispatch(
        gpu,
        stats,
        {
          ...xs,
          gamma,
          beta,
          coef_out: coef,
          mean,
          inv_std: invStd,
          running_mean: runningMean,
          running_var: runningVar,
        },
        channel.uniforms,
        channel.workgroups,
      ),
      new Dispatch(
        gpu,
        apply,
        { ...xs, coef, ...bind(vec4, "out", y) },
        spread.uniforms,
        spread.workgroups,
      ),
    ],
  });
}

/**
 * Records the training forward pass once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { batchNormTrainForward } from "./batchnorm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const round = (a: ArrayLike<number>) => Array.from(a, (v) => +v.toFixed(3));
 * const [x, y] = [Tensor.from(gpu, [1, 3], [2, 1]), Tensor.empty(gpu, [2, 1])];
 * const [gamma, beta] = [Tensor.from(gpu, [1]), Tensor.from(gpu, [0])];
 * const [mean, invStd] = [Tensor.empty(gpu, [1]), Tensor.empty(gpu, [1])];
 * const [runningMean, runningVar] = [Tensor.zeros(gpu, [1]), Tensor.from(gpu, [1])];
 * await batchNormTrainForward(gpu, { x, gamma, beta, y, mean, invStd, runningMean, runningVar });
 * assert.deepEqual(round(await y.read()), [-1, 1]);
 * gpu.destroy();
 * ```
 */
export async function batchNormTrainForward(
  gpu: Gpu,
  args: BatchNormTrainForwardArgs,
): Promise<void> {
  recordOnce(await prepareBatchNormTrainForward(gpu, args));
}

/**
 * Prepares the eval forward pass from the running statistics. Two dispatches (per-channel
 * coefficients, then the normalisation); reads the running statistics at every recording.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type BatchNormEvalForwardArgs, prepareBatchNormEvalForward } from "./batchnorm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const round = (a: ArrayLike<number>) => Array.from(a, (v) => +v.toFixed(3));
 * const args: BatchNormEvalForwardArgs = {
 *   x: Tensor.from(gpu, [1, 3], [2, 1]),
 *   gamma: Tensor.from(gpu, [1]),
 *   beta: Tensor.from(gpu, [0]),
 *   y: Tensor.empty(gpu, [2, 1]),
 *   runningMean: Tensor.from(gpu, [2]),
 *   runningVar: Tensor.from(gpu, [4]),
 * };
 * const bn = await prepareBatchNormEvalForward(gpu, { ...args, relu: true });
 * bn.record();
 * assert.deepEqual(round(await args.y.read()), [0, 0.5]);
 * bn.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareBatchNormEvalForward(
  gpu: Gpu,
  args: BatchNormEvalForwardArgs,
): Promise<Recordable> {
  const op = "batchnorm eval";
  const { x, gamma, beta, y, runningMean, runningVar } = args;
  const s = check(op, x, { gamma, beta, runningMean, runningVar }, { y });
  const eps = args.eps ?? 1e-5;
  checkEps(op, eps);
  gpu.assertAlive(`run ${op}`);
  const vec4 = s.hw % 4 === 0;
  const u = uniforms(s, vec4, { eps, relu: args.relu ? 1 : 0 });
  const [coefGrid, spread] = [grid1d(gpu, s.c, APPLY_WG), applyGrid(gpu, u, s)];
  const coef = Tensor.empty(gpu, [s.c, 4], "f32", "batchnorm coefficients");
  return await prepareSteps(gpu, op, {
    scratch: [coef],
    pipelines: () => [
      getPipeline(gpu, BATCHNORM, BN.eval_coef, { WG: APPLY_WG }),
      getPipeline(gpu, BATCHNORM, vec4 ? BN.apply_vec4 : BN.apply, { WG: APPLY_WG }),
    ],
    steps: ([coefs, apply]) => [
      new Dispatch(
        gpu,
        coefs,
        {
          gamma,
          beta,
          running_mean_in: runningMean,
          running_var_in: runningVar,
          coef_out: coef,
        },
        { ...u, row: coefGrid.row, span: 0 },
        coefGrid.workgroups,
      ),
      new Dispatch(
        gpu,
        apply,
        { ...bind(vec4, "x", x), coef, ...bind(vec4, "out", y) },
        spread.uniforms,
        spread.workgroups,
      ),
    ],
  });
}

/**
 * Records the eval forward pass once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { batchNormEvalForward } from "./batchnorm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const round = (a: ArrayLike<number>) => Array.from(a, (v) => +v.toFixed(3));
 * const [x, y] = [Tensor.from(gpu, [1, 3], [2, 1]), Tensor.empty(gpu, [2, 1])];
 * const [gamma, beta] = [Tensor.from(gpu, [1]), Tensor.from(gpu, [0])];
 * const [runningMean, runningVar] = [Tensor.from(gpu, [2]), Tensor.from(gpu, [4])];
 * await batchNormEvalForward(gpu, { x, gamma, beta, y, runningMean, runningVar });
 * assert.deepEqual(round(await y.read()), [-0.5, 0.5]);
 * gpu.destroy();
 * ```
 */
export async function batchNormEvalForward(
  gpu: Gpu,
  args: BatchNormEvalForwardArgs,
): Promise<void> {
  recordOnce(await prepareBatchNormEvalForward(gpu, args));
}

/**
 * Prepares the backward pass (training mode): per-channel sums of dy and dy * xhat give dbeta
 * and dgamma, then `dx = gamma invStd (dy - dbeta / M - xhat dgamma / M)`. Two dispatches;
 * overwrites dx, dgamma and dbeta.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { type BatchNormBackwardArgs, prepareBatchNormBackward } from "./batchnorm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * // x (N=4, C=1) with batch mean 1 and invStd 1, as a training forward pass saved them.
 * const args: BatchNormBackwardArgs = {
 *   x: Tensor.from(gpu, [0, 0, 2, 2], [4, 1]),
 *   dy: Tensor.from(gpu, [1, 0, 0, 0], [4, 1]),
 *   gamma: Tensor.from(gpu, [1]),
 *   mean: Tensor.from(gpu, [1]),
 *   invStd: Tensor.from(gpu, [1]),
 *   dx: Tensor.empty(gpu, [4, 1]),
 *   dgamma: Tensor.empty(gpu, [1]),
 *   dbeta: Tensor.empty(gpu, [1]),
 * };
 * const back = await prepareBatchNormBackward(gpu, args);
 * back.record();
 * assert.deepEqual(Array.from(await args.dx.read()), [0.5, -0.5, 0, 0]);
 * back.destroy();
 * gpu.destroy();
 * ```
 */
export async function prepareBatchNormBackward(
  gpu: Gpu,
  args: BatchNormBackwardArgs,
): Promise<Recordable> {
  const op = "batchnorm backward";
  const { x, dy, gamma, mean, invStd, dx, dgamma, dbeta, reluOutput } = args;
  const s = check(
    op,
    x,
    { gamma, mean, invStd, dgamma, dbeta },
    reluOutput ? { dy, dx, reluOutput } : { dy, dx },
  );
  gpu.assertAlive(`run ${op}`);
  const vec4 = s.hw % 4 === 0;
  const u = uniforms(s, vec4, { relu: reluOutput ? 1 : 0 });
  const [channel, spread] = [channelGrid(gpu, u, s), applyGrid(gpu, u, s)];
  const coef = Tensor.empty(gpu, [s.c, 4], "f32", "batchnorm coefficients");
  // Without a fused ReLU the mask binding is unused by the shader's logic; dy stands in.
  const mask = reluOutput ?? dy;
  const ins = { ...bind(vec4, "x", x), ...bind(vec4, "dy", dy), ...bind(vec4, "ymask", mask) };
  return await prepareSteps(gpu, op, {
    scratch: [coef],
    pipelines: () => [
      reductionPipeline(gpu, op, vec4 ? BN.backward_reduce_vec4 : BN.backward_reduce, args.variant),
      getPipeline(gpu, BATCHNORM, vec4 ? BN.backward_apply_vec4 : BN.backward_apply, {
        WG: APPLY_WG,
      }),
    ],
    steps: ([reduce, apply]) => [
      new Dispatch(
        gpu,
        reduce,
        {
          ...ins,
          gamma,
          mean_in: mean,
          inv_std_in: invStd,
          coef_out: coef,
          dgamma,
          dbeta,
        },
        channel.uniforms,
        channel.workgroups,
      ),
      new Dispatch(
        gpu,
        apply,
        { ...ins, coef, ...bind(vec4, "out", dx) },
        spread.uniforms,
        spread.workgroups,
      ),
    ],
  });
}

/**
 * Records the backward pass once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu, Tensor } from "../gpu/mod.ts";
 * import { batchNormBackward } from "./batchnorm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const x = Tensor.from(gpu, [0, 0, 2, 2], [4, 1]);
 * const dy = Tensor.from(gpu, [1, 0, 0, 0], [4, 1]);
 * const [gamma, mean, invStd] = [
 *   Tensor.from(gpu, [1]),
 *   Tensor.from(gpu, [1]),
 *   Tensor.from(gpu, [1]),
 * ];
 * const [dgamma, dbeta] = [Tensor.empty(gpu, [1]), Tensor.empty(gpu, [1])];
 * const dx = Tensor.empty(gpu, [4, 1]);
 * await batchNormBackward(gpu, { x, dy, gamma, mean, invStd, dx, dgamma, dbeta });
 * assert.deepEqual(Array.from(await dx.read()), [0.5, -0.5, 0, 0]);
 * gpu.destroy();
 * ```
 */
export async function batchNormBackward(gpu: Gpu, args: BatchNormBackwardArgs): Promise<void> {
  recordOnce(await prepareBatchNormBackward(gpu, args));
}
