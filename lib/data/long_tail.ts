/**
 * The long-tailed split construction of RECIPE.md: a balanced validation set is drawn first, then
 * each class keeps the first n_i of its remaining images in the same seeded order.
 *
 * @module
 */

import { countPerClass, type ImageSet, subsetImageSet, validateImageSet } from "./image_set.ts";
import { type LongTailProfile, longTailSizes, validateProfile } from "./profiles.ts";
import { Rng } from "./rng.ts";

/**
 * One split: the images and where each came from.
 *
 * @example
 * ```ts
 * import type { Split } from "./long_tail.ts";
 * const rowsOf = (split: Split) => Array.from(split.indices);
 * ```
 */
export interface Split {
  /** The split's images and labels (labels keep the source's class numbers). */
  set: ImageSet;
  /** Row index in the source split of each image, (N), ascending. */
  indices: Int32Array;
}

/**
 * What {@link buildLongTail} returns.
 *
 * @example
 * ```ts
 * import type { LongTailSplits } from "./long_tail.ts";
 * const sizes = (s: LongTailSplits) => [s.train.set.count, s.val.set.count, s.test.set.count];
 * ```
 */
export interface LongTailSplits {
  /** The profile used. */
  profile: LongTailProfile;
  /** Long-tailed training split (rows of the source training set). */
  train: Split;
  /** Balanced validation split (rows of the source training set, disjoint from train). */
  val: Split;
  /** The source test set, whole (rows of the source test set). */
  test: Split;
  /** Training images per class label, (C). */
  classCounts: Int32Array;
  /** n_i by rank before capping, (C). */
  targetSizes: number[];
}

function className(set: ImageSet, c: number): string {
  return set.classNames?.[c] ? `${c} ("${set.classNames[c]}")` : String(c);
}

/**
 * Build the long-tailed train, validation and test splits of a profile.
 *
 * Steps: shuffle the source training rows with `Rng(profile.seed)`; walking that order, the first
 * `valPerClass` images of each class go to validation, the rest queue up per class; class
 * `classOrder[i]` then keeps the first min(n_i, available) of its queue, with
 * n_i = floor(headSize * ratio^(-i/(C-1))).
 *
 * @param profile The profile (validated here).
 * @param train The balanced source training set.
 * @param test The source test set (kept whole).
 * @returns The splits and the training class counts.
 * @throws {RangeError} For an empty class, a class too small for validation, a head size larger
 *   than the largest class, a ratio below 1 or so large that a class gets no image.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildLongTail } from "./long_tail.ts";
 * import { getProfile } from "./profiles.ts";
 * const labels = Int32Array.from({ length: 300 }, (_, i) => i % 3);
 * const source = {
 *   images: new Uint8Array(300), labels, count: 300, channels: 1, height: 1, width: 1,
 *   classCount: 3,
 * };
 * const profile = { ...structuredClone(getProfile("fashion-mnist-lt-10")), headSize: 90,
 *   classOrder: [0, 1, 2], valPerClass: 5 };
 * const splits = buildLongTail(profile, source, source);
 * assert.deepEqual([...splits.classCounts], [90, 28, 9]);
 * ```
 */
export function buildLongTail(
  profile: LongTailProfile,
  train: ImageSet,
  test: ImageSet,
): LongTailSplits {
  validateImageSet(train, `${profile.name} train`);
  validateImageSet(test, `${profile.name} test`);
  validateProfile(profile, train.classCount);
  const where = `Cannot build long tail for profile ${profile.name}`;
  if (
    test.channels !== train.channels || test.height !== train.height ||
    test.width !== train.width || test.classCount !== train.classCount
  ) {
    throw new RangeError(
      `${where}: train is ${train.channels}x${train.height}x${train.width} with ` +
        `${train.classCount} classes but test is ${test.channels}x${test.height}x${test.width} ` +
        `with ${test.classCount}`,
    );
  }
  const C = train.classCount;
  const counts = countPerClass(train.labels, C);
  let largest = 0;
  for (let c = 0; c < C; c++) {
    if (counts[c] === 0) {
      throw new RangeError(
        `${where}: class ${className(train, c)} has no training images; every class needs ` +
          "images (check the labels, or drop the class from the source)",
      );
    }
    if (counts[c] <= profile.valPerClass) {
      throw new RangeError(
        `${where}: class ${className(train, c)} has ${counts[c]} training images, not more than ` +
          `valPerClass ${profile.valPerClass}; lower valPerClass`,
      );
    }
    if (counts[c] > counts[largest]) largest = c;
  }
  if (profile.headSize > counts[largest]) {
    throw new RangeError(
      `${where}: headSize ${profile.headSize} is larger than the largest class ` +
        `(${counts[largest]} images in class ${className(train, largest)}); use headSize <= ` +
        `${counts[largest]}`,
    );
  }
  const sizes = longTailSizes(profile.headSize, profile.imbalanceRatio, C);

  // Seeded order; validation first, then per-class queues in that order.
  const order = new Rng(profile.seed).permutation(train.count);
  const valTaken = new Int32Array(C);
  const queues: number[][] = Array.from({ length: C }, () => []);
  const val: number[] = [];
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    const c = train.labels[i];
    if (valTaken[c] < profile.valPerClass) {
      valTaken[c]++;
      val.push(i);
    } else {
      queues[c].push(i);
    }
  }
  const kept: number[] = [];
  const classCounts = new Int32Array(C);
  for (let rank = 0; rank < C; rank++) {
    const c = profile.classOrder[rank];
    const n = Math.min(sizes[rank], queues[c].length);
    if (n < 1) {
      throw new RangeError(
        `${where}: class ${className(train, c)} at rank ${rank} would keep ${n} images ` +
          `(n_${rank} = floor(${profile.headSize} * ${profile.imbalanceRatio}^(-${rank}/${
            C - 1
          }))); lower imbalanceRatio below ${profile.headSize} or raise headSize`,
      );
    }
    classCounts[c] = n;
    for (let k = 0; k < n; k++) kept.push(queues[c][k]);
  }
  const trainIndices = Int32Array.from(kept).sort();
  const valIndices = Int32Array.from(val).sort();
  const testIndices = Int32Array.from({ length: test.count }, (_, i) => i);
  return {
    profile,
    train: { set: subsetImageSet(train, trainIndices), indices: trainIndices },
    val: { set: subsetImageSet(train, valIndices), indices: valIndices },
    test: { set: test, indices: testIndices },
    classCounts,
    targetSizes: sizes,
  };
}
