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
  type ClassMeanPart,
  type NcmMode,
  prepareClassMean,
  prepareColumnMean,
  prepareNcmWeights,
  prepareNormalizeRows,
} from "../ops/classifier.ts";
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
 * import assert from "node:assert/strict";
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
 * assert.equal(ncm.name, "ncm");
 * assert.ok(scores.every((s) => s >= -1.0001 && s <= 1.0001)); // cosines
 * ctx.destroy();
 * gpu.destroy();
 * ```
 */
export async function runNcm(ctx: Stage2Context, mode: NcmMode): Promise<MethodResult> {
  const start = performance.now();
  const { gpu, trainX, trainSegments, classes } = ctx;
  const dp = ctx.dimPadded;
  const owned: Tensor[] = [];
  const own = (t: Tensor) => (owned.push(t), t);
  try {
    const centre = own(
      mode === "l2" ? await trainMean(ctx) : Tensor.zeros(gpu, [dp], "f32", "ncm centre"),
    );
    const unit = async (chunks: readonly Tensor[], label: string) => {
      const out: Tensor[] = [];
      for (const x of chunks) {
        const u = own(Tensor.empty(gpu, x.shape, "f32", label));
        recordOnce(await prepareNormalizeRows(gpu, x, centre, u));
        out.push(u);
      }
      return out;
    };
    const unitTrain = await unit(trainX, "ncm unit train");
    const means = own(Tensor.empty(gpu, [classes, dp], "f32", "ncm means"));
    for (let i = 0; i < unitTrain.length; i++) {
      const part = meanPart(i, unitTrain.length);
      recordOnce(await prepareClassMean(gpu, unitTrain[i], trainSegments[i], means, part));
    }
    const model = own(ctx.emptyModel("ncm model"));
    recordOnce(await prepareNcmWeights(gpu, means, model, mode));
    const unitEval = {
      val: await unit(ctx.valX, "ncm unit val"),
      test: await unit(ctx.testX, "ncm unit test"),
    };
    const logits = await ctx.evaluate(model, ctx.zeros, unitEval);
    const weights = await ctx.readModel(model);
    return {
      name: mode === "cosine" ? "ncm" : "ncm_l2",
      logits,
      model: weights,
      wallMs: since(start),
    };
  } finally {
    for (const t of owned) t.destroy();
  }
}

function meanPart(i: number, chunks: number): ClassMeanPart {
  if (chunks === 1) return "whole";
  return i === 0 ? "first" : i === chunks - 1 ? "last" : "middle";
}

/**
 * The mean training feature, (Dp): on the GPU for one chunk; for several, each chunk's mean
 * comes back and they are combined, weighted by rows, in float64.
 */
async function trainMean(ctx: Stage2Context): Promise<Tensor> {
  const { gpu, trainX } = ctx;
  const dp = ctx.dimPadded;
  const centre = Tensor.empty(gpu, [dp], "f32", "ncm centre");
  if (trainX.length === 1) {
    recordOnce(await prepareColumnMean(gpu, trainX[0], centre));
    return centre;
  }
  const sum = new Float64Array(dp);
  let rows = 0;
  try {
    for (const x of trainX) {
      recordOnce(await prepareColumnMean(gpu, x, centre));
      const m = await centre.read();
      for (let k = 0; k < dp; k++) sum[k] += m[k] * x.shape[0];
      rows += x.shape[0];
    }
  } catch (error) {
    centre.destroy();
    throw error;
  }
  centre.destroy();
  return Tensor.from(gpu, Float32Array.from(sum, (v) => v / rows), [dp], "f32", "ncm centre");
}
