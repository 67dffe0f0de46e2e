/**
 * The GPU side of stage 2: features uploaded once and kept on the GPU for every method, the
 * stage-1 (joint) classifier, the log prior, and evaluation that reads back val and test logits
 * in one go.
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
} from "./classifier_ops.ts";

/**
 * Val and test logits, each (rows, C).
 *
 * @example
 * ```ts
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
 * console.log(logits.val.length, logits.test.length); // 180 90: (60, 3) and (30, 3) row-major
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
 * console.log(ctx.classes, ctx.dim, ctx.dimPadded, ctx.trainX.shape); // 3 6 8 [80, 8]
 * const { val, test } = await ctx.evaluate(ctx.joint);
 * console.log(val.length / ctx.classes, test.length / ctx.classes); // 60 30
 * const joint = await ctx.readModel(ctx.joint);
 * console.log(joint.weight.length, joint.scale); // 18 Float32Array(3) [1, 1, 1]
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
  /** Training features, (N, Dp). */
  readonly trainX: Tensor;
  /** The training rows of each class, {@link classSegments} of the labels, (C + 1 + N) u32. */
  readonly trainSegments: Tensor;
  /** Validation features, (N_val, Dp), for the tau sweeps. */
  readonly valX: Tensor;
  /** Validation then test features, (N_val + N_test, Dp): one evaluation covers both. */
  readonly evalX: Tensor;
  /** The stage-1 classifier in the kernels' model layout (zeros when the dump has none). */
  readonly joint: Tensor;
  /** Zeros, (C): the "no offset" logit offset. */
  readonly zeros: Tensor;
  /** log(n_c / N) of the training set, (C) (an empty class counts as one image). */
  readonly logPrior: Float32Array;
  /** {@link logPrior} on the GPU. */
  readonly logPriorTensor: Tensor;
  readonly #evalLogits: Tensor<"f32">;
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
    const upload = (data: Float32Array, rows: number, label: string) =>
      Tensor.from(gpu, padColumns(data, rows, this.dim), [rows, dp], "f32", label);
    this.trainX = upload(train.features, train.rows, "train features");
    this.trainSegments = Tensor.from(
      gpu,
      classSegments(train.label, this.classes),
      [this.classes + 1 + train.rows],
      "u32",
      "train class segments",
    );
    this.valX = upload(val.features, val.rows, "val features");
    const evalRows = val.rows + test.rows;
    const evalData = new Float32Array(evalRows * this.dim);
    evalData.set(val.features);
    evalData.set(test.features, val.rows * this.dim);
    this.evalX = upload(evalData, evalRows, "val+test features");
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
    this.#evalLogits = Tensor.empty(gpu, [evalRows, c], "f32", "eval logits");
    this.#owned = [
      this.trainX,
      this.trainSegments,
      this.valX,
      this.evalX,
      this.joint,
      this.zeros,
      this.logPriorTensor,
      this.#evalLogits,
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
   * recorded; one dispatch and one read-back.
   *
   * @param model A model tensor of this context.
   * @param offset (C) additive logit offset (default zeros).
   * @param x The (N_val + N_test, Dp) features to use (default {@link evalX}; NCM passes
   *   normalised ones).
   * @returns Val and test logits.
   */
  async evaluate(
    model: Tensor,
    offset: Tensor = this.zeros,
    x: Tensor = this.evalX,
  ): Promise<EvalLogits> {
    recordOnce(await prepareLogits(this.gpu, x, model, offset, this.#evalLogits));
    const all = await this.#evalLogits.read();
    const split = this.features.val.rows * this.classes;
    return { val: all.slice(0, split), test: all.slice(split) };
  }

  /** Frees every tensor the context made. */
  destroy(): void {
    for (const t of this.#owned) t.destroy();
  }
}
