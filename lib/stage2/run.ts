/**
 * Stage 2 from a features folder: every method on the GPU, then the metrics.
 *
 * @module
 */

import { checkFeatures, DEGENERATE_ADVICE } from "../features/check.ts";
import type { SamplerKind } from "../data/sampler.ts";
import {
  argmaxRows,
  calibrationMetrics,
  classWeightNorms,
  groupsFor,
  type MethodMetrics,
  METRICS_SCHEMA,
  METRICS_VERSION,
  type MetricsFile,
  splitMetrics,
} from "../eval/metrics.ts";
import type { FeatureDir } from "../features/reader.ts";
import { KIT_VERSION } from "../features/schema.ts";
import { type Gpu, requestGpu } from "../gpu/device.ts";
import { Stage2Context } from "./context.ts";
import {
  DEFAULT_TAU_GRID,
  DEFAULT_TRAIN_SETTINGS,
  type MethodName,
  type MethodResult,
  type TauGrid,
  tauValues,
  type TrainSettings,
} from "./method.ts";
import { METHOD_NAMES, type MethodRow, methodRow, type MethodTrainSettings } from "./registry.ts";

/**
 * Options of {@link runStage2}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSyntheticFeatures } from "../features/synthetic.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { runStage2, type Stage2Options } from "./run.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const lines: string[] = [];
 * const options: Stage2Options = {
 *   methods: ["lws", "joint"], // run and reported in METHOD_NAMES order
 *   seed: 1,
 *   epochs: 1,
 *   batch: 64,
 *   tauGrid: { start: 0, stop: 1, step: 0.5 },
 *   gpu, // kept alive: the caller destroys it
 *   log: (line) => lines.push(line),
 * };
 * const features = makeSyntheticFeatures({
 *   trainCounts: [60, 15, 5],
 *   featureDim: 6,
 *   testPerClass: 10,
 * });
 * const { metrics } = await runStage2(features, options);
 * assert.deepEqual(Object.keys(metrics.methods), ["joint", "lws"]);
 * assert.equal(lines.length, 2);
 * gpu.destroy();
 * ```
 */
export interface Stage2Options extends Partial<TrainSettings> {
  /**
   * Methods to run (default all), reported in {@link METHOD_NAMES} order. Without a classifier
   * in the features, the methods that need one are skipped (listed in `metrics.skipped`).
   */
  methods?: readonly MethodName[];
  /** Seed of every random choice (default 0). */
  seed?: number;
  /** Tau grid of tau-norm and logit adjustment (default 0.0..2.0 step 0.1). */
  tauGrid?: TauGrid;
  /** Sampler of a trained method instead of its row's default, e.g. `{ bsm: "class" }`. */
  samplers?: Readonly<Record<MethodName, SamplerKind>>;
  /** A device to use; by default one is requested and destroyed at the end. */
  gpu?: Gpu;
  /** The features folder, recorded in the metrics. */
  source?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/**
 * Everything stage 2 produced.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSyntheticFeatures } from "../features/synthetic.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { runStage2, type Stage2Result } from "./run.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const features = makeSyntheticFeatures({
 *   trainCounts: [60, 15, 5],
 *   featureDim: 6,
 *   testPerClass: 10,
 * });
 * const result: Stage2Result = await runStage2(features, { methods: ["joint", "ncm"], gpu });
 * assert.deepEqual(Object.keys(result.results), ["joint", "ncm"]);
 * assert.ok(result.setupMs >= 0);
 * gpu.destroy();
 * ```
 */
export interface Stage2Result {
  /** Raw results by method. */
  results: Partial<Record<MethodName, MethodResult>>;
  /** The metrics file contents. */
  metrics: MetricsFile;
  /** Milliseconds spent uploading features (before the first method). */
  setupMs: number;
}

/**
 * Runs the chosen stage-2 methods on a feature folder, on the GPU, and computes the metrics.
 * The same seed gives the same results.
 *
 * @param features The folder, from readFeatureDir.
 * @param options Methods, seed, settings.
 * @returns Raw results and the metrics file.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatMetricsTable } from "../eval/metrics.ts";
 * import { readFeatureDir } from "../features/load.ts";
 * import { writeSyntheticFeatureDir } from "../features/synthetic.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { runStage2 } from "./run.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const dir = await Deno.makeTempDir();
 * await writeSyntheticFeatureDir(dir, {
 *   trainCounts: [60, 15, 5],
 *   featureDim: 6,
 *   testPerClass: 10,
 * });
 * const features = await readFeatureDir(dir);
 * const { metrics } = await runStage2(features, {
 *   methods: ["joint", "crt", "tau"],
 *   seed: 0,
 *   epochs: 2,
 *   batch: 32,
 *   gpu,
 * });
 * const table = formatMetricsTable(metrics).split("\n");
 * assert.equal(table.length, 3 + 3); // a caption, a header, a rule and a row per method
 * assert.deepEqual(Object.keys(metrics.methods), ["joint", "crt", "tau"]);
 * await Deno.remove(dir, { recursive: true });
 * gpu.destroy();
 * ```
 */
export async function runStage2(
  features: FeatureDir,
  options: Stage2Options = {},
): Promise<Stage2Result> {
  const asked = METHOD_NAMES.filter((m) => (options.methods ?? METHOD_NAMES).includes(m));
  const unknown = (options.methods ?? []).filter((m) => !METHOD_NAMES.includes(m));
  if (unknown.length > 0 || asked.length === 0) {
    throw new RangeError(
      `Cannot run stage 2: ${unknown.length > 0 ? `unknown method "${unknown[0]}"` : "no method"}` +
        `; use any of ${METHOD_NAMES.join(", ")}`,
    );
  }
  // A dump from another model may come without its linear classifier: the methods built on it
  // are skipped, and metrics.json says so.
  const skipped: Record<string, string> = {};
  if (!features.classifier) {
    for (const m of asked.filter((m) => methodRow(m)!.needsClassifier)) {
      skipped[m] = NO_CLASSIFIER;
    }
  }
  const methods = asked.filter((m) => !(m in skipped));
  if (methods.length === 0) {
    throw new RangeError(
      `Cannot run stage 2: every method asked for (${asked.join(", ")}) ${NO_CLASSIFIER}; ` +
        `add it or choose others (${METHOD_NAMES.filter((m) => !methodRow(m)!.needsClassifier)})`,
    );
  }
  // Degenerate features (a diverged backbone, a broken export) would give every method chance
  // accuracy with nothing said.
  for (const split of ["train", "val", "test"] as const) {
    const { features: x, rows, dim } = features[split];
    const defect = checkFeatures(x, rows, dim);
    if (defect) {
      throw new RangeError(
        `Cannot run stage 2: the ${split} features ${defect.detail}; re-export them (when they ` +
          `come from ltkit, ${DEGENERATE_ADVICE})`,
      );
    }
  }
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`Cannot run stage 2: seed ${seed} must be a non-negative integer`);
  }
  const grid = options.tauGrid ?? DEFAULT_TAU_GRID;
  tauValues(grid);
  const settings: TrainSettings = {
    epochs: options.epochs ?? DEFAULT_TRAIN_SETTINGS.epochs,
    batch: options.batch ?? DEFAULT_TRAIN_SETTINGS.batch,
    lr: options.lr ?? DEFAULT_TRAIN_SETTINGS.lr,
    momentum: options.momentum ?? DEFAULT_TRAIN_SETTINGS.momentum,
    weightDecay: options.weightDecay ?? DEFAULT_TRAIN_SETTINGS.weightDecay,
  };
  for (const name of Object.keys(options.samplers ?? {})) {
    if (!methodRow(name)?.trains) {
      throw new RangeError(
        `Cannot run stage 2: a sampler is given for "${name}", which is not a trained method`,
      );
    }
  }
  const trainOf = (row: MethodRow): MethodTrainSettings => ({
    sampler: "instance",
    ...settings,
    ...row.defaults,
    ...(options.samplers?.[row.name] ? { sampler: options.samplers[row.name] } : {}),
  });
  const log = options.log ?? (() => {});
  for (const m of Object.keys(skipped)) log(`${methodRow(m)!.label} skipped: ${skipped[m]}`);
  const gpu = options.gpu ?? (await requestGpu());
  const start = performance.now();
  const ctx = await Stage2Context.create(gpu, features);
  const results: Partial<Record<MethodName, MethodResult>> = {};
  let setupMs = 0;
  try {
    await gpu.sync();
    setupMs = performance.now() - start;
    for (const method of methods) {
      const row = methodRow(method)!;
      const result = await row.run(ctx, { seed, train: trainOf(row), tauGrid: grid });
      results[method] = { ...result, name: method };
      log(`${row.label} done in ${result.wallMs.toFixed(0)} ms`);
    }
  } finally {
    ctx.destroy();
    if (!options.gpu) gpu.destroy();
  }
  // What each trained method ran with where it differs from the shared settings, e.g.
  // crt_sampler, lws_weight_decay; recorded for every method of the table, run or not.
  const own: Record<string, unknown> = {};
  for (const name of METHOD_NAMES) {
    const row = methodRow(name)!;
    if (!row.trains) continue;
    const train = trainOf(row);
    for (const key of Object.keys(row.defaults) as (keyof MethodTrainSettings)[]) {
      if (key !== "sampler") own[`${name}_${snakeKey(key)}`] = train[key];
    }
    own[`${name}_sampler`] = train.sampler;
  }
  const metrics = buildMetrics(features, results, {
    seed,
    source: options.source ?? "",
    settings: { ...snake(settings), tau_grid: tauValues(grid), ...own, setup_ms: setupMs },
  });
  if (Object.keys(skipped).length > 0) metrics.skipped = skipped;
  return { results, metrics, setupMs };
}

const NO_CLASSIFIER = "needs the model's linear classifier, and the features have none " +
  "(classifier.arrow beside them, or --classifier FILE)";

function snakeKey(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function snake(settings: TrainSettings): Record<string, number> {
  return {
    epochs: settings.epochs,
    batch: settings.batch,
    lr: settings.lr,
    momentum: settings.momentum,
    weight_decay: settings.weightDecay,
  };
}

/** Mean of each epoch's step losses. */
function epochLoss(stepLoss: Float32Array, perEpoch: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < stepLoss.length; s += perEpoch) {
    const chunk = stepLoss.subarray(s, s + perEpoch);
    out.push(chunk.reduce((a, b) => a + b, 0) / chunk.length);
  }
  return out;
}

/**
 * Builds the metrics file from method results.
 *
 * @param features The feature folder the results came from.
 * @param results Results by method.
 * @param info Seed, source folder and settings to record.
 * @returns The `metrics.json` contents.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeSyntheticFeatures } from "../features/synthetic.ts";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { Stage2Context } from "./context.ts";
 * import { runJoint } from "./joint.ts";
 * import { buildMetrics } from "./run.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const features = makeSyntheticFeatures({
 *   trainCounts: [60, 15, 5],
 *   featureDim: 6,
 *   testPerClass: 10,
 * });
 * const ctx = await Stage2Context.create(gpu, features);
 * const joint = await runJoint(ctx);
 * const metrics = buildMetrics(features, { joint }, { seed: 0, source: "memory", settings: {} });
 * assert.deepEqual(Object.keys(metrics.methods), ["joint"]);
 * assert.deepEqual(metrics.train_class_counts, [60, 15, 5]);
 * ctx.destroy();
 * gpu.destroy();
 * ```
 */
export function buildMetrics(
  features: FeatureDir,
  results: Partial<Record<MethodName, MethodResult>>,
  info: { seed: number; source: string; settings: Record<string, unknown> },
): MetricsFile {
  const meta = features.train.metadata;
  const classes = meta.classCount;
  const { thresholds, groups } = groupsFor(meta.trainClassCounts, meta.profile);
  const methods: Record<string, MethodMetrics> = {};
  for (const name of METHOD_NAMES) {
    const r = results[name];
    if (!r) continue;
    const entry: MethodMetrics = {
      label: methodRow(name)!.label,
      wall_ms: r.wallMs,
      val: splitMetrics(argmaxRows(r.logits.val, classes), features.val.label, groups),
      test: splitMetrics(argmaxRows(r.logits.test, classes), features.test.label, groups),
      weight_norms: classWeightNorms(r.model.weight, classes, meta.featureDim, r.model.scale),
    };
    if (r.tau !== undefined) entry.tau = r.tau;
    if (r.tauCurve) entry.tau_curve = r.tauCurve;
    if (r.stepLoss && r.stepsPerEpoch) entry.train_loss = epochLoss(r.stepLoss, r.stepsPerEpoch);
    entry.calibration = calibrationMetrics(r.logits.test, features.test.label, groups);
    methods[name] = entry;
  }
  return {
    schema: METRICS_SCHEMA,
    version: METRICS_VERSION,
    created: new Date().toISOString(),
    kit_version: KIT_VERSION,
    source: {
      features: info.source,
      checkpoint_sha256: meta.checkpointSha256,
      profile: meta.profile,
      backbone: meta.backbone,
      feature_dim: meta.featureDim,
      class_count: classes,
    },
    train_class_counts: [...meta.trainClassCounts],
    shot_thresholds: thresholds,
    shot_groups: groups,
    seed: info.seed,
    settings: info.settings,
    methods,
  };
}
