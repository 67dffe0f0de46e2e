/**
 * cRT, classifier re-training (RECIPE.md, stage 2): re-initialise the linear classifier
 * (uniform +-1/sqrt(D) for W and b, like a fresh linear layer) and train it on the frozen
 * features for 10 epochs with class-balanced sampling, SGD momentum 0.9, lr 0.1 with a per-step
 * cosine to 0, batch 512 and weight decay 5e-4. An epoch has as many samples as the training set.
 *
 * Balanced softmax (Ren et al., 2020), beyond the paper, is a loss option: cross-entropy on
 * `logits + log prior`, the prior entering the loss only. It compensates for the label prior of
 * the samples it sees, so it is meant for instance-balanced sampling (its default here).
 *
 * @module
 */

import { Rng } from "../data/rng.ts";
import type { SamplerKind } from "../data/sampler.ts";
import type { LinearModel } from "../ops/classifier.ts";
import type { Stage2Context } from "./context.ts";
import { DEFAULT_TRAIN_SETTINGS, type MethodResult, since, type TrainSettings } from "./method.ts";
import { trainLinear } from "./train.ts";

/**
 * Rng streams of stage 2, so that the methods run do not change each other's draws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "../data/rng.ts";
 * import { STREAMS } from "./crt.ts";
 * const seed = 0;
 * const crtSampler = new Rng(seed, STREAMS.crtSampler); // independent of the LWS draws
 * assert.equal(STREAMS.lwsSampler, 203);
 * assert.ok(crtSampler.nextInt(10) < 10);
 * ```
 */
export const STREAMS: Readonly<
  Record<"crtInit" | "crtSampler" | "lwsSampler" | "bsmSampler", number>
> = Object.freeze({
  crtInit: 201,
  crtSampler: 202,
  lwsSampler: 203,
  bsmSampler: 204,
});

/**
 * What cRT runs with beyond the shared SGD settings: class-balanced sampling.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { CRT_DEFAULTS } from "./crt.ts";
 * deepEqual(CRT_DEFAULTS, { sampler: "class" });
 * ```
 */
export const CRT_DEFAULTS: Readonly<{ sampler: SamplerKind }> = Object.freeze({ sampler: "class" });

/**
 * What balanced softmax runs with beyond the shared SGD settings: instance-balanced sampling,
 * since the loss itself compensates for the label prior.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { BSM_DEFAULTS } from "./crt.ts";
 * deepEqual(BSM_DEFAULTS, { sampler: "instance" });
 * ```
 */
export const BSM_DEFAULTS: Readonly<{ sampler: SamplerKind }> = Object.freeze({
  sampler: "instance",
});

/**
 * Options of {@link runCrt}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSyntheticFeatures } from "../features/synthetic.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { Stage2Context } from "./context.ts";
 * import { type CrtOptions, runCrt } from "./crt.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const features = makeSyntheticFeatures({
 *   trainCounts: [60, 15, 5],
 *   featureDim: 6,
 *   testPerClass: 10,
 * });
 * const ctx = await Stage2Context.create(gpu, features);
 * const options: CrtOptions = { seed: 1, epochs: 2, batch: 32, loss: "balanced-softmax" };
 * const bsm = await runCrt(ctx, options);
 * assert.equal(bsm.name, "bsm");
 * assert.equal(bsm.stepLoss?.length, 2 * Math.ceil(80 / 32));
 * ctx.destroy();
 * gpu.destroy();
 * ```
 */
export interface CrtOptions extends Partial<TrainSettings> {
  /** Seed of the initialisation and the sampler (default 0). */
  seed?: number;
  /** `ce` (cRT) or `balanced-softmax`. */
  loss?: "ce" | "balanced-softmax";
  /** Sampler; default class-balanced for `ce`, instance-balanced for `balanced-softmax`. */
  sampler?: SamplerKind;
}

/**
 * A fresh linear layer: W and b uniform in (-1/sqrt(D), 1/sqrt(D)), drawn row by row.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Rng } from "../data/rng.ts";
 * import { initLinear } from "./crt.ts";
 * const m = initLinear(3, 4, new Rng(0));
 * assert.ok(m.weight.every((w) => Math.abs(w) < 0.5));
 * ```
 */
export function initLinear(classes: number, dim: number, rng: Rng): LinearModel {
  const bound = 1 / Math.sqrt(dim);
  const weight = Float32Array.from(
    { length: classes * dim },
    () => (2 * rng.nextFloat() - 1) * bound,
  );
  const bias = Float32Array.from({ length: classes }, () => (2 * rng.nextFloat() - 1) * bound);
  return { weight, bias, scale: new Float32Array(classes).fill(1) };
}

/**
 * Runs cRT (or, with `loss: "balanced-softmax"`, the balanced-softmax variant).
 *
 * @param ctx The stage-2 context.
 * @param options Seed, loss, sampler and SGD settings (RECIPE.md's by default).
 * @returns Logits, the trained classifier and the loss of each step.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSyntheticFeatures } from "../features/synthetic.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { Stage2Context } from "./context.ts";
 * import { runCrt } from "./crt.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const features = makeSyntheticFeatures({
 *   trainCounts: [60, 15, 5],
 *   featureDim: 6,
 *   testPerClass: 10,
 * });
 * const ctx = await Stage2Context.create(gpu, features);
 * const crt = await runCrt(ctx, { seed: 0, epochs: 2, batch: 32 });
 * assert.equal(crt.name, "crt");
 * assert.equal(crt.logits.test.length, 90);
 * assert.equal(crt.stepsPerEpoch, 3);
 * assert.deepEqual(crt.model.scale, Float32Array.of(1, 1, 1)); // cRT trains W and b only
 * ctx.destroy();
 * gpu.destroy();
 * ```
 */
export async function runCrt(ctx: Stage2Context, options: CrtOptions = {}): Promise<MethodResult> {
  const start = performance.now();
  const seed = options.seed ?? 0;
  const loss = options.loss ?? "ce";
  const settings = { ...DEFAULT_TRAIN_SETTINGS, ...definedOnly(options) };
  const sampler = options.sampler ?? (loss === "ce" ? CRT_DEFAULTS : BSM_DEFAULTS).sampler;
  const init = initLinear(ctx.classes, ctx.dim, new Rng(seed, STREAMS.crtInit));
  const run = await trainLinear(ctx, {
    ...settings,
    mode: "crt",
    init,
    sampler,
    rng: new Rng(seed, loss === "ce" ? STREAMS.crtSampler : STREAMS.bsmSampler),
    loss,
  });
  try {
    const logits = await ctx.evaluate(run.model);
    return {
      name: loss === "ce" ? "crt" : "bsm",
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

/**
 * The TrainSettings fields of an options object that are set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { definedOnly } from "./crt.ts";
 * import { DEFAULT_TRAIN_SETTINGS } from "./method.ts";
 * const options = { epochs: 2, lr: undefined };
 * assert.equal({ ...DEFAULT_TRAIN_SETTINGS, ...definedOnly(options) }.lr, 0.1); // not undefined
 * ```
 */
export function definedOnly(options: Partial<TrainSettings>): Partial<TrainSettings> {
  const out: Partial<TrainSettings> = {};
  for (const key of ["epochs", "batch", "lr", "momentum", "weightDecay"] as const) {
    if (options[key] !== undefined) out[key] = options[key];
  }
  return out;
}
