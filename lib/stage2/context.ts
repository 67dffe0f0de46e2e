/**
 * The GPU side of stage 2: features uploaded once and kept on the GPU for every method, the
 * stage-1 (joint) classifier, the log prior, and evaluation that reads back val and test logits.
 *
 * Feature rows are held in chunks of at most {@link chunkRows} rows, so that every chunk, and the
 * (rows, C) logits of a chunk, fit one storage binding: ImageNet-LT's 115,846 x 2048 training
 * features (949 MB) take 8 chunks on a device whose bindings hold 128 MiB (lavapipe). Every
 * method works chunk by chunk; one chunk is the common case.
 *
 * @module
 */

import type { Gpu } from "../gpu/device.ts";
import { recordOnce } from "../gpu/kernel.ts";
import { Tensor } from "../gpu/tensor.ts";
import type { ClassifierData, FeatureDir } from "../features/reader.ts";
import { MINIMAL_CLASSIFIER_LAYOUT } from "../features/schema.ts";
import {
  classSegments,
  type LinearModel,
  modelSize,
  packModel,
  padColumns,
  paddedDim,
  prepareLogits,
  unpackModel,
} from "../ops/classifier.ts";

/**
 * Rows per chunk of feature rows: the most rows whose (rows, Dp) features and (rows, C) logits
 * or scores (and up to 32 taus of predictions) each fit one storage binding and one buffer.
 *
 * @param gpu The device whose limits apply.
 * @param dimPadded Dp.
 * @param classes C.
 * @returns At least 1.
 *
 * @example
 * ```ts
 * import { requestGpu } from "../gpu/mod.ts";
 * import { chunkRows } from "./context.ts";
 * const gpu = await requestGpu({
 *   warnFallback: false,
 *   lowerLimits: { maxStorageBufferBindingSize: 128 * 2 ** 20 },
 * });
 * console.log(chunkRows(gpu, 2048, 1000)); // 16384: 115,846 ImageNet-LT rows take 8 chunks
 * gpu.destroy();
 * ```
 */
export function chunkRows(gpu: Gpu, dimPadded: number, classes: number): number {
  return Math.max(1, Math.floor(gpu.maxTensorBytes / (4 * Math.max(dimPadded, classes, 32))));
}

/**
 * Val and test feature rows, each as chunks of rows (see {@link chunkRows}).
 *
 * @example
 * ```ts
 * import type { EvalRows } from "./context.ts";
 * const none: EvalRows = { val: [], test: [] };
 * console.log(none.val.length); // 0
 * ```
 */
export interface EvalRows {
  /** Validation rows, in order. */
  val: readonly Tensor[];
  /** Test rows, in order. */
  test: readonly Tensor[];
}

/**
 * Val and test logits, each (rows, C).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSyntheticFeatures } from "../features/synthetic.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { Stage2Context } from "./context.ts";
 * import type { EvalLogits } from "./context.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const features = makeSyntheticFeatures({
 *   trainCounts: [60, 15, 5],
 *   featureDim: 6,
 *   testPerClass: 10,
 * });
 * const ctx = await Stage2Context.create(gpu, features);
 * const logits: EvalLogits = await ctx.evaluate(ctx.joint);
 * assert.equal(logits.val.length, 60 * 3); // (N_val, C) row-major
 * assert.equal(logits.test.length, 30 * 3);
 * ctx.destroy();
 * gpu.destroy();
 * ```
 */
export interface EvalLogits {
  /** Validation logits, (N_val, C). */
  val: Float32Array;
  /** Test logits, (N_test, C). */
  test: Float32Array;
}

/**
 * Stage-2 state on the GPU. Create once per feature folder, run methods, then destroy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSyntheticFeatures } from "../features/synthetic.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { Stage2Context } from "./context.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const features = makeSyntheticFeatures({
 *   trainCounts: [60, 15, 5],
 *   featureDim: 6,
 *   testPerClass: 10,
 * });
 * const ctx = await Stage2Context.create(gpu, features);
 * assert.deepEqual([ctx.classes, ctx.dim, ctx.dimPadded], [3, 6, 8]);
 * assert.deepEqual(ctx.trainX[0].shape, [80, 8]);
 * const { val, test } = await ctx.evaluate(ctx.joint);
 * assert.equal(val.length / ctx.classes, 60);
 * assert.equal(test.length / ctx.classes, 30);
 * const joint = await ctx.readModel(ctx.joint);
 * assert.equal(joint.weight.length, 18);
 * assert.deepEqual(joint.scale, Float32Array.of(1, 1, 1));
 * ctx.destroy();
 * gpu.destroy();
 * ```
 */
export class Stage2Context {
  /** The device. */
  readonly gpu: Gpu;
  /** The feature folder the tensors were made from. */
  readonly features: FeatureDir;
  /** C. */
  readonly classes: number;
  /** D, the stored feature dimension. */
  readonly dim: number;
  /** D padded to a multiple of 4: the row length of the GPU tensors. */
  readonly dimPadded: number;
  /** Rows per chunk of every feature split ({@link chunkRows}). */
  readonly rowsPerChunk: number;
  /** Training features, chunks of (N_k, Dp) in row order. */
  readonly trainX: readonly Tensor[];
  /** The training rows of each class in each chunk, {@link classSegments}, (2C + 1 + N_k) u32. */
  readonly trainSegments: readonly Tensor[];
  /** Validation features, chunks of (N_k, Dp), for the tau sweeps and evaluation. */
  readonly valX: readonly Tensor[];
  /** Test features, chunks of (N_k, Dp). */
  readonly testX: readonly Tensor[];
  /** The stage-1 classifier in the kernels' model layout (zeros when the dump has none). */
  readonly joint: Tensor;
  /** Zeros, (C): the "no offset" logit offset. */
  readonly zeros: Tensor;
  /** log(n_c / N) of the training set, (C) (an empty class counts as one image). */
  readonly logPrior: Float32Array;
  /** {@link logPrior} on the GPU. */
  readonly logPriorTensor: Tensor;
  readonly #owned: Tensor[];

  private constructor(gpu: Gpu, features: FeatureDir) {
    const { train, val, test, classifier } = features;
    this.gpu = gpu;
    this.features = features;
    this.classes = classifier?.classCount ?? train.classCount;
    this.dim = train.dim;
    this.dimPadded = paddedDim(train.dim);
    const dp = this.dimPadded;
    const c = this.classes;
    const per = chunkRows(gpu, dp, c);
    this.rowsPerChunk = per;
    const starts = (rows: number) =>
      Array.from({ length: Math.ceil(rows / per) }, (_, i) => i * per);
    const upload = (data: Float32Array, rows: number, label: string) =>
      starts(rows).map((start) => {
        const end = Math.min(rows, start + per);
        const part = padColumns(
          data.subarray(start * this.dim, end * this.dim),
          end - start,
          this.dim,
        );
        return Tensor.from(gpu, part, [end - start, dp], "f32", `${label} ${start}..${end - 1}`);
      });
    this.trainX = upload(train.features, train.rows, "train features");
    const totals = new Uint32Array(c);
    for (const y of train.label) totals[y]++;
    this.trainSegments = starts(train.rows).map((start) => {
      const labels = train.label.subarray(start, Math.min(train.rows, start + per));
      const segments = classSegments(labels, c, totals);
      return Tensor.from(gpu, segments, [segments.length], "u32", "train class segments");
    });
    this.valX = upload(val.features, val.rows, "val features");
    this.testX = upload(test.features, test.rows, "test features");
    const ones = new Float32Array(c).fill(1);
    this.joint = this.modelTensor(
      {
        weight: classifier?.weight ?? new Float32Array(c * this.dim),
        bias: classifier?.bias ?? new Float32Array(c),
        scale: ones,
      },
      "joint classifier",
    );
    this.zeros = Tensor.zeros(gpu, [c], "f32", "zero offset");
    const counts = train.metadata.trainClassCounts;
    const total = counts.reduce((a, b) => a + b, 0);
    this.logPrior = Float32Array.from(counts, (n) => Math.log(Math.max(n, 1) / Math.max(total, 1)));
    this.logPriorTensor = Tensor.from(gpu, this.logPrior, [c], "f32", "log prior");
    this.#owned = [
      ...this.trainX,
      ...this.trainSegments,
      ...this.valX,
      ...this.testX,
      this.joint,
      this.zeros,
      this.logPriorTensor,
    ];
  }

  /**
   * Uploads a feature folder's data. The folder must have passed readFeatureDir's checks.
   *
   * @param gpu The device.
   * @param features train, val, test and classifier.
   * @returns The context.
   */
  static create(gpu: Gpu, features: FeatureDir): Promise<Stage2Context> {
    gpu.assertAlive("start stage 2");
    const ctx = new Stage2Context(gpu, features);
    return Promise.resolve(ctx);
  }

  /**
   * The model's own linear classifier, for the methods built on it.
   *
   * @param method The method that needs it, for the message.
   * @throws {TypeError} When the feature dump has no classifier.
   */
  requireClassifier(method: string): ClassifierData {
    const classifier = this.features.classifier;
    if (!classifier) {
      throw new TypeError(
        `Cannot run ${method}: the features have no classifier; give the model's linear ` +
          `classifier as classifier.arrow (${MINIMAL_CLASSIFIER_LAYOUT})`,
      );
    }
    return classifier;
  }

  /** A new model tensor for this context's (C, Dp), holding `model`. */
  modelTensor(model: LinearModel, label = "model"): Tensor {
    return Tensor.from(
      this.gpu,
      packModel(model, this.classes, this.dim),
      [modelSize(this.classes, this.dimPadded)],
      "f32",
      label,
    );
  }

  /** An empty model tensor for this context's (C, Dp). */
  emptyModel(label = "model"): Tensor {
    return Tensor.zeros(this.gpu, [modelSize(this.classes, this.dimPadded)], "f32", label);
  }

  /** Reads a model tensor back into W (C, D), b and f. */
  async readModel(model: Tensor): Promise<LinearModel> {
    return unpackModel(await model.read(), this.classes, this.dim);
  }

  /**
   * Logits of val and test for `model` (plus an additive offset), after any work already
   * recorded; one dispatch and one read-back per chunk of rows.
   *
   * @param model A model tensor of this context.
   * @param offset (C) additive logit offset (default zeros).
   * @param x The val and test feature chunks to use (default {@link valX} and {@link testX};
   *   NCM passes normalised ones).
   * @returns Val and test logits.
   */
  async evaluate(
    model: Tensor,
    offset: Tensor = this.zeros,
    x: EvalRows = { val: this.valX, test: this.testX },
  ): Promise<EvalLogits> {
    return {
      val: await this.#logits(model, offset, x.val, this.features.val.rows),
      test: await this.#logits(model, offset, x.test, this.features.test.rows),
    };
  }

  async #logits(
    model: Tensor,
    offset: Tensor,
    chunks: readonly Tensor[],
    rows: number,
  ): Promise<Float32Array> {
    const c = this.classes;
    const all = new Float32Array(rows * c);
    let at = 0;
    for (const x of chunks) {
      const out = Tensor.empty(this.gpu, [x.shape[0], c], "f32", "eval logits");
      try {
        recordOnce(await prepareLogits(this.gpu, x, model, offset, out));
        all.set(await out.read(), at);
        at += out.size;
      } finally {
        out.destroy();
      }
    }
    if (at !== all.length) {
      throw new RangeError(
        `Cannot evaluate: the chunks hold ${at / c} rows but the split has ${rows}`,
      );
    }
    return all;
  }

  /** Frees every tensor the context made. */
  destroy(): void {
    for (const t of this.#owned) t.destroy();
  }
}
