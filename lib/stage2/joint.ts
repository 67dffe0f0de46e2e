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
 * ```ts ignore
 * const joint = await runJoint(ctx);
 * ```
 */
export async function runJoint(ctx: Stage2Context): Promise<MethodResult> {
  const start = performance.now();
  const logits = await ctx.evaluate(ctx.joint);
  const { weight, bias } = ctx.features.classifier;
  return {
    name: "joint",
    logits,
    model: { weight, bias, scale: new Float32Array(ctx.classes).fill(1) },
    wallMs: since(start),
  };
}
