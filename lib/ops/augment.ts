/**
 * The ImageNet-style augmentation kernel (`kernels/augment.wgsl`): uint8 source images of any
 * sizes in, normalised f32 crops (B,3,S,S) out, with parameters drawn on the CPU
 * (`trainAugmentParams`, `evalAugmentParams` in lib/data/imagenet_augment.ts) so the result is
 * deterministic and checkable against `augmentReference`.
 *
 * ```
 * const aug = new GpuAugmenter(gpu, { batch: B, size: S, maxBytes, mean, std })
 * aug.run(sources, params)   // records the kernel (sync); aug.out: (B,3,S,S), overwritten
 * ```
 *
 * Buffers are allocated once for `batch` images and `maxBytes` source bytes and reused. For small
 * images (CIFAR, Fashion-MNIST) the CPU path of lib/data/batch.ts stays: there a GPU round trip
 * costs more than the work.
 *
 * @module
 */

import source from "../../kernels/augment.wgsl" with { type: "text" };
import {
  AUGMENT_FLOATS,
  type AugmentParams,
  type AugmentSource,
} from "../data/imagenet_augment.ts";
import type { Gpu } from "../gpu/device.ts";
import { type Dispatch, grid1d } from "../gpu/kernel.ts";
import { prepareDispatch } from "./_prepare.ts";
import { Tensor } from "../gpu/tensor.ts";
import { AUGMENT_ENTRIES, family } from "./_entries.ts";

const AUGMENT = family("kernels/augment.wgsl", source, AUGMENT_ENTRIES);
/** Invocations per image (a power of two: the contrast mean is a tree reduction). */
const WG = 256;

/**
 * Options of {@link GpuAugmenter}.
 *
 * @example
 * ```ts
 * import type { GpuAugmenterOptions } from "./augment.ts";
 * const o: GpuAugmenterOptions = {
 *   batch: 128, size: 224, maxBytes: 128 * 256 * 400 * 3,
 *   mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225],
 * };
 * ```
 */
export interface GpuAugmenterOptions {
  /** B, the largest batch. */
  batch: number;
  /** S, the output side (224). */
  size: number;
  /** The most source bytes of one batch. */
  maxBytes: number;
  /** Per-channel mean of x/255. */
  mean: readonly number[];
  /** Per-channel std of x/255. */
  std: readonly number[];
}

/** One workgroup per image, folded past the per-dimension limit (kernels/augment.wgsl). */
function imageGrid(gpu: Gpu, count: number) {
  const { workgroups, row } = grid1d(gpu, count, 1);
  return { uniforms: { count, row }, workgroups };
}

/**
 * Augments batches on the GPU.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { evalAugmentParams } from "../data/imagenet_augment.ts";
 * import { GpuAugmenter } from "./augment.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const aug = await GpuAugmenter.create(gpu, {
 *   batch: 1, size: 2, maxBytes: 12, mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255],
 * });
 * const src = { pixels: Uint8Array.from({ length: 12 }, (_, i) => i), height: 2, width: 2 };
 * aug.run([src], [evalAugmentParams(2, 2, 2, 2)]);
 * const out = await aug.out.read();
 * deepEqual([...out.subarray(0, 4)].map(Math.round), [0, 3, 6, 9]);
 * aug.destroy();
 * gpu.destroy();
 * ```
 */
export class GpuAugmenter {
  /** The output, (B,3,S,S); rows past the last batch's count keep old values. */
  readonly out: Tensor;
  /** Options. */
  readonly options: Readonly<GpuAugmenterOptions>;
  readonly #src: Tensor;
  readonly #info: Tensor;
  readonly #prm: Tensor;
  readonly #dispatch: Dispatch;
  /** The image count the dispatch's uniforms hold. */
  #count: number;

  private constructor(
    options: GpuAugmenterOptions,
    tensors: { out: Tensor; src: Tensor; info: Tensor; prm: Tensor },
    dispatch: Dispatch,
  ) {
    this.options = options;
    this.out = tensors.out;
    this.#src = tensors.src;
    this.#info = tensors.info;
    this.#prm = tensors.prm;
    this.#dispatch = dispatch;
    this.#count = options.batch;
  }

  /**
   * Compiles the kernel and allocates the buffers.
   *
   * @param gpu The device.
   * @param options Sizes and normalisation.
   * @returns The augmenter.
   * @throws {RangeError} For a batch below 1, a size below 1, or mean/std not of 3 values.
   */
  static async create(gpu: Gpu, options: GpuAugmenterOptions): Promise<GpuAugmenter> {
    const { batch, size, maxBytes, mean, std } = options;
    if (!Number.isInteger(batch) || batch < 1) {
      throw new RangeError(`Cannot augment: batch ${batch} must be a positive integer`);
    }
    if (!Number.isInteger(size) || size < 1 || size > 4096) {
      throw new RangeError(`Cannot augment: size ${size} must be an integer in 1..4096`);
    }
    if (!Number.isInteger(maxBytes) || maxBytes < 3) {
      throw new RangeError(`Cannot augment: maxBytes ${maxBytes} must be an integer >= 3`);
    }
    if (mean.length !== 3 || std.length !== 3 || std.some((s) => !(s > 0))) {
      throw new RangeError(
        `Cannot augment: mean [${mean}] and std [${std}] must have 3 values each, std > 0`,
      );
    }
    gpu.assertAlive("augment");
    const tensors = {
      out: Tensor.empty(gpu, [batch, 3, size, size], "f32", "augmented batch"),
      src: Tensor.empty(gpu, [Math.ceil(maxBytes / 4)], "u32", "source bytes"),
      info: Tensor.empty(gpu, [batch, 4], "u32", "augment info"),
      prm: Tensor.empty(gpu, [batch, AUGMENT_FLOATS], "f32", "augment parameters"),
    };
    const uniforms = {
      size,
      batch,
      m0: mean[0],
      m1: mean[1],
      m2: mean[2],
      s0: std[0],
      s1: std[1],
      s2: std[2],
      ...imageGrid(gpu, batch).uniforms,
    };
    // The augmenter owns its buffers; a failed compile must not leave them behind.
    const dispatch = await prepareDispatch(
      gpu,
      AUGMENT,
      "augment",
      { WG },
      tensors,
      uniforms,
      imageGrid(gpu, batch).workgroups,
      Object.values(tensors),
    );
    return new GpuAugmenter({ ...options }, tensors, dispatch);
  }

  /**
   * Uploads the sources and parameters and records the kernel (synchronous); read {@link GpuAugmenter.out}
   * (or use it in the next kernels) afterwards.
   *
   * @param sources Up to B images, (H,W,3) uint8 each.
   * @param params One per image.
   * @throws {RangeError} For a count mismatch, too many images or bytes, a box outside its image.
   */
  run(sources: readonly AugmentSource[], params: readonly AugmentParams[]): void {
    const n = sources.length;
    const { batch, maxBytes } = this.options;
    if (n < 1 || n > batch || params.length !== n) {
      throw new RangeError(
        `Cannot augment: ${n} images and ${params.length} parameter sets; need 1..${batch} of each, as many`,
      );
    }
    const bytes = sources.reduce((s, im) => s + im.pixels.length, 0);
    if (bytes > maxBytes) {
      throw new RangeError(
        `Cannot augment: the batch has ${bytes} source bytes but the augmenter was made for ` +
          `${maxBytes}; create it with a larger maxBytes`,
      );
    }
    const packed = new Uint8Array(Math.ceil(bytes / 4) * 4);
    const info = new Uint32Array(4 * n);
    const prm = new Float32Array(AUGMENT_FLOATS * n);
    let offset = 0;
    for (let b = 0; b < n; b++) {
      const im = sources[b], p = params[b];
      if (im.pixels.length !== im.height * im.width * 3) {
        throw new RangeError(
          `Cannot augment: image ${b} has ${im.pixels.length} bytes for ${im.height}x${im.width}x3`,
        );
      }
      if (
        !(p.height > 0 && p.width > 0 && p.top >= 0 && p.left >= 0 &&
          p.top + p.height <= im.height + 1e-6 && p.left + p.width <= im.width + 1e-6)
      ) {
        throw new RangeError(
          `Cannot augment: image ${b}'s box (top ${p.top}, left ${p.left}, ${p.height}x${p.width}) ` +
            `is not inside its ${im.height}x${im.width} pixels`,
        );
      }
      packed.set(im.pixels, offset);
      info.set(
        [offset, im.height, im.width, p.order[0] | (p.order[1] << 2) | (p.order[2] << 4)],
        4 * b,
      );
      prm.set(
        [p.top, p.left, p.height, p.width, p.brightness, p.contrast, p.saturation, p.flip ? 1 : 0],
        AUGMENT_FLOATS * b,
      );
      offset += im.pixels.length;
    }
    this.#src.write(new Uint32Array(packed.buffer));
    this.#info.write(info);
    this.#prm.write(prm);
    const grid = imageGrid(this.#dispatch.gpu, n);
    if (n !== this.#count) {
      this.#dispatch.setUniforms(grid.uniforms);
      this.#count = n;
    }
    this.#dispatch.workgroups = grid.workgroups;
    this.#dispatch.record();
  }

  /** Frees the buffers. */
  destroy(): void {
    this.#dispatch.destroy();
    for (const t of [this.out, this.#src, this.#info, this.#prm]) t.destroy();
  }
}
