/**
 * What every stage-2 method returns and the training settings they share; the methods
 * themselves are the rows of `registry.ts`.
 *
 * @module
 */

import type { TauPoint } from "../eval/metrics.ts";
import type { LinearModel } from "../ops/classifier.ts";
import type { EvalLogits } from "./context.ts";

/**
 * A stage-2 method key, one of the rows of `METHODS` in `registry.ts` (`joint`, `ncm`, `ncm_l2`,
 * `crt`, `tau`, `lws`, `la`, `bsm` and any registered one).
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import type { MethodName } from "./method.ts";
 * const name: MethodName = "tau";
 * equal(name, "tau");
 * ```
 */
export type MethodName = string;

/**
 * The result of one method, before metrics.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSyntheticFeatures } from "../features/synthetic.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { Stage2Context } from "./context.ts";
 * import { runJoint } from "./joint.ts";
 * import type { MethodResult } from "./method.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const features = makeSyntheticFeatures({
 *   trainCounts: [60, 15, 5],
 *   featureDim: 6,
 *   testPerClass: 10,
 * });
 * const ctx = await Stage2Context.create(gpu, features);
 * const result: MethodResult = await runJoint(ctx);
 * assert.equal(result.name, "joint");
 * assert.equal(result.model.weight.length, 18);
 * assert.equal(result.tau, undefined);
 * ctx.destroy();
 * gpu.destroy();
 * ```
 */
export interface MethodResult {
  /** Which method. */
  name: MethodName;
  /** Val and test logits, (rows, C) each. */
  logits: EvalLogits;
  /** The effective classifier (logits = f * (W x + b) + offset), for weight norms. */
  model: LinearModel;
  /** Additive logit offset used at evaluation (logit adjustment), (C). */
  offset?: Float32Array;
  /** The tau chosen on validation. */
  tau?: number;
  /** The validation curve over tau. */
  tauCurve?: TauPoint[];
  /** Mean batch loss of every training step. */
  stepLoss?: Float32Array;
  /** Steps per epoch of the training run (to average stepLoss per epoch). */
  stepsPerEpoch?: number;
  /** Wall time in milliseconds. */
  wallMs: number;
}

/**
 * SGD settings of cRT, LWS and balanced softmax (RECIPE.md, stage 2).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_TRAIN_SETTINGS, type TrainSettings } from "./method.ts";
 * const quick: TrainSettings = { ...DEFAULT_TRAIN_SETTINGS, epochs: 2 };
 * assert.deepEqual(quick, { epochs: 2, batch: 512, lr: 0.1, momentum: 0.9, weightDecay: 0.0005 });
 * ```
 */
export interface TrainSettings {
  /** Epochs (10). */
  epochs: number;
  /** Batch size (512). */
  batch: number;
  /** Initial learning rate, decayed per step by a cosine to 0 (0.1). */
  lr: number;
  /** SGD momentum (0.9). */
  momentum: number;
  /** Weight decay of cRT's W and b (5e-4); LWS's scales have none. */
  weightDecay: number;
}

/**
 * RECIPE.md's stage-2 training settings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_TRAIN_SETTINGS } from "./method.ts";
 * assert.equal(DEFAULT_TRAIN_SETTINGS.epochs, 10);
 * assert.equal(DEFAULT_TRAIN_SETTINGS.batch, 512);
 * ```
 */
export const DEFAULT_TRAIN_SETTINGS: Readonly<TrainSettings> = Object.freeze({
  epochs: 10,
  batch: 512,
  lr: 0.1,
  momentum: 0.9,
  weightDecay: 5e-4,
});

/**
 * The tau grid: start, stop (inclusive) and step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type TauGrid, tauValues } from "./method.ts";
 * const coarse: TauGrid = { start: 0, stop: 2, step: 0.5 };
 * assert.deepEqual(tauValues(coarse), [0, 0.5, 1, 1.5, 2]);
 * ```
 */
export interface TauGrid {
  /** First tau. */
  start: number;
  /** Last tau (inclusive). */
  stop: number;
  /** Spacing, > 0. */
  step: number;
}

/**
 * RECIPE.md's tau sweep: 0.0..2.0 in steps of 0.1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_TAU_GRID, tauValues } from "./method.ts";
 * assert.equal(tauValues(DEFAULT_TAU_GRID).length, 21);
 * ```
 */
export const DEFAULT_TAU_GRID: Readonly<TauGrid> = Object.freeze({ start: 0, stop: 2, step: 0.1 });

/**
 * The taus of a grid, rounded to 10 decimals so that 0.1 * 3 is 0.3.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tauValues } from "./method.ts";
 * assert.deepEqual(tauValues({ start: 0, stop: 0.3, step: 0.1 }), [0, 0.1, 0.2, 0.3]);
 * ```
 */
export function tauValues(grid: TauGrid): number[] {
  const { start, stop, step } = grid;
  if (!(step > 0) || !(stop >= start) || !Number.isFinite(start) || !Number.isFinite(stop)) {
    throw new RangeError(
      `Cannot sweep tau: the grid ${start}..${stop} step ${step} needs step > 0 and stop >= start`,
    );
  }
  const count = Math.floor((stop - start) / step + 1e-9) + 1;
  return Array.from({ length: count }, (_, t) => Number((start + t * step).toFixed(10)));
}

/**
 * Milliseconds since `start` (a performance.now() value).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { since } from "./method.ts";
 * const start = performance.now();
 * assert.ok(since(start) >= 0);
 * ```
 */
export function since(start: number): number {
  return performance.now() - start;
}
