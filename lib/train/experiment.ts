/**
 * The whole experiment behind `deno task train`: data, stage 1, feature dumps, stage 2 with
 * every method, metrics and report, in one run folder. Parts can run alone (`--stage1-only`,
 * `--from-checkpoint`, `--resume`, `--stage2-only`).
 *
 * Run folder: `config.json`, `checkpoint.bin`, `features/{train,val,test,classifier}.arrow`,
 * `metrics.json`, `report.md`, `report.html`, `figures/*.svg`, `run.json` (timings, history).
 *
 * @module
 */

import type { LongTailSplits } from "../data/long_tail.ts";
import { loadLongTail } from "../data/source.ts";
import { type Gpu, requestGpu } from "../gpu/device.ts";
import { ResNet } from "../nn/resnet.ts";
import { describeResNet, type ResNetSpec } from "../nn/spec.ts";
import { dumpClassifier, extractFeatures } from "../features/extract.ts";
import { readFeatureDir } from "../features/reader.ts";
import type { FeatureMetadataInput } from "../features/schema.ts";
import { formatMetricsTable, type MetricsFile, writeMetricsFile } from "../eval/metrics.ts";
import { fromMetrics, writeReport } from "../eval/report.ts";
import { runStage2 } from "../stage2/run.ts";
import { loadCheckpoint, sha256Hex, writeFileAtomic } from "./checkpoint.ts";
import {
  type ExperimentConfig,
  modelSpec,
  presetConfig,
  type PresetName,
  stage1Settings,
  validateConfig,
} from "./config.ts";
import { applyOverrides, type TrainArgs } from "./flags.ts";
import { formatDuration, Progress } from "./progress.ts";
import { type EpochRecord, restore, trainStage1 } from "./stage1.ts";
import { timeTrainingStep } from "./step_timings.ts";

/**
 * What a run leaves besides its files.
 *
 * @example
 * ```ts
 * import { presetConfig } from "./config.ts";
 * import type { ExperimentResult } from "./experiment.ts";
 * const result: ExperimentResult = {
 *   dir: "runs/smoke-20250101-120000",
 *   config: presetConfig("smoke"),
 *   metrics: null, // a --stage1-only run
 *   timings: [{ stage: "stage 1", seconds: 42 }],
 *   history: [],
 * };
 * console.log(result.timings[0].stage); // "stage 1"
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
 * import type { RunRecord } from "./experiment.ts";
 * const record: RunRecord = {
 *   name: "cpu-20250101-120000",
 *   created: "2025-01-01T12:00:00.000Z",
 *   adapter: "llvmpipe (LLVM 15.0.6, 256 bits)",
 *   fallbackAdapter: true,
 *   presetReason: "chosen with --preset",
 *   backbone: "resnet8: 1x28x28 -> 16 -> [16x1, 32x1/2, 64x1/2] -> 10",
 *   timings: [],
 *   stage1History: [],
 *   jointTestAccuracy: null,
 * };
 * console.log(JSON.parse(JSON.stringify(record)).fallbackAdapter); // true
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
  /** Wall time of each part of the run. */
  timings: { stage: string; seconds: number }[];
  /** Stage-1 history. */
  stage1History: EpochRecord[];
  /** Test accuracy of the joint classifier, once stage 2 has run. */
  jointTestAccuracy: number | null;
}

/**
 * Picks the preset when none is given: `paper` on a GPU, `cpu` on a software adapter.
 *
 * @example
 * ```ts
 * import { requestGpu } from "../gpu/mod.ts";
 * import { choosePreset } from "./experiment.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * console.log(choosePreset(gpu).preset); // "cpu" on lavapipe, "paper" on a GPU
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

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
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
 * Resolves the run's config from a saved file, a preset and flag overrides.
 *
 * @example
 * ```ts
 * import { requestGpu } from "../gpu/mod.ts";
 * import { resolveConfig } from "./experiment.ts";
 * import { parseTrainArgs } from "./flags.ts";
 * const gpu = await requestGpu({ warnFallback: false });
 * const args = parseTrainArgs(["--preset", "smoke", "--epochs", "3"]);
 * const { config, reason } = await resolveConfig(args, gpu);
 * console.log(config.stage1.epochs, reason); // 3 "chosen with --preset"
 * gpu.destroy();
 * ```
 */
export async function resolveConfig(
  args: TrainArgs,
  gpu: Gpu,
): Promise<{ config: ExperimentConfig; reason: string }> {
  let config: ExperimentConfig;
  let reason: string;
  if (args.resume) {
    config = validateConfig(
      await readJson(`${args.out}/config.json`, "config"),
      `${args.out}/config.json`,
    );
    reason = `resumed from ${args.out}/config.json`;
  } else if (args.config) {
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
  if (args.preset && (args.config || args.resume)) {
    throw new RangeError(
      "Invalid flags: --preset cannot be combined with --config or --resume, which fix the preset",
    );
  }
  applyOverrides(config, args.overrides);
  return { config: validateConfig(config, "settings"), reason };
}

/**
 * Runs the experiment a command line asks for.
 *
 * The example is not run by `deno test --doc`: it needs the Fashion-MNIST files and trains a
 * network for minutes; tests/train/experiment_test.ts runs it end to end.
 *
 * @example
 * ```ts ignore
 * import { parseTrainArgs } from "./flags.ts";
 * const result = await runExperiment(parseTrainArgs(["--preset", "smoke", "--out", "runs/s"]));
 * console.log(result.dir);
 * ```
 */
export async function runExperiment(args: TrainArgs): Promise<ExperimentResult> {
  const started = performance.now();
  const gpu = await requestGpu({ verbose: args.verbose, warnFallback: !args.quiet });
  const log = new Progress("ltkit", { quiet: args.quiet });
  const timings: { stage: string; seconds: number }[] = [];
  const timed = async <T>(stage: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const value = await fn();
    timings.push({ stage, seconds: (performance.now() - t0) / 1000 });
    return value;
  };
  try {
    const { config, reason } = await resolveConfig(args, gpu);
    const dir = args.out ??
      (args.stage2Only ? parentDir(args.features!) : `runs/${config.preset}-${timestamp()}`);
    if (!args.resume && !args.stage2Only && await exists(`${dir}/config.json`)) {
      throw new RangeError(
        `Cannot start a run in ${dir}: it already holds a run; continue it with --resume ` +
          `--out ${dir}, or choose another --out`,
      );
    }
    await Deno.mkdir(`${dir}/features`, { recursive: true });
    await writeFileAtomic(
      `${dir}/config.json`,
      new TextEncoder().encode(JSON.stringify(config, null, 2) + "\n"),
    );
    log.info(`ltkit: preset ${config.preset} (${reason}); run folder ${dir}`);

    let history: EpochRecord[] = [];
    let jointAccuracy: number | null = null;
    let backbone = "";
    let classNames: readonly string[] | undefined;
    const featureDir = args.stage2Only ? args.features! : `${dir}/features`;
    if (!args.stage2Only) {
      const splits = await timed(
        "data",
        () => loadLongTail(config.profile, { dataDir: config.dataDir ?? undefined }),
      );
      log.info(
        `data: ${splits.profile.name}, ${splits.train.set.count} train / ` +
          `${splits.val.set.count} val / ${splits.test.set.count} test images from ${splits.from}`,
      );
      const set = splits.train.set;
      classNames = set.classNames;
      const spec = modelSpec(config, set.classCount, [set.channels, set.height, set.width]);
      backbone = describeResNet(spec);
      if (args.timings) {
        console.log((await timeTrainingStep(gpu, spec, stage1Settings(config))).text);
      }
      const checkpointPath = args.fromCheckpoint ?? `${dir}/checkpoint.bin`;
      let net: ResNet;
      if (args.fromCheckpoint) {
        ({ net, history } = await timed(
          "load checkpoint",
          () => loadNet(gpu, spec, config, args.fromCheckpoint!),
        ));
      } else {
        log.info(`stage 1: ${backbone}, ${config.stage1.epochs} epochs`);
        const result = await timed("stage 1", () =>
          trainStage1(gpu, set, {
            settings: stage1Settings(config),
            spec,
            normalization: splits.profile.normalization,
            checkpointPath,
            resume: args.resume,
            config,
            quiet: args.quiet,
          }));
        net = result.net;
        history = result.history;
      }
      try {
        jointAccuracy = await timed(
          "features",
          () => dumpAll(net, splits, featureDir, checkpointPath, config, backbone, log),
        );
      } finally {
        net.destroy();
      }
    }

    let metrics: MetricsFile | null = null;
    if (!args.stage1Only) {
      metrics = await timed("stage 2", async () => {
        const features = await readFeatureDir(featureDir);
        const { metrics } = await runStage2(features, {
          methods: config.stage2.methods,
          seed: config.seed,
          epochs: config.stage2.epochs,
          batch: config.stage2.batch,
          lr: config.stage2.lr,
          gpu,
          source: featureDir,
          log: args.quiet ? undefined : (line) => log.info(`stage 2: ${line}`),
        });
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
      timings,
      stage1History: history,
      jointTestAccuracy: jointAccuracy,
    };
    await writeFileAtomic(
      `${dir}/run.json`,
      new TextEncoder().encode(JSON.stringify(record, null, 2) + "\n"),
    );
    if (metrics) await writeRunReport(dir, config, record, metrics, classNames);
    log.info(
      `ltkit: done in ${formatDuration(timings[timings.length - 1].seconds)}; results in ${dir}`,
    );
    return { dir, config, metrics, timings, history };
  } finally {
    gpu.destroy();
  }
}

function parentDir(path: string): string {
  const parts = path.replace(/\/+$/, "").split("/");
  parts.pop();
  return parts.length === 0 ? "." : parts.join("/");
}

async function loadNet(
  gpu: Gpu,
  spec: ResNetSpec,
  config: ExperimentConfig,
  path: string,
): Promise<{ net: ResNet; history: EpochRecord[] }> {
  const checkpoint = await loadCheckpoint(path);
  const net = await ResNet.create(gpu, spec, { batch: config.stage1.batch });
  try {
    await restore(net, checkpoint.tensors);
  } catch (error) {
    net.destroy();
    throw error;
  }
  return { net, history: (checkpoint.history ?? []) as EpochRecord[] };
}

async function dumpAll(
  net: ResNet,
  splits: LongTailSplits,
  dir: string,
  checkpointPath: string,
  config: ExperimentConfig,
  backbone: string,
  log: Progress,
): Promise<number> {
  const metadata: FeatureMetadataInput = {
    profile: splits.profile as unknown as Record<string, unknown>,
    trainClassCounts: [...splits.classCounts],
    backbone: { description: backbone, arch: config.model.arch, width: config.model.width },
    checkpointSha256: await sha256Hex(await Deno.readFile(checkpointPath)),
  };
  let jointAccuracy = 0;
  for (const name of ["train", "val", "test"] as const) {
    const split = splits[name];
    const t0 = performance.now();
    const result = await extractFeatures(net, split, name, `${dir}/${name}.arrow`, metadata, {
      normalization: splits.profile.normalization,
      // The training dump stays whole: stage 2 samples it and its class counts define the groups.
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
    }),
  );
}
