/**
 * Long-tail evaluation metrics and the `metrics.json` file (schema in lib/eval/README.md).
 *
 * "All" is the mean of per-class accuracies (balanced accuracy); Many / Medium / Few are the
 * means over the classes of each shot group, the groups coming from the training class counts
 * and the profile's thresholds. Accuracies are fractions in [0, 1]; the printed table shows
 * percentages.
 *
 * @module
 */

import { PAPER_SHOT_THRESHOLDS, type ShotThresholds } from "../data/profiles.ts";
import { type ShotGroup, shotGroups } from "../data/shot_groups.ts";

/**
 * Version of the `metrics.json` layout; bumped on any incompatible change.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { METRICS_VERSION } from "./metrics.ts";
 * assert.equal(METRICS_VERSION, 1);
 * ```
 */
export const METRICS_VERSION = 1;

/**
 * The `schema` field of `metrics.json`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { METRICS_SCHEMA } from "./metrics.ts";
 * assert.equal(METRICS_SCHEMA, "ltkit.stage2.metrics");
 * ```
 */
export const METRICS_SCHEMA = "ltkit.stage2.metrics";

/**
 * Accuracy figures of one split (val or test).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type SplitMetrics, splitMetrics } from "./metrics.ts";
 * const m: SplitMetrics = splitMetrics(Int32Array.of(0, 1, 0), Int32Array.of(0, 1, 2), [
 *   "many",
 *   "medium",
 *   "few",
 * ]);
 * assert.deepEqual(m.per_class, [1, 1, 0]);
 * assert.equal(m.few, 0);
 * assert.deepEqual(m.confusion?.[2], [1, 0, 0]);
 * ```
 */
export interface SplitMetrics {
  /** Number of evaluated rows. */
  rows: number;
  /** Mean of per-class accuracies over classes that have rows (balanced accuracy). */
  all: number;
  /** Mean per-class accuracy of Many-shot classes; null when the group is empty. */
  many: number | null;
  /** Mean per-class accuracy of Medium-shot classes; null when the group is empty. */
  medium: number | null;
  /** Mean per-class accuracy of Few-shot classes; null when the group is empty. */
  few: number | null;
  /** Plain accuracy over rows (micro average). */
  accuracy: number;
  /** Accuracy of each class; null for a class without rows. */
  per_class: (number | null)[];
  /**
   * confusion[true][predicted] = number of rows; null past {@link CONFUSION_MAX_CLASSES} classes
   * (8142 classes would make 66 M entries per split and method).
   */
  confusion: number[][] | null;
}

/**
 * The most classes for which {@link splitMetrics} keeps the (C, C) confusion matrix: 1000 (the
 * ImageNet-LT classes, 1 M entries per split) keeps it; iNaturalist's 8142 (66 M entries, about
 * 265 MB of JSON per split and method) does not. Per-class accuracies are kept at any size.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { CONFUSION_MAX_CLASSES } from "./metrics.ts";
 * equal(CONFUSION_MAX_CLASSES, 1000);
 * ```
 */
export const CONFUSION_MAX_CLASSES = 1000;

/**
 * One point of a validation curve over tau.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chooseTau, type TauPoint } from "./metrics.ts";
 * const curve: TauPoint[] = [{ tau: 0, val_all: 0.61 }, { tau: 1, val_all: 0.66 }];
 * assert.equal(chooseTau(curve), 1);
 * ```
 */
export interface TauPoint {
  /** The tau. */
  tau: number;
  /** Balanced accuracy ("All") on the validation split at this tau. */
  val_all: number;
}

/**
 * Bins of the expected calibration error: 15 of equal width over the top-1 confidence.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { ECE_BINS } from "./metrics.ts";
 * equal(ECE_BINS, 15);
 * ```
 */
export const ECE_BINS = 15;

/**
 * Calibration of a set of rows: expected calibration error and negative log-likelihood of the
 * softmax probabilities.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { type CalibrationFigures, calibrationMetrics } from "./metrics.ts";
 * const c: CalibrationFigures = calibrationMetrics(Float32Array.of(0, 0), Int32Array.of(0), [
 *   "many",
 *   "few",
 * ]);
 * equal(c.rows, 1);
 * equal(c.ece, 0.5); // confidence 0.5, right: |1 - 0.5|
 * ```
 */
export interface CalibrationFigures {
  /** Rows evaluated. */
  rows: number;
  /** Expected calibration error in [0, 1] ({@link ECE_BINS} bins); 0 when there is no row. */
  ece: number;
  /** Mean of -ln p(true class) over the rows; 0 when there is no row. */
  nll: number;
}

/**
 * Calibration of one method on one split: overall, per shot group of the true class, and the
 * bins of the reliability diagram.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { calibrationMetrics, type CalibrationMetrics } from "./metrics.ts";
 * const m: CalibrationMetrics = calibrationMetrics(
 *   Float32Array.of(2, 0, 0, 2),
 *   Int32Array.of(0, 0),
 *   ["many", "few"],
 * );
 * equal(m.few, null); // no row of a Few class
 * equal(m.bins.count.reduce((a, b) => a + b), 2);
 * ```
 */
export interface CalibrationMetrics extends CalibrationFigures {
  /** Rows whose true class is Many-shot; null when there is none. */
  many: CalibrationFigures | null;
  /** The same for Medium. */
  medium: CalibrationFigures | null;
  /** The same for Few. */
  few: CalibrationFigures | null;
  /** Reliability bins over all rows: bin b holds confidences in (b / 15, (b + 1) / 15]. */
  bins: {
    /** Rows in each bin. */
    count: number[];
    /** Mean top-1 confidence of each bin; null for an empty bin. */
    confidence: (number | null)[];
    /** Accuracy of each bin; null for an empty bin. */
    accuracy: (number | null)[];
  };
}

/**
 * Top-1 confidence (the largest softmax probability), the top-1 class and -ln p(label) of each
 * row of (N, C) logits, in float64 with the maximum subtracted first. The top-1 class is
 * {@link argmaxRows}'s.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { softmaxTop1 } from "./metrics.ts";
 * const t = softmaxTop1(Float32Array.of(0, Math.log(3)), Int32Array.of(0), 2);
 * equal(t.confidence[0].toFixed(6), "0.750000");
 * equal(t.predicted[0], 1);
 * equal(t.nll[0].toFixed(6), Math.log(4).toFixed(6)); // -ln(1/4)
 * ```
 */
export function softmaxTop1(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
): { confidence: Float64Array; predicted: Int32Array; nll: Float64Array } {
  const predicted = argmaxRows(logits, classes);
  const n = predicted.length;
  if (labels.length !== n) {
    throw new RangeError(
      `Cannot compute calibration: ${n} rows of logits for ${labels.length} labels`,
    );
  }
  const confidence = new Float64Array(n);
  const nll = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const row = r * classes;
    const top = logits[row + predicted[r]];
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[row + c] - top);
    const y = labels[r];
    if (!(y >= 0 && y < classes)) {
      throw new RangeError(
        `Cannot compute calibration: row ${r} has label ${y}, outside 0..${classes - 1}`,
      );
    }
    confidence[r] = 1 / sum;
    nll[r] = Math.log(sum) - (logits[row + y] - top);
  }
  return { confidence, predicted, nll };
}

/**
 * The reliability bin of a confidence: bin b holds (b / bins, (b + 1) / bins], so 1 is in the
 * last bin and a confidence of 0 (impossible for a softmax) in the first.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { confidenceBin } from "./metrics.ts";
 * equal(confidenceBin(1 / 3, 15), 4); // 5/15 is the top of bin 4
 * equal(confidenceBin(0.34, 15), 5);
 * equal(confidenceBin(1, 15), 14);
 * ```
 */
export function confidenceBin(confidence: number, bins: number): number {
  return Math.min(bins - 1, Math.max(0, Math.ceil(confidence * bins) - 1));
}

function binned(
  confidence: Float64Array,
  correct: Uint8Array,
  nll: Float64Array,
  rows: readonly number[],
  bins: number,
): CalibrationFigures & { count: number[]; confSum: number[]; hits: number[] } {
  const count = new Array<number>(bins).fill(0);
  const confSum = new Array<number>(bins).fill(0);
  const hits = new Array<number>(bins).fill(0);
  let nllSum = 0;
  for (const r of rows) {
    const b = confidenceBin(confidence[r], bins);
    count[b]++;
    confSum[b] += confidence[r];
    hits[b] += correct[r];
    nllSum += nll[r];
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    if (count[b] > 0) ece += Math.abs(hits[b] - confSum[b]) / rows.length;
  }
  const n = rows.length;
  return { rows: n, ece: n === 0 ? 0 : ece, nll: n === 0 ? 0 : nllSum / n, count, confSum, hits };
}

/**
 * Expected calibration error and NLL of (N, C) logits, over all rows and per shot group of the
 * true class, with the reliability bins. ECE = sum over bins of (rows in bin / N) *
 * |accuracy of bin - mean confidence of bin|, with {@link ECE_BINS} equal-width bins over the
 * top-1 softmax probability, bin b holding (b / 15, (b + 1) / 15]. Averages are over rows (not
 * classes). NCM's scores are cosines or negative distances, so its probabilities are a softmax
 * of those at temperature 1.
 *
 * @param logits (N, C) logits.
 * @param labels True class of each row, (N).
 * @param groups Shot group of each class, (C).
 * @param bins Number of bins (default {@link ECE_BINS}).
 * @returns The calibration figures.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { calibrationMetrics } from "./metrics.ts";
 * // Two rows with confidence 0.5 (one right) and one with e^2 / (1 + e^2) = 0.881 (right).
 * const m = calibrationMetrics(
 *   Float32Array.of(0, 0, 0, 0, 2, 0),
 *   Int32Array.of(0, 1, 0),
 *   ["many", "few"],
 * );
 * const high = Math.exp(2) / (1 + Math.exp(2));
 * equal(m.ece.toFixed(6), ((2 / 3) * 0 + (1 / 3) * (1 - high)).toFixed(6));
 * equal(m.many!.rows, 2);
 * equal(m.few!.ece, 0.5); // one row, confidence 0.5, wrong
 * ```
 */
export function calibrationMetrics(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  groups: readonly ShotGroup[],
  bins = ECE_BINS,
): CalibrationMetrics {
  if (!Number.isInteger(bins) || bins < 1) {
    throw new RangeError(`Cannot compute calibration: ${bins} bins; expected an integer >= 1`);
  }
  const classes = groups.length;
  const { confidence, predicted, nll } = softmaxTop1(logits, labels, classes);
  const correct = Uint8Array.from(predicted, (p, r) => (p === labels[r] ? 1 : 0));
  const all = Array.from({ length: labels.length }, (_, r) => r);
  const total = binned(confidence, correct, nll, all, bins);
  const group = (g: ShotGroup): CalibrationFigures | null => {
    const rows = all.filter((r) => groups[labels[r]] === g);
    if (rows.length === 0) return null;
    const { ece, nll: mean } = binned(confidence, correct, nll, rows, bins);
    return { rows: rows.length, ece, nll: mean };
  };
  return {
    rows: total.rows,
    ece: total.ece,
    nll: total.nll,
    many: group("many"),
    medium: group("medium"),
    few: group("few"),
    bins: {
      count: total.count,
      confidence: total.count.map((n, b) => (n === 0 ? null : total.confSum[b] / n)),
      accuracy: total.count.map((n, b) => (n === 0 ? null : total.hits[b] / n)),
    },
  };
}

/**
 * Everything reported for one stage-2 method.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type MethodMetrics, splitMetrics } from "./metrics.ts";
 * const split = splitMetrics(Int32Array.of(0, 1), Int32Array.of(0, 1), ["many", "few"]);
 * const tau: MethodMetrics = {
 *   label: "tau-norm",
 *   wall_ms: 35,
 *   val: split,
 *   test: split,
 *   weight_norms: [1, 1],
 *   tau: 0.9,
 *   tau_curve: [{ tau: 0.9, val_all: 1 }],
 * };
 * assert.equal(tau.test.all, 1);
 * ```
 */
export interface MethodMetrics {
  /** Display name. */
  label: string;
  /** Wall time of the method in milliseconds (GPU work and read-back included). */
  wall_ms: number;
  /** Validation split. */
  val: SplitMetrics;
  /** Test split. */
  test: SplitMetrics;
  /** ||w_c|| of the effective classifier of each class (for LWS, |f_c| ||w_c||). */
  weight_norms: number[];
  /** The tau chosen on validation (tau-norm, logit adjustment). */
  tau?: number;
  /** Validation curve over the tau grid (tau-norm, logit adjustment). */
  tau_curve?: TauPoint[];
  /** Mean training loss of each epoch (cRT, LWS, balanced softmax). */
  train_loss?: number[];
  /** Test-split calibration: ECE, NLL, per shot group, reliability bins. */
  calibration?: CalibrationMetrics;
}

/**
 * The whole `metrics.json`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exampleMetricsFile } from "./_example.ts";
 * import { METRICS_SCHEMA, type MetricsFile } from "./metrics.ts";
 * const file: MetricsFile = exampleMetricsFile();
 * assert.equal(file.schema, METRICS_SCHEMA);
 * assert.equal(file.methods.joint.test.all.toFixed(4), "0.6667");
 * ```
 */
export interface MetricsFile {
  /** Always {@link METRICS_SCHEMA}. */
  schema: typeof METRICS_SCHEMA;
  /** Always {@link METRICS_VERSION}. */
  version: typeof METRICS_VERSION;
  /** ISO 8601 time of writing. */
  created: string;
  /** Kit version that computed the metrics. */
  kit_version: string;
  /** Where the features came from. */
  source: {
    /** The features folder. */
    features: string;
    /** `ltkit.checkpoint_sha256` of the files. */
    checkpoint_sha256: string;
    /** `ltkit.profile`. */
    profile: Record<string, unknown>;
    /** `ltkit.backbone`. */
    backbone: unknown;
    /** D. */
    feature_dim: number;
    /** C. */
    class_count: number;
  };
  /** Training images per class, (C). */
  train_class_counts: number[];
  /** Many is n > many, Few is n < few. */
  shot_thresholds: ShotThresholds;
  /** Shot group of each class. */
  shot_groups: ShotGroup[];
  /** Seed of every random choice of stage 2. */
  seed: number;
  /** Settings the methods ran with (epochs, batch, rates, tau grid...). */
  settings: Record<string, unknown>;
  /** Results by method key (joint, ncm, ncm_l2, crt, tau, lws, la, bsm), in run order. */
  methods: Record<string, MethodMetrics>;
  /** Methods asked for but not run, with the reason (e.g. the features have no classifier). */
  skipped?: Record<string, string>;
}

/**
 * The shot thresholds of a profile: its `shotThresholds` when present and well formed, else the
 * paper's (Many > 100, Few < 20).
 *
 * @param profile A profile object (from the features' metadata), or nothing.
 * @returns The thresholds.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { thresholdsFromProfile } from "./metrics.ts";
 * assert.deepEqual(
 *   thresholdsFromProfile({ shotThresholds: { many: 1000, few: 200 } }),
 *   { many: 1000, few: 200 },
 * );
 * assert.deepEqual(thresholdsFromProfile({}), { many: 100, few: 20 });
 * ```
 */
export function thresholdsFromProfile(profile?: Record<string, unknown>): ShotThresholds {
  const t = profile?.shotThresholds as Partial<ShotThresholds> | undefined;
  if (t && typeof t.many === "number" && typeof t.few === "number") {
    return { many: t.many, few: t.few };
  }
  return { ...PAPER_SHOT_THRESHOLDS };
}

/**
 * Row-wise argmax of (N, C) logits; ties go to the smallest class (like `torch.argmax`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { argmaxRows } from "./metrics.ts";
 * assert.deepEqual([...argmaxRows(Float32Array.of(0, 2, 1, 5, 5, 0), 3)], [1, 0]);
 * ```
 */
export function argmaxRows(logits: ArrayLike<number>, classes: number): Int32Array {
  const n = logits.length / classes;
  if (!Number.isInteger(n)) {
    throw new RangeError(
      `Cannot take argmax: ${logits.length} logits are not rows of ${classes} classes`,
    );
  }
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    let top = logits[r * classes];
    for (let c = 1; c < classes; c++) {
      const v = logits[r * classes + c];
      if (v > top || (Number.isNaN(top) && !Number.isNaN(v))) {
        top = v;
        best = c;
      }
    }
    out[r] = best;
  }
  return out;
}

/**
 * The confusion matrix, confusion[true][predicted].
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { confusionMatrix } from "./metrics.ts";
 * assert.deepEqual(
 *   confusionMatrix(Int32Array.of(0, 1, 1), Int32Array.of(0, 1, 0), 2),
 *   [[1, 1], [0, 1]],
 * );
 * ```
 */
export function confusionMatrix(
  predictions: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
): number[][] {
  if (predictions.length !== labels.length) {
    throw new RangeError(
      `Cannot compute a confusion matrix: ${predictions.length} predictions for ` +
        `${labels.length} labels`,
    );
  }
  const out = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    const p = predictions[i];
    if (!(y >= 0 && y < classes && p >= 0 && p < classes)) {
      throw new RangeError(
        `Cannot compute a confusion matrix: row ${i} has label ${y} and prediction ${p}, ` +
          `outside 0..${classes - 1}`,
      );
    }
    out[y][p]++;
  }
  return out;
}

/** Adds each class's correct rows to `hits` and its rows to `totals`, checking the range. */
function countHits(
  predictions: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
  hits: Float64Array,
  totals: Float64Array,
): void {
  if (predictions.length !== labels.length) {
    throw new RangeError(
      `Cannot score predictions: ${predictions.length} predictions for ${labels.length} labels`,
    );
  }
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    const p = predictions[i];
    if (!(y >= 0 && y < classes && p >= 0 && p < classes)) {
      throw new RangeError(
        `Cannot score predictions: row ${i} has label ${y} and prediction ${p}, outside ` +
          `0..${classes - 1}`,
      );
    }
    totals[y]++;
    if (p === y) hits[y]++;
  }
}

function mean(values: (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : present.reduce((a, b) => a + b, 0) / present.length;
}

/**
 * All / Many / Medium / Few, per-class accuracy and (up to {@link CONFUSION_MAX_CLASSES} classes)
 * the confusion matrix of one split.
 *
 * @param predictions Predicted class of each row, (N).
 * @param labels True class of each row, (N).
 * @param groups Shot group of each class, (C) (from {@link shotGroups}).
 * @returns The split's metrics.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitMetrics } from "./metrics.ts";
 * const m = splitMetrics(Int32Array.of(0, 0, 1, 0), Int32Array.of(0, 0, 1, 1), ["many", "few"]);
 * assert.deepEqual([m.all, m.many, m.few, m.accuracy], [0.75, 1, 0.5, 0.75]);
 * ```
 */
export function splitMetrics(
  predictions: ArrayLike<number>,
  labels: ArrayLike<number>,
  groups: readonly ShotGroup[],
): SplitMetrics {
  const classes = groups.length;
  const confusion = classes <= CONFUSION_MAX_CLASSES
    ? confusionMatrix(predictions, labels, classes)
    : null;
  const hits = new Float64Array(classes);
  const totals = new Float64Array(classes);
  if (confusion) {
    confusion.forEach((row, c) => {
      hits[c] = row[c];
      totals[c] = row.reduce((a, b) => a + b, 0);
    });
  } else {
    countHits(predictions, labels, classes, hits, totals);
  }
  const perClass = Array.from(totals, (total, c) => total === 0 ? null : hits[c] / total);
  const correct = hits.reduce((a, b) => a + b, 0);
  const pick = (g: ShotGroup) => mean(perClass.filter((_, c) => groups[c] === g));
  return {
    rows: labels.length,
    all: mean(perClass) ?? 0,
    many: pick("many"),
    medium: pick("medium"),
    few: pick("few"),
    accuracy: labels.length === 0 ? 0 : correct / labels.length,
    per_class: perClass,
    confusion,
  };
}

/**
 * Balanced accuracy (mean of per-class accuracies) of (N, C) logits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { balancedAccuracy } from "./metrics.ts";
 * assert.equal(
 *   balancedAccuracy(Float32Array.of(1, 0, 1, 0, 0, 1), Int32Array.of(0, 1, 1), 2),
 *   0.75,
 * );
 * ```
 */
export function balancedAccuracy(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
): number {
  return balancedAccuracyOf(argmaxRows(logits, classes), labels, classes);
}

/**
 * Balanced accuracy (mean of per-class accuracies) of (N) predicted classes, O(N + C).
 *
 * @example
 * ```ts
 * import { balancedAccuracyOf } from "./metrics.ts";
 * console.log(balancedAccuracyOf(Int32Array.of(0, 0, 1), Int32Array.of(0, 1, 1), 2)); // 0.75
 * ```
 */
export function balancedAccuracyOf(
  predictions: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
): number {
  const hits = new Float64Array(classes);
  const totals = new Float64Array(classes);
  countHits(predictions, labels, classes, hits, totals);
  let sum = 0;
  let present = 0;
  for (let c = 0; c < classes; c++) {
    if (totals[c] > 0) {
      sum += hits[c] / totals[c];
      present++;
    }
  }
  return present === 0 ? 0 : sum / present;
}

/**
 * ||w_c|| of each row of a (C, D) weight matrix, times |scale_c| when scales are given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classWeightNorms } from "./metrics.ts";
 * assert.deepEqual(classWeightNorms(Float32Array.of(3, 4, 0, 1), 2, 2, [2, 1]), [10, 1]);
 * ```
 */
export function classWeightNorms(
  weight: ArrayLike<number>,
  classes: number,
  dim: number,
  scale?: ArrayLike<number>,
): number[] {
  const out: number[] = [];
  for (let c = 0; c < classes; c++) {
    let acc = 0;
    for (let k = 0; k < dim; k++) acc += weight[c * dim + k] ** 2;
    out.push(Math.sqrt(acc) * Math.abs(scale?.[c] ?? 1));
  }
  return out;
}

/**
 * Chooses tau from a validation curve: the highest `val_all`, ties to the smallest tau.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chooseTau } from "./metrics.ts";
 * assert.equal(
 *   chooseTau([{ tau: 0, val_all: 0.5 }, { tau: 0.1, val_all: 0.7 }, { tau: 0.2, val_all: 0.7 }]),
 *   0.1,
 * );
 * ```
 */
export function chooseTau(curve: readonly TauPoint[]): number {
  if (curve.length === 0) throw new RangeError("Cannot choose tau: the validation curve is empty");
  const top = Math.max(...curve.map((p) => p.val_all));
  // NOTE: means of equal hit counts summed in another order can differ in the last bit; a gap
  // below 1e-9 (far below one validation image) is a tie.
  const best = curve.filter((p) => p.val_all >= top - 1e-9);
  return Math.min(...best.map((p) => p.tau));
}

/**
 * Shot groups of the classes for given training counts and profile.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { groupsFor } from "./metrics.ts";
 * assert.deepEqual(groupsFor([500, 50, 5]).groups, ["many", "medium", "few"]);
 * const fashion = { shotThresholds: { many: 1000, few: 200 } };
 * assert.deepEqual(groupsFor([5980, 464, 60], fashion).groups, ["many", "medium", "few"]);
 * ```
 */
export function groupsFor(
  trainClassCounts: ArrayLike<number>,
  profile?: Record<string, unknown>,
): { thresholds: ShotThresholds; groups: ShotGroup[] } {
  const thresholds = thresholdsFromProfile(profile);
  return { thresholds, groups: shotGroups(trainClassCounts, thresholds) };
}

function pct(v: number | null | undefined): string {
  return v === null || v === undefined ? "-" : (100 * v).toFixed(2);
}

/**
 * The metrics as a plain-text table: one row per method with validation All, test
 * All / Many / Medium / Few, the chosen tau and the wall time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exampleMetricsFile } from "./_example.ts";
 * import { formatMetricsTable } from "./metrics.ts";
 * const table = formatMetricsTable(exampleMetricsFile()).split("\n");
 * assert.equal(table[1], "method  val All    All    Many  Medium   Few  tau  ms");
 * assert.equal(table[3], "Joint     66.67  66.67  100.00  100.00  0.00    -  12");
 * ```
 */
export function formatMetricsTable(file: MetricsFile): string {
  const header = ["method", "val All", "All", "Many", "Medium", "Few", "tau", "ms"];
  const rows = Object.values(file.methods).map((m) => [
    m.label,
    pct(m.val.all),
    pct(m.test.all),
    pct(m.test.many),
    pct(m.test.medium),
    pct(m.test.few),
    m.tau === undefined ? "-" : m.tau.toFixed(1),
    m.wall_ms.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join(
      "  ",
    );
  const t = file.shot_thresholds;
  return [
    `test accuracy (%), All = mean of per-class accuracies; Many > ${t.many}, Few < ${t.few} ` +
    `training images`,
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    ...Object.entries(file.skipped ?? {}).map(([m, why]) => `skipped ${m}: ${why}`),
  ].join("\n");
}

/**
 * Checks that a parsed object is a metrics file this version can read.
 *
 * @throws {TypeError} When the schema or version does not match.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exampleMetricsFile } from "./_example.ts";
 * import { validateMetricsFile } from "./metrics.ts";
 * const file = exampleMetricsFile();
 * const parsed = validateMetricsFile(JSON.parse(JSON.stringify(file)));
 * assert.deepEqual(Object.keys(parsed.methods), ["joint"]);
 * assert.throws(() => validateMetricsFile({ ...file, version: 2 }), TypeError);
 * ```
 */
export function validateMetricsFile(value: unknown, name = "metrics.json"): MetricsFile {
  const v = value as MetricsFile;
  if (typeof v !== "object" || v === null || v.schema !== METRICS_SCHEMA) {
    throw new TypeError(`Cannot read ${name}: its "schema" is not "${METRICS_SCHEMA}"`);
  }
  if (v.version !== METRICS_VERSION) {
    throw new TypeError(
      `Cannot read ${name}: version ${v.version} but this kit reads version ${METRICS_VERSION}`,
    );
  }
  if (typeof v.methods !== "object" || v.methods === null) {
    throw new TypeError(`Cannot read ${name}: "methods" is missing`);
  }
  return v;
}
