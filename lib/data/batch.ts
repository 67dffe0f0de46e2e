/**
 * Batches for training and evaluation: normalised f32 images (N,C,H,W) and int32 labels, written
 * into caller-provided arrays (nothing is allocated per batch), with the recipe's optional
 * augmentation drawn from a seeded {@link Rng}.
 *
 * Legend: B batch size, C channels, H rows, W columns.
 *
 * @module
 */

import { augmentImage, normalizationTable, normalizeImage } from "./augment.ts";
import { type ImageSet, validateImageSet } from "./image_set.ts";
import type { Rng } from "./rng.ts";

/**
 * Augmentation settings (RECIPE.md: pad 2, flip with probability 1/2).
 *
 * @example
 * ```ts
 * import type { AugmentOptions } from "./batch.ts";
 * const recipe: AugmentOptions = { pad: 2, flipProbability: 0.5 };
 * ```
 */
export interface AugmentOptions {
  /** Zero padding on each side before the random crop (default 2). */
  pad?: number;
  /** Probability of a horizontal flip (default 0.5). */
  flipProbability?: number;
}

/**
 * Options for {@link BatchMaker}.
 *
 * @example
 * ```ts
 * import type { BatchMakerOptions } from "./batch.ts";
 * import { Rng } from "./rng.ts";
 * const options: BatchMakerOptions = {
 *   batchSize: 128, mean: [0.2860], std: [0.3530], augment: true, rng: new Rng(0, 2),
 * };
 * ```
 */
export interface BatchMakerOptions {
  /** B, the largest batch. */
  batchSize: number;
  /** Mean of x/255, per channel or one for all (Fashion-MNIST: [0.2860]). */
  mean: readonly number[];
  /** Std of x/255, per channel or one for all (Fashion-MNIST: [0.3530]). */
  std: readonly number[];
  /** Augment (true for the recipe's defaults); off by default, as for evaluation. */
  augment?: boolean | AugmentOptions;
  /** The generator for augmentation; required when augmenting. */
  rng?: Rng;
}

/**
 * A batch's storage, allocated once by {@link BatchMaker.allocate}.
 *
 * @example
 * ```ts
 * import type { Batch } from "./batch.ts";
 * const batch: Batch = { images: new Float32Array(2 * 784), labels: new Int32Array(2) };
 * ```
 */
export interface Batch {
  /** Images, (B,C,H,W). */
  images: Float32Array;
  /** Labels, (B). */
  labels: Int32Array;
}

/**
 * Turns rows of an image set into normalised (optionally augmented) batches.
 *
 * Per image, augmentation draws, in this order: the crop top dy = rng.nextInt(2P+1), the crop
 * left dx = rng.nextInt(2P+1), then flip = rng.nextFloat() < flipProbability. The parameters of
 * the last batch stay in {@link BatchMaker.lastParams} (dy, dx, flip per row), so a GPU kernel can
 * be checked against this CPU path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BatchMaker } from "./batch.ts";
 * import { Rng } from "./rng.ts";
 * const set = {
 *   images: new Uint8Array(3 * 4 * 4), labels: Int32Array.from([0, 1, 2]),
 *   count: 3, channels: 1, height: 4, width: 4, classCount: 3,
 * };
 * const maker = new BatchMaker(set, {
 *   batchSize: 2, mean: [0.286], std: [0.353], augment: true, rng: new Rng(0),
 * });
 * const batch = maker.allocate();
 * const order = Int32Array.from([2, 0, 1]);
 * const seen: number[][] = [];
 * for (let start = 0; start < order.length; start += maker.batchSize) {
 *   const n = maker.fill(order, start, batch);
 *   seen.push([...batch.labels.subarray(0, n)]);
 * }
 * assert.deepEqual(seen, [[2, 0], [1]]);
 * ```
 */
export class BatchMaker {
  /** B. */
  readonly batchSize: number;
  /** C*H*W, floats per image. */
  readonly imageSize: number;
  /** The byte-to-float table (C*256). */
  readonly lut: Float32Array;
  /** Pad P when augmenting, else 0. */
  readonly pad: number;
  /** Flip probability when augmenting, else 0. */
  readonly flipProbability: number;
  /** Whether batches are augmented. */
  readonly augment: boolean;
  readonly #set: ImageSet;
  readonly #rng?: Rng;
  readonly #params: Int32Array;

  /**
   * Builds the byte-to-float table and checks the options.
   *
   * @param set The source images (validated here).
   * @param options Batch size, normalisation, augmentation.
   */
  constructor(set: ImageSet, options: BatchMakerOptions) {
    validateImageSet(set, "for batches");
    const { batchSize } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`Cannot make batches: batchSize is ${batchSize}; use an integer >= 1`);
    }
    this.#set = set;
    this.batchSize = batchSize;
    this.imageSize = set.channels * set.height * set.width;
    this.lut = normalizationTable(options.mean, options.std, set.channels);
    this.augment = options.augment !== undefined && options.augment !== false;
    const aug = typeof options.augment === "object" ? options.augment : {};
    this.pad = this.augment ? aug.pad ?? 2 : 0;
    this.flipProbability = this.augment ? aug.flipProbability ?? 0.5 : 0;
    if (!Number.isInteger(this.pad) || this.pad < 0) {
      throw new RangeError(`Cannot make batches: augment.pad is ${this.pad}; use an integer >= 0`);
    }
    if (!(this.flipProbability >= 0 && this.flipProbability <= 1)) {
      throw new RangeError(
        `Cannot make batches: augment.flipProbability is ${this.flipProbability}; use 0..1`,
      );
    }
    if (this.augment && !options.rng) {
      throw new TypeError("Cannot make batches: augmentation needs options.rng (a seeded Rng)");
    }
    this.#rng = options.rng;
    this.#params = new Int32Array(3 * batchSize);
  }

  /** The image set batches are drawn from. */
  get set(): ImageSet {
    return this.#set;
  }

  /** Augmentation parameters of the last filled batch: (B,3) as dy, dx, flip (0 or 1). */
  get lastParams(): Int32Array {
    return this.#params;
  }

  /**
   * Storage for one batch: images (B,C,H,W) and labels (B).
   *
   * @returns New arrays to pass to {@link BatchMaker.fill} again and again.
   */
  allocate(): Batch {
    return {
      images: new Float32Array(this.batchSize * this.imageSize),
      labels: new Int32Array(this.batchSize),
    };
  }

  /**
   * The number of batches for `sampleCount` samples (the last one may be partial).
   *
   * @param sampleCount Samples in the epoch.
   * @returns ceil(sampleCount / B).
   */
  batchCount(sampleCount: number): number {
    return Math.ceil(sampleCount / this.batchSize);
  }

  /**
   * Fill `batch` with rows `order[start .. start+B)` (fewer at the end of `order`). Rows past the
   * returned count are left as they were.
   *
   * @param order Row indices into the set (an epoch from a sampler, say).
   * @param start The first position in `order`.
   * @param batch Storage from {@link BatchMaker.allocate} (or arrays at least as large).
   * @returns The number of images written.
   */
  fill(order: ArrayLike<number>, start: number, batch: Batch): number {
    const { images, labels } = batch;
    const n = Math.min(this.batchSize, order.length - start);
    if (!Number.isInteger(start) || start < 0 || n < 1) {
      throw new RangeError(
        `Cannot fill batch: start ${start} is outside 0..${order.length - 1} of the order`,
      );
    }
    if (images.length < n * this.imageSize || labels.length < n) {
      throw new RangeError(
        `Cannot fill batch: images has ${images.length} floats and labels ${labels.length} ` +
          `entries, but ${n} images of ${this.imageSize} need ${n * this.imageSize} and ${n}`,
      );
    }
    const set = this.#set;
    const { channels: C, height: H, width: W } = set;
    const size = this.imageSize;
    const params = this.#params;
    const span = 2 * this.pad + 1;
    for (let k = 0; k < n; k++) {
      const row = order[start + k];
      if (!(row >= 0 && row < set.count)) {
        throw new RangeError(
          `Cannot fill batch: row ${row} at position ${start + k} is outside 0..${set.count - 1}`,
        );
      }
      labels[k] = set.labels[row];
      if (!this.augment) {
        normalizeImage(set.images, row * size, images, k * size, C, H * W, this.lut);
        continue;
      }
      const rng = this.#rng!;
      const dy = rng.nextInt(span);
      const dx = rng.nextInt(span);
      const flip = rng.nextFloat() < this.flipProbability;
      params[3 * k] = dy;
      params[3 * k + 1] = dx;
      params[3 * k + 2] = flip ? 1 : 0;
      augmentImage(
        set.images,
        row * size,
        images,
        k * size,
        C,
        H,
        W,
        this.lut,
        this.pad,
        dy,
        dx,
        flip,
      );
    }
    return n;
  }
}
