/**
 * Per-sample test predictions of each stage-2 method as Arrow IPC files,
 * `predictions/<method>.arrow` beside `metrics.json`, joinable with the feature dumps on `index`.
 *
 * Columns: `index` int32 (the test row's `index` in `test.arrow`), `label` int32, `pred` int32
 * (the predicted class, argmax of the scores, ties to the smallest class), `confidence` float32
 * (top-1 softmax probability of the scores, as in the calibration figures), then either
 * `logits` fixed_size_list<float32>[C] (every score, when C <= {@link FULL_LOGITS_MAX_CLASSES})
 * or `top_class` fixed_size_list<int32>[k] and `top_logit` fixed_size_list<float32>[k] (the k =
 * min(5, C) highest scores, highest first). Scores are what the method predicts from: logits,
 * logit adjustment's offset included; NCM's cosines or negative distances. The schema metadata
 * holds `ltkit.kind` = `predictions`, `ltkit.method`, `ltkit.method_label`, `ltkit.split`,
 * `ltkit.class_count`, `ltkit.scores` (`logits` or `top<k>`), `ltkit.checkpoint_sha256` and
 * `ltkit.version`.
 *
 * @module
 */

import { arrow } from "../_deps.ts";
import type { FeatureSplitData } from "../features/reader.ts";
import { KIT_VERSION } from "../features/schema.ts";
import { vectorData, writeArrowFile } from "../features/writer.ts";
import { type MetricsFile, softmaxTop1 } from "./metrics.ts";

/**
 * Up to this many classes a prediction file holds every logit; above it, the top 5.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { FULL_LOGITS_MAX_CLASSES } from "./predictions.ts";
 * equal(FULL_LOGITS_MAX_CLASSES, 100); // CIFAR-100 keeps its logits; ImageNet-LT keeps the top 5
 * ```
 */
export const FULL_LOGITS_MAX_CLASSES = 100;

/**
 * How many top scores a prediction file keeps when it does not hold every logit.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { PREDICTION_TOP_K } from "./predictions.ts";
 * equal(PREDICTION_TOP_K, 5);
 * ```
 */
export const PREDICTION_TOP_K = 5;

/**
 * One method's predictions on one split.
 *
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import type { PredictionInput } from "./predictions.ts";
 * const input: PredictionInput = {
 *   method: "crt",
 *   label: "cRT",
 *   split: { index: Int32Array.of(7, 9), label: Int32Array.of(0, 1), rows: 2 },
 *   scores: Float32Array.of(2, 1, 0, 3),
 *   classes: 2,
 *   checkpointSha256: "0".repeat(64),
 * };
 * equal(input.scores.length, input.split.rows * input.classes);
 * ```
 */
export interface PredictionInput {
  /** Method key, e.g. `crt`. */
  method: string;
  /** Display name. */
  label: string;
  /** The rows' `index` and `label` (the test split of the feature dump) and their number. */
  split: Pick<FeatureSplitData, "index" | "label" | "rows">;
  /** (rows, C) scores of the method. */
  scores: Float32Array;
  /** C. */
  classes: number;
  /** `ltkit.checkpoint_sha256` of the dump, recorded in the metadata. */
  checkpointSha256: string;
  /** Which split (default `test`). */
  splitName?: string;
  /** Largest C written with every logit (default {@link FULL_LOGITS_MAX_CLASSES}). */
  fullLogitsMaxClasses?: number;
}

/**
 * The k highest scores of each row and their classes, highest first, ties to the smaller class
 * (so `class[r * k]` is the row's argmax).
 *
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { topK } from "./predictions.ts";
 * const t = topK(Float32Array.of(0.1, 3, 3, -1), 4, 2);
 * deepEqual([...t.classes], [1, 2]);
 * deepEqual([...t.scores], [3, 3]);
 * ```
 */
export function topK(
  scores: Float32Array,
  classes: number,
  k: number,
): { classes: Int32Array; scores: Float32Array } {
  const rows = scores.length / classes;
  const outClasses = new Int32Array(rows * k);
  const outScores = new Float32Array(rows * k);
  const order = Array.from({ length: classes }, (_, c) => c);
  for (let r = 0; r < rows; r++) {
    const row = scores.subarray(r * classes, (r + 1) * classes);
    // NaN sorts last, like argmaxRows which never picks a NaN over a number.
    const key = (c: number) => (Number.isNaN(row[c]) ? -Infinity : row[c]);
    const top = [...order].sort((a, b) => key(b) - key(a) || a - b).slice(0, k);
    top.forEach((c, i) => {
      outClasses[r * k + i] = c;
      outScores[r * k + i] = row[c];
    });
  }
  return { classes: outClasses, scores: outScores };
}

function intVectorData(size: number, rows: number, values: Int32Array): arrow.Data {
  return arrow.makeData({
    type: new arrow.FixedSizeList(size, new arrow.Field("item", new arrow.Int32(), false)),
    length: rows,
    nullCount: 0,
    child: arrow.makeData({ type: new arrow.Int32(), length: rows * size, data: values }),
  });
}

/**
 * The prediction rows of one method as an Arrow record batch (layout in the module doc).
 *
 * @throws {RangeError} When the scores are not (rows, C).
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual, strictEqual as equal } from "node:assert/strict";
 * import { predictionBatch } from "./predictions.ts";
 * const batch = predictionBatch({
 *   method: "crt",
 *   label: "cRT",
 *   split: { index: Int32Array.of(7, 9), label: Int32Array.of(0, 1), rows: 2 },
 *   scores: Float32Array.of(2, 1, 0, 3),
 *   classes: 2,
 *   checkpointSha256: "0".repeat(64),
 * });
 * deepEqual(
 *   batch.schema.fields.map((f) => f.name),
 *   ["index", "label", "pred", "confidence", "logits"],
 * );
 * deepEqual([...batch.getChild("pred")!.toArray()], [0, 1]);
 * equal(batch.schema.metadata.get("ltkit.scores"), "logits");
 * ```
 */
export function predictionBatch(input: PredictionInput): arrow.RecordBatch {
  const { split, scores, classes } = input;
  const rows = split.rows;
  if (scores.length !== rows * classes || split.label.length !== rows) {
    throw new RangeError(
      `Cannot write the predictions of ${input.method}: ${scores.length} scores and ` +
        `${split.label.length} labels for ${rows} rows of ${classes} classes`,
    );
  }
  const { confidence, predicted } = softmaxTop1(scores, split.label, classes);
  const full = classes <= (input.fullLogitsMaxClasses ?? FULL_LOGITS_MAX_CLASSES);
  const k = Math.min(PREDICTION_TOP_K, classes);
  const int = (data: Int32Array) =>
    arrow.makeData({ type: new arrow.Int32(), length: rows, nullCount: 0, data });
  const fields: arrow.Field[] = [
    new arrow.Field("index", new arrow.Int32(), false),
    new arrow.Field("label", new arrow.Int32(), false),
    new arrow.Field("pred", new arrow.Int32(), false),
    new arrow.Field("confidence", new arrow.Float32(), false),
  ];
  const children: arrow.Data[] = [
    int(split.index),
    int(split.label),
    int(predicted),
    arrow.makeData({
      type: new arrow.Float32(),
      length: rows,
      nullCount: 0,
      data: Float32Array.from(confidence),
    }),
  ];
  if (full) {
    const data = vectorData(classes, rows, scores);
    fields.push(new arrow.Field("logits", data.type, false));
    children.push(data);
  } else {
    const top = topK(scores, classes, k);
    const cls = intVectorData(k, rows, top.classes);
    const val = vectorData(k, rows, top.scores);
    fields.push(new arrow.Field("top_class", cls.type, false));
    fields.push(new arrow.Field("top_logit", val.type, false));
    children.push(cls, val);
  }
  const meta = new Map<string, string>([
    ["ltkit.kind", "predictions"],
    ["ltkit.version", KIT_VERSION],
    ["ltkit.method", input.method],
    ["ltkit.method_label", input.label],
    ["ltkit.split", input.splitName ?? "test"],
    ["ltkit.class_count", String(classes)],
    ["ltkit.scores", full ? "logits" : `top${k}`],
    ["ltkit.checkpoint_sha256", input.checkpointSha256],
  ]);
  const schema = new arrow.Schema(fields, meta);
  return new arrow.RecordBatch(
    schema,
    arrow.makeData({ type: new arrow.Struct(fields), length: rows, nullCount: 0, children }),
  );
}

/**
 * Writes `<dir>/predictions/<method>.arrow` for each method, each through a temporary name
 * renamed into place.
 *
 * @param dir The folder of `metrics.json`.
 * @param test The test split the scores are for.
 * @param methods Key, label and (rows, C) test scores of each method.
 * @param checkpointSha256 Recorded in each file.
 * @returns The paths written, in the methods' order.
 * @example
 * ```ts
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 * import { arrow } from "../_deps.ts";
 * import { writePredictionFiles } from "./predictions.ts";
 * const dir = await Deno.makeTempDir();
 * const test = { index: Int32Array.of(0, 1), label: Int32Array.of(1, 1), rows: 2 };
 * const paths = await writePredictionFiles(dir, test, [
 *   { method: "joint", label: "Joint", scores: Float32Array.of(0, 1, 1, 0), classes: 2 },
 * ], "0".repeat(64));
 * deepEqual(paths, [`${dir}/predictions/joint.arrow`]);
 * const table = arrow.tableFromIPC(await Deno.readFile(paths[0]));
 * deepEqual([...table.getChild("pred")!.toArray()], [1, 0]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writePredictionFiles(
  dir: string,
  test: Pick<FeatureSplitData, "index" | "label" | "rows">,
  methods: readonly { method: string; label: string; scores: Float32Array; classes: number }[],
  checkpointSha256: string,
): Promise<string[]> {
  const folder = `${dir}/predictions`;
  // Build every batch first, so that bad scores fail before any file is written.
  const batches = methods.map((m) => predictionBatch({ ...m, split: test, checkpointSha256 }));
  await Deno.mkdir(folder, { recursive: true });
  const paths: string[] = [];
  for (let i = 0; i < methods.length; i++) {
    const path = `${folder}/${methods[i].method}.arrow`;
    await writeArrowFile(path, batches[i]);
    paths.push(path);
  }
  return paths;
}

/**
 * Writes the prediction file of every method of a stage-2 run: `results` are runStage2's raw
 * results (test logits), `metrics` its metrics file (labels, C, checkpoint).
 *
 * @param dir The folder of `metrics.json`.
 * @param test The test split the methods ran on.
 * @param results Test logits by method key.
 * @param metrics The run's metrics.
 * @returns The paths written, in the metrics' method order.
 * @example
 * ```ts
 * import { strictEqual as equal } from "node:assert/strict";
 * import { makeSyntheticFeatures } from "../features/synthetic.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { runStage2 } from "../stage2/run.ts";
 * import { writeStage2Predictions } from "./predictions.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const features = makeSyntheticFeatures({ trainCounts: [30, 8], featureDim: 4, testPerClass: 5 });
 * const { results, metrics } = await runStage2(features, { methods: ["joint", "ncm"], gpu });
 * const dir = await Deno.makeTempDir();
 * const paths = await writeStage2Predictions(dir, features.test, results, metrics);
 * equal(paths.at(-1), `${dir}/predictions/ncm.arrow`);
 * await Deno.remove(dir, { recursive: true });
 * gpu.destroy();
 * ```
 */
export function writeStage2Predictions(
  dir: string,
  test: Pick<FeatureSplitData, "index" | "label" | "rows">,
  results: Readonly<Record<string, { logits: { test: Float32Array } } | undefined>>,
  metrics: MetricsFile,
): Promise<string[]> {
  const classes = metrics.source.class_count;
  const methods = Object.entries(metrics.methods).flatMap(([method, m]) => {
    const r = results[method];
    return r ? [{ method, label: m.label, scores: r.logits.test, classes }] : [];
  });
  return writePredictionFiles(dir, test, methods, metrics.source.checkpoint_sha256);
}
