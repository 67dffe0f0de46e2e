/**
 * LWS, learnable weight scaling (RECIPE.md, stage 2): W and b of the stage-1 classifier stay
 * fixed and one scale f_i per class, initialised to 1, is learned on `(W x + b) * f` (the bias is
 * scaled too, as in the paper's code): 10 epochs, class-balanced sampling, SGD momentum 0.9,
 * lr 0.1 with a per-step cosine to 0, batch 512, no weight decay on f.
 *
 * @module
 */

import { Rng } from "../data/rng.ts";
import type { SamplerKind } from "../data/sampler.ts";
import type { Stage2Context } from "./context.ts";
import { definedOnly, STREAMS } from "./crt.ts";
import { DEFAULT_TRAIN_SETTINGS, type MethodResult, since, type TrainSettings } from "./method.ts";
import { trainLinear } from "./train.ts";

/**
 * What LWS runs with beyond the shared SGD settings: class-balanced sampling and no weight decay
 * on the scales.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { LWS_DEFAULTS } from "./lws.ts";
 * deepEqual(LWS_DEFAULTS, { sampler: "class", weightDecay: 0 });
 * ```
 */
export const LWS_DEFAULTS: Readonly<{ sampler: SamplerKind; weightDecay: number }> = Object
  .freeze({ sampler: "class", weightDecay: 0 });

/**
 * Options of {@link runLws}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSyntheticFeatures } from "../features/synthetic.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { Stage2Context } from "./context.ts";
 * import { type LwsOptions, runLws } from "./lws.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const features = makeSyntheticFeatures({
 *   trainCounts: [60, 15, 5],
 *   featureDim: 6,
 *   testPerClass: 10,
 * });
 * const ctx = await Stage2Context.create(gpu, features);
 * const options: LwsOptions = { seed: 0, epochs: 1, batch: 40, sampler: "sqrt" };
 * const lws = await runLws(ctx, options);
 * assert.equal(lws.stepLoss?.length, 2);
 * ctx.destroy();
 * gpu.destroy();
 * ```
 */
export interface LwsOptions extends Partial<Omit<TrainSettings, "weightDecay">> {
  /** Seed of the sampler (default 0). */
  seed?: number;
  /** Sampler (default class-balanced). */
  sampler?: SamplerKind;
  /** Weight decay on f (default 0, as the recipe says). */
  weightDecay?: number;
}

/**
 * Runs LWS on the stage-1 classifier.
 *
 * @param ctx The stage-2 context.
 * @param options Seed, sampler and SGD settings (RECIPE.md's by default).
 * @returns Logits, the scaled classifier (f learned) and the loss of each step.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSyntheticFeatures } from "../features/synthetic.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { Stage2Context } from "./context.ts";
 * import { runLws } from "./lws.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const features = makeSyntheticFeatures({
 *   trainCounts: [60, 15, 5],
 *   featureDim: 6,
 *   testPerClass: 10,
 * });
 * const ctx = await Stage2Context.create(gpu, features);
 * const lws = await runLws(ctx, { seed: 0, epochs: 2, batch: 32 });
 * assert.equal(lws.name, "lws");
 * assert.equal(lws.model.scale.length, 3); // one learned scale per class
 * ctx.destroy();
 * gpu.destroy();
 * ```
 */
export async function runLws(ctx: Stage2Context, options: LwsOptions = {}): Promise<MethodResult> {
  const start = performance.now();
  const seed = options.seed ?? 0;
  const { weight, bias } = ctx.requireClassifier("LWS");
  const run = await trainLinear(ctx, {
    ...DEFAULT_TRAIN_SETTINGS,
    ...definedOnly(options),
    weightDecay: options.weightDecay ?? LWS_DEFAULTS.weightDecay,
    mode: "lws",
    init: { weight, bias, scale: new Float32Array(ctx.classes).fill(1) },
    sampler: options.sampler ?? LWS_DEFAULTS.sampler,
    rng: new Rng(seed, STREAMS.lwsSampler),
    loss: "ce",
  });
  try {
    const logits = await ctx.evaluate(run.model);
    return {
      name: "lws",
      logits,
      model: await ctx.readModel(run.model),
      stepLoss: run.stepLoss,
      stepsPerEpoch: run.stepsPerEpoch,
      wallMs: since(start),
    };
  } finally {
    run.model.destroy();
  }
}
