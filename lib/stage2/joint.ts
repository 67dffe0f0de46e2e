/**
 * Joint: the stage-1 classifier as it is.
 *
 * @module
 */

import type { Stage2Context } from "./context.ts";
import { type MethodResult, since } from "./method.ts";

/**
 * Evaluates the stage-1 classifier on val and test.
 *
 * @param ctx The stage-2 context.
 * @returns Logits and the classifier.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSyntheticFeatures } from "../features/synthetic.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { Stage2Context } from "./context.ts";
 * import { runJoint } from "./joint.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const features = makeSyntheticFeatures({
 *   trainCounts: [60, 15, 5],
 *   featureDim: 6,
 *   testPerClass: 10,
 * });
 * const ctx = await Stage2Context.create(gpu, features);
 * const joint = await runJoint(ctx);
 * assert.equal(joint.name, "joint");
 * assert.equal(joint.logits.val.length, 180);
 * ctx.destroy();
 * gpu.destroy();
 * ```
 */
export async function runJoint(ctx: Stage2Context): Promise<MethodResult> {
  const start = performance.now();
  const logits = await ctx.evaluate(ctx.joint);
  const { weight, bias } = ctx.requireClassifier("joint");
  return {
    name: "joint",
    logits,
    model: { weight, bias, scale: new Float32Array(ctx.classes).fill(1) },
    wallMs: since(start),
  };
}
