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
  /** The largest single tensor at this batch (it must fit one storage buffer). */
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
  perImage: number;
  /** Per-image sizes of activation tensors, by name. */
  activations: Map<string, number>;
  /** Distinct per-image activation shapes that backward scratch is keyed by. */
  shapes: Set<string>;
}

function tally(spec: ResNetSpec): Tally {
  const plan = planResNet(spec);
  const t: Tally = { fixed: 0, perImage: 0, activations: new Map(), shapes: new Set() };
  const act = (name: string, shape: readonly number[], count = 1) => {
    const size = shape.reduce((a, b) => a * b, 1);
    t.perImage += count * size * F32;
    t.activations.set(name, size * F32);
  };
  const convBn = (c: ConvPlan) => {
    const weights = c.cout * (c.cin / c.groups) * c.kernel ** 2;
    // weight, gamma, beta with gradients and velocities; running and batch mean and variance.
    t.fixed += (3 * (weights + 2 * c.cout) + 4 * c.cout) * F32;
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
  for (const key of t.shapes) {
    t.perImage += 4 * key.split("x").map(Number).reduce((a, b) => a * b, 1) * F32;
  }
  return t;
}

/**
 * Convolution op scratch at `batch`: packed weights and partial sums (an upper bound for the
 * default, direct variants; a workgroup-tiled variant chosen by tuning may split its weight
 * gradient into more partial sums).
 */
function convScratch(spec: ResNetSpec, batch: number): number {
  const plan = planResNet(spec);
  const up16 = (v: number) => Math.ceil(v / 16) * 16;
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
    if (c.groups > 1) {
      bytes += Math.min(batch, Math.ceil(GROUPED_WEIGHT_TARGET / weights)) * weights * F32;
      // Register tiles pack the weight for the forward and input-gradient passes: a group's
      // channels rounded up to the tile's 4, 8 or 16.
      bytes += (c.cin * kk * up16(c.cout / c.groups) + c.cout * kk * up16(c.cin / c.groups)) * F32;
      continue;
    }
    const k = c.cin * kk;
    bytes += (k * up16(c.cout) + c.cout * kk * up16(c.cin)) * F32; // forward and backward packing
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
  const bytes = stepMemory(spec, batch).totalBytes;
  return `a step at batch ${batch} needs about ${
    formatBytes(Math.round(bytes / 2 ** 20) * 2 ** 20)
  } ` +
    "of GPU memory";
}
