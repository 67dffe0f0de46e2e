/**
 * Where stage 1 and feature extraction get their images: an in-memory {@link ImageSet} (the
 * Fashion-MNIST and CIFAR profiles, batched and augmented on the CPU by `BatchMaker`), or a
 * {@link PackedSource}, a folder written by `deno task pack` that is streamed shard by shard and
 * augmented on the GPU ({@link ImageLoader}), for the image-list profiles.
 *
 * A packed source's epoch order with instance-balanced sampling is the {@link ShardStream}'s
 * two-level shuffle: the shards in a seeded order, then the rows of each shard in a seeded order.
 * That is instance-balanced (every image once per epoch) but not a global shuffle: the rows of one
 * shard stay together within an epoch, the price of reading at most two shards at a time. The
 * class-balanced, square-root and progressive samplers draw the same index sequence as the
 * in-memory path (same labels, same generator) and read those rows by position (lib/data/pack_rows.ts),
 * holding only the rows being read and the batch.
 *
 * A source may be part of a pack (`subset`): iNaturalist 2018's tuning set is drawn from its
 * training pack, so the training source is that pack without the drawn rows and the tuning source
 * is the drawn rows (lib/train/packed_data.ts).
 *
 * @module
 */

import type { ImageSet } from "../data/image_set.ts";
import { readManifest } from "../data/shards.ts";
import type { Gpu } from "../gpu/device.ts";
import type { MicroBatchStep } from "../nn/microbatch.ts";
import type { ResNet } from "../nn/resnet.ts";
import type { Stage1Settings } from "./config.ts";
import { extractBatches, type ExtractResult } from "./extract.ts";
import type { FeatureMetadataInput, FeatureSplit } from "../features/schema.ts";
import { type ImageBatch, ImageLoader, sourceBytesPerImage } from "./image_loader.ts";

/**
 * A packed split (`deno task pack`'s folder) as a source of images.
 *
 * @example
 * ```ts
 * import type { PackedSource } from "./image_source.ts";
 * const train: PackedSource = {
 *   pack: "data/imagenet-lt-256/train", rows: 115846, classCount: 1000,
 *   crop: { size: 224, resize: 256 },
 *   normalization: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
 * };
 * ```
 */
export interface PackedSource {
  /** The pack folder (manifest.json and shards). */
  pack: string;
  /** Rows of the source: the subset's, or the pack's. */
  rows: number;
  /** The pack rows the source is made of, ascending (absent: every row of the pack). */
  subset?: Int32Array;
  /** Classes of the task (labels are below it). */
  classCount: number;
  /** Training crop side and evaluation resize. */
  crop: { size: number; resize: number };
  /** Per-channel mean and std of x/255 (3 values each). */
  normalization: { mean: readonly number[]; std: readonly number[] };
}

/**
 * What stage 1 and extraction accept.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { imageCount, type ImageSource } from "./image_source.ts";
 * const s: ImageSource = {
 *   pack: "p", rows: 7, classCount: 2, crop: { size: 8, resize: 9 },
 *   normalization: { mean: [0, 0, 0], std: [1, 1, 1] },
 * };
 * equal(imageCount(s), 7);
 * ```
 */
export type ImageSource = ImageSet | PackedSource;

/**
 * True for a packed source.
 *
 * @param source Either kind.
 * @returns Whether it is a {@link PackedSource}.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { isPackedSource } from "./image_source.ts";
 * const set = {
 *   images: new Uint8Array(1), labels: Int32Array.of(0), count: 1, channels: 1, height: 1,
 *   width: 1, classCount: 1,
 * };
 * equal(isPackedSource(set), false);
 * ```
 */
export function isPackedSource(source: ImageSource): source is PackedSource {
  return "pack" in source;
}

/**
 * Images in a source.
 *
 * @param source Either kind.
 * @returns N.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { imageCount } from "./image_source.ts";
 * const set = {
 *   images: new Uint8Array(2), labels: Int32Array.of(0, 1), count: 2, channels: 1, height: 1,
 *   width: 1, classCount: 2,
 * };
 * equal(imageCount(set), 2);
 * ```
 */
export function imageCount(source: ImageSource): number {
  return isPackedSource(source) ? source.rows : source.count;
}

/**
 * Checks that a network takes a packed source's crops: 3 channels, the crop side square.
 *
 * @param source The packed source.
 * @param input The network's (C,H,W).
 * @throws {RangeError} Naming both shapes.
 * @example
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { checkPackedInput } from "./image_source.ts";
 * const s = {
 *   pack: "p", rows: 1, classCount: 2, crop: { size: 32, resize: 36 },
 *   normalization: { mean: [0, 0, 0], std: [1, 1, 1] },
 * };
 * checkPackedInput(s, [3, 32, 32]);
 * throws(() => checkPackedInput(s, [1, 28, 28]), /takes 1x28x28/);
 * ```
 */
export function checkPackedInput(source: PackedSource, input: readonly number[]): void {
  const S = source.crop.size;
  if (input[0] !== 3 || input[1] !== S || input[2] !== S) {
    throw new RangeError(
      `Cannot feed ${source.pack} to the network: it takes ${input.join("x")} but the pack ` +
        `gives 3x${S}x${S} crops; build the network for the profile's crop`,
    );
  }
}

/**
 * Images per augmentation run of a packed batch: the largest divisor of `batch` whose output
 * (chunk x 3 x crop x crop f32) and source bytes (room for 2:1 images at the pack's side) each
 * fit one storage buffer of `gpu`.
 *
 * @param gpu The device whose per-buffer limit applies.
 * @param batch Images per step.
 * @param crop The network's input side.
 * @param side The pack's image side.
 * @returns The chunk, a divisor of `batch`.
 * @throws {RangeError} When not even one image fits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { packedChunk } from "./image_source.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * assert.equal(packedChunk(gpu, 128, 32, 40), 128);
 * gpu.destroy();
 * ```
 */
export function packedChunk(gpu: Gpu, batch: number, crop: number, side: number): number {
  const perImage = Math.max(3 * crop * crop * 4, sourceBytesPerImage(side));
  for (let chunk = batch; chunk >= 1; chunk--) {
    if (batch % chunk === 0 && chunk * perImage <= gpu.maxTensorBytes) return chunk;
  }
  throw new RangeError(
    `Cannot train stage 1 from packs: one image's augmentation needs ${perImage} bytes but one ` +
      `storage buffer holds ${gpu.maxTensorBytes} on this device; use a smaller crop or pack size`,
  );
}

/**
 * Stage 1's batches from a pack: each step's batch augmented on the GPU (RandomResizedCrop,
 * flip, ColorJitter) and copied into the network's input (the micro-batch slots of a split
 * step). The augmentation runs in equal chunks of the batch, the largest whose buffers fit one
 * storage buffer ({@link packedChunk}), one submit apart, so a batch too large for the device
 * trains from packs as it trains from memory; the rows and their augmentation do not depend on
 * the chunks. Epoch e draws its order from
 * `Rng(seed, 1 + 2e)` and its augmentation from `Rng(seed, 2 + 2e)`, the streams the in-memory
 * path uses for its sampler and augmentation, so a resumed run repeats them and a sampler other
 * than instance-balanced visits the same index sequence as on an in-memory set with the same
 * labels.
 *
 * The example is not run by `deno test --doc`: it needs a pack on disk and a network;
 * tests/train/image_source_test.ts builds both and runs it.
 *
 * @example
 * ```ts ignore
 * const feed = await PackedTrainFeed.create(gpu, net, source, settings);
 * const next = feed.epoch(0);
 * await next(); // the step holds step 0's batch and labels (recorded, not yet submitted)
 * ```
 */
export class PackedTrainFeed {
  readonly #step: MicroBatchStep;
  readonly #loader: ImageLoader;
  /** A step's labels, gathered from its chunks (the queue write copies them). */
  readonly #labels: Int32Array;
  #open: AsyncGenerator<ImageBatch> | null = null;

  private constructor(step: MicroBatchStep, loader: ImageLoader) {
    this.#step = step;
    this.#loader = loader;
    this.#labels = new Int32Array(step.batch);
  }

  /** Images per augmentation run: the loader's batch. */
  get chunk(): number {
    return this.#loader.options.batch;
  }

  /**
   * Opens the pack and the augmentation kernel.
   *
   * @param gpu The device.
   * @param step The training step (its whole batch is the loader's).
   * @param source The training pack.
   * @param settings The run's seed, sampler and epochs.
   * @returns The feed.
   */
  static async create(
    gpu: Gpu,
    step: MicroBatchStep,
    source: PackedSource,
    settings: Pick<Stage1Settings, "seed" | "sampler" | "epochs">,
  ): Promise<PackedTrainFeed> {
    checkPackedInput(source, step.net.spec.input);
    const manifest = await readManifest(source.pack);
    const side = manifest?.settings.size ?? source.crop.size;
    const loader = await ImageLoader.create(gpu, {
      dir: source.pack,
      batch: packedChunk(gpu, step.batch, source.crop.size, side),
      train: true,
      seed: settings.seed,
      sampler: settings.sampler,
      epochs: settings.epochs,
      subset: source.subset,
      mean: source.normalization.mean,
      std: source.normalization.std,
      size: source.crop.size,
      resize: source.crop.resize,
      firstStream: 1,
    });
    return new PackedTrainFeed(step, loader);
  }

  /**
   * Starts epoch `epoch`: each call of the returned function records the next full batch into
   * the network's input and writes its labels.
   *
   * @param epoch The epoch, from 0.
   * @returns The step function.
   */
  epoch(epoch: number): () => Promise<void> {
    // The last epoch stopped at its last full batch: end it before this one reads.
    let closing = this.#open?.return(undefined) ?? null;
    const batches = this.#loader.epoch(epoch);
    this.#open = batches;
    const step = this.#step;
    return async () => {
      if (closing) {
        await closing;
        closing = null;
      }
      const chunk = this.chunk;
      const labels = this.#labels;
      for (let first = 0; first < step.batch; first += chunk) {
        // The augmentation's uploads are queue writes: the previous chunk's kernel and copy
        // must be submitted before they are replaced.
        if (first > 0) step.net.gpu.submit();
        const next = await batches.next();
        if (next.done || next.value.count !== chunk) {
          throw new RangeError(
            `Cannot train stage 1: the pack ${this.#loader.stream.dir} ran out of full batches ` +
              `of ${step.batch} in epoch ${epoch + 1}`,
          );
        }
        step.copyImagesFrom(this.#loader.images.buffer, first, chunk);
        labels.set(next.value.labels, first);
      }
      step.writeLabels(labels);
    };
  }

  /** Ends the open epoch and frees the kernel's buffers. */
  async destroy(): Promise<void> {
    await this.#open?.return(undefined);
    this.#loader.destroy();
  }
}

/**
 * Writes the features of a packed split: the evaluation transform (Resize + CenterCrop, then
 * the normalisation) in pack order (the subset's rows only, when the source has one), `index` =
 * the row in the pack, `ltkit.source_pack` = the pack folder, so `packRowLocation` leads from
 * every row back to its image and list line.
 *
 * The example is not run by `deno test --doc`: it needs a pack on disk and a network;
 * tests/train/image_source_test.ts builds both and runs it.
 *
 * @param net The frozen network.
 * @param source The pack.
 * @param name The split.
 * @param path The Arrow file to write.
 * @param metadata Schema metadata.
 * @returns Rows written and the joint classifier's correct count.
 * @example
 * ```ts ignore
 * const { rows } = await extractPackFeatures(net, test, "test", "runs/x/features/test.arrow", meta);
 * ```
 */
export async function extractPackFeatures(
  net: ResNet,
  source: PackedSource,
  name: FeatureSplit,
  path: string,
  metadata: FeatureMetadataInput,
): Promise<ExtractResult> {
  checkPackedInput(source, net.spec.input);
  const loader = await ImageLoader.create(net.gpu, {
    dir: source.pack,
    batch: net.batch,
    train: false,
    seed: 0,
    subset: source.subset,
    mean: source.normalization.mean,
    std: source.normalization.std,
    size: source.crop.size,
    resize: source.crop.resize,
  });
  const batches = loader.epoch(0);
  try {
    return await extractBatches(net, name, path, metadata, {
      total: loader.count,
      // The loader's upload is a queue write: one batch per submit, or a later batch's pixels
      // would replace an earlier one's before its kernel ran.
      group: 1,
      sourcePack: source.pack,
      async fill(_start, n) {
        const next = await batches.next();
        if (next.done || next.value.count !== n) {
          throw new RangeError(
            `Cannot extract the ${name} features from ${source.pack}: the pack gave fewer rows ` +
              `than the ${loader.count} it should give`,
          );
        }
        net.gpu.copy(loader.images.buffer, 0, net.input.buffer, 0, net.input.size * 4);
        return { labels: next.value.labels, indices: next.value.indices };
      },
    });
  } finally {
    await batches.return(undefined);
    loader.destroy();
  }
}
