/**
 * Nearest class mean (RECIPE.md, stage 2).
 *
 * - `cosine`: average the L2-normalised training features of each class, normalise the mean
 *   again, and score a feature by cosine similarity with each class mean.
 * - `l2` (the paper code's `cl2n`): centre features by the training mean, normalise, average per
 *   class (not normalised again, as in the paper's code), and score by minus the squared L2
 *   distance.
 *
 * Both are linear in the normalised feature, so they run through the classifier kernels:
 * cosine is `W = m / ||m||, b = 0`; L2 is `W = 2m, b = -||m||^2 - 1` (on unit features
 * `-||x - m||^2 = 2 m.x - ||m||^2 - 1`).
 *
 * @module
 */

import { recordOnce } from "../gpu/kernel.ts";
import { Tensor } from "../gpu/tensor.ts";
import {
  type NcmMode,
  prepareClassMean,
  prepareColumnMean,
  prepareNcmWeights,
  prepareNormalizeRows,
} from "./classifier_ops.ts";
import type { Stage2Context } from "./context.ts";
import { type MethodResult, since } from "./method.ts";

/**
 * Runs NCM entirely on the GPU (one submit, one read-back of logits, one of the centres).
 *
 * @param ctx The stage-2 context.
 * @param mode `cosine` or `l2`.
 * @returns Val and test scores (cosines, or minus squared distances) and the NCM weights.
 * @example
 * ```ts
 * import { makeSyntheticFeatures } from "../features/synthetic.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { Stage2Context } from "./context.ts";
 * import { runNcm } from "./ncm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const features = makeSyntheticFeatures({
 *   trainCounts: [60, 15, 5],
 *   featureDim: 6,
 *   testPerClass: 10,
 * });
 * const ctx = await Stage2Context.create(gpu, features);
 * const ncm = await runNcm(ctx, "cosine");
 * const scores = ncm.logits.test;
 * console.log(ncm.name, scores.every((s) => s >= -1.0001 && s <= 1.0001)); // "ncm" true: cosines
 * ctx.destroy();
 * gpu.destroy();
 * ```
 */
export async function runNcm(ctx: Stage2Context, mode: NcmMode): Promise<MethodResult> {
  const start = performance.now();
  const { gpu, trainX, trainSegments, evalX, classes } = ctx;
  const dp = ctx.dimPadded;
  const centre = Tensor.zeros(gpu, [dp], "f32", "ncm centre");
  const unitTrain = Tensor.empty(gpu, trainX.shape, "f32", "ncm unit train");
  const unitEval = Tensor.empty(gpu, evalX.shape, "f32", "ncm unit eval");
  const means = Tensor.empty(gpu, [classes, dp], "f32", "ncm means");
  const model = ctx.emptyModel("ncm model");
  try {
    if (mode === "l2") recordOnce(await prepareColumnMean(gpu, trainX, centre));
    recordOnce(await prepareNormalizeRows(gpu, trainX, centre, unitTrain));
    recordOnce(await prepareClassMean(gpu, unitTrain, trainSegments, means));
    recordOnce(await prepareNcmWeights(gpu, means, model, mode));
    recordOnce(await prepareNormalizeRows(gpu, evalX, centre, unitEval));
    const logits = await ctx.evaluate(model, ctx.zeros, unitEval);
    const weights = await ctx.readModel(model);
    return {
      name: mode === "cosine" ? "ncm" : "ncm_l2",
      logits,
      model: weights,
      wallMs: since(start),
    };
  } finally {
    for (const t of [centre, unitTrain, unitEval, means, model]) t.destroy();
  }
}
