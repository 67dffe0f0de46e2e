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
 * import { METRICS_VERSION } from "./metrics.ts";
 * console.log(METRICS_VERSION); // 1
 * ```
 */
export const METRICS_VERSION = 1;

/**
 * The `schema` field of `metrics.json`.
 *
 * @example
 * ```ts
 * import { METRICS_SCHEMA } from "./metrics.ts";
 * console.log(METRICS_SCHEMA); // "ltkit.stage2.metrics"
 * ```
 */
export const METRICS_SCHEMA = "ltkit.stage2.metrics";

/**
 * Accuracy figures of one split (val or test).
 *
 * @example
 * ```ts
 * import { type SplitMetrics, splitMetrics } from "./metrics.ts";
 * const m: SplitMetrics = splitMetrics(Int32Array.of(0, 1, 0), Int32Array.of(0, 1, 2), [
 *   "many",
 *   "medium",
 *   "few",
 * ]);
 * console.log(m.per_class, m.few, m.confusion[2]); // [1, 1, 0] 0 [1, 0, 0]
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
  /** confusion[true][predicted] = number of rows. */
  confusion: number[][];
}

/**
 * One point of a validation curve over tau.
 *
 * @example
 * ```ts
 * import { chooseTau, type TauPoint } from "./metrics.ts";
 * const curve: TauPoint[] = [{ tau: 0, val_all: 0.61 }, { tau: 1, val_all: 0.66 }];
 * console.log(chooseTau(curve)); // 1
 * ```
 */
export interface TauPoint {
  /** The tau. */
  tau: number;
  /** Balanced accuracy ("All") on the validation split at this tau. */
  val_all: number;
}

/**
 * Everything reported for one stage-2 method.
 *
 * @example
 * ```ts
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
 * console.log(tau.test.all); // 1
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
}

/**
 * The whole `metrics.json`.
 *
 * @example
 * ```ts
 * import {
 *   groupsFor,
 *   METRICS_SCHEMA,
 *   METRICS_VERSION,
 *   type MetricsFile,
 *   splitMetrics,
 * } from "./metrics.ts";
 * const { thresholds, groups } = groupsFor([500, 50, 5]);
 * const test = splitMetrics(Int32Array.of(0, 1, 0), Int32Array.of(0, 1, 2), groups);
 * const file: MetricsFile = {
 *   schema: METRICS_SCHEMA,
 *   version: METRICS_VERSION,
 *   created: "2025-01-01T12:00:00Z",
 *   kit_version: "0.1.0",
 *   source: {
 *     features: "runs/example/features",
 *     checkpoint_sha256: "0".repeat(64),
 *     profile: {},
 *     backbone: "resnet8",
 *     feature_dim: 64,
 *     class_count: 3,
 *   },
 *   train_class_counts: [500, 50, 5],
 *   shot_thresholds: thresholds,
 *   shot_groups: groups,
 *   seed: 0,
 *   settings: {},
 *   methods: {
 *     joint: { label: "Joint", wall_ms: 12, val: test, test, weight_norms: [1.2, 1, 0.8] },
 *   },
 * };
 * console.log(file.methods.joint.test.all.toFixed(4)); // "0.6667"
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
}

/**
 * The shot thresholds of a profile: its `shotThresholds` when present and well formed, else the
 * paper's (Many > 100, Few < 20).
 *
 * @param profile A profile object (from the features' metadata), or nothing.
 * @returns The thresholds.
 * @example
 * ```ts
 * import { thresholdsFromProfile } from "./metrics.ts";
 * console.log(thresholdsFromProfile({ shotThresholds: { many: 1000, few: 200 } }));
 * // { many: 1000, few: 200 }
 * console.log(thresholdsFromProfile({})); // { many: 100, few: 20 }
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
 * import { argmaxRows } from "./metrics.ts";
 * console.log([...argmaxRows(Float32Array.of(0, 2, 1, 5, 5, 0), 3)]); // [1, 0]
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
 * import { confusionMatrix } from "./metrics.ts";
 * console.log(confusionMatrix(Int32Array.of(0, 1, 1), Int32Array.of(0, 1, 0), 2));
 * // [[1, 1], [0, 1]]
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

function mean(values: (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : present.reduce((a, b) => a + b, 0) / present.length;
}

/**
 * All / Many / Medium / Few, per-class accuracy and the confusion matrix of one split.
 *
 * @param predictions Predicted class of each row, (N).
 * @param labels True class of each row, (N).
 * @param groups Shot group of each class, (C) (from {@link shotGroups}).
 * @returns The split's metrics.
 * @example
 * ```ts
 * import { splitMetrics } from "./metrics.ts";
 * const m = splitMetrics(Int32Array.of(0, 0, 1, 0), Int32Array.of(0, 0, 1, 1), ["many", "few"]);
 * console.log(m.all, m.many, m.few, m.accuracy); // 0.75 1 0.5 0.75
 * ```
 */
export function splitMetrics(
  predictions: ArrayLike<number>,
  labels: ArrayLike<number>,
  groups: readonly ShotGroup[],
): SplitMetrics {
  const classes = groups.length;
  const confusion = confusionMatrix(predictions, labels, classes);
  const perClass = confusion.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? null : row[c] / total;
  });
  let correct = 0;
  for (let c = 0; c < classes; c++) correct += confusion[c][c];
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
 * import { balancedAccuracy } from "./metrics.ts";
 * console.log(balancedAccuracy(Float32Array.of(1, 0, 1, 0, 0, 1), Int32Array.of(0, 1, 1), 2));
 * // 0.75
 * ```
 */
export function balancedAccuracy(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
): number {
  const pred = argmaxRows(logits, classes);
  const hits = new Float64Array(classes);
  const totals = new Float64Array(classes);
  for (let i = 0; i < labels.length; i++) {
    totals[labels[i]]++;
    if (pred[i] === labels[i]) hits[labels[i]]++;
  }
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
 * import { classWeightNorms } from "./metrics.ts";
 * console.log(classWeightNorms(Float32Array.of(3, 4, 0, 1), 2, 2, [2, 1])); // [10, 1]
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
 * import { chooseTau } from "./metrics.ts";
 * console.log(
 *   chooseTau([{ tau: 0, val_all: 0.5 }, { tau: 0.1, val_all: 0.7 }, { tau: 0.2, val_all: 0.7 }]),
 * ); // 0.1
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
 * import { groupsFor } from "./metrics.ts";
 * console.log(groupsFor([500, 50, 5]).groups); // ["many", "medium", "few"]
 * const fashion = { shotThresholds: { many: 1000, few: 200 } };
 * console.log(groupsFor([5980, 464, 60], fashion).groups); // ["many", "medium", "few"]
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
 * import {
 *   formatMetricsTable,
 *   groupsFor,
 *   METRICS_SCHEMA,
 *   METRICS_VERSION,
 *   type MetricsFile,
 *   splitMetrics,
 * } from "./metrics.ts";
 * const { thresholds, groups } = groupsFor([500, 50, 5]);
 * const test = splitMetrics(Int32Array.of(0, 1, 0), Int32Array.of(0, 1, 2), groups);
 * const file: MetricsFile = {
 *   schema: METRICS_SCHEMA,
 *   version: METRICS_VERSION,
 *   created: "2025-01-01T12:00:00Z",
 *   kit_version: "0.1.0",
 *   source: {
 *     features: "runs/example/features",
 *     checkpoint_sha256: "0".repeat(64),
 *     profile: {},
 *     backbone: "resnet8",
 *     feature_dim: 64,
 *     class_count: 3,
 *   },
 *   train_class_counts: [500, 50, 5],
 *   shot_thresholds: thresholds,
 *   shot_groups: groups,
 *   seed: 0,
 *   settings: {},
 *   methods: {
 *     joint: { label: "Joint", wall_ms: 12, val: test, test, weight_norms: [1.2, 1, 0.8] },
 *   },
 * };
 * const table = formatMetricsTable(file).split("\n");
 * console.log(table[1]); // "method  val All    All    Many  Medium   Few  tau  ms"
 * console.log(table[3]); // "Joint     66.67  66.67  100.00  100.00  0.00    -  12"
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
 * import {
 *   groupsFor,
 *   METRICS_SCHEMA,
 *   METRICS_VERSION,
 *   type MetricsFile,
 *   splitMetrics,
 *   validateMetricsFile,
 * } from "./metrics.ts";
 * const { thresholds, groups } = groupsFor([500, 50, 5]);
 * const test = splitMetrics(Int32Array.of(0, 1, 0), Int32Array.of(0, 1, 2), groups);
 * const file: MetricsFile = {
 *   schema: METRICS_SCHEMA,
 *   version: METRICS_VERSION,
 *   created: "2025-01-01T12:00:00Z",
 *   kit_version: "0.1.0",
 *   source: {
 *     features: "runs/example/features",
 *     checkpoint_sha256: "0".repeat(64),
 *     profile: {},
 *     backbone: "resnet8",
 *     feature_dim: 64,
 *     class_count: 3,
 *   },
 *   train_class_counts: [500, 50, 5],
 *   shot_thresholds: thresholds,
 *   shot_groups: groups,
 *   seed: 0,
 *   settings: {},
 *   methods: {
 *     joint: { label: "Joint", wall_ms: 12, val: test, test, weight_norms: [1.2, 1, 0.8] },
 *   },
 * };
 * const parsed = validateMetricsFile(JSON.parse(JSON.stringify(file)));
 * console.log(Object.keys(parsed.methods)); // ["joint"]
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
