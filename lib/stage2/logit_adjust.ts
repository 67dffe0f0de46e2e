/**
 * Post-hoc logit adjustment (Menon et al., 2021), beyond the paper: the stage-1 logits minus
 * `tau * log prior`, tau swept over the same grid as tau-normalisation and chosen by balanced
 * accuracy on validation, ties to the smallest tau.
 *
 * @module
 */

import { Tensor } from "../gpu/tensor.ts";
import { chooseTau } from "../eval/metrics.ts";
import type { Stage2Context } from "./context.ts";
import { DEFAULT_TAU_GRID, type MethodResult, since, type TauGrid } from "./method.ts";
import { tauCurve } from "./tau_norm.ts";

/**
 * Runs post-hoc logit adjustment of the stage-1 classifier.
 *
 * @param ctx The stage-2 context.
 * @param grid The tau grid (default 0.0..2.0 step 0.1).
 * @returns Adjusted logits at the chosen tau, the offset, tau and its validation curve.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSyntheticFeatures } from "../features/synthetic.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { Stage2Context } from "./context.ts";
 * import { runLogitAdjust } from "./logit_adjust.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const features = makeSyntheticFeatures({
 *   trainCounts: [60, 15, 5],
 *   featureDim: 6,
 *   testPerClass: 10,
 * });
 * const ctx = await Stage2Context.create(gpu, features);
 * const la = await runLogitAdjust(ctx);
 * assert.equal(la.tauCurve?.length, 21); // taus 0.0..2.0
 * assert.equal(la.offset?.length, 3); // one offset per class
 * ctx.destroy();
 * gpu.destroy();
 * ```
 */
export async function runLogitAdjust(
  ctx: Stage2Context,
  grid: TauGrid = DEFAULT_TAU_GRID,
): Promise<MethodResult> {
  const start = performance.now();
  const { weight, bias } = ctx.requireClassifier("logit adjustment");
  const curve = await tauCurve(ctx, "logit-adjust", grid);
  const tau = chooseTau(curve);
  const offset = Float32Array.from(ctx.logPrior, (v) => -tau * v);
  const offsetTensor = Tensor.from(ctx.gpu, offset, [ctx.classes], "f32", "logit adjustment");
  try {
    const logits = await ctx.evaluate(ctx.joint, offsetTensor);
    return {
      name: "la",
      logits,
      model: { weight, bias, scale: new Float32Array(ctx.classes).fill(1) },
      offset,
      tau,
      tauCurve: curve,
      wallMs: since(start),
    };
  } finally {
    offsetTensor.destroy();
  }
}
