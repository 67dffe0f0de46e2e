/**
 * The in-memory image set every data source produces: uint8 pixels in NCHW order and int32
 * labels, plus helpers to check one, take a subset and count classes.
 *
 * Shapes: N images, C channels, H rows, W columns; `images` is (N,C,H,W) row-major.
 *
 * @module
 */

/**
 * A labelled image set in memory.
 *
 * @example
 * ```ts
 * import type { ImageSet } from "./image_set.ts";
 * const two: ImageSet = {
 *   images: new Uint8Array(2 * 28 * 28), labels: Int32Array.from([3, 7]),
 *   count: 2, channels: 1, height: 28, width: 28, classCount: 10,
 * };
 * ```
 */
export interface ImageSet {
  /** Pixels, (N,C,H,W) row-major, one byte each. */
  images: Uint8Array;
  /** Class of each image, (N), each in 0..classCount-1. */
  labels: Int32Array;
  /** N, the number of images. */
  count: number;
  /** C. */
  channels: number;
  /** H. */
  height: number;
  /** W. */
  width: number;
  /** The number of classes (labels are below it). */
  classCount: number;
  /** Optional class names, one per class. */
  classNames?: string[];
}

/**
 * The ten Fashion-MNIST class names, in label order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FASHION_MNIST_CLASSES } from "./image_set.ts";
 * assert.equal(FASHION_MNIST_CLASSES[9], "Ankle boot");
 * ```
 */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
]);

function positiveInt(value: number, field: string, name: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot use image set ${name}: ${field} is ${value} but must be a positive integer`,
    );
  }
}

/**
 * Check that an image set is consistent: sizes agree, labels are in range, class names match.
 *
 * @param set The set to check.
 * @param name A name for error messages (a file name, say).
 * @returns The same set.
 * @throws {RangeError} Naming the field and the offending value.
 * @example
 * ```ts
 * import { doesNotThrow, throws } from "node:assert/strict";
 * import { validateImageSet } from "./image_set.ts";
 * const tiny = {
 *   images: new Uint8Array(2 * 4), labels: Int32Array.from([0, 1]),
 *   count: 2, channels: 1, height: 2, width: 2, classCount: 2,
 * };
 * doesNotThrow(() => validateImageSet(tiny, "tiny"));
 * throws(() => validateImageSet({ ...tiny, labels: Int32Array.from([0, 2]) }, "tiny"), RangeError);
 * ```
 */
export function validateImageSet(set: ImageSet, name: string): ImageSet {
  if (!(set.images instanceof Uint8Array)) {
    throw new TypeError(`Cannot use image set ${name}: images must be a Uint8Array`);
  }
  if (!(set.labels instanceof Int32Array)) {
    throw new TypeError(`Cannot use image set ${name}: labels must be an Int32Array`);
  }
  if (!Number.isInteger(set.count) || set.count < 0) {
    throw new RangeError(`Cannot use image set ${name}: count is ${set.count}`);
  }
  positiveInt(set.channels, "channels", name);
  positiveInt(set.height, "height", name);
  positiveInt(set.width, "width", name);
  positiveInt(set.classCount, "classCount", name);
  const size = set.channels * set.height * set.width;
  if (set.images.length !== set.count * size) {
    throw new RangeError(
      `Cannot use image set ${name}: images has ${set.images.length} bytes but count ${set.count}` +
        ` x ${set.channels}x${set.height}x${set.width} needs ${set.count * size}`,
    );
  }
  if (set.labels.length !== set.count) {
    throw new RangeError(
      `Cannot use image set ${name}: ${set.labels.length} labels for ${set.count} images`,
    );
  }
  const bad = findLabelOutOfRange(set.labels, set.classCount);
  if (bad >= 0) {
    throw new RangeError(
      `Cannot use image set ${name}: label ${set.labels[bad]} at index ${bad} is outside ` +
        `0..${set.classCount - 1}; check the label file or classCount`,
    );
  }
  if (set.classNames !== undefined && set.classNames.length !== set.classCount) {
    throw new RangeError(
      `Cannot use image set ${name}: ${set.classNames.length} class names for ` +
        `${set.classCount} classes`,
    );
  }
  return set;
}

/**
 * The index of the first label outside 0..classCount-1, or -1 when all are in range.
 *
 * @param labels The labels.
 * @param classCount The number of classes.
 * @returns An index or -1.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findLabelOutOfRange } from "./image_set.ts";
 * assert.equal(findLabelOutOfRange(Int32Array.from([0, 3, 1]), 3), 1);
 * ```
 */
export function findLabelOutOfRange(labels: Int32Array, classCount: number): number {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y < 0 || y >= classCount) return i;
  }
  return -1;
}

/**
 * Count the images of each class.
 *
 * @param labels The labels, each in 0..classCount-1.
 * @param classCount The number of classes.
 * @returns Counts, (classCount).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countPerClass } from "./image_set.ts";
 * assert.deepEqual([...countPerClass(Int32Array.from([0, 2, 2]), 3)], [1, 0, 2]);
 * ```
 */
export function countPerClass(labels: Int32Array, classCount: number): Int32Array {
  const counts = new Int32Array(classCount);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  return counts;
}

/**
 * Copy the images and labels at `indices` into a new set (same shape and classes).
 *
 * @param set The source set.
 * @param indices Row indices into `set`, each in 0..count-1.
 * @returns A new set with `indices.length` images.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { subsetImageSet } from "./image_set.ts";
 * const set = {
 *   images: Uint8Array.from([1, 2, 3]), labels: Int32Array.from([0, 1, 0]),
 *   count: 3, channels: 1, height: 1, width: 1, classCount: 2,
 * };
 * assert.deepEqual([...subsetImageSet(set, Int32Array.from([2, 0])).images], [3, 1]);
 * ```
 */
export function subsetImageSet(set: ImageSet, indices: Int32Array): ImageSet {
  const size = set.channels * set.height * set.width;
  const images = new Uint8Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    if (!(i >= 0 && i < set.count)) {
      throw new RangeError(
        `Cannot take subset: index ${i} at position ${k} is outside 0..${set.count - 1}`,
      );
    }
    images.set(set.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = set.labels[i];
  }
  const out: ImageSet = {
    images,
    labels,
    count: indices.length,
    channels: set.channels,
    height: set.height,
    width: set.width,
    classCount: set.classCount,
  };
  if (set.classNames) out.classNames = [...set.classNames];
  return out;
}
