/**
 * The whole experiment behind `deno task train`: data, stage 1, feature dumps, stage 2 with
 * every method, metrics and report, in one run folder. Parts can run alone (`--stage1-only`,
 * `--from-checkpoint`, `--resume`, `--stage2-only`).
 *
 * Run folder: `config.json`, `checkpoint.bin`, `features/{train,val,test,classifier}.arrow`,
 * `metrics.json`, `predictions/<method>.arrow`, `report.md`, `report.html`, `figures/*.svg`,
 * `run.json` (timings, history).
 *
 * @module
 */

import type { LongTailSplits } from "../data/long_tail.ts";
import { augmentPad } from "../data/profiles.ts";
import { loadLongTail } from "../data/source.ts";
import { type Gpu, type LowerLimits, requestGpu } from "../gpu/device.ts";
import { hostGpuOptions } from "../io/_gpu_host.ts";
import { exists, parentDir, runStamp } from "../io/_paths.ts";
import { describeMicroBatches, describeMicroBatchPlan, formatSplit } from "../nn/memory.ts";
import { ResNet } from "../nn/resnet.ts";
import { describeResNet, type ResNetSpec } from "../nn/spec.ts";
import { dumpClassifier, extractFeatures } from "./extract.ts";
import { readFeatureDir } from "../features/load.ts";
import type { FeatureDir } from "../features/reader.ts";
import type { FeatureMetadataInput } from "../features/schema.ts";
import { formatMetricsTable, type MetricsFile } from "../eval/metrics.ts";
import { writeMetricsFile } from "../eval/write_metrics.ts";
import { writeStage2Predictions } from "../eval/predictions.ts";
import { publishedFor } from "../eval/published.ts";
import { fromMetrics, writeReport } from "../eval/report.ts";
import { runStage2 } from "../stage2/run.ts";
import { removeStaleTemporaries, writeFileAtomic } from "../io/_atomic.ts";
import { loadCheckpoint, sha256Hex } from "./checkpoint.ts";
import {
  type ExperimentConfig,
  modelSpec,
  presetConfig,
  type PresetName,
  stage1Settings,
  validateConfig,
} from "./config.ts";
import { applyOverrides, applyTrainOverrides, changedSettings, type TrainArgs } from "./flags.ts";
import { formatDuration, Progress } from "./_progress.ts";
import { type EpochRecord, restore, stage1Plan, stepsPerEpoch, trainStage1 } from "./stage1.ts";
import { type TuningRecord, tuningRecord, useTuningRecord } from "../ops/tune.ts";
import { findRecordedTuning } from "./_tuning.ts";
import { timeTrainingStep } from "./_step_timings.ts";
import { findImageListProfile } from "../data/image_list_profiles.ts";
import { extractPackFeatures, type ImageSource } from "./image_source.ts";
import { openPackedSplits, PACK_SPLITS, type PackedSplits } from "./packed_data.ts";

/**
 * What a run leaves besides its files.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { presetConfig } from "./config.ts";
 * import type { ExperimentResult } from "./experiment.ts";
 * const result: ExperimentResult = {
 *   dir: "runs/smoke-20250101-120000",
 *   config: presetConfig("smoke"),
 *   metrics: null, // a --stage1-only run
 *   timings: [{ stage: "stage 1", seconds: 42 }],
 *   history: [],
 * };
 * assert.equal(result.timings[0].stage, "stage 1");
 * ```
 */
export interface ExperimentResult {
  /** The run folder. */
  dir: string;
  /** The resolved config, as saved in `config.json`. */
  config: ExperimentConfig;
  /** The metrics written to `metrics.json`; null when stage 2 did not run. */
  metrics: MetricsFile | null;
  /** Wall time of each part of the run. */
  timings: { stage: string; seconds: number }[];
  /** Stage-1 history (empty when stage 1 did not run). */
  history: EpochRecord[];
}

/**
 * Run-folder bookkeeping written as `run.json`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RunRecord } from "./experiment.ts";
 * const record: RunRecord = {
 *   name: "cpu-20250101-120000",
 *   created: "2025-01-01T12:00:00.000Z",
 *   adapter: "llvmpipe (LLVM 15.0.6, 256 bits)",
 *   fallbackAdapter: true,
 *   presetReason: "chosen with --preset",
 *   backbone: "resnet8: 1x28x28 -> 16 -> [16x1, 32x1/2, 64x1/2] -> 10",
 *   features: null,
 *   timings: [],
 *   stage1History: [],
 *   jointTestAccuracy: null,
 * };
 * assert.ok(JSON.parse(JSON.stringify(record)).fallbackAdapter);
 * ```
 */
export interface RunRecord {
  /** The run folder's name. */
  name: string;
  /** ISO time the run started. */
  created: string;
  /** The adapter's description. */
  adapter: string;
  /** True on a software adapter. */
  fallbackAdapter: boolean;
  /** Why the preset was chosen (or where the config came from). */
  presetReason: string;
  /** One line describing the network ({@link describeResNet}). */
  backbone: string;
  /** The feature folder a `--stage2-only` run used (null when the run made its own). */
  features?: string | null;
  /** Wall time of each part of the run. */
  timings: { stage: string; seconds: number }[];
  /** Stage-1 history. */
  stage1History: EpochRecord[];
  /** Test accuracy of the joint classifier, once stage 2 has run. */
  jointTestAccuracy: number | null;
  /** The kernel variants the run used; `--resume` and `--config` use them again. */
  tuning?: TuningRecord;
  /**
   * How stage 1 split each batch on this device (count 1: whole). Batch-norm statistics and
   * running-statistic updates are per micro-batch of `size` images. Absent when it did not run.
   */
  stage1MicroBatches?: { count: number; size: number };
}

/**
 * Picks the preset when none is given: `paper` on a GPU, `cpu` on a software adapter.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { choosePreset } from "./experiment.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * // "cpu" on lavapipe, "paper" on a GPU.
 * assert.equal(choosePreset(gpu).preset, gpu.isFallback ? "cpu" : "paper");
 * gpu.destroy();
 * ```
 */
export function choosePreset(gpu: Gpu): { preset: PresetName; reason: string } {
  return gpu.isFallback
    ? {
      preset: "cpu",
      reason: `the adapter "${gpu.adapter.description}" is a software fallback, where the ` +
        `paper preset would take hours; cpu trains fewer epochs of the same recipe`,
    }
    : {
      preset: "paper",
      reason: `the adapter "${gpu.adapter.description}" is a hardware GPU`,
    };
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(`Cannot read ${what} ${path}: no such file`);
    }
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(
      `Cannot read ${what} ${path}: not valid JSON (${(error as Error).message})`,
    );
  }
}

/**
 * Resolves the run's config from a saved file, a preset and flag overrides. A resumed run keeps
 * its own config: a flag that would change a result is refused, naming the flag, the stored value
 * and the given one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "../gpu/mod.ts";
 * import { resolveConfig } from "./experiment.ts";
 * import { parseTrainArgs } from "./flags.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args = parseTrainArgs(["--preset", "smoke", "--epochs", "3"]);
 * const { config, reason } = await resolveConfig(args, gpu);
 * assert.equal(config.stage1.epochs, 3);
 * assert.equal(reason, "chosen with --preset");
 * gpu.destroy();
 * ```
 */
export async function resolveConfig(
  args: TrainArgs,
  gpu: Gpu,
): Promise<{ config: ExperimentConfig; reason: string }> {
  if (args.preset && (args.config || args.resume)) {
    throw new RangeError(
      "Invalid flags: --preset cannot be combined with --config or --resume, which fix the preset",
    );
  }
  let config: ExperimentConfig;
  let reason: string;
  if (args.resume) {
    const path = `${args.out}/config.json`;
    config = validateConfig(await readJson(path, "config"), path);
    const changed = changedSettings(config, args.overrides);
    if (changed.length > 0) {
      const list = changed.map((c) => `${c.flag} (the run has ${c.field} ${c.stored})`);
      throw new RangeError(
        `Cannot resume ${args.out} with new settings: ${list.join(", ")}. A resumed run keeps ` +
          `the settings in ${path}; drop ${changed.length === 1 ? "that flag" : "those flags"}, ` +
          `or start a new run from its config: --config ${path} ${
            changed.map((c) => c.flag).join(" ")
          } --out NEW_DIR`,
      );
    }
    // Flags that change no result (where the data lives) still apply to this process.
    applyOverrides(config, args.overrides);
    return { config: validateConfig(config, "settings"), reason: `resumed from ${path}` };
  }
  if (args.config) {
    config = validateConfig(await readJson(args.config, "config"), args.config);
    reason = `loaded from ${args.config}`;
  } else if (
    args.stage2Only && !args.preset && await exists(`${parentDir(args.features!)}/config.json`)
  ) {
    // Stage 2 alone on a run's features repeats that run's stage-2 settings.
    const path = `${parentDir(args.features!)}/config.json`;
    config = validateConfig(await readJson(path, "config"), path);
    reason = `the features' run config ${path}`;
  } else if (args.preset) {
    config = presetConfig(args.preset);
    reason = "chosen with --preset";
  } else {
    const chosen = choosePreset(gpu);
    config = presetConfig(chosen.preset);
    reason = chosen.reason;
  }
  const scaled = applyTrainOverrides(config, args.overrides);
  if (scaled) reason += `; ${scaled}`;
  const from = config.stage1.lrScaledFrom;
  try {
    return { config: validateConfig(config, "settings"), reason };
  } catch (error) {
    // A rate the user never gave is out of range: say where it came from.
    if (from && error instanceof RangeError && /stage1\.lr is/.test(error.message)) {
      throw new RangeError(
        `${error.message}; it was scaled linearly with --batch (${from.lr} x ` +
          `${config.stage1.batch} / ${from.batch}); give --lr`,
      );
    }
    throw error;
  }
}

/**
 * The run folder a command line writes to: `--out`, else a new `runs/<preset>-<time>` (or
 * `runs/stage2-<time>` for `--stage2-only`, which never writes into the features' run).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { presetConfig } from "./config.ts";
 * import { runFolder } from "./experiment.ts";
 * import { parseTrainArgs } from "./flags.ts";
 * const args = parseTrainArgs(["--stage2-only", "--features", "runs/a/features"]);
 * assert.match(runFolder(args, presetConfig("cpu")), /^runs\/stage2-\d{8}-\d{6}$/);
 * ```
 */
export function runFolder(args: TrainArgs, config: ExperimentConfig): string {
  if (args.out) return args.out.replace(/\/+$/, "") || "/";
  return `runs/${args.stage2Only ? "stage2" : config.preset}-${runStamp()}`;
}

/**
 * Refuses, before anything is written, a command that would overwrite a finished result: a new
 * run in a folder that holds one, or `--resume` of a run that already finished (its `run.json`
 * is written last).
 */
async function refuseOverwrite(dir: string, args: TrainArgs): Promise<void> {
  if (args.resume) {
    if (await exists(`${dir}/run.json`)) {
      throw new RangeError(
        `Cannot resume ${dir}: the run has finished (${dir}/run.json is written) and its ` +
          `results stay as they are; run stage 2 again into a new folder with --stage2-only ` +
          `--features ${dir}/features, or start a new run with --config ${dir}/config.json --out ` +
          `NEW_DIR`,
      );
    }
    return;
  }
  if (await exists(`${dir}/config.json`)) {
    throw new RangeError(
      `Cannot start a run in ${dir}: it already holds a run; continue it with --resume ` +
        `--out ${dir}, or choose another --out`,
    );
  }
}

/** The schedule of every step lives in one GPU buffer; this many steps fill 64 MiB. */
const MAX_TOTAL_STEPS = 1 << 24;

/**
 * Runs the experiment a command line asks for. Everything that can be checked (flags, config,
 * data, feature files, sizes) is checked before the run folder is created, and a run that fails
 * before its first checkpoint leaves no folder behind.
 *
 * The example is not run by `deno test --doc`: it needs the Fashion-MNIST files and trains a
 * network for minutes; tests/train/experiment_test.ts runs it end to end.
 *
 * @param args The parsed command line.
 * @param lowerLimits Device limits to obey as if the adapter had them (tests of the splitting
 *   of work past the limits; default none).
 * @returns The run folder, config, metrics, timings and stage-1 history.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { parseTrainArgs } from "./flags.ts";
 * const result = await runExperiment(parseTrainArgs(["--preset", "smoke", "--out", "runs/s"]));
 * assert.equal(result.dir, "runs/s");
 * ```
 */
export async function runExperiment(
  args: TrainArgs,
  lowerLimits: LowerLimits = {},
): Promise<ExperimentResult> {
  const started = performance.now();
  const gpu = await requestGpu({
    verbose: args.verbose,
    warnFallback: !args.quiet,
    ...hostGpuOptions(),
    lowerLimits,
  });
  const log = new Progress("ltkit", { quiet: args.quiet });
  const timings: { stage: string; seconds: number }[] = [];
  const timed = async <T>(stage: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const value = await fn();
    timings.push({ stage, seconds: (performance.now() - t0) / 1000 });
    return value;
  };
  let dir = "";
  let createdDir = false;
  try {
    const { config, reason } = await resolveConfig(args, gpu);
    dir = runFolder(args, config);
    // Two runs started in the same second get their own default folders.
    for (let n = 2; !args.out && await exists(dir); n++) dir = `${runFolder(args, config)}-${n}`;
    await refuseOverwrite(dir, args);

    // Inputs are read and sizes checked before the run folder exists.
    let splits: (LongTailSplits & { from: string }) | null = null;
    // Image-list profiles train from packs (lib/train/packed_data.ts), streamed from disk.
    let packed: PackedSplits | null = null;
    let spec: ResNetSpec | null = null;
    let backbone = "";
    let history: EpochRecord[] = [];
    let microBatches: { count: number; size: number } | null = null;
    let classNames: readonly string[] | undefined;
    let features: FeatureDir | null = null;
    let featuresRun: RunRecord | null = null;
    if (args.stage2Only) {
      features = await readFeatureDir(args.features!);
      featuresRun = await readRunRecord(parentDir(args.features!));
      backbone = featuresRun?.backbone ?? "";
      history = featuresRun?.stage1History ?? [];
    } else {
      const listProfile = findImageListProfile(config.profile);
      let count: number;
      if (listProfile) {
        packed = await timed("data", () => openPackedSplits(listProfile, config.dataDir));
        const size = packed.train.crop.size;
        spec = modelSpec(config, listProfile.classCount, [3, size, size]);
        count = packed.train.rows;
        if (config.evalLimit !== null) {
          throw new RangeError(
            `Cannot extract features of ${config.profile}: --eval-limit ${config.evalLimit} ` +
              "applies to in-memory data sets only (packs are read whole, in order); give " +
              "--eval-limit null",
          );
        }
      } else {
        splits = await timed(
          "data",
          () => loadLongTail(config.profile, { dataDir: config.dataDir ?? undefined }),
        );
        const set = splits.train.set;
        classNames = set.classNames;
        spec = modelSpec(config, set.classCount, [set.channels, set.height, set.width]);
        count = set.count;
      }
      backbone = describeResNet(spec);
      if (!args.fromCheckpoint) {
        const total = stepsPerEpoch(count, stage1Settings(config)) * config.stage1.epochs;
        if (total > MAX_TOTAL_STEPS) {
          throw new RangeError(
            `Cannot train stage 1: ${config.stage1.epochs} epochs make ${total} steps, more ` +
              `than the ${MAX_TOTAL_STEPS} a schedule holds; lower --epochs or --steps-per-epoch`,
          );
        }
      }
    }

    createdDir = !(await exists(dir));
    await Deno.mkdir(args.stage2Only ? dir : `${dir}/features`, { recursive: true });
    // A resumed or reused folder may hold temporaries of a killed run; they would stay forever.
    for (const d of [dir, `${dir}/features`, `${dir}/figures`]) await removeStaleTemporaries(d);
    if (!args.resume) {
      await writeFileAtomic(
        `${dir}/config.json`,
        new TextEncoder().encode(JSON.stringify(config, null, 2) + "\n"),
        "config",
      );
    }
    log.info(`ltkit: preset ${config.preset} (${reason}); run folder ${dir}`);
    const reused = await findRecordedTuning(args, dir);
    if (reused) {
      useTuningRecord(gpu, reused.record);
      log.info(`ltkit: kernel variants as recorded in ${reused.from}`);
    }

    let jointAccuracy: number | null = null;
    const featureDir = args.stage2Only ? args.features! : `${dir}/features`;
    const data = splits ?? packed;
    if (data && spec) {
      log.info(
        splits
          ? `data: ${splits.profile.name}, ${splits.train.set.count} train / ` +
            `${splits.val.set.count} val / ${splits.test.set.count} test images from ${splits.from}`
          : `data: ${packed!.profile.name}, ${packed!.train.rows} train / ${packed!.val.rows} ` +
            `val / ${packed!.test.rows} test images packed at ${packed!.size} in ${packed!.from}` +
            (packed!.val.subset
              ? ` (val drawn from train; ${packed!.tooSmall.length} classes too small to give any)`
              : ""),
      );
      if (args.timings) {
        console.log((await timeTrainingStep(gpu, spec, stage1Settings(config))).text);
      }
      const checkpointPath = args.fromCheckpoint ?? `${dir}/checkpoint.bin`;
      let net: ResNet;
      if (args.fromCheckpoint) {
        ({ net, history, microBatches } = await timed(
          "load checkpoint",
          () => loadNet(gpu, spec!, config, args.fromCheckpoint!),
        ));
      } else {
        const plan = stage1Plan(gpu, spec, config.stage1.batch);
        log.info(
          `stage 1: ${backbone}, ${config.stage1.epochs} epochs; ${describeMicroBatchPlan(plan)}`,
        );
        const before = args.config
          ? (await readRunRecord(parentDir(args.config)))?.stage1MicroBatches
          : undefined;
        if (before && before.count !== plan.count) {
          // Batch-norm statistics are per micro-batch: the rerun cannot reproduce the numbers.
          log.info(
            `ltkit: warning: the run of ${args.config} ran batch ${plan.batch} ` +
              `${formatSplit(before)}, this device runs it ${formatSplit(plan)}; batch-norm ` +
              "statistics are per micro-batch, so the numbers differ from that run's (rerun on " +
              "a device with its buffer limits to reproduce them)",
          );
        }
        const train: ImageSource = splits ? splits.train.set : packed!.train;
        const result = await timed("stage 1", () =>
          trainStage1(gpu, train, {
            settings: stage1Settings(config),
            spec: spec!,
            normalization: data.profile.normalization,
            augmentPad: splits ? augmentPad(splits.profile) : undefined,
            checkpointPath,
            resume: args.resume,
            config,
            quiet: args.quiet,
          }));
        net = result.net;
        history = result.history;
        microBatches = result.microBatches;
      }
      try {
        jointAccuracy = await timed(
          "features",
          () => dumpAll(net, data, featureDir, checkpointPath, config, backbone, log),
        );
      } finally {
        net.destroy();
      }
    }

    let metrics: MetricsFile | null = null;
    if (!args.stage1Only) {
      metrics = await timed("stage 2", async () => {
        const input = features ?? await readFeatureDir(featureDir);
        const { metrics, results } = await runStage2(input, {
          methods: config.stage2.methods,
          seed: config.seed,
          epochs: config.stage2.epochs,
          batch: config.stage2.batch,
          lr: config.stage2.lr,
          gpu,
          source: featureDir,
          log: args.quiet ? undefined : (line) => log.info(`stage 2: ${line}`),
        });
        await writeStage2Predictions(dir, input.test, results, metrics);
        return metrics;
      });
      await writeMetricsFile(`${dir}/metrics.json`, metrics);
      if (!args.quiet) console.log(formatMetricsTable(metrics));
    }
    timings.push({ stage: "total", seconds: (performance.now() - started) / 1000 });
    const record: RunRecord = {
      name: dir.split("/").filter(Boolean).pop() ?? dir,
      created: new Date().toISOString(),
      adapter: gpu.adapter.description,
      fallbackAdapter: gpu.isFallback,
      presetReason: reason,
      backbone,
      features: args.stage2Only ? args.features : null,
      timings,
      stage1History: history,
      jointTestAccuracy: jointAccuracy ?? featuresRun?.jointTestAccuracy ?? null,
      tuning: tuningRecord(gpu),
      ...(microBatches ? { stage1MicroBatches: microBatches } : {}),
    };
    if (metrics) await writeRunReport(dir, config, record, metrics, classNames);
    // run.json comes last: its presence marks the run as finished.
    await writeFileAtomic(
      `${dir}/run.json`,
      new TextEncoder().encode(JSON.stringify(record, null, 2) + "\n"),
      "run record",
    );
    log.info(
      `ltkit: done in ${formatDuration(timings[timings.length - 1].seconds)}; results in ${dir}`,
    );
    return { dir, config, metrics, timings, history };
  } catch (error) {
    // Nothing worth keeping exists before the first checkpoint: leave no folder that blocks --out.
    if (createdDir && !(await exists(`${dir}/checkpoint.bin`))) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
    throw error;
  } finally {
    gpu.destroy();
  }
}

/** The `run.json` of a run folder, or null when it has none (features from elsewhere). */
async function readRunRecord(dir: string): Promise<RunRecord | null> {
  const path = `${dir}/run.json`;
  if (!(await exists(path))) return null;
  const value = await readJson(path, "run record");
  if (
    typeof value !== "object" || value === null ||
    !Array.isArray((value as RunRecord).stage1History)
  ) {
    throw new SyntaxError(`Cannot read run record ${path}: it has no stage1History list`);
  }
  return value as RunRecord;
}

async function loadNet(
  gpu: Gpu,
  spec: ResNetSpec,
  config: ExperimentConfig,
  path: string,
): Promise<
  { net: ResNet; history: EpochRecord[]; microBatches: { count: number; size: number } | null }
> {
  const checkpoint = await loadCheckpoint(path);
  // Extraction runs in eval mode (running statistics): any batch gives the same features, so
  // the network is built at the micro-batch this device trains with, which always fits.
  const net = await ResNet.create(gpu, spec, {
    batch: stage1Plan(gpu, spec, config.stage1.batch).size,
  });
  try {
    await restore(net, checkpoint.tensors);
  } catch (error) {
    net.destroy();
    throw error;
  }
  return {
    net,
    history: (checkpoint.history ?? []) as EpochRecord[],
    microBatches: checkpoint.microBatches ?? null,
  };
}

async function dumpAll(
  net: ResNet,
  splits: LongTailSplits | PackedSplits,
  dir: string,
  checkpointPath: string,
  config: ExperimentConfig,
  backbone: string,
  log: Progress,
): Promise<number> {
  const metadata: FeatureMetadataInput = {
    profile: splits.profile as unknown as Record<string, unknown>,
    trainClassCounts: [...splits.classCounts],
    backbone: { description: backbone, ...config.model },
    checkpointSha256: await sha256Hex(await Deno.readFile(checkpointPath)),
  };
  let jointAccuracy = 0;
  for (const name of PACK_SPLITS) {
    const split = splits[name];
    const t0 = performance.now();
    const path = `${dir}/${name}.arrow`;
    const result = "pack" in split
      ? await extractPackFeatures(net, split, name, path, metadata)
      : await extractFeatures(net, split, name, path, metadata, {
        normalization: splits.profile.normalization,
        // The training dump stays whole: stage 2 samples it and its class counts define the
        // groups.
        limit: name === "train" ? null : config.evalLimit,
      });
    log.info(
      `features: ${name} ${result.rows} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s` +
        `, joint accuracy ${(100 * result.correct / result.rows).toFixed(2)}%`,
    );
    if (name === "test") jointAccuracy = result.correct / result.rows;
  }
  await dumpClassifier(net, `${dir}/classifier.arrow`, metadata);
  return jointAccuracy;
}

/** Writes report.md, report.html and the figures. */
async function writeRunReport(
  dir: string,
  config: ExperimentConfig,
  record: RunRecord,
  metrics: MetricsFile,
  classes: readonly string[] | undefined,
): Promise<void> {
  const notes = record.backbone ? [`Backbone: ${record.backbone}.`] : [];
  if (record.stage1MicroBatches) {
    const split = { batch: config.stage1.batch, ...record.stage1MicroBatches };
    notes.push(
      `Stage 1 on this device: ${describeMicroBatches(split)}` +
        (split.count > 1
          ? `; a device with other buffer limits may split it otherwise and get other numbers.`
          : "."),
    );
  }
  if (record.jointTestAccuracy !== null) {
    notes.push(
      `The stage-1 network's own classifier gets ${(100 * record.jointTestAccuracy).toFixed(2)}% ` +
        `of the test images right (plain accuracy, not the per-class mean).`,
    );
  }
  await writeReport(
    dir,
    fromMetrics(metrics, {
      name: record.name,
      adapter: `${record.adapter}${record.fallbackAdapter ? " (software fallback)" : ""}`,
      preset: config.preset,
      presetReason: record.presetReason,
      config,
      createdAt: record.created,
      timings: record.timings,
      stage1History: record.stage1History,
      classes,
      notes,
      published: publishedFor(config.profile, config.model.arch, config.model.shortcut),
    }),
  );
}
