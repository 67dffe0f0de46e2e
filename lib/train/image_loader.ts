/**
 * The input pipeline for packed image-list data sets: rows read with bounded memory,
 * augmentation parameters drawn on the CPU, the augmentation itself on the GPU
 * ({@link GpuAugmenter}), giving normalised (B,3,S,S) batches in a GPU tensor.
 *
 * Where rows come from: instance-balanced training and evaluation of a whole pack stream it
 * shard by shard ({@link ShardStream}: a seeded shard order, then a seeded row order within each
 * shard); the class-balanced, square-root and progressive samplers draw the epoch's index
 * sequence exactly as the in-memory path does ({@link sampledPackRows}) and read those rows by
 * position ({@link PackRows}); evaluation of part of a pack (a tuning set drawn from the training
 * pack) reads its rows by position in pack order.
 *
 * Seeds: epoch e draws its order from `Rng(seed, first + 2e)` and its augmentation from
 * `Rng(seed, first + 2e + 1)`, so any epoch can be replayed alone (a resumed run gets the same
 * batches).
 *
 * @module
 */

import {
  type AugmentParams,
  type AugmentSource,
  evalAugmentParams,
  type PackRow,
  PackRows,
  Rng,
  sampledPackRows,
  type SamplerKind,
  ShardStream,
  type StreamRow,
  trainAugmentParams,
} from "../data/mod.ts";
import type { Gpu } from "../gpu/device.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { GpuAugmenter } from "../ops/augment.ts";

/**
 * Options of {@link ImageLoader.create}.
 *
 * @example
 * ```ts
 * import type { ImageLoaderOptions } from "./image_loader.ts";
 * const o: ImageLoaderOptions = {
 *   dir: "data/imagenet-lt-256/train", batch: 128, train: true, seed: 0,
 *   mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225],
 * };
 * ```
 */
export interface ImageLoaderOptions {
  /** The pack folder. */
  dir: string;
  /** B. */
  batch: number;
  /** Training augmentation (RandomResizedCrop, flip, jitter) or evaluation (Resize + CenterCrop). */
  train: boolean;
  /** The run's seed. */
  seed: number;
  /** Per-channel mean of x/255. */
  mean: readonly number[];
  /** Per-channel std of x/255. */
  std: readonly number[];
  /** S, the output side (default 224). */
  size?: number;
  /** R, the evaluation resize (default 256). */
  resize?: number;
  /** Shards read ahead (default 1). */
  prefetch?: number;
  /** The stage-1 sampler (training only; default `instance`). */
  sampler?: SamplerKind;
  /** T, the epochs of the run (the progressive sampler's schedule; default 1). */
  epochs?: number;
  /** The pack rows the source is made of, ascending (absent: every row). */
  subset?: Int32Array;
  /** Rows read ahead when rows are read by position (default 2 batches, at most 256). */
  ahead?: number;
  /**
   * The first generator stream (default 0): epoch e uses streams `first + 2e` (order) and
   * `first + 2e + 1` (augmentation), so a caller that draws other numbers from the same seed
   * (stage 1 initialises the network from stream 0) keeps them apart.
   */
  firstStream?: number;
}

/**
 * One batch: the images are in the loader's GPU tensor, valid until the next batch is drawn.
 *
 * @example
 * ```ts
 * import type { ImageBatch } from "./image_loader.ts";
 * const rows = (b: ImageBatch) => b.count;
 * ```
 */
export interface ImageBatch {
  /** Rows filled (B, or fewer at the end of an epoch). */
  count: number;
  /** Labels, (count). */
  labels: Int32Array;
  /** Pack rows, (count): the `index` column of feature dumps. */
  indices: Int32Array;
  /** The augmentation of each row. */
  params: AugmentParams[];
}

/** The most source bytes one augmentation holds: one storage buffer of whole u32 words. */
function sourceBytesMax(gpu: Gpu): number {
  return Math.floor(gpu.maxTensorBytes / 4) * 4;
}

/**
 * Source bytes an image of a pack at `side` may take in the augmenter's upload: RGB up to 2:1
 * at that shorter side. A batch of wider images grows the buffer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sourceBytesPerImage } from "./image_loader.ts";
 * assert.equal(sourceBytesPerImage(40), 40 * 80 * 3);
 * ```
 */
export function sourceBytesPerImage(side: number): number {
  return side * side * 2 * 3;
}

/**
 * Batches from a pack, augmented on the GPU.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { requestGpu } from "../gpu/device.ts";
 * import { encodePng } from "../data/_png.ts";
 * import { packImageList } from "../data/pack.ts";
 * import { ImageLoader } from "./image_loader.ts";
 * const root = await Deno.makeTempDir();
 * // Three grey 8x8 images: a pack of them, read back as evaluation batches of two 4x4 crops.
 * await Deno.writeFile(`${root}/a.png`, encodePng(new Uint8Array(8 * 8 * 3).fill(51), 8, 8, 3));
 * await Deno.writeTextFile(`${root}/l.txt`, "a.png 0\na.png 1\na.png 2\n");
 * await packImageList({ list: `${root}/l.txt`, root, size: 8, out: `${root}/p`, workers: 1 });
 * const gpu = await requestGpu({ warnFallback: false });
 * const loader = await ImageLoader.create(gpu, {
 *   dir: `${root}/p`, batch: 2, train: false, seed: 0, mean: [0, 0, 0], std: [1, 1, 1],
 *   size: 4, resize: 4,
 * });
 * const labels: number[][] = [];
 * for await (const b of loader.epoch(0)) {
 *   labels.push(Array.from(b.labels));
 *   // loader.images holds (B,3,S,S); the first b.count rows are this batch, x/255 normalised.
 *   deepEqual(Array.from((await loader.images.read()).slice(0, 3)).map((v) => v.toFixed(2)), [
 *     "0.20", "0.20", "0.20",
 *   ]);
 * }
 * deepEqual(labels, [[0, 1], [2]]);
 * loader.destroy();
 * gpu.destroy();
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export class ImageLoader {
  /** The options. */
  readonly options: Readonly<ImageLoaderOptions>;
  /** The pack. */
  readonly stream: ShardStream;
  /** Random access to the pack, when the sampler or a subset needs it. */
  readonly rows: PackRows | null;
  readonly #gpu: Gpu;
  readonly #keep: Uint8Array | undefined;
  #augmenter: GpuAugmenter;

  private constructor(
    gpu: Gpu,
    options: ImageLoaderOptions,
    stream: ShardStream,
    rows: PackRows | null,
    augmenter: GpuAugmenter,
  ) {
    this.#gpu = gpu;
    this.options = options;
    this.stream = stream;
    this.rows = rows;
    this.#augmenter = augmenter;
    if (options.subset) {
      this.#keep = new Uint8Array(stream.rows);
      for (const r of options.subset) this.#keep[r] = 1;
    }
  }

  /** Rows of the source: the subset's, or the pack's. */
  get count(): number {
    return this.options.subset?.length ?? this.stream.rows;
  }

  /**
   * Opens the pack and compiles the kernel.
   *
   * @param gpu The device.
   * @param options Pack, batch, augmentation, seed, normalisation.
   * @returns The loader.
   */
  static async create(gpu: Gpu, options: ImageLoaderOptions): Promise<ImageLoader> {
    const stream = await ShardStream.open(options.dir);
    const subset = options.subset;
    if (
      subset && subset.some((r, i) => r < 0 || r >= stream.rows || (i > 0 && r <= subset[i - 1]))
    ) {
      throw new RangeError(
        `Cannot load ${options.dir}: the subset must hold ascending pack rows in ` +
          `0..${stream.rows - 1}`,
      );
    }
    const sampled = options.train && (options.sampler ?? "instance") !== "instance";
    const rows = sampled || (subset && !options.train) ? await PackRows.open(options.dir) : null;
    const side = stream.manifest.settings.size;
    const augmenter = await GpuAugmenter.create(gpu, {
      batch: options.batch,
      size: options.size ?? 224,
      maxBytes: Math.min(options.batch * sourceBytesPerImage(side), sourceBytesMax(gpu)),
      mean: options.mean,
      std: options.std,
    });
    return new ImageLoader(gpu, { ...options }, stream, rows, augmenter);
  }

  /** The batch images, (B,3,S,S) f32 on the GPU. */
  get images(): Tensor {
    return this.#augmenter.out;
  }

  async #run(sources: AugmentSource[], params: AugmentParams[]): Promise<void> {
    const bytes = sources.reduce((n, s) => n + s.pixels.length, 0);
    const o = this.#augmenter.options;
    if (bytes > o.maxBytes) {
      const max = sourceBytesMax(this.#gpu);
      if (bytes > max) {
        throw new RangeError(
          `Cannot augment a batch of ${sources.length} images from ${this.stream.dir}: their ` +
            `${bytes} source bytes exceed the ${max} one buffer holds on this device; use a ` +
            "smaller batch or pack the images at a smaller size",
        );
      }
      this.#augmenter.destroy();
      this.#augmenter = await GpuAugmenter.create(this.#gpu, {
        ...o,
        maxBytes: Math.min(2 * bytes, max),
      });
    }
    this.#augmenter.run(sources, params);
  }

  /**
   * One epoch of batches, in the seeded order of epoch `epoch` (training) or pack order
   * (evaluation). The batch's images are recorded into the device's shared encoder: the next
   * kernels read {@link ImageLoader.images}.
   *
   * @param epoch The epoch number (seeds the order and the augmentation).
   * @returns The batches.
   */
  async *epoch(epoch: number): AsyncGenerator<ImageBatch> {
    const { batch, train, seed } = this.options;
    const S = this.options.size ?? 224, R = this.options.resize ?? 256;
    const first = this.options.firstStream ?? 0;
    const order = train ? new Rng(seed, first + 2 * epoch) : undefined;
    const aug = new Rng(seed, first + 2 * epoch + 1);
    let sources: AugmentSource[] = [], params: AugmentParams[] = [];
    let labels: number[] = [], indices: number[] = [];
    const flush = async (): Promise<ImageBatch> => {
      await this.#run(sources, params);
      const out = {
        count: sources.length,
        labels: Int32Array.from(labels),
        indices: Int32Array.from(indices),
        params,
      };
      sources = [];
      params = [];
      labels = [];
      indices = [];
      return out;
    };
    for await (const row of this.#rowsOf(epoch, order)) {
      sources.push(row);
      params.push(
        train
          ? trainAugmentParams(aug, row.height, row.width)
          : evalAugmentParams(row.height, row.width, R, S),
      );
      labels.push(row.label);
      indices.push(row.index);
      if (sources.length === batch) yield await flush();
    }
    if (sources.length > 0) yield await flush();
  }

  /** The rows of an epoch, in its order (see the module doc). */
  #rowsOf(epoch: number, order: Rng | undefined): AsyncIterable<StreamRow | PackRow> {
    const { subset, sampler = "instance", epochs = 1 } = this.options;
    const ahead = this.options.ahead ?? Math.min(256, 2 * this.options.batch);
    if (this.rows && order && sampler !== "instance") {
      const indices = sampledPackRows(sampler, this.rows.labels, subset, order, epoch, epochs);
      return this.rows.sequence(indices, { ahead });
    }
    if (this.rows && subset && !order) return this.rows.sequence(subset, { ahead });
    return this.stream.epoch({ rng: order, prefetch: this.options.prefetch, keep: this.#keep });
  }

  /** Frees the GPU buffers. */
  destroy(): void {
    this.#augmenter.destroy();
  }
}
