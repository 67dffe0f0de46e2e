/**
 * tau-normalisation (RECIPE.md, stage 2): `w_i / ||w_i||^tau` with the bias dropped, tau swept
 * over a grid (0.0..2.0 step 0.1) and chosen by balanced accuracy on the validation set, ties to
 * the smallest tau.
 *
 * @module
 */

import { recordOnce } from "../gpu/kernel.ts";
import { Tensor } from "../gpu/tensor.ts";
import { balancedAccuracyOf, chooseTau, type TauPoint } from "../eval/metrics.ts";
import { prepareSweep, prepareTauWeights, type SweepMode } from "../ops/classifier.ts";
import type { Stage2Context } from "./context.ts";
import { DEFAULT_TAU_GRID, type MethodResult, since, type TauGrid, tauValues } from "./method.ts";

/**
 * Validation curve of a tau sweep: predictions for every tau, one submit and one read-back per
 * chunk of validation rows.
 *
 * @param ctx The stage-2 context.
 * @param mode `tau-norm` or `logit-adjust` (offset = log prior).
 * @param grid The taus.
 * @returns Balanced validation accuracy at each tau.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSyntheticFeatures } from "../features/synthetic.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { Stage2Context } from "./context.ts";
 * import { tauCurve } from "./tau_norm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const features = makeSyntheticFeatures({
 *   trainCounts: [60, 15, 5],
 *   featureDim: 6,
 *   testPerClass: 10,
 * });
 * const ctx = await Stage2Context.create(gpu, features);
 * const curve = await tauCurve(ctx, "tau-norm", { start: 0, stop: 1, step: 0.5 });
 * assert.deepEqual(curve.map((p) => p.tau), [0, 0.5, 1]);
 * ctx.destroy();
 * gpu.destroy();
 * ```
 */
export async function tauCurve(
  ctx: Stage2Context,
  mode: SweepMode,
  grid: TauGrid,
): Promise<TauPoint[]> {
  const taus = tauValues(grid);
  const val = ctx.features.val;
  const predictions = new Uint32Array(taus.length * val.rows);
  let at = 0;
  for (const x of ctx.valX) {
    const n = x.shape[0];
    const out = Tensor.empty(ctx.gpu, [taus.length, n], "u32", "tau sweep predictions");
    try {
      recordOnce(
        await prepareSweep(ctx.gpu, x, ctx.joint, ctx.logPriorTensor, out, mode, {
          tau0: grid.start,
          step: grid.step,
          count: taus.length,
        }),
      );
      const chunk = await out.read();
      for (let t = 0; t < taus.length; t++) {
        predictions.set(chunk.subarray(t * n, (t + 1) * n), t * val.rows + at);
      }
      at += n;
    } finally {
      out.destroy();
    }
  }
  return taus.map((tau, t) => ({
    tau,
    val_all: balancedAccuracyOf(
      predictions.subarray(t * val.rows, (t + 1) * val.rows),
      val.label,
      ctx.classes,
    ),
  }));
}

/**
 * Runs tau-normalisation of the stage-1 classifier.
 *
 * @param ctx The stage-2 context.
 * @param grid The tau grid (default 0.0..2.0 step 0.1).
 * @returns Logits at the chosen tau, the normalised weights, tau and its validation curve.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSyntheticFeatures } from "../features/synthetic.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { Stage2Context } from "./context.ts";
 * import { runTauNorm } from "./tau_norm.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const features = makeSyntheticFeatures({
 *   trainCounts: [60, 15, 5],
 *   featureDim: 6,
 *   testPerClass: 10,
 * });
 * const ctx = await Stage2Context.create(gpu, features);
 * const result = await runTauNorm(ctx);
 * assert.equal(result.tauCurve?.length, 21);
 * assert.deepEqual(result.model.bias, new Float32Array(3)); // bias dropped
 * ctx.destroy();
 * gpu.destroy();
 * ```
 */
export async function runTauNorm(
  ctx: Stage2Context,
  grid: TauGrid = DEFAULT_TAU_GRID,
): Promise<MethodResult> {
  const start = performance.now();
  ctx.requireClassifier("tau-norm");
  const curve = await tauCurve(ctx, "tau-norm", grid);
  const tau = chooseTau(curve);
  const model = ctx.emptyModel("tau-norm model");
  try {
    recordOnce(
      await prepareTauWeights(ctx.gpu, ctx.joint, model, ctx.classes, ctx.dimPadded, tau),
    );
    const logits = await ctx.evaluate(model);
    return {
      name: "tau",
      logits,
      model: await ctx.readModel(model),
      tau,
      tauCurve: curve,
      wallMs: since(start),
    };
  } finally {
    model.destroy();
  }
}
