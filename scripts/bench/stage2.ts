/**
 * Benchmark section "stage2": wall time of every stage-2 method on synthetic features of a
 * chosen scale ({@link STAGE2_SCALES}): by default Fashion-MNIST-LT-100's size (14,866 x 64
 * train, 200 val, 10,000 test, 10 classes), where one untimed run compiles the pipelines and the
 * timed run follows, with targets (2-core CPU software adapter): all methods together under 3 s,
 * cRT's 10 epochs under 1 s. `imagenet-lt` and `inat2018` have those data sets' shapes (2048-d
 * features, 1000 or 8142 classes, long-tailed training counts) and run once.
 *
 * Standalone: `deno run -A scripts/bench/stage2.ts [--seed N] [--scale NAME] [--epochs N]`;
 * in `deno task bench`: `--stage2-scale NAME --stage2-epochs N`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { makeSyntheticFeatures, type SyntheticOptions } from "../../lib/features/synthetic.ts";
import { type Gpu, requestGpu } from "../../lib/gpu/device.ts";
import { hostGpuOptions } from "../../lib/io/_gpu_host.ts";
import { chunkRows } from "../../lib/stage2/context.ts";
import { paddedDim } from "../../lib/ops/classifier.ts";
import type { MethodName } from "../../lib/stage2/method.ts";
import { METHOD_NAMES, methodRow } from "../../lib/stage2/registry.ts";
import { DEFAULT_TRAIN_SETTINGS } from "../../lib/stage2/method.ts";
import { runStage2 } from "../../lib/stage2/run.ts";

/**
 * Training counts of `classes` classes falling from `head` to `tail` images, summing to `total`:
 * `tail + (head - tail) * (1 - i / (C - 1))^p` with p found by bisection, rounded down, the
 * remainder given one image each to the classes after the head (the order stays non-increasing).
 *
 * @example
 * ```ts
 * import { longTailCounts } from "./stage2.ts";
 * const counts = longTailCounts(1000, 1280, 5, 115846); // ImageNet-LT's shape
 * console.log(counts[0], counts[999], counts.reduce((a, b) => a + b, 0)); // 1280 5 115846
 * ```
 */
export function longTailCounts(
  classes: number,
  head: number,
  tail: number,
  total: number,
): number[] {
  const at = (p: number) =>
    Array.from(
      { length: classes },
      (_, i) => Math.floor(tail + (head - tail) * (1 - i / (classes - 1)) ** p),
    );
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  let lo = 0;
  let hi = 1000;
  for (let k = 0; k < 100; k++) {
    const mid = (lo + hi) / 2;
    if (sum(at(mid)) > total) lo = mid;
    else hi = mid;
  }
  const counts = at(hi);
  const missing = total - sum(counts);
  if (missing < 0 || missing >= classes - 1) {
    throw new RangeError(
      `Cannot make ${classes} long-tailed counts from ${head} to ${tail} summing to ${total}`,
    );
  }
  for (let i = 1; i <= missing; i++) counts[i]++;
  return counts;
}

/** One feature-set shape of the benchmark. */
export interface Stage2Scale {
  /** What it stands for. */
  description: string;
  /** The synthetic features. */
  features(seed: number): SyntheticOptions;
  /** Whether a first (compiling) run precedes the timed one. */
  warmUp: boolean;
}

/**
 * The shapes `--stage2-scale` offers. At the two large ones the joint classifier is left at its
 * random start (its CPU training would take hours), so accuracies mean nothing there: they time
 * the methods at the data sets' shapes.
 *
 * @example
 * ```ts
 * import { STAGE2_SCALES } from "./stage2.ts";
 * console.log(Object.keys(STAGE2_SCALES)); // ["fashion-lt", "imagenet-lt", "inat2018"]
 * ```
 */
export const STAGE2_SCALES: Readonly<Record<string, Stage2Scale>> = Object.freeze({
  "fashion-lt": {
    description: "Fashion-MNIST-LT-100: 14,866 x 64 train, 200 val, 10,000 test, 10 classes",
    features: (seed: number) => ({ seed }),
    warmUp: true,
  },
  "imagenet-lt": {
    description: "ImageNet-LT: 115,846 x 2048 train (1280..5 per class), 20,000 val, " +
      "50,000 test, 1000 classes",
    features: (seed: number) => ({
      seed,
      trainCounts: longTailCounts(1000, 1280, 5, 115846),
      featureDim: 2048,
      valPerClass: 20,
      testPerClass: 50,
      jointEpochs: 0,
      shotThresholds: { many: 100, few: 20 },
    }),
    warmUp: false,
  },
  "inat2018": {
    description: "iNaturalist 2018: 437,513 x 2048 train (1000..2 per class), 24,426 val, " +
      "24,426 test, 8142 classes",
    features: (seed: number) => ({
      seed,
      trainCounts: longTailCounts(8142, 1000, 2, 437513),
      featureDim: 2048,
      valPerClass: 3,
      testPerClass: 3,
      jointEpochs: 0,
      shotThresholds: { many: 100, few: 20 },
    }),
    warmUp: false,
  },
});

/** Targets of issue 5, in milliseconds. */
export const STAGE2_TARGETS = Object.freeze({ allMs: 3000, crtMs: 1000 });

/** What the stage-2 benchmark measured. */
export interface Stage2Bench {
  adapter: string;
  /** The {@link STAGE2_SCALES} name. */
  scale: string;
  /** Epochs of cRT, LWS and balanced softmax. */
  epochs: number;
  /** Rows per chunk of feature rows on this device, and the training features' chunks. */
  chunks: { rows: number; train: number };
  /** Making the synthetic features on the CPU. */
  makeMs: number;
  rows: { train: number; val: number; test: number; dim: number; classes: number };
  /** Uploading the features to the GPU, warm run. */
  setupMs: number;
  /** Wall time of each method, warm run. */
  methods: Record<MethodName, number>;
  /** Sum over methods, warm run. */
  allMs: number;
  /** The first (cold: pipeline compilation included) run's methods, summed (the timed run's
   * when there is no warm-up). */
  coldAllMs: number;
  /** Test balanced accuracy of each method (a sanity check on the numbers). */
  testAll: Record<MethodName, number>;
}

/**
 * Runs the benchmark.
 *
 * @param options A device to reuse (else one is made and destroyed), the seed, the scale
 *   (default `fashion-lt`) and the training epochs (default the recipe's).
 * @returns The figures.
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * assert.match(formatStage2Bench(await benchStage2()), /^stage 2 on \d+ x \d+ train/);
 * ```
 */
export async function benchStage2(
  options: {
    gpu?: Gpu;
    seed?: number;
    scale?: string;
    epochs?: number;
    log?: (line: string) => void;
  } = {},
): Promise<Stage2Bench> {
  const seed = options.seed ?? 0;
  const scaleName = options.scale ?? "fashion-lt";
  const scale = STAGE2_SCALES[scaleName];
  if (!scale) {
    throw new RangeError(
      `Cannot run the stage-2 bench: no scale "${scaleName}"; use one of ` +
        Object.keys(STAGE2_SCALES).join(", "),
    );
  }
  const made = performance.now();
  const set = makeSyntheticFeatures(scale.features(seed));
  const makeMs = performance.now() - made;
  options.log?.(`features made in ${(makeMs / 1000).toFixed(1)} s`);
  const gpu = options.gpu ?? (await requestGpu({ warnFallback: false, ...hostGpuOptions() }));
  try {
    const run = {
      gpu,
      seed,
      log: options.log,
      ...(options.epochs ? { epochs: options.epochs } : {}),
    };
    const cold = scale.warmUp ? await runStage2(set, run) : null;
    const warm = await runStage2(set, run);
    const methods = {} as Record<MethodName, number>;
    const testAll = {} as Record<MethodName, number>;
    let coldAllMs = 0;
    for (const m of METHOD_NAMES) {
      methods[m] = warm.results[m]!.wallMs;
      testAll[m] = warm.metrics.methods[m].test.all;
      coldAllMs += (cold ?? warm).results[m]!.wallMs;
    }
    const dp = paddedDim(set.train.dim);
    const perChunk = chunkRows(gpu, dp, set.train.classCount);
    return {
      adapter: gpu.adapter.description + (gpu.isFallback ? " (software)" : ""),
      scale: scaleName,
      epochs: options.epochs ?? DEFAULT_TRAIN_SETTINGS.epochs,
      chunks: { rows: perChunk, train: Math.ceil(set.train.rows / perChunk) },
      makeMs,
      rows: {
        train: set.train.rows,
        val: set.val.rows,
        test: set.test.rows,
        dim: set.train.dim,
        classes: set.train.classCount,
      },
      setupMs: warm.setupMs,
      methods,
      allMs: Object.values(methods).reduce((a, b) => a + b, 0),
      coldAllMs,
      testAll,
    };
  } finally {
    if (!options.gpu) gpu.destroy();
  }
}

/** The figures as a table, with the targets. */
export function formatStage2Bench(b: Stage2Bench): string {
  const lines = [
    `stage 2 (${b.scale}) on ${b.rows.train} x ${b.rows.dim} train, ${b.rows.val} val, ` +
    `${b.rows.test} test, ${b.rows.classes} classes, ${b.epochs} training epochs (${b.adapter}); ` +
    `${b.chunks.train} chunk(s) of up to ${b.chunks.rows} rows`,
    `  ${"method".padEnd(24)} ${"ms".padStart(8)} ${"test All %".padStart(11)}`,
  ];
  for (const m of METHOD_NAMES) {
    lines.push(
      `  ${methodRow(m)!.label.padEnd(24)} ${b.methods[m].toFixed(0).padStart(8)} ` +
        `${(100 * b.testAll[m]).toFixed(2).padStart(11)}`,
    );
  }
  const mark = (ok: boolean) => (ok ? "ok" : "MISSED");
  lines.push(`  ${"upload (setup)".padEnd(24)} ${b.setupMs.toFixed(0).padStart(8)}`);
  if (b.scale !== "fashion-lt") {
    lines.push(
      `  all methods ${(b.allMs / 1000).toFixed(1)} s; features made on the CPU in ` +
        `${(b.makeMs / 1000).toFixed(1)} s; accuracies are meaningless here (untrained joint ` +
        `classifier)`,
    );
    return lines.join("\n");
  }
  lines.push(
    `  all methods ${b.allMs.toFixed(0)} ms (target < ${STAGE2_TARGETS.allMs}: ` +
      `${mark(b.allMs < STAGE2_TARGETS.allMs)}); cRT ${b.methods.crt.toFixed(0)} ms (target < ` +
      `${STAGE2_TARGETS.crtMs}: ${mark(b.methods.crt < STAGE2_TARGETS.crtMs)}); first run with ` +
      `pipeline compilation ${b.coldAllMs.toFixed(0)} ms`,
  );
  return lines.join("\n");
}

/** One figure of a benchmark (the shape scripts/bench/softmax.ts reports). */
export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
}

/** The figures as a flat list: each method's wall time, all methods, setup, cold run. */
export function stage2BenchFigures(b: Stage2Bench): BenchFigure[] {
  return [
    ...METHOD_NAMES.map((m) => ({
      name: `stage2 ${b.scale === "fashion-lt" ? "" : `${b.scale} `}${m}`,
      value: b.methods[m],
      unit: "ms",
    })),
    { name: "stage2 all methods", value: b.allMs, unit: "ms" },
    { name: "stage2 upload", value: b.setupMs, unit: "ms" },
    { name: "stage2 all methods, first run", value: b.coldAllMs, unit: "ms" },
  ];
}

/** The section, for scripts/bench.ts: run it, print `text`, record `figures`. */
export const stage2Section: {
  name: string;
  description: string;
  run(
    gpu?: Gpu,
    options?: { scale?: string; epochs?: number },
  ): Promise<{ result: Stage2Bench; figures: BenchFigure[]; text: string }>;
} = {
  name: "stage2",
  description: "stage-2 wall time of every method, Fashion-MNIST-LT-100-sized features " +
    "(--stage2-scale imagenet-lt or inat2018 for those shapes)",
  async run(gpu?: Gpu, options: { scale?: string; epochs?: number } = {}) {
    const result = await benchStage2({ gpu, ...options });
    return { result, figures: stage2BenchFigures(result), text: formatStage2Bench(result) };
  },
};

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { seed: { type: "string" }, scale: { type: "string" }, epochs: { type: "string" } },
  });
  console.log(formatStage2Bench(
    await benchStage2({
      seed: Number(values.seed ?? 0),
      scale: values.scale,
      epochs: values.epochs === undefined ? undefined : Number(values.epochs),
      log: (line) => console.error(`[${new Date().toISOString()}] ${line}`),
    }),
  ));
}
