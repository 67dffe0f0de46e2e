/**
 * What every stage-2 method returns, the method names and the training settings they share.
 *
 * @module
 */

import type { TauPoint } from "../eval/metrics.ts";
import type { LinearModel } from "./classifier_ops.ts";
import type { EvalLogits } from "./context.ts";

/**
 * Stage-2 methods: `joint` (stage-1 classifier), `ncm` (cosine NCM), `ncm_l2` (centred L2 NCM),
 * `crt`, `tau` (tau-normalisation), `lws`, `la` (post-hoc logit adjustment), `bsm` (cRT with
 * the balanced-softmax loss).
 */
export type MethodName = "joint" | "ncm" | "ncm_l2" | "crt" | "tau" | "lws" | "la" | "bsm";

/** Every method, in the order they run and are reported. */
export const METHOD_NAMES: readonly MethodName[] = Object.freeze([
  "joint",
  "ncm",
  "ncm_l2",
  "crt",
  "tau",
  "lws",
  "la",
  "bsm",
]);

/** Display names. */
export const METHOD_LABELS: Readonly<Record<MethodName, string>> = Object.freeze({
  joint: "Joint",
  ncm: "NCM (cosine)",
  ncm_l2: "NCM (centred L2)",
  crt: "cRT",
  tau: "tau-norm",
  lws: "LWS",
  la: "Logit adjustment",
  bsm: "cRT + balanced softmax",
});

/**
 * Parses a comma-separated method list (`joint,ncm,crt`); `all` means every method.
 *
 * @example
 * ```ts
 * import { parseMethods } from "./method.ts";
 * console.log(parseMethods("crt, tau")); // ["crt", "tau"]
 * ```
 */
export function parseMethods(text: string): MethodName[] {
  const names = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (names.length === 0 || (names.length === 1 && names[0] === "all")) return [...METHOD_NAMES];
  for (const name of names) {
    if (!METHOD_NAMES.includes(name as MethodName)) {
      throw new RangeError(
        `Cannot run stage 2: unknown method "${name}"; use any of ${METHOD_NAMES.join(", ")} ` +
          `or all`,
      );
    }
  }
  return METHOD_NAMES.filter((m) => names.includes(m));
}

/** The result of one method, before metrics. */
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

/** SGD settings of cRT, LWS and balanced softmax (RECIPE.md, stage 2). */
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

/** RECIPE.md's stage-2 training settings. */
export const DEFAULT_TRAIN_SETTINGS: Readonly<TrainSettings> = Object.freeze({
  epochs: 10,
  batch: 512,
  lr: 0.1,
  momentum: 0.9,
  weightDecay: 5e-4,
});

/** The tau grid: start, stop (inclusive) and step. */
export interface TauGrid {
  /** First tau. */
  start: number;
  /** Last tau (inclusive). */
  stop: number;
  /** Spacing, > 0. */
  step: number;
}

/** RECIPE.md's tau sweep: 0.0..2.0 in steps of 0.1. */
export const DEFAULT_TAU_GRID: Readonly<TauGrid> = Object.freeze({ start: 0, stop: 2, step: 0.1 });

/**
 * The taus of a grid, rounded to 10 decimals so that 0.1 * 3 is 0.3.
 *
 * @example
 * ```ts
 * import { tauValues } from "./method.ts";
 * console.log(tauValues({ start: 0, stop: 0.3, step: 0.1 })); // [0, 0.1, 0.2, 0.3]
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

/** Milliseconds since `start` (a performance.now() value). */
export function since(start: number): number {
  return performance.now() - start;
}
