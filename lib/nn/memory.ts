/**
 * GPU memory of a training step, from the network plan and the allocation rules of
 * {@link ResNet} (lib/nn/resnet.ts) and its ops, before anything is allocated: so that a batch
 * that cannot fit is refused at once, with the largest batch that would.
 *
 * What a {@link ResNet} allocates, per convolution + BN: the weight with its gradient and
 * velocity, BN scale and shift (each x3), running and batch statistics, and two (B,F,Ho,Wo)
 * activations (conv output, BN output); per block its output (and the option-A shortcut's
 * output); the stem pool's output and winners; the input, labels, features and logits with their
 * gradients. Backward scratch is shared by shape, at most four buffers of each activation shape
 * (no backward step keeps more than three busy). The convolution ops add packed weights and the
 * weight gradient's per-batch-share partial sums. The estimate is an upper bound: the tests check
 * that it is at least what a built network allocates and within a quarter of it.
 *
 * WebGPU does not tell how much memory a device has, only how large one buffer may be, so the
 * hard limit is per tensor; a total budget can be given too (e.g. the card's memory).
 *
 * @module
 */

import { formatBytes } from "../gpu/device.ts";
import { GROUPED_WEIGHT_TARGET } from "../ops/conv2d_grouped.ts";
import { type ConvPlan, planResNet, type ResNetSpec } from "./spec.ts";

const F32 = 4;
/** conv2d.ts: the weight gradient splits the batch until about this many tile invocations run. */
const CONV_TARGET = 512;

/**
 * Memory of one training step at one batch size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stepMemory, type StepMemory } from "./memory.ts";
 * import { resnet32 } from "./spec.ts";
 * const m: StepMemory = stepMemory(resnet32(), 128);
 * assert.equal(m.totalBytes, m.fixedBytes + 128 * m.perImageBytes + m.scratchBytes);
 * ```
 */
export interface StepMemory {
  /** The batch it was computed for. */
  batch: number;
  /** Parameters with gradients and velocities, BN statistics: bytes whatever the batch. */
  fixedBytes: number;
  /** Activations, their gradients and backward scratch, per image. */
  perImageBytes: number;
  /** Convolution op scratch (packed weights, partial sums) at this batch. */
  scratchBytes: number;
  /** Everything: fixed + batch x per image + scratch. */
  totalBytes: number;
  /**
   * The largest single tensor at this batch that must fit one storage buffer: an activation, a
   * parameter or a packed weight (a weight gradient's partial sums split to fit).
   */
  largest: { name: string; bytes: number };
}

/**
 * What may be allocated: the per-buffer limit and, optionally, a total budget.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { MemoryLimits } from "./memory.ts";
 * const limits: MemoryLimits = { maxTensorBytes: 2 ** 30, budgetBytes: 16 * 2 ** 30 };
 * assert.equal(limits.budgetBytes! / limits.maxTensorBytes, 16);
 * ```
 */
export interface MemoryLimits {
  /** min(maxStorageBufferBindingSize, maxBufferSize) of the device. */
  maxTensorBytes: number;
  /** Total bytes the step may use (none: only the per-tensor limit applies). */
  budgetBytes?: number;
}

interface Tally {
  fixed: number;
  /** Trainable values (what a gradient accumulator holds). */
  params: number;
  perImage: number;
  /** Per-image sizes of activation tensors, by name. */
  activations: Map<string, number>;
  /**
   * Sizes of tensors that do not grow with the batch and must each fit one storage buffer:
   * parameters (their gradients and velocities are as large) and the convolutions' packed
   * weights. A weight gradient's partial sums need no entry: dense and grouped convolutions split
   * the batch into at most as many shares as one buffer holds (`partialsThatFit`,
   * lib/ops/conv2d.ts), and one share is as large as the weight.
   */
  fixedTensors: Map<string, number>;
  /** Distinct per-image activation shapes that backward scratch is keyed by. */
  shapes: Set<string>;
}

function tally(spec: ResNetSpec): Tally {
  const plan = planResNet(spec);
  const t: Tally = {
    fixed: 0,
    params: 0,
    perImage: 0,
    activations: new Map(),
    fixedTensors: new Map(),
    shapes: new Set(),
  };
  const act = (name: string, shape: readonly number[], count = 1) => {
    const size = shape.reduce((a, b) => a * b, 1);
    t.perImage += count * size * F32;
    t.activations.set(name, size * F32);
  };
  const convBn = (c: ConvPlan) => {
    const weights = c.cout * (c.cin / c.groups) * c.kernel ** 2;
    // weight, gamma, beta with gradients and velocities; running and batch mean and variance.
    t.fixed += (3 * (weights + 2 * c.cout) + 4 * c.cout) * F32;
    t.params += weights + 2 * c.cout;
    t.fixedTensors.set(`${c.name}.conv.weight`, weights * F32);
    const packed = packedWeightBytes(c);
    t.fixedTensors.set(`${c.name}.conv packed weights`, packed.forward);
    t.fixedTensors.set(`${c.name}.conv packed weights (backward)`, packed.backward);
    act(`${c.name}.conv.out`, [c.cout, ...c.output], 2);
    t.shapes.add([c.cout, ...c.output].join("x"));
  };
  act("input", spec.input);
  t.shapes.add(spec.input.join("x"));
  convBn(plan.stem);
  if (plan.pool) {
    act("stem.pool.out", [spec.stem, ...plan.pool.output], 2); // output and u32 winners
    t.shapes.add([spec.stem, ...plan.pool.output].join("x"));
  }
  for (const b of plan.blocks) {
    for (const c of b.main) convBn(c);
    if (typeof b.shortcut !== "string") convBn(b.shortcut);
    act(`${b.name}.out`, b.output, b.shortcut === "pad" ? 2 : 1);
    t.shapes.add(b.output.join("x"));
  }
  // Labels, features, logits, row losses; the gradients of features and logits.
  t.perImage += (1 + 2 * plan.feature + 2 * spec.classes + 1) * F32;
  t.fixed += 3 * (plan.feature + 1) * spec.classes * F32 + 2 * F32;
  t.params += (plan.feature + 1) * spec.classes;
  t.fixedTensors.set("fc.weight", plan.feature * spec.classes * F32);
  for (const key of t.shapes) {
    t.perImage += 4 * key.split("x").map(Number).reduce((a, b) => a * b, 1) * F32;
  }
  return t;
}

const up16 = (v: number) => Math.ceil(v / 16) * 16;

/**
 * Bytes of a convolution's packed weights for the forward and the input-gradient passes: per
 * input (backward: output) channel and tap, a group's output (backward: input) channels rounded
 * up to the tiles' 16 (grouped register tiles use 4, 8 or 16: 16 bounds them); one group is the
 * whole convolution.
 */
function packedWeightBytes(c: ConvPlan): { forward: number; backward: number } {
  const kk = c.kernel ** 2;
  return {
    forward: c.cin * kk * up16(c.cout / c.groups) * F32,
    backward: c.cout * kk * up16(c.cin / c.groups) * F32,
  };
}

/**
 * Convolution op scratch at `batch`: packed weights and partial sums (an upper bound for the
 * default, direct variants; a workgroup-tiled variant chosen by tuning may split its weight
 * gradient into more partial sums). The shares counted here are those before the ops' cap at
 * one storage buffer (`partialsThatFit`), which only lowers them on a device with small buffers.
 */
function convScratch(spec: ResNetSpec, batch: number): number {
  const plan = planResNet(spec);
  let bytes = 0;
  const convs = [
    plan.stem,
    ...plan.blocks.flatMap((
      b,
    ) => [...b.main, ...(typeof b.shortcut === "string" ? [] : [b.shortcut])]),
  ];
  for (const c of convs) {
    const kk = c.kernel ** 2;
    const weights = c.cout * (c.cin / c.groups) * kk;
    const packed = packedWeightBytes(c);
    bytes += packed.forward + packed.backward;
    if (c.groups > 1) {
      bytes += Math.min(batch, Math.ceil(GROUPED_WEIGHT_TARGET / weights)) * weights * F32;
      continue;
    }
    const k = c.cin * kk;
    const tiles = Math.min(Math.ceil(k / 16), kk * Math.ceil(c.cin / 16)) * (up16(c.cout) / 16);
    bytes += Math.min(batch, Math.ceil(CONV_TARGET / tiles)) * weights * F32;
  }
  return bytes;
}

/**
 * The memory a training step of `spec` needs at `batch` (an upper bound; see the module doc).
 *
 * @param spec The network.
 * @param batch Images per step.
 * @returns The breakdown and the largest tensor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatBytes } from "../gpu/device.ts";
 * import { stepMemory } from "./memory.ts";
 * import { imagenetResNet } from "./spec.ts";
 * const r10 = imagenetResNet("resnet10", [3, 224, 224], 64, [1, 1, 1, 1], 1000);
 * const m = stepMemory(r10, 64);
 * assert.equal(m.largest.name, "stem.conv.out");
 * assert.equal(formatBytes(m.largest.bytes), "196 MiB");
 * ```
 */
export function stepMemory(spec: ResNetSpec, batch: number): StepMemory {
  if (!Number.isInteger(batch) || batch < 1) {
    throw new RangeError(`Cannot size ${spec.name}: batch is ${batch}; it must be >= 1`);
  }
  const t = tally(spec);
  let largest = { name: "", bytes: 0 };
  for (const [name, bytes] of t.activations) {
    if (bytes * batch > largest.bytes) largest = { name, bytes: bytes * batch };
  }
  for (const [name, bytes] of t.fixedTensors) {
    if (bytes > largest.bytes) largest = { name, bytes };
  }
  const scratchBytes = convScratch(spec, batch);
  return {
    batch,
    fixedBytes: t.fixed,
    perImageBytes: t.perImage,
    scratchBytes,
    totalBytes: t.fixed + batch * t.perImage + scratchBytes,
    largest,
  };
}

/**
 * The largest batch whose step fits the limits (0 when not even one image does).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { largestBatch, stepMemory } from "./memory.ts";
 * import { resnet32 } from "./spec.ts";
 * const budget = stepMemory(resnet32(), 100).totalBytes;
 * assert.equal(largestBatch(resnet32(), { maxTensorBytes: 2 ** 30, budgetBytes: budget }), 100);
 * ```
 */
export function largestBatch(spec: ResNetSpec, limits: MemoryLimits): number {
  const fits = (b: number) => {
    const m = stepMemory(spec, b);
    return m.largest.bytes <= limits.maxTensorBytes &&
      (limits.budgetBytes === undefined || m.totalBytes <= limits.budgetBytes);
  };
  if (!fits(1)) return 0;
  let lo = 1;
  let hi = 2;
  while (fits(hi) && hi < 2 ** 24) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Throws a RangeError, before anything is allocated, when a step at `batch` cannot fit; the
 * message gives what it needs, the limit, and the largest batch that fits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertBatchFits } from "./memory.ts";
 * import { imagenetResNet } from "./spec.ts";
 * const r10 = imagenetResNet("resnet10", [3, 224, 224], 64, [1, 1, 1, 1], 1000);
 * assertBatchFits(r10, 128, { maxTensorBytes: 2 ** 30 }); // fine
 * assert.throws(
 *   () => assertBatchFits(r10, 512, { maxTensorBytes: 2 ** 30 }),
 *   /Cannot train resnet10 at batch 512: its largest tensor, stem.conv.out, needs 1.5 GiB .* the largest batch that fits is 334/,
 * );
 * ```
 */
export function assertBatchFits(spec: ResNetSpec, batch: number, limits: MemoryLimits): void {
  const m = stepMemory(spec, batch);
  const fix = () => {
    const best = largestBatch(spec, limits);
    return best > 0
      ? `the largest batch that fits is ${best}`
      : "not even one image fits; use a smaller input or width";
  };
  if (m.largest.bytes > limits.maxTensorBytes) {
    throw new RangeError(
      `Cannot train ${spec.name} at batch ${batch}: its largest tensor, ${m.largest.name}, ` +
        `needs ${formatBytes(m.largest.bytes)} but one storage buffer holds at most ` +
        `${formatBytes(limits.maxTensorBytes)} on this device; ${fix()}`,
    );
  }
  if (limits.budgetBytes !== undefined && m.totalBytes > limits.budgetBytes) {
    throw new RangeError(
      `Cannot train ${spec.name} at batch ${batch}: a step needs about ` +
        `${formatBytes(m.totalBytes)} but the budget is ${
          formatBytes(limits.budgetBytes)
        }; ${fix()}`,
    );
  }
}

/**
 * One line for logs: what a step of `spec` at `batch` needs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeStepMemory } from "./memory.ts";
 * import { resnet32 } from "./spec.ts";
 * assert.equal(describeStepMemory(resnet32(), 128), "a step at batch 128 needs about 461 MiB of GPU memory");
 * ```
 */
export function describeStepMemory(spec: ResNetSpec, batch: number): string {
  const step = stepMemory(spec, batch);
  return describeMicroBatchPlan({
    batch,
    count: 1,
    size: batch,
    step,
    extraBytes: 0,
    totalBytes: step.totalBytes,
  });
}

/**
 * How a training step splits its batch: `count` equal micro-batches of `size` images, each run
 * forward and backward on its own, their gradients summed before one update
 * ({@link planMicroBatches}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type MicroBatchPlan, planMicroBatches } from "./memory.ts";
 * import { resnet32 } from "./spec.ts";
 * const plan: MicroBatchPlan = planMicroBatches(resnet32(), 128, { maxTensorBytes: 2 ** 30 });
 * assert.deepEqual([plan.count, plan.size, plan.extraBytes], [1, 128, 0]);
 * ```
 */
export interface MicroBatchPlan {
  /** Images per training step (per SGD update). */
  batch: number;
  /** Micro-batches per step; 1 runs the batch whole. */
  count: number;
  /** Images per micro-batch: batch / count. */
  size: number;
  /** The memory of the network built for one micro-batch. */
  step: StepMemory;
  /** Gradient accumulators and the whole batch's input slots; 0 when count is 1. */
  extraBytes: number;
  /** Everything the step needs: step.totalBytes + extraBytes. */
  totalBytes: number;
}

/** Accumulators and input slots of a step split into micro-batches (none when it is not). */
function microBatchExtra(spec: ResNetSpec, batch: number, count: number): number {
  if (count === 1) return 0;
  const t = tally(spec);
  const image = spec.input.reduce((a, b) => a * b, 1);
  return t.params * F32 + batch * (image + 1) * F32;
}

/**
 * The micro-batches a step of `spec` at `batch` runs as: the smallest `count` that divides the
 * batch and whose micro-batch of `batch / count` images fits the limits (so every micro-batch has
 * the same size, and batch-norm statistics are always over equally many images). A batch with
 * few divisors may split finer than memory needs: a prime batch that does not fit whole runs
 * image by image; choose a batch with small factors (powers of two). Throws a RangeError when not
 * even one image per micro-batch fits, naming the tensor, its bytes and the limit.
 *
 * @param spec The network.
 * @param batch Images per step.
 * @param limits What may be allocated.
 * @returns The plan (count 1 when the batch fits whole).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planMicroBatches } from "./memory.ts";
 * import { imagenetResNet } from "./spec.ts";
 * const r10 = imagenetResNet("resnet10", [3, 224, 224], 64, [1, 1, 1, 1], 1000);
 * // stem.conv.out is 3.1 MiB per image: 512 images need 1.5 GiB, 256 fit one 1 GiB buffer;
 * // nothing fits 1 MiB, not even the 512x512x3x3 weights.
 * const plan = planMicroBatches(r10, 512, { maxTensorBytes: 2 ** 30 });
 * assert.deepEqual([plan.count, plan.size], [2, 256]);
 * assert.throws(
 *   () => planMicroBatches(r10, 512, { maxTensorBytes: 2 ** 20 }),
 *   /Cannot train resnet10 at batch 512: even one image per micro-batch needs 9 MiB for stage4.block1.2.conv.weight but one storage buffer holds at most 1 MiB/,
 * );
 * ```
 */
export function planMicroBatches(
  spec: ResNetSpec,
  batch: number,
  limits: MemoryLimits,
): MicroBatchPlan {
  const plan = (count: number): MicroBatchPlan => {
    const step = stepMemory(spec, batch / count);
    const extraBytes = microBatchExtra(spec, batch, count);
    return {
      batch,
      count,
      size: batch / count,
      step,
      extraBytes,
      totalBytes: step.totalBytes + extraBytes,
    };
  };
  const fits = (p: MicroBatchPlan) =>
    p.step.largest.bytes <= limits.maxTensorBytes &&
    (limits.budgetBytes === undefined || p.totalBytes <= limits.budgetBytes);
  const first = plan(1); // validates the batch
  if (fits(first)) return first;
  for (let count = 2; count <= batch; count++) {
    if (batch % count !== 0) continue;
    const p = plan(count);
    if (fits(p)) return p;
  }
  const single = plan(batch);
  const what = single.step.largest.bytes > limits.maxTensorBytes
    ? `${formatBytes(single.step.largest.bytes)} for ${single.step.largest.name} but one ` +
      `storage buffer holds at most ${formatBytes(limits.maxTensorBytes)} on this device`
    : `about ${formatBytes(single.totalBytes)} of GPU memory but the budget is ` +
      `${formatBytes(limits.budgetBytes!)}`;
  throw new RangeError(
    `Cannot train ${spec.name} at batch ${batch}: even one image per micro-batch needs ${what}; ` +
      "use a smaller input size or a narrower network",
  );
}

/**
 * One line for logs: how a step runs and what it needs. A step that fits whole reads as
 * {@link describeStepMemory}; a split one names its micro-batches and that batch-norm statistics
 * (and the running statistics' updates) are per micro-batch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeMicroBatchPlan, planMicroBatches } from "./memory.ts";
 * import { imagenetResNet } from "./spec.ts";
 * const r10 = imagenetResNet("resnet10", [3, 224, 224], 64, [1, 1, 1, 1], 1000);
 * assert.equal(
 *   describeMicroBatchPlan(planMicroBatches(r10, 512, { maxTensorBytes: 2 ** 30 })),
 *   "batch 512 runs as 2 micro-batches of 256 (gradients summed, one update per step; " +
 *     "batch-norm statistics and running-statistic updates per micro-batch); a step needs " +
 *     "about 9.7 GiB of GPU memory",
 * );
 * ```
 */
export function describeMicroBatchPlan(plan: MicroBatchPlan): string {
  const memory = `about ${
    formatBytes(Math.round(plan.totalBytes / 2 ** 20) * 2 ** 20)
  } of GPU memory`;
  if (plan.count === 1) return `a step at batch ${plan.batch} needs ${memory}`;
  return `${describeMicroBatches(plan)}; a step needs ${memory}`;
}

/**
 * How a batch runs, as an adverbial phrase: `whole` or `as k micro-batches of N`.
 *
 * @param split Micro-batches per step and images per micro-batch.
 * @returns The phrase.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatSplit } from "./memory.ts";
 * assert.equal(formatSplit({ count: 2, size: 64 }), "as 2 micro-batches of 64");
 * assert.equal(formatSplit({ count: 1, size: 128 }), "whole");
 * ```
 */
export function formatSplit(split: { count: number; size: number }): string {
  return split.count === 1 ? "whole" : `as ${split.count} micro-batches of ${split.size}`;
}

/**
 * How a batch was split, for logs and reports: `batch B runs whole (...)` or `batch B runs as
 * k micro-batches of N (...)`, naming what the split changes (batch-norm statistics).
 *
 * @param split Images per step, micro-batches per step and images per micro-batch.
 * @returns One phrase, no trailing period.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeMicroBatches } from "./memory.ts";
 * assert.equal(
 *   describeMicroBatches({ batch: 128, count: 1, size: 128 }),
 *   "batch 128 runs whole (batch-norm statistics over all 128 images)",
 * );
 * assert.match(describeMicroBatches({ batch: 12, count: 3, size: 4 }), /^batch 12 runs as 3 micro-batches of 4 /);
 * ```
 */
export function describeMicroBatches(
  split: { batch: number; count: number; size: number },
): string {
  if (split.count === 1) {
    return `batch ${split.batch} runs whole (batch-norm statistics over all ${split.batch} images)`;
  }
  return `batch ${split.batch} runs ${formatSplit(split)} (gradients summed, one update per ` +
    "step; batch-norm statistics and running-statistic updates per micro-batch)";
}
