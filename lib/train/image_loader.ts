/**
 * The input pipeline for packed image-list data sets: shards streamed with bounded memory
 * ({@link ShardStream}), augmentation parameters drawn on the CPU, the augmentation itself on the
 * GPU ({@link GpuAugmenter}), giving normalised (B,3,S,S) batches in a GPU tensor.
 *
 * Seeds: epoch e draws its shard and row order from `Rng(seed, 2e)` and its augmentation from
 * `Rng(seed, 2e + 1)`, so any epoch can be replayed alone (a resumed run gets the same batches).
 *
 * @module
 */

import {
  type AugmentParams,
  type AugmentSource,
  evalAugmentParams,
  Rng,
  ShardStream,
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
 * Batches from a pack, augmented on the GPU.
 *
 * @example
 * ```ts ignore
 * const loader = await ImageLoader.create(gpu, { dir, batch: 128, train: true, seed: 0, mean, std });
 * for await (const b of loader.epoch(0)) {
 *   // loader.images holds (B,3,224,224); use the first b.count rows
 * }
 * ```
 */
export class ImageLoader {
  /** The options. */
  readonly options: Readonly<ImageLoaderOptions>;
  /** The pack. */
  readonly stream: ShardStream;
  readonly #gpu: Gpu;
  #augmenter: GpuAugmenter;

  private constructor(
    gpu: Gpu,
    options: ImageLoaderOptions,
    stream: ShardStream,
    augmenter: GpuAugmenter,
  ) {
    this.#gpu = gpu;
    this.options = options;
    this.stream = stream;
    this.#augmenter = augmenter;
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
    const side = stream.manifest.settings.size;
    // Room for images up to 2:1 at the pack's size (at most one buffer's worth); a batch of
    // wider ones grows the buffer.
    const augmenter = await GpuAugmenter.create(gpu, {
      batch: options.batch,
      size: options.size ?? 224,
      maxBytes: Math.min(options.batch * side * side * 2 * 3, sourceBytesMax(gpu)),
      mean: options.mean,
      std: options.std,
    });
    return new ImageLoader(gpu, { ...options }, stream, augmenter);
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
    for await (const row of this.stream.epoch({ rng: order, prefetch: this.options.prefetch })) {
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

  /** Frees the GPU buffers. */
  destroy(): void {
    this.#augmenter.destroy();
  }
}
