/**
 * Benchmark section "stage2": wall time of every stage-2 method on a Fashion-MNIST-LT-100-sized
 * synthetic feature set (14,866 x 64 train, 200 val, 10,000 test, 10 classes). One untimed run
 * compiles the pipelines; the timed run follows. Targets (2-core CPU software adapter): all
 * methods together under 3 s, cRT's 10 epochs under 1 s.
 *
 * Standalone: `deno run scripts/bench/stage2.ts [--seed N]`.
 *
 * @module
 */

import { makeSyntheticFeatures } from "../../lib/features/synthetic.ts";
import { type Gpu, requestGpu } from "../../lib/gpu/device.ts";
import { hostGpuOptions } from "../../lib/io/gpu_host.ts";
import type { MethodName } from "../../lib/stage2/method.ts";
import { METHOD_NAMES, methodRow } from "../../lib/stage2/registry.ts";
import { runStage2 } from "../../lib/stage2/run.ts";

/** Targets of issue 5, in milliseconds. */
export const STAGE2_TARGETS = Object.freeze({ allMs: 3000, crtMs: 1000 });

/** What the stage-2 benchmark measured. */
export interface Stage2Bench {
  adapter: string;
  rows: { train: number; val: number; test: number; dim: number; classes: number };
  /** Uploading the features to the GPU, warm run. */
  setupMs: number;
  /** Wall time of each method, warm run. */
  methods: Record<MethodName, number>;
  /** Sum over methods, warm run. */
  allMs: number;
  /** The first (cold: pipeline compilation included) run's methods, summed. */
  coldAllMs: number;
  /** Test balanced accuracy of each method (a sanity check on the numbers). */
  testAll: Record<MethodName, number>;
}

/**
 * Runs the benchmark.
 *
 * @param options A device to reuse (else one is made and destroyed) and the seed.
 * @returns The figures.
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * assert.match(formatStage2Bench(await benchStage2()), /^stage 2 on \d+ x \d+ train/);
 * ```
 */
export async function benchStage2(
  options: { gpu?: Gpu; seed?: number } = {},
): Promise<Stage2Bench> {
  const seed = options.seed ?? 0;
  const set = makeSyntheticFeatures({ seed });
  const gpu = options.gpu ?? (await requestGpu({ warnFallback: false, ...hostGpuOptions() }));
  try {
    const cold = await runStage2(set, { gpu, seed });
    const warm = await runStage2(set, { gpu, seed });
    const methods = {} as Record<MethodName, number>;
    const testAll = {} as Record<MethodName, number>;
    let coldAllMs = 0;
    for (const m of METHOD_NAMES) {
      methods[m] = warm.results[m]!.wallMs;
      testAll[m] = warm.metrics.methods[m].test.all;
      coldAllMs += cold.results[m]!.wallMs;
    }
    return {
      adapter: gpu.adapter.description + (gpu.isFallback ? " (software)" : ""),
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
    `stage 2 on ${b.rows.train} x ${b.rows.dim} train, ${b.rows.val} val, ${b.rows.test} test, ` +
    `${b.rows.classes} classes (${b.adapter})`,
    `  ${"method".padEnd(24)} ${"ms".padStart(8)} ${"test All %".padStart(11)}`,
  ];
  for (const m of METHOD_NAMES) {
    lines.push(
      `  ${methodRow(m)!.label.padEnd(24)} ${b.methods[m].toFixed(0).padStart(8)} ` +
        `${(100 * b.testAll[m]).toFixed(2).padStart(11)}`,
    );
  }
  const mark = (ok: boolean) => (ok ? "ok" : "MISSED");
  lines.push(
    `  ${"upload (setup)".padEnd(24)} ${b.setupMs.toFixed(0).padStart(8)}`,
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
    ...METHOD_NAMES.map((m) => ({ name: `stage2 ${m}`, value: b.methods[m], unit: "ms" })),
    { name: "stage2 all methods", value: b.allMs, unit: "ms" },
    { name: "stage2 upload", value: b.setupMs, unit: "ms" },
    { name: "stage2 all methods, first run", value: b.coldAllMs, unit: "ms" },
  ];
}

/** The section, for scripts/bench.ts: run it, print `text`, record `figures`. */
export const stage2Section: {
  name: string;
  description: string;
  run(gpu?: Gpu): Promise<{ result: Stage2Bench; figures: BenchFigure[]; text: string }>;
} = {
  name: "stage2",
  description: "stage-2 wall time of every method, Fashion-MNIST-LT-100-sized features",
  async run(gpu?: Gpu) {
    const result = await benchStage2({ gpu });
    return { result, figures: stage2BenchFigures(result), text: formatStage2Bench(result) };
  },
};

if (import.meta.main) {
  const i = Deno.args.indexOf("--seed");
  const seed = i >= 0 ? Number(Deno.args[i + 1]) : 0;
  console.log(formatStage2Bench(await benchStage2({ seed })));
}
