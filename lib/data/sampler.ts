/**
 * Samplers of RECIPE.md, stage 1: which training images an epoch visits.
 *
 * An epoch has as many samples as the training set. Instance-balanced is a fresh shuffle without
 * replacement; the others draw with replacement, first a class j with probability p_j, then a
 * uniform image of that class:
 * - instance: p_j = n_j / N;
 * - class: p_j = 1 / C (over classes that have images);
 * - sqrt: p_j proportional to sqrt(n_j);
 * - progressive: p_j(t) = (1 - t/T) p_j(instance) + (t/T) p_j(class), t = 0..T-1 the epoch.
 *
 * All draws come from the {@link Rng} passed in, so saving `rng.state` with a checkpoint is enough
 * to resume the same sequence of epochs.
 *
 * @module
 */

import { countPerClass, findLabelOutOfRange } from "./image_set.ts";
import type { Rng } from "./rng.ts";

/**
 * The sampler kinds.
 *
 * @example
 * ```ts
 * import type { SamplerKind } from "./sampler.ts";
 * const kind: SamplerKind = "progressive";
 * ```
 */
export type SamplerKind = "instance" | "class" | "sqrt" | "progressive";

/**
 * All sampler kinds, for option parsing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SAMPLER_KINDS } from "./sampler.ts";
 * assert.equal(SAMPLER_KINDS.join("|"), "instance|class|sqrt|progressive");
 * ```
 */
export const SAMPLER_KINDS: readonly SamplerKind[] = Object.freeze([
  "instance",
  "class",
  "sqrt",
  "progressive",
]);

/**
 * A sampler over a fixed training set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createSampler, type Sampler } from "./sampler.ts";
 * import { Rng } from "./rng.ts";
 * const sampler: Sampler = createSampler("sqrt", Int32Array.from([0, 0, 1]), new Rng(0));
 * assert.equal(sampler.size, 3);
 * // sqrt sampling: class c is drawn in proportion to sqrt(n_c).
 * const [p0, p1] = sampler.classProbabilities();
 * assert.ok(Math.abs(p0 - Math.SQRT2 / (Math.SQRT2 + 1)) < 1e-12 && Math.abs(p0 + p1 - 1) < 1e-12);
 * ```
 */
export interface Sampler {
  /** Which rule it follows. */
  readonly kind: SamplerKind;
  /** Samples per epoch (the training set size). */
  readonly size: number;
  /** Images per class, (C). */
  readonly classCounts: Int32Array;
  /**
   * p_j for an epoch.
   *
   * @param epochIndex t, in 0..totalEpochs-1.
   * @param totalEpochs T (only the progressive sampler uses t and T).
   */
  classProbabilities(epochIndex?: number, totalEpochs?: number): Float64Array;
  /**
   * The sample indices (rows of the training set) of one epoch, drawn from the sampler's Rng.
   *
   * @param epochIndex t, in 0..totalEpochs-1.
   * @param totalEpochs T.
   * @param out Optional output array of length {@link Sampler.size}, reused between epochs.
   * @returns `out` or a new Int32Array, (size).
   */
  epoch(epochIndex?: number, totalEpochs?: number, out?: Int32Array): Int32Array;
}

function checkEpoch(epochIndex: number, totalEpochs: number): void {
  if (!Number.isInteger(totalEpochs) || totalEpochs < 1) {
    throw new RangeError(`Cannot sample: totalEpochs is ${totalEpochs} but must be >= 1`);
  }
  if (!Number.isInteger(epochIndex) || epochIndex < 0 || epochIndex >= totalEpochs) {
    throw new RangeError(
      `Cannot sample: epochIndex ${epochIndex} is outside 0..${totalEpochs - 1}`,
    );
  }
}

/**
 * The class probabilities p_j of a sampler kind.
 *
 * @param kind The sampler kind.
 * @param classCounts n_j, (C); classes with n_j = 0 get p_j = 0.
 * @param epochIndex t (progressive only), default 0.
 * @param totalEpochs T (progressive only), default 1.
 * @returns p, (C), summing to 1.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classProbabilities } from "./sampler.ts";
 * assert.deepEqual([...classProbabilities("sqrt", [4, 1])], [2/3, 1/3]);
 * ```
 */
export function classProbabilities(
  kind: SamplerKind,
  classCounts: ArrayLike<number>,
  epochIndex = 0,
  totalEpochs = 1,
): Float64Array {
  checkEpoch(epochIndex, totalEpochs);
  const C = classCounts.length;
  const instance = new Float64Array(C);
  const balanced = new Float64Array(C);
  const sqrt = new Float64Array(C);
  let total = 0, nonEmpty = 0, sqrtTotal = 0;
  for (let j = 0; j < C; j++) {
    const n = classCounts[j];
    total += n;
    if (n > 0) nonEmpty++;
    sqrtTotal += Math.sqrt(n);
  }
  if (total === 0) throw new RangeError("Cannot sample: every class is empty");
  for (let j = 0; j < C; j++) {
    const n = classCounts[j];
    instance[j] = n / total;
    balanced[j] = n > 0 ? 1 / nonEmpty : 0;
    sqrt[j] = Math.sqrt(n) / sqrtTotal;
  }
  switch (kind) {
    case "instance":
      return instance;
    case "class":
      return balanced;
    case "sqrt":
      return sqrt;
    case "progressive": {
      const a = epochIndex / totalEpochs;
      return instance.map((p, j) => (1 - a) * p + a * balanced[j]);
    }
    default:
      throw new RangeError(
        `Cannot sample: unknown sampler kind "${kind}"; use one of ${SAMPLER_KINDS.join(", ")}`,
      );
  }
}

/** Index of the first cumulative value above u (binary search). */
function pick(cumulative: Float64Array, u: number): number {
  let lo = 0, hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Make a sampler over a training set.
 *
 * @param kind "instance" | "class" | "sqrt" | "progressive".
 * @param labels The training labels, (N).
 * @param rng The generator every epoch draws from (shared, so its state is the sampler's state).
 * @param classCount C; by default the largest label + 1.
 * @returns The sampler.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createSampler } from "./sampler.ts";
 * import { Rng } from "./rng.ts";
 * const labels = Int32Array.from([0, 0, 0, 1]);
 * const sampler = createSampler("class", labels, new Rng(0));
 * const order = sampler.epoch(0, 30);
 * assert.equal(order.length, 4);
 * ```
 */
export function createSampler(
  kind: SamplerKind,
  labels: Int32Array,
  rng: Rng,
  classCount?: number,
): Sampler {
  if (!SAMPLER_KINDS.includes(kind)) {
    throw new RangeError(
      `Cannot create sampler: unknown kind "${kind}"; use one of ${SAMPLER_KINDS.join(", ")}`,
    );
  }
  const N = labels.length;
  if (N === 0) throw new RangeError("Cannot create sampler: the training set is empty");
  let C = classCount ?? 0;
  if (classCount === undefined) { for (let i = 0; i < N; i++) C = Math.max(C, labels[i] + 1); }
  const bad = findLabelOutOfRange(labels, C);
  if (bad >= 0) {
    throw new RangeError(
      `Cannot create sampler: label ${labels[bad]} at index ${bad} is outside 0..${C - 1}`,
    );
  }
  const classCounts = countPerClass(labels, C);
  // Rows grouped by class: rows[start[j] .. start[j] + n_j) are the rows of class j, ascending.
  const start = new Int32Array(C + 1);
  for (let j = 0; j < C; j++) start[j + 1] = start[j] + classCounts[j];
  const rows = new Int32Array(N);
  const fill = start.slice(0, C);
  for (let i = 0; i < N; i++) rows[fill[labels[i]]++] = i;
  const cumulative = new Float64Array(C);

  return {
    kind,
    size: N,
    classCounts,
    classProbabilities(epochIndex = 0, totalEpochs = 1) {
      return classProbabilities(kind, classCounts, epochIndex, totalEpochs);
    },
    epoch(epochIndex = 0, totalEpochs = 1, out = new Int32Array(N)) {
      checkEpoch(epochIndex, totalEpochs);
      if (out.length !== N) {
        throw new RangeError(`Cannot sample: out has length ${out.length} but an epoch has ${N}`);
      }
      if (kind === "instance") {
        for (let i = 0; i < N; i++) out[i] = i;
        return rng.shuffle(out);
      }
      const p = classProbabilities(kind, classCounts, epochIndex, totalEpochs);
      let acc = 0, last = 0;
      for (let j = 0; j < C; j++) {
        acc += p[j];
        cumulative[j] = acc;
        if (p[j] > 0) last = j;
      }
      // NOTE: pin the tail to 1 so rounding in the sum can never select past the last class.
      for (let j = last; j < C; j++) cumulative[j] = 1;
      for (let k = 0; k < N; k++) {
        const j = pick(cumulative, rng.nextFloat());
        out[k] = rows[start[j] + rng.nextInt(classCounts[j])];
      }
      return out;
    },
  };
}
